//! Tables fit the terminal (through a real pseudo-terminal at 80 and 200 columns), and `ls`
//! takes lsipc's `-o/--output`, `--noheadings`, `--raw` and `--list-columns`.

use crate::fixtures::*;
use std::process::{Command, Stdio};

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Run shmtool on a pseudo-terminal `cols` columns wide (script(1), then `stty cols`); returns
/// its output with carriage returns removed, or None when script(1) is not installed.
pub fn on_pty(cols: usize, args: &[&str], env: &[(&str, &str)]) -> Option<String> {
    let line = std::iter::once(env!("CARGO_BIN_EXE_shmtool"))
        .chain(args.iter().copied())
        .map(shell_quote)
        .collect::<Vec<_>>()
        .join(" ");
    let mut cmd = Command::new("script");
    cmd.args([
        "-qec",
        &format!("stty cols {cols} rows 40; exec {line} 2>/dev/null"),
        "/dev/null",
    ])
    .env_remove("NO_COLOR")
    .env_remove("COLUMNS")
    .env("TERM", "xterm")
    .env("LC_ALL", "C")
    .env("SHELL", "/bin/sh")
    .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = output_if_installed(&mut cmd)?;
    assert!(out.status.success(), "{args:?} failed on a terminal");
    Some(String::from_utf8_lossy(&out.stdout).replace('\r', ""))
}

