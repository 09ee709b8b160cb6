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
];

#[test]
fn every_bad_input_is_one_clean_line() {
    let mut failures = Vec::new();
    for (args, code, word) in CASES {
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
