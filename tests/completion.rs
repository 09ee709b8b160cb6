//! Dynamic completions, exercised in real bash, zsh and fish: each shell sources the script
//! `SHMTOOL_COMPLETE=<shell> shmtool` prints, then asks it to complete a command line, and the
//! candidates are live objects and processes made by the test.

use crate::fixtures::*;
use std::process::Command;

fn bin_dir() -> String {
    std::path::Path::new(env!("CARGO_BIN_EXE_shmtool"))
        .parent()
        .unwrap()
        .display()
        .to_string()
}

/// Run `script` in `shell` with shmtool on PATH; None (and a SKIPPED line) when the shell is not
/// installed.
fn in_shell(shell: &str, args: &[&str], script: &str, line: &str) -> Option<String> {
    // A home of its own, removed when the shell is done: fish writes its history and
    // universal variables below XDG_CONFIG_HOME and XDG_DATA_HOME even with --no-config, and a
    // shared home (/tmp for uid 65534) would keep them.
    let home = tempfile::tempdir().expect("a home for the shell");
    let mut cmd = Command::new(shell);
    cmd.args(args)
        .env("LINE", line)
        .arg(script)
        .env(
            "PATH",
            format!("{}:{}", bin_dir(), std::env::var("PATH").unwrap()),
        )
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_CACHE_HOME", home.path().join("cache"))
        .env_remove("SHMTOOL_COMPLETE")
        .env("LC_ALL", "C");
    let Some(out) = output_if_installed(&mut cmd) else {
        skip(&format!("{shell} is not installed (.ci/run installs it)"));
        return None;
    };
    assert!(
        out.status.success(),
        "{shell} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Candidates bash offers for `line` (completing its last word, which may be empty).
fn bash(line: &str) -> Option<Vec<String>> {
    let script = r#"
source <(SHMTOOL_COMPLETE=bash shmtool)
read -ra COMP_WORDS <<<"$LINE"
[[ $LINE == *' ' ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE=$LINE; COMP_POINT=${#LINE}; COMP_TYPE=9
_clap_complete_shmtool shmtool "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
"#;
    let out = in_shell("bash", &["--norc", "-c"], script, line)?;
    Some(out.lines().map(str::to_string).collect())
}

/// Candidates zsh offers for `line`, as `value:description`: the registered function runs with
/// `words` and `CURRENT` set as zsh's completion system sets them, `_describe` reporting what it
/// is given.
fn zsh(line: &str) -> Option<Vec<String>> {
    let script = r#"
compdef() { :; }
_describe() { local name=${@[3]}; print -rl -- "${(@P)name}"; }
source <(SHMTOOL_COMPLETE=zsh shmtool)
words=(${(z)LINE})
[[ $LINE == *' ' ]] && words+=('')
CURRENT=${#words}
_clap_dynamic_completer_shmtool
"#;
    let out = in_shell("zsh", &["-f", "-c"], script, line)?;
    Some(out.lines().map(str::to_string).collect())
}

/// Candidates fish offers for `line`, as `value<TAB>description`.
fn fish(line: &str) -> Option<Vec<String>> {
    let script = "SHMTOOL_COMPLETE=fish shmtool | source; complete -C \"$LINE\"";
    let out = in_shell("fish", &["--no-config", "-c"], script, line)?;
    Some(out.lines().map(str::to_string).collect())
}

fn has(cands: &[String], value: &str) -> bool {
    cands.iter().any(|c| {
        c == value || c.starts_with(&format!("{value}:")) || c.starts_with(&format!("{value}\t"))
    })
}

#[test]
fn shells_complete_live_shmids_keys_pids_and_names() {
    let seg = SysvSeg::new(4096, 1);
    let obj = PosixObj::new(4096, 2);
    let h = Holder::spawn(&[Hold::Sysv(seg.shmid)]);
    let shmid = seg.shmid.to_string();
    let key = seg.key_string();
    let pid = h.pid.to_string();
    type Shell = fn(&str) -> Option<Vec<String>>;
    for (name, shell) in [("bash", bash as Shell), ("zsh", zsh), ("fish", fish)] {
        let Some(c) = shell("shmtool rm ") else {
            continue;
        };
        assert!(has(&c, &shmid), "{name}: rm offers no shmid {shmid}: {c:?}");
        let c = shell("shmtool rm --key ").unwrap();
        assert!(has(&c, &key), "{name}: rm --key offers no {key}: {c:?}");
        let c = shell("shmtool show ").unwrap();
        assert!(has(&c, &shmid) && has(&c, &obj.name), "{name}: show: {c:?}");
        let c = shell(&format!("shmtool maps {pid}")).unwrap();
        assert!(has(&c, &pid), "{name}: maps offers no pid {pid}: {c:?}");
        let c = shell("shmtool dump --shmid ").unwrap();
        assert!(has(&c, &shmid), "{name}: dump --shmid: {c:?}");
        let c = shell(&format!("shmtool --ns {pid}")).unwrap();
        assert!(has(&c, &pid), "{name}: --ns: {c:?}");
        let c = shell("shmtool rm --posix ").unwrap();
        assert!(
            has(&c, &obj.name),
            "{name}: rm --posix offers no {}: {c:?}",
            obj.name
        );
        let c = shell("shmtool watch --path /dev/shm/").unwrap();
        assert!(
            has(&c, &obj.path.display().to_string()),
            "{name}: watch --path: {c:?}"
        );
        let c = shell("shmtool ls --kind ").unwrap();
        assert!(has(&c, "sysv") && has(&c, "memfd"), "{name}: --kind: {c:?}");
        let c = shell("shmtool ls -o KIND,SI").unwrap();
        assert!(has(&c, "KIND,SIZE"), "{name}: -o: {c:?}");
        let c = shell("shmtool sh").unwrap();
        assert!(has(&c, "show"), "{name}: subcommands: {c:?}");
    }
    // zsh and fish show each pid's command name beside it.
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    if let Some(c) = fish(&format!("shmtool maps {pid}")) {
        assert!(c.contains(&format!("{pid}\t{}", comm.trim())), "{c:?}");
    }
    if let Some(c) = zsh(&format!("shmtool watch {pid}")) {
        assert!(c.contains(&format!("{pid}:{}", comm.trim())), "{c:?}");
    }
}

#[test]
fn zsh_static_script_shows_no_escaped_brackets() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/completions/_shmtool"))
            .unwrap();
    assert!(
        !text.contains("SYMBOL\\[+OFF\\]"),
        "zsh would show the backslashes"
    );
}
