//! Command-line behaviour that needs no fixtures: usage errors, help, exit codes.

use crate::fixtures::run;

#[test]
fn usage_errors_are_one_line_and_exit_2() {
    for args in [
        &["ls", "--bogus"][..],
        &["nosuch"],
        &["show"],
        &["ls", "--kind", "weird"],
    ] {
        let (code, out, err) = run(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?} printed on stdout: {out}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("shmtool: error: "), "{args:?}: {err}");
    }
}

#[test]
fn help_and_version_exit_0() {
    for args in [&["--help"][..], &["--version"], &["ls", "--help"]] {
        let (code, out, _) = run(args);
        assert_eq!(code, 0);
        assert!(!out.is_empty());
    }
}
