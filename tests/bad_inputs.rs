//! Every command and flag, given something wrong: exit 1 (runtime) or 2 (usage), one line on
//! stderr naming the problem, nothing on stdout, never a panic.

use crate::fixtures::run;

/// (arguments, expected exit code, a word the error must contain)
const CASES: &[(&[&str], i32, &str)] = &[
    (&["nosuchcommand"], 2, "nosuchcommand"),
    (&["--color", "sometimes", "ls"], 2, "sometimes"),
    (&["ls", "--kind", "bogus"], 2, "bogus"),
    (&["ls", "--sort", "bogus"], 2, "bogus"),
    (&["ls", "--pid", "notapid"], 2, "notapid"),
    (
        &["ls", "--user", "no-such-user-shmtool"],
        1,
        "no-such-user-shmtool",
    ),
    (&["ls", "--format", "xml"], 2, "xml"),
    (&["ls", "--json", "--format", "table"], 2, "--format"),
    (&["ls", "--ns", "notapid"], 2, "notapid"),
    (&["ls", "--ns", "2147483647"], 1, "2147483647"),
    (&["ls", "--all-namespaces", "--ns", "1"], 2, "--ns"),
    (&["show"], 2, "ID"),
    (&["show", ""], 1, "empty"),
    (&["show", "0xzz"], 1, "0xzz"),
    (&["show", "0x123456789"], 1, "0x123456789"),
    (&["show", "2147483000"], 1, "2147483000"),
    (
        &["show", "/dev/shm/shmtool-no-such-object"],
        1,
        "shmtool-no-such-object",
    ),
    (&["show", "2147483647:7f00"], 1, "2147483647"),
    (&["maps"], 2, "PID"),
    (&["maps", "abc"], 2, "abc"),
    (&["maps", "2147483647"], 1, "2147483647"),
    (&["maps", "0"], 1, "0"),
    (&["key"], 2, "PATH"),
    (
        &["key", "/nonexistent/shmtool", "1"],
        1,
        "/nonexistent/shmtool",
    ),
    (&["key", "/", "0"], 1, "proj_id"),
    (&["key", "/", "256"], 1, "proj_id"),
    (&["key", "/", "notanumber"], 1, "notanumber"),
    (&["key", "--find", "0xzz"], 1, "0xzz"),
    (&["key", "--in", "/tmp"], 2, "--find"),
    (&["rm"], 2, "nothing to remove"),
    (&["rm", "notanid"], 2, "notanid"),
    (&["rm", "2147483000"], 1, "2147483000"),
    (&["rm", "--key", "0"], 1, "0"),
    (&["rm", "--key", "0xzz"], 1, "0xzz"),
    (&["rm", "--posix", "../etc/passwd"], 1, "../etc/passwd"),
    (&["rm", "--posix", "a/b"], 1, "a/b"),
    (&["rm", "--posix", ""], 1, "name"),
    (&["rm", "--stale"], 2, "--yes"),
    (&["limits", "--bogus"], 2, "--bogus"),
    (&["dump"], 2, "PID"),
    (&["dump", "1"], 2, "ADDR"),
    (&["dump", "2147483647", "0x1000"], 1, "2147483647"),
    (&["dump", "--shmid", "2147483000"], 1, "2147483000"),
    (&["dump", "--shmid", "1", "--path", "x"], 2, "--path"),
    (&["dump", "--key", "0xzz"], 1, "0xzz"),
    (&["dump", "--key", "0"], 1, "IPC_PRIVATE"),
    (
        &["dump", "--ftok", "/nonexistent-shmtool", "1"],
        1,
        "/nonexistent-shmtool",
    ),
    (&["dump", "--ftok", "/", "0"], 1, "proj_id"),
    (&["dump", "--ftok", "/"], 2, "--ftok"),
    (
        &["dump", "--path", "/nonexistent-shmtool"],
        1,
        "/nonexistent-shmtool",
    ),
    (&["dump", "--path", "/dev/shm"], 1, "regular file"),
    (
        &["dump", "--path", "/etc/hostname", "--length", "x"],
        1,
        "--length",
    ),
    (
        &["dump", "--path", "/etc/hostname", "--offset", "1G"],
        1,
        "offset",
    ),
    (
        &["dump", "--path", "/etc/hostname", "--format", "bogus"],
        2,
        "bogus",
    ),
    (
        &["dump", "--path", "/etc/hostname", "--layout", "id:i33"],
        1,
        "i33",
    ),
    (
        &["dump", "--path", "/etc/hostname", "--layout", "id:i32,"],
        1,
        "layout",
    ),
    (
        &[
            "dump",
            "--path",
            "/etc/hostname",
            "--layout",
            "id:int",
            "--layout-repeat",
            "0",
        ],
        1,
        "--layout-repeat must be at least 1",
    ),
    (
        &["dump", "--path", "/etc/hostname", "--layout-repeat", "2"],
        2,
        "--layout",
    ),
    (&["watch"], 2, "PID"),
    (
        &["watch", "--path", "/etc/hostname", "--interval", "1ms"],
        1,
        "10ms",
    ),
    (
        &["watch", "--path", "/etc/hostname", "--interval", "fast"],
        1,
        "fast",
    ),
    (
        &["watch", "--path", "/etc/hostname", "--count", "x"],
        2,
        "--count",
    ),
    (
        &["watch", "--shmid", "2147483000", "--count", "1"],
        1,
        "2147483000",
    ),
];

#[test]
fn every_bad_input_is_one_clean_line() {
    check(
        CASES
            .iter()
            .map(|(a, c, w)| (a.iter().map(|s| s.to_string()).collect(), *c, *w)),
    );
}

#[test]
fn bad_addresses_in_a_live_process() {
    // Our own process: alive, readable, and with no mapping at 0x10.
    let me = std::process::id().to_string();
    check(
        [
            (vec!["dump", &me, "0x10"], 1, "not inside any mapping"),
            (
                vec!["dump", &me, "no_such_symbol_shmtool"],
                1,
                "no_such_symbol_shmtool",
            ),
            (vec!["dump", &me, "0xzz+1"], 1, "0xzz"),
            (vec!["show", &format!("{me}:10")], 1, &me),
        ]
        .into_iter()
        .map(|(a, c, w)| (a.iter().map(|s| s.to_string()).collect(), c, w)),
    );
}

fn check<'a>(cases: impl Iterator<Item = (Vec<String>, i32, &'a str)>) {
    let mut failures = Vec::new();
    for (args, code, word) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (args, code, word) = (&args, &code, word);
        let (got, out, err) = run(args);
        let problems: Vec<String> = [
            (got != *code).then(|| format!("exit {got}, expected {code}")),
            (!out.is_empty()).then(|| format!("stdout: {out:?}")),
            (err.lines().count() != 1).then(|| format!("{} stderr lines", err.lines().count())),
            (!err.starts_with("shmtool: error: ")).then(|| "no 'shmtool: error: ' prefix".into()),
            (!err.contains(word)).then(|| format!("error does not name {word:?}")),
            err.contains("panicked").then(|| "panicked".into()),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !problems.is_empty() {
            failures.push(format!(
                "{args:?}: {} — stderr: {err:?}",
                problems.join(", ")
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