/// `s` without ANSI escape sequences (CSI ... letter).
fn strip_escapes(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// A /dev/shm object with a name longer than any terminal here, mapped by a holder.
fn long_named() -> (PosixObj, Holder, SysvSeg, Holder) {
    let obj = PosixObj::named(&[b'n'; 170], 4096, 1);
    let h = Holder::spawn(&[Hold::File(obj.path.clone())]);
    let seg = SysvSeg::new(4096, 2);
    let hs = Holder::spawn(&[Hold::Sysv(seg.shmid)]);
    (obj, h, seg, hs)
}

#[test]
fn ls_fits_80_and_200_columns_on_a_terminal() {
    let (obj, h, _seg, _hs) = long_named();
    for cols in [80, 200] {
        for color in ["never", "always"] {
            let Some(out) = on_pty(cols, &["ls", "--color", color], &[]) else {
                return skip("script(1) is not installed (apt-get install bsdutils)");
            };
            let plain = strip_escapes(&out);
            assert!(plain.lines().count() >= 3, "{out}");
            for line in plain.lines() {
                assert!(
                    line.chars().count() <= cols,
                    "{cols} columns, --color {color}: a line of {}: {line:?}",
                    line.chars().count()
                );
            }
            // Our row is there, its name cut in the middle: both ends kept.
            let holder = format!(" {}(", h.pid);
            let ours = plain
                .lines()
                .find(|l| l.starts_with("posix") && l.contains(&holder))
                .unwrap_or_else(|| panic!("our object (held by {holder}) is not listed"));
            assert!(
                ours.contains("~") && ours.trim_end().ends_with("nnn"),
                "{ours}"
            );
            assert!(!ours.contains(&obj.name), "{ours}");
            // Padding never sits inside a bold (or any) escape: no run of spaces before a reset.
            assert!(!out.contains(" \u{1b}[0m"), "{out:?}");
            if color == "always" {
                assert!(out.contains("\u{1b}[1mKIND\u{1b}[0m "), "{out:?}");
            }
        }
    }
    // Wider than the terminal only when asked: --wide prints the name in full.
    let out = on_pty(80, &["ls", "--wide", "--color", "never"], &[]).unwrap();
    assert!(out.contains(&obj.name), "{out}");
    // Into a pipe nothing is cut.
    let (code, out, _) = run(&["ls", "--kind", "posix"]);
    assert_eq!(code, 0);
    assert!(out.contains(&obj.path.display().to_string()), "{out}");
}

#[test]
fn other_tables_fit_too() {
    let obj = PosixObj::named(&[b'r'; 170], 4096, 3);
    // Unprivileged, processes we cannot read could hold it: --force lets the dry run list it.
    let mut args = vec!["rm", "--posix", &obj.name, "--dry-run", "--color", "never"];
    if !is_root() {
        args.push("--force");
    }
    let Some(out) = on_pty(80, &args, &[]) else {
        return skip("script(1) is not installed (apt-get install bsdutils)");
    };
    for line in out.lines() {
        assert!(line.chars().count() <= 80, "{line:?}");
    }
    assert!(obj.path.exists());
}

#[test]
fn output_columns_noheadings_and_raw() {
    let obj = PosixObj::named(b"with space", 1000, 4);
    let (code, out, err) = run(&[
        "ls",
        "--kind",
        "posix",
        "-o",
        "NAME,size",
        "--bytes",
        "--raw",
        "--noheadings",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("NAME"), "{out}");
    let want = format!("{} 1000", obj.path.display()).replace(' ', "\\x20");
    let want = format!("{} 1000", &want[..want.len() - "\\x201000".len()]);
    assert!(out.lines().any(|l| l == want), "want {want:?} in\n{out}");
    // Every raw line splits into exactly the columns asked for.
    assert!(out.lines().all(|l| l.split(' ').count() == 2), "{out}");

    // +COLS adds to the defaults.
    let (code, out, _) = run(&["ls", "-o", "+UID,cpid"]);
    assert_eq!(code, 0);
    let header: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header.first(), Some(&"KIND"));
    assert!(header.ends_with(&["UID", "CPID"]), "{header:?}");

    // With headings, the header names the chosen columns in order.
    let (_, out, _) = run(&["ls", "--output", "ID,KIND"]);
    assert_eq!(
        out.lines()
            .next()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["ID", "KIND"]
    );

    // A column that does not exist is a usage error naming it.
    let (code, _, err) = run(&["ls", "-o", "KIND,BOGUS"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.starts_with("shmtool: error:") && err.contains("BOGUS"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    // --list-columns names every column -o accepts.
    let (code, out, _) = run(&["ls", "--list-columns"]);
    assert_eq!(code, 0);
    for name in ["KIND", "ID", "NAME", "RSS", "WHY", "ATTACHED"] {
        assert!(out.lines().any(|l| l.starts_with(name)), "{name}: {out}");
    }
}

#[test]
fn ls_pid_that_does_not_exist_is_an_error() {
    let (code, out, err) = run(&["ls", "--pid", "999999999"]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(err.trim(), "shmtool: error: no such process: 999999999");
}

#[test]
fn misspelt_subcommand_suggests_the_right_one() {
    let (code, _, err) = run(&["sho", "1"]);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean 'show'"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn help_wraps_between_words_at_80_columns() {
    let out = shmtool()
        .args(["dump", "--help"])
        .env("COLUMNS", "80")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    // The usage line is clap's and is not wrapped; every description is, between words.
    for line in text.lines().filter(|l| !l.starts_with("Usage:")) {
        assert!(line.chars().count() <= 80, "{line:?}");
    }
    assert!(text.contains("struct"), "{text}");
}

#[test]
fn key_find_shows_progress_on_a_terminal_only() {
    let line = format!(
        "{} key --find 0x01000001 --in /usr",
        env!("CARGO_BIN_EXE_shmtool")
    );
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &line, "/dev/null"])
        .env("TERM", "xterm")
        .env("LC_ALL", "C")
        .env("SHELL", "/bin/sh")
        .stdin(Stdio::null());
    let Some(out) = output_if_installed(&mut cmd) else {
        return skip("script(1) is not installed (apt-get install bsdutils)");
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("searching: "), "{text}");
    assert!(!text.contains('\u{1b}'), "no escape byte: {text:?}");
    let (_, _, err) = run(&["key", "--find", "0x01000001", "--in", "/usr"]);
    assert!(!err.contains("searching"), "{err}");
}
