//! Colour follows `--color`, the terminal, `NO_COLOR` and `TERM`, checked through a real
//! pseudo-terminal (`script -qec`), not only by unit tests. With colour off, no 0x1b at all.

use crate::fixtures::{output_if_installed, shmtool, skip, SysvSeg};
use std::process::{Command, Stdio};

const ESC: u8 = 0x1b;

/// Variables set for one run on top of the scrubbed environment.
type Env<'a> = &'a [(&'a str, &'a str)];

/// The two listings this checks: `ls` (with a segment of ours, so there is a row) and `limits`.
const LISTINGS: [&[&str]; 2] = [&["ls", "--kind", "sysv"], &["limits"]];

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Run shmtool with `args` on a pseudo-terminal made by script(1), with TERM=xterm unless `env`
/// says otherwise; returns its exit code and everything it wrote there (stdout and stderr
/// together), or None when script(1) is not installed.
fn terminal(args: &[&str], env: &[(&str, &str)]) -> Option<(Option<i32>, Vec<u8>)> {
    let line = std::iter::once(env!("CARGO_BIN_EXE_shmtool"))
        .chain(args.iter().copied())
        .map(shell_quote)
        .collect::<Vec<_>>()
        .join(" ");
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &line, "/dev/null"])
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env("TERM", "xterm")
        .env("LC_ALL", "C")
        .env("SHELL", "/bin/sh")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = output_if_installed(&mut cmd)?;
    Some((out.status.code(), out.stdout))
}

/// [`terminal`] for a command that must succeed.
fn on_terminal(args: &[&str], env: &[(&str, &str)]) -> Option<Vec<u8>> {
    let (code, out) = terminal(args, env)?;
    assert_eq!(
        code,
        Some(0),
        "shmtool {args:?} on a terminal failed: {}",
        String::from_utf8_lossy(&out)
    );
    Some(out)
}

/// Run shmtool with `args` into a pipe, with TERM=xterm (so only the pipe turns colour off).
fn piped(args: &[&str]) -> Vec<u8> {
    let out = shmtool()
        .env("TERM", "xterm")
        .args(args)
        .output()
        .expect("run shmtool");
    assert!(out.status.success(), "shmtool {args:?}: {out:?}");
    out.stdout
}

fn has_escape(bytes: &[u8]) -> bool {
    bytes.contains(&ESC)
}

fn with<'a>(args: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    [args, extra].concat()
}

#[test]
fn piped_output_has_no_colour_unless_always() {
    let _seg = SysvSeg::new(4096, 1);
    for args in LISTINGS {
        let plain = piped(args);
        assert!(!plain.is_empty(), "{args:?} printed nothing");
        assert!(!has_escape(&plain), "{args:?} piped has escapes");
        assert!(
            has_escape(&piped(&with(args, &["--color", "always"]))),
            "{args:?} --color always piped has no escapes"
        );
        assert!(!has_escape(&piped(&with(args, &["--color", "never"]))));
    }
}

#[test]
fn terminal_gets_colour_unless_told_otherwise() {
    let _seg = SysvSeg::new(4096, 2);
    for args in LISTINGS {
        let Some(tty) = on_terminal(args, &[]) else {
            skip("script(1) is not installed (apt-get install bsdutils)");
            return;
        };
        assert!(has_escape(&tty), "{args:?} on a terminal has no colour");
        let cases: [(&str, Vec<&str>, Env); 5] = [
            ("NO_COLOR=1", args.to_vec(), &[("NO_COLOR", "1")]),
            ("TERM=dumb", args.to_vec(), &[("TERM", "dumb")]),
            ("--color never", with(args, &["--color", "never"]), &[]),
            ("--color=never", with(args, &["--color=never"]), &[]),
            (
                "--color never with NO_COLOR empty",
                with(args, &["--color", "never"]),
                &[("NO_COLOR", "")],
            ),
        ];
        for (what, argv, env) in cases {
            let out = on_terminal(&argv, env).unwrap();
            assert!(!out.is_empty(), "{args:?} {what}: nothing printed");
            assert!(
                !has_escape(&out),
                "{args:?} {what}: escapes on a terminal:\n{}",
                String::from_utf8_lossy(&out)
            );
        }
        // NO_COLOR only counts when it is not empty; --color always beats it.
        assert!(has_escape(&on_terminal(args, &[("NO_COLOR", "")]).unwrap()));
        assert!(has_escape(
            &on_terminal(&with(args, &["--color", "always"]), &[("NO_COLOR", "1")]).unwrap()
        ));
    }
}

#[test]
fn json_never_has_escapes() {
    let _seg = SysvSeg::new(4096, 3);
    for args in LISTINGS {
        let json_always = with(args, &["--json", "--color", "always"]);
        let out = piped(&json_always);
        assert!(!has_escape(&out), "{json_always:?} piped");
        serde_json::from_slice::<serde_json::Value>(&out).expect("valid JSON");
        let Some(tty) = on_terminal(&json_always, &[]) else {
            skip("script(1) is not installed (apt-get install bsdutils)");
            return;
        };
        assert!(!has_escape(&tty), "{json_always:?} on a terminal");
    }
}

#[test]
fn help_follows_the_color_flag_on_a_terminal() {
    for args in [
        &["--color", "never", "--help"][..],
        &["ls", "--color=never", "-h"],
    ] {
        let Some(out) = on_terminal(args, &[]) else {
            skip("script(1) is not installed (apt-get install bsdutils)");
            return;
        };
        assert!(out.windows(5).any(|w| w == b"Usage"), "{args:?}: no help");
        assert!(!has_escape(&out), "{args:?}: escapes");
    }
    let out = on_terminal(&["--help"], &[("NO_COLOR", "1")]).unwrap();
    assert!(!has_escape(&out), "--help with NO_COLOR");
}

#[test]
fn errors_on_a_terminal_have_no_escapes() {
    // A usage error and a runtime error, each one plain line however colourful the terminal.
    for (args, code) in [(&["ls", "--bogus"][..], 2), (&["show", "0x7fffffff"], 1)] {
        let Some((got, out)) = terminal(args, &[]) else {
            skip("script(1) is not installed (apt-get install bsdutils)");
            return;
        };
        let text = String::from_utf8_lossy(&out);
        assert_eq!(got, Some(code), "{args:?}: {text}");
        assert!(text.starts_with("shmtool: error: "), "{args:?}: {text}");
        assert!(!has_escape(&out), "{args:?}: {text}");
    }
}
