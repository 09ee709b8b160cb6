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

/// Whether `code` names `path` (e.g. `Kind::Anon`) as a path of its own, not as the tail of a
/// longer one (`PathKind::Anon…` is not `Kind::Anon`).
fn names(code: &str, path: &str) -> bool {
    code.match_indices(path).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + path.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
            && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// A file's code outside its unit tests and comments.
fn code_of(file: &Path) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    code.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One classifier of mappings, `src/source/classify.rs`: no other file turns what a maps path
/// says (`PathKind`, parsed in `source/maps.rs`) into an object kind, or spells the kinds `maps`
/// gives private memory; `ls` (the inventory) and `maps` both ask the classifier. Two of them
/// once told `psem` and named anonymous memory apart differently.
#[test]
fn mappings_are_classified_in_one_place() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let home = src.join("source/classify.rs");
    let parser = src.join("source/maps.rs");
    let object_kinds = [
        "Kind::Sysv",
        "Kind::Posix",
        "Kind::Memfd",
        "Kind::Anon",
        "Kind::File",
        "Kind::Deleted",
        "Kind::Psem",
    ];
    let mut bad = Vec::new();
    for file in rust_files(&src) {
        if file == home || file == parser {
            continue;
        }
        let code = code_of(&file);
        if names(&code, "PathKind") && object_kinds.iter().any(|k| names(&code, k)) {
            bad.push(format!(
                "{}: turns a PathKind into an object kind",
                file.display()
            ));
        }
        for word in ["\"anon-private\"", "\"file-private\""] {
            if code.contains(word) {
                bad.push(format!("{}: spells the kind {word}", file.display()));
            }
        }
    }
    for user in ["source/inventory.rs", "source/mappings.rs"] {
        if !code_of(&src.join(user)).contains("classify(") {
            bad.push(format!("{user} does not ask classify::classify"));
        }
    }
    assert!(
        bad.is_empty(),
        "a second classifier of mappings:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_classifier_check_tells_kinds_from_path_kinds() {
    assert!(names("x == Kind::Anon {", "Kind::Anon"));
    assert!(!names("PathKind::Anonymous", "Kind::Anon"));
    assert!(!names("PathKind::File { path }", "Kind::File"));
    assert!(names("use super::maps::PathKind;", "PathKind"));
}

/// `limits` and `maps` are split like the rest: the command joins `source` (which reads the
/// kernel) to `render` (which writes tables); it neither reads nor draws itself.
#[test]
fn split_commands_neither_read_the_kernel_nor_draw_tables() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut bad = Vec::new();
    for cmd in ["limits", "maps"] {
        let code = code_of(&src.join(format!("cmd/{cmd}.rs")));
        for word in [
            "std::fs",
            "nix::",
            "libc::",
            "/proc",
            "TableWriter",
            "write_streamed",
        ] {
            if code.contains(word) {
                bad.push(format!("cmd/{cmd}.rs uses {word}"));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
