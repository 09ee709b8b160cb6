//! The layers stay layers: data flows source → model → cmd → render. `render` writes and never
//! reads the kernel or the command line; `source` reads and never writes for users. Checked on
//! the source text, so a forbidden `use` fails here before it becomes a habit.

use std::path::{Path, PathBuf};

/// Every `.rs` file below `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// The top-level modules of this crate a line of code names: `crate::x::…`, and each name in a
/// grouped `use crate::{x, y::z}`. Comments are not code.
fn crate_modules(line: &str) -> Vec<String> {
    let code = line.split("//").next().unwrap_or("");
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.push(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.push(name);
        }
    }
    found
}

/// Lines of the files below `src/<layer>` (or the file `src/<layer>.rs`) that name one of the
/// `forbidden` modules, as `path:line: text`.
fn violations(layer: &str, forbidden: &[&str]) -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let dir = src.join(layer);
    let files = if dir.is_dir() {
        rust_files(&dir)
    } else {
        vec![src.join(format!("{layer}.rs"))]
    };
    let mut bad = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let named = crate_modules(line);
            if named.iter().any(|m| forbidden.contains(&m.as_str())) {
                bad.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    bad
}

#[test]
fn render_never_imports_source_cli_cmd_or_attach() {
    let bad = violations("render", &["source", "cli", "cmd", "attach"]);
    assert!(
        bad.is_empty(),
        "render reaches into another layer:\n{}",
        bad.join("\n")
    );
}

#[test]
fn source_never_imports_render_cli_or_cmd() {
    let bad = violations("source", &["render", "cli", "cmd"]);
    assert!(
        bad.is_empty(),
        "source reaches into another layer:\n{}",
        bad.join("\n")
    );
}

#[test]
fn errors_and_the_command_line_do_not_reach_into_render() {
    for layer in ["error", "cli"] {
        let bad: Vec<String> = violations(layer, &["render"])
            .into_iter()
            // The colour choice is defined beside the code that decides colour.
            .filter(|l| !l.contains("render::color::ColorChoice"))
            .collect();
        assert!(
            bad.is_empty(),
            "{layer} reaches into render:\n{}",
            bad.join("\n")
        );
    }
}

#[test]
fn the_checker_sees_plain_and_grouped_uses() {
    assert_eq!(crate_modules("use crate::source::Sys;"), ["source"]);
    assert_eq!(
        crate_modules("use crate::{model::Segment, cli};"),
        ["model", "cli"]
    );
    assert!(crate_modules("// crate::source in a comment").is_empty());
}
