//! Every command's JSON validates against its JSON Schema under doc/schema/, on real objects.

use crate::fixtures::*;
use serde_json::{json, Value};

pub(crate) fn schema(name: &str) -> Value {
    let path = format!(
        "{}/doc/schema/{name}.schema.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    // The files name each other by relative $id ("ls.schema.json#/$defs/object"); validated
    // here one at a time, a reference to ls's object is taken from ls's own file.
    if let Some(obj) = v.as_object_mut() {
        obj.remove("$id");
        if obj.get("$ref").and_then(Value::as_str) == Some("ls.schema.json#/$defs/object") {
            obj.insert("$ref".into(), json!("#/$defs/object"));
            obj.insert("$defs".into(), schema("ls")["$defs"].clone());
        }
    }
    v
}

pub(crate) fn check(name: &str, doc: &Value) {
    let validator = jsonschema::validator_for(&schema(name))
        .unwrap_or_else(|e| panic!("{name}.schema.json is not a valid schema: {e}"));
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
        let validator = jsonschema::validator_for(&schema("ls")).unwrap();
        assert!(!validator.is_valid(&row));
    }
}
