//! Every command's JSON validates against its JSON Schema under doc/schema/, on real objects.

use crate::fixtures::*;
use serde_json::{json, Value};

pub(crate) fn schema(name: &str) -> Value {
    let path = format!(
        "{}/doc/schema/{name}.schema.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The files name each other by relative `$id` (`ls.schema.json#/$defs/attacher`): a
/// reference is read from the file of that name in doc/schema/, never from the network.
struct SchemaDir;

impl jsonschema::Retrieve for SchemaDir {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let file = uri.path().as_str().rsplit('/').next().unwrap_or_default();
        let name = file
            .strip_suffix(".schema.json")
            .ok_or_else(|| format!("not one of ours: {}", uri.as_str()))?;
        Ok(schema(name))
    }
}

fn validator(name: &str) -> jsonschema::Validator {
    jsonschema::options()
        .with_retriever(SchemaDir)
        .with_base_uri("file:///doc/schema/")
        .build(&schema(name))
        .unwrap_or_else(|e| panic!("{name}.schema.json is not a valid schema: {e}"))
}

pub(crate) fn check(name: &str, doc: &Value) {
    let validator = validator(name);
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .take(10)
        .collect();
    assert!(errors.is_empty(), "{name}: {}", errors.join("\n"));
}

fn json_of(args: &[&str]) -> Value {
    let (code, out, err) = run(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

fn json_lines_of(args: &[&str]) -> Vec<Value> {
    let (code, out, err) = run(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{args:?}: {e}: {l}")))
        .collect()
}

#[test]
fn every_commands_json_matches_its_schema() {
    let seg = SysvSeg::new(8192, 1);
    let obj = PosixObj::new(4096, 2);
    let h = Holder::spawn(&[Hold::Sysv(seg.shmid), Hold::File(obj.path.clone())]);
    let id = seg.shmid.to_string();
    let path = obj.path.display().to_string();
    let pid = h.pid.to_string();

    check("ls", &json_of(&["ls", "--json"]));
    check("ls", &json_of(&["ls", "--json", "--all"]));
    check("show", &json_of(&["show", &id, "--json"]));
    check("show", &json_of(&["show", &obj.name, "--json"]));
    check("maps", &json_of(&["maps", &pid, "--json"]));
    check("key", &json_of(&["key", &path, "1", "--json"]));
    check(
        "key",
        &json_of(&["key", "--find", "0x01000001", "--in", "/dev/shm", "--json"]),
    );
    let limits = json_of(&["limits", "--json"]);
    check("limits", &limits);
    // Past 2^53 the string form is the exact one.
    if let (Some(n), Some(s)) = (limits["shmmax"].as_u64(), limits["shmmax_str"].as_str()) {
        assert_eq!(n.to_string(), s);
    }
    let loose = PosixObj::new(100, 3);
    check(
        "rm",
        // Unprivileged, processes we cannot read could hold it: --force lets the dry run
        // report it anyway (a dry run removes nothing either way).
        &json_of(&if is_root() {
            vec!["rm", "--posix", &loose.name, "--dry-run", "--json"]
        } else {
            vec![
                "rm",
                "--posix",
                &loose.name,
                "--dry-run",
                "--json",
                "--force",
            ]
        }),
    );
    assert!(loose.path.exists(), "a dry run removes nothing");
    for line in json_lines_of(&["dump", "--shmid", &id, "--json"]) {
        check("dump", &line);
    }
    for line in json_lines_of(&[
        "dump",
        "--shmid",
        &id,
        "--json",
        "--layout",
        "a:i32,b:char[4]",
    ]) {
        check("dump", &line);
    }
    check("locks", &json_of(&["locks", "--json"]));
    let lines = json_lines_of(&[
        "watch",
        "--path",
        &path,
        "--json",
        "--count",
        "2",
        "--interval",
        "10ms",
    ]);
    assert!(!lines.is_empty());
    for line in lines {
        check("watch", &line);
    }
}

#[test]
fn schemas_reject_what_they_should() {
    // A schema that accepts anything proves nothing: a row with a wrong type fails.
    let mut row = json_of(&["ls", "--json"]);
    if let Some(first) = row.as_array_mut().and_then(|a| a.first_mut()) {
        first["size"] = json!("big");
        assert!(!validator("ls").is_valid(&row));
    }
}

/// `rm --stale` acts by verdict, so even its dry run is checked only in private namespaces
/// (as tests/rm.rs does), where the leaked segment is the test's own.
#[test]
fn rm_stale_dry_run_says_would_remove_never_removed() {
    run_isolated("schema::stale_dry_run_inner_private_namespace");
}

#[test]
#[ignore = "run by rm_stale_dry_run_says_would_remove_never_removed in a private IPC namespace"]
fn stale_dry_run_inner_private_namespace() {
    if !enter_isolated() {
        return;
    }
    let leaked = SysvSeg::leaked(8192);
    let v = json_of(&["rm", "--stale", "--dry-run", "--json"]);
    check("rm", &v);
    assert_eq!(
        (v["removed"].as_u64(), v["bytes_freed"].as_u64()),
        (Some(0), Some(0)),
        "{v}"
    );
    let ours = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == leaked.shmid)
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(ours["result"], "would_remove");
    assert!(ours["stale_reason"].is_string(), "{ours}");
    assert!(v["would_remove"].as_u64().unwrap() >= 1, "{v}");
    assert!(v["bytes_would_free"].as_u64().unwrap() >= 8192, "{v}");
    assert!(leaked.exists(), "a dry run removes nothing");
    println!("INNER-OK");
}

#[test]
fn rm_backup_and_restore_match_their_schemas() {
    let loose = PosixObj::new(100, 4);
    let dir = tempfile::tempdir().unwrap();
    let dir_s = dir.path().to_str().unwrap();
    let mut args = vec!["rm", "--posix", &loose.name, "--backup", dir_s, "--json"];
    if !is_root() {
        // Unprivileged, unreadable processes could hold it: --force removes it anyway.
        args.push("--force");
    }
    let v = json_of(&args);
    check("rm", &v);
    assert_eq!(
        (v["removed"].as_u64(), v["would_remove"].as_u64()),
        (Some(1), Some(0))
    );
    let backup = v["results"][0]["backup"]
        .as_str()
        .expect("backup file")
        .to_string();
    assert!(!loose.path.exists());
    let v = json_of(&["restore", &backup, "--json"]);
    check("restore", &v);
    assert_eq!(v["path"], loose.path.display().to_string());
    assert!(loose.path.exists(), "restored under its name");
}

#[test]
fn history_of_an_old_log_gives_both_time_forms() {
    // A line as trace --log wrote it before `time_unix`/`time_iso`: history still reads it
    // and writes the whole vocabulary.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("trace.jsonl");
    let id = 2_000_000_000i64 + i64::from(std::process::id() as u16);
    let line = json!({
        "time": "2026-11-23T09:41:56.123456789Z", "mono_ns": 1, "event": "create",
        "pid": 4242, "tid": 4242, "comm": "maker", "uid": 0, "user": "root",
        "container": null, "kind": "sysv", "id": id, "key": "0x00c0ffee", "path": null,
        "size": 4096, "addr": null, "detail": "IPC_CREAT|0600"
    });
    std::fs::write(&log, format!("{line}\n")).unwrap();
    let lines = json_lines_of(&[
        "history",
        &id.to_string(),
        "--log",
        log.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(lines.len(), 1);
    for l in &lines {
        check("history", l);
    }
    assert_eq!(lines[0]["time_unix"], 1_795_426_916);
    assert_eq!(lines[0]["time_iso"], "2026-11-23T09:41:56.123456789Z");
}

#[test]
fn trace_lines_match_their_schema() {
    if let Some(why) = crate::trace::cannot_trace() {
        return skip(&why);
    }
    let Some(t) = crate::trace::Tracer::start(&[]) else {
        return;
    };
    let seg = SysvSeg::new(4096, 5);
    let obj = PosixObj::new(4096, 6);
    let mut h = Holder::spawn(&[Hold::Sysv(seg.shmid), Hold::File(obj.path.clone())]);
    h.stop();
    let (events, _) = t.stop();
    assert!(!events.is_empty(), "no event traced");
    for e in &events {
        check("trace", e);
    }
}

const TYPED: &str = "struct shmtool_schema_rec { int id; char name[20]; double v; };\n\
                     struct shmtool_schema_rec rec;\nint main(void) { return rec.id; }\n";

#[test]
fn types_json_matches_its_schema() {
    let dir = tempfile::tempdir().unwrap();
    let Some(exe) = crate::programs::build(dir.path(), "typed", "gcc", TYPED) else {
        return;
    };
    let v = json_of(&["types", exe.to_str().unwrap(), "shmtool_schema_*", "--json"]);
    check("types", &v);
    assert_eq!(v[0]["name"], "shmtool_schema_rec", "{v}");
    assert_eq!(v[0]["members"], 3);
}
