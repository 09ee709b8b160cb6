//! The man pages and completions committed under `man/` and `completions/` are what the binary
//! generates now, and they work: `man` renders a page, bash completes a subcommand.

use crate::fixtures::{output_if_installed, shmtool, skip};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every file in `dir` (not recursive) by name; empty when `dir` does not exist.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .map(|e| e.expect("read_dir entry").path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("read file"))
        })
        .collect()
}

/// The first line where two texts differ, to say in the failure what changed.
fn first_difference(committed: &[u8], fresh: &[u8]) -> String {
    let (a, b) = (
        String::from_utf8_lossy(committed),
        String::from_utf8_lossy(fresh),
    );
    let mut a_lines = a.lines();
    let mut b_lines = b.lines();
    for n in 1.. {
        match (a_lines.next(), b_lines.next()) {
            (None, None) => break,
            (x, y) if x == y => continue,
            (x, y) => {
                return format!(
                    "line {n}: committed {:?}, generated {:?}",
                    x.unwrap_or("<end>"),
                    y.unwrap_or("<end>")
                )
            }
        }
    }
    "line endings differ".into()
}

#[test]
fn committed_man_pages_and_completions_are_current() {
    let tmp = tempfile::tempdir().unwrap();
    let out = shmtool()
        .arg("generate")
        .arg("--man")
        .arg(tmp.path().join("man"))
        .arg("--completions")
        .arg(tmp.path().join("completions"))
        .output()
        .expect("run shmtool generate");
    assert!(
        out.status.success(),
        "generate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut stale = Vec::new();
    for dir in ["man", "completions"] {
        let fresh = files(&tmp.path().join(dir));
        let committed = files(&repo().join(dir));
        assert!(!fresh.is_empty(), "generate wrote nothing into {dir}/");
        for (name, text) in &fresh {
            match committed.get(name) {
                None => stale.push(format!("{dir}/{name} is missing")),
                Some(old) if old != text => stale.push(format!(
                    "{dir}/{name} differs ({})",
                    first_difference(old, text)
                )),
                Some(_) => {}
            }
        }
        for name in committed.keys().filter(|n| !fresh.contains_key(*n)) {
            stale.push(format!("{dir}/{name} is no longer generated"));
        }
    }
    assert!(
        stale.is_empty(),
        "the committed man pages and completions are stale; run `cargo run -- generate` and \
         commit man/ and completions/:\n  {}",
        stale.join("\n  ")
    );
}

#[test]
fn every_man_page_has_examples_exit_status_and_see_also() {
    let pages = files(&repo().join("man"));
    assert!(pages.contains_key("shmtool.1"));
    for sub in [
        "ls", "show", "maps", "key", "dump", "watch", "rm", "limits", "locks",
    ] {
        assert!(pages.contains_key(&format!("shmtool-{sub}.1")), "{sub}");
    }
    for (name, text) in &pages {
        let text = String::from_utf8_lossy(text);
        for section in [".SH EXAMPLES", ".SH \"EXIT STATUS\"", ".SH \"SEE ALSO\""] {
            assert!(text.contains(section), "{name} has no {section}");
        }
        for page in ["ipcs", "ipcrm", "pmap", "shm_overview", "sysvipc"] {
            assert!(text.contains(&format!("\\fB{page}\\fR(")), "{name}: {page}");
        }
        assert!(
            !text.contains("shmtool\\-generate") && !text.contains("generate("),
            "{name} mentions the hidden command"
        );
    }
}

/// Render a page as a reader would: `man -l`, or groff where man-db is not installed.
fn render_man_page(page: &Path) -> Option<(String, String)> {
    let attempts: [(&str, Vec<&std::ffi::OsStr>); 2] = [
        ("man", vec!["-l".as_ref(), page.as_os_str()]),
        (
            "groff",
            vec!["-man".as_ref(), "-Tascii".as_ref(), page.as_os_str()],
        ),
    ];
    for (program, args) in attempts {
        let Some(out) = output_if_installed(
            Command::new(program)
                .args(args)
                .env("LC_ALL", "C")
                .env("MANWIDTH", "80")
                .env("MANPAGER", "cat")
                .env("PAGER", "cat"),
        ) else {
            continue;
        };
        assert!(
            out.status.success(),
            "{program} failed on {page:?}: {out:?}"
        );
        return Some((
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    }
    None
}

#[test]
fn man_renders_the_watch_page() {
    let Some((text, warnings)) = render_man_page(&repo().join("man/shmtool-watch.1")) else {
        skip("neither man nor groff is installed (apt-get install man-db groff-base)");
        return;
    };
    assert!(warnings.trim().is_empty(), "warnings: {warnings}");
    // Backspace overstrike would mean formatting leaked into a pipe.
    let text: String = text.chars().filter(|c| *c != '\u{8}').collect();
    for want in [
        "SHMTOOL-WATCH(1)",
        "NAME",
        "shmtool-watch - Watch live shared memory change",
        "--interval",
        "EXIT STATUS",
        "EXAMPLES",
        "shmtool watch --shmid 32822 --interval 100ms",
        "SEE ALSO",
        "shm_overview(7)",
        "shmtool 0.1.0",
    ] {
        assert!(text.contains(want), "no {want:?} in:\n{text}");
    }
}

/// What bash's completion function for shmtool offers for this command line (cursor at its end).
fn bash_complete(words: &[&str]) -> Option<Vec<String>> {
    let script = repo().join("completions/shmtool.bash");
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let line = words.join(" ");
    let program = format!(
        "source '{}' || exit 3\n\
         COMP_WORDS=({})\n\
         COMP_CWORD={}\n\
         COMP_LINE='{line}'\n\
         COMP_POINT={}\n\
         _shmtool shmtool \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script.display(),
        quoted.join(" "),
        words.len() - 1,
        line.len(),
    );
    let out =
        output_if_installed(Command::new("bash").args(["--noprofile", "--norc", "-c", &program]))?;
    assert!(out.status.success(), "bash failed: {out:?}");
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
    )
}

#[test]
fn bash_completes_subcommands_and_flags() {
    let Some(w) = bash_complete(&["shmtool", "w"]) else {
        skip("bash is not installed");
        return;
    };
    assert_eq!(w, ["watch"]);
    let all = bash_complete(&["shmtool", ""]).unwrap();
    for sub in [
        "ls", "list", "show", "maps", "key", "dump", "watch", "rm", "limits",
    ] {
        assert!(all.iter().any(|c| c == sub), "{sub} not offered: {all:?}");
    }
    assert!(!all.iter().any(|c| c == "generate"), "{all:?}");
    assert_eq!(
        bash_complete(&["shmtool", "ls", "--st"]).unwrap(),
        ["--stale"]
    );
    let kinds = bash_complete(&["shmtool", "ls", "--kind", ""]).unwrap();
    assert!(kinds.iter().any(|k| k == "sysv"), "{kinds:?}");
}

#[test]
fn fish_completes_subcommands() {
    let script = repo().join("completions/shmtool.fish");
    let program = format!(
        "source '{}'; and complete -C 'shmtool w'; and complete -C 'shmtool ls --kind '",
        script.display()
    );
    // A home of its own: fish writes below XDG_CONFIG_HOME and XDG_DATA_HOME even with
    // --no-config, and uid 65534's home is /tmp, shared with everyone.
    let home = tempfile::tempdir().expect("a home for fish");
    let mut fish = Command::new("fish");
    fish.args(["--no-config", "-c", &program])
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_CACHE_HOME", home.path().join("cache"));
    let Some(out) = output_if_installed(&mut fish) else {
        skip("fish is not installed");
        return;
    };
    assert!(out.status.success(), "{out:?}");
    let offered: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').next().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        offered.first().map(String::as_str),
        Some("watch"),
        "{offered:?}"
    );
    assert!(offered.iter().any(|c| c == "sysv"), "{offered:?}");
    assert!(!offered.iter().any(|c| c == "generate"), "{offered:?}");
}

#[test]
fn zsh_accepts_its_completion_script() {
    let script = repo().join("completions/_shmtool");
    let Some(out) = output_if_installed(Command::new("zsh").arg("-n").arg(&script)) else {
        skip("zsh is not installed");
        return;
    };
    assert!(out.status.success(), "zsh -n: {out:?}");
}

#[test]
fn man_renders_every_page_without_warnings_and_with_every_section() {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(repo().join("man"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "1"))
        .collect();
    pages.sort();
    assert!(pages.len() >= 9, "{pages:?}");
    for page in &pages {
        // man --warnings reports every groff warning (the page is otherwise rendered as usual).
        let Some(out) = output_if_installed(
            Command::new("man")
                .args(["--warnings", "-l"])
                .arg(page)
                .env("LC_ALL", "C")
                .env("MANWIDTH", "80")
                .env("MANPAGER", "cat")
                .env("PAGER", "cat"),
        ) else {
            return skip("man is not installed (apt-get install man-db groff-base)");
        };
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && warnings.trim().is_empty(),
            "{page:?}: {warnings}"
        );
        let text: String = String::from_utf8_lossy(&out.stdout)
            .chars()
            .filter(|c| *c != '\u{8}')
            .collect();
        let name = page.file_stem().unwrap().to_string_lossy().into_owned();
        let mut sections = vec![
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "EXIT STATUS",
            "ENVIRONMENT",
            "FILES",
            "SEE ALSO",
        ];
        if name == "shmtool" {
            sections.extend([
                "SUBCOMMANDS",
                "KINDS",
                "VERDICTS AND STATES",
                "COLUMNS",
                "JSON",
                "METRICS",
            ]);
        }
        if name == "shmtool-ls" {
            sections.extend(["COLUMNS", "METRICS", "EXAMPLES"]);
        }
        if name == "shmtool-dump" || name == "shmtool-watch" {
            sections.extend(["LAYOUT", "EXAMPLES"]);
        }
        for section in sections {
            assert!(
                text.lines().any(|l| l == section),
                "{name}: no {section} section in:\n{text}"
            );
        }
        for peer in ["ipcs(1)", "lsipc(1)", "ipcrm(1)", "pmap(1)", "lsof(8)"] {
            assert!(text.contains(peer), "{name}: SEE ALSO lacks {peer}");
        }
        assert!(
            text.contains("NO_COLOR") && text.contains("SHMTOOL_COMPLETE"),
            "{name}"
        );
    }
    // Every metric and every ls column is named on the tool's page.
    let root = std::fs::read_to_string(repo().join("man/shmtool.1")).unwrap();
    let root = root
        .replace("\\-", "-")
        .replace("\\fB", "")
        .replace("\\fR", "");
    let (_, metrics, _) = shmtool_run(&["ls", "--format", "prometheus", "--per-object"]);
    for line in metrics.lines().filter_map(|l| l.strip_prefix("# TYPE ")) {
        let name = line.split(' ').next().unwrap();
        assert!(root.contains(name), "metric {name} is not in shmtool(1)");
    }
    let (_, cols, _) = shmtool_run(&["ls", "--list-columns"]);
    for col in cols
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.chars().all(|c| c.is_ascii_uppercase()))
    {
        assert!(root.contains(col), "column {col} is not in shmtool(1)");
    }
}

fn shmtool_run(args: &[&str]) -> (i32, String, String) {
    crate::fixtures::run(args)
}

#[test]
fn every_example_has_a_sentence() {
    for page in std::fs::read_dir(repo().join("man")).unwrap() {
        let text = std::fs::read_to_string(page.unwrap().path()).unwrap();
        let Some((_, examples)) = text.split_once(".SH EXAMPLES\n") else {
            continue;
        };
        let examples = examples.split("\n.SH").next().unwrap();
        for item in examples.split(".TP\n").skip(1) {
            assert!(
                item.trim().lines().count() >= 2,
                "an example without a sentence: {item:?}"
            );
        }
    }
}
