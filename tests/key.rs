//! `shmtool key`: the key equals glibc's ftok, finds the segment that has it, and `--find`
//! walks back from a key to the file.

use crate::fixtures::*;
use serde_json::Value;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

extern "C" {
    // glibc's own ftok (the libc crate does not declare it for Linux).
    fn ftok(pathname: *const libc::c_char, proj_id: libc::c_int) -> libc::key_t;
}

fn glibc_ftok(path: &Path, proj_id: i32) -> u32 {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    let k = unsafe { ftok(c.as_ptr(), proj_id) };
    assert_ne!(k, -1, "ftok failed for {}", path.display());
    k as u32
}

fn key_json(path: &Path, proj: &str) -> Value {
    let (code, out, err) = run(&["key", path.to_str().unwrap(), proj, "--json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("bad JSON ({e}): {out}"))
}

#[test]
fn key_equals_glibc_ftok() {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = vec![dir.path().to_path_buf(), "/".into()];
    for i in 0..4 {
        let p = dir.path().join(format!("f{i}"));
        std::fs::write(&p, b"x").unwrap();
        paths.push(p);
    }
    // (as typed, the int C code passes)
    let projs: [(&str, i32); 9] = [
        ("1", 1),
        ("100", 100),
        ("0x7f", 0x7f),
        ("0x80", 0x80),
        ("200", 200),
        ("0xff", 0xff),
        ("A", b'A' as i32),
        ("'z'", b'z' as i32),
        ("0x141", 0x141),
    ];
    for path in &paths {
        for (typed, c) in projs {
            let want = format!("0x{:08x}", glibc_ftok(path, c));
            let v = key_json(path, typed);
            assert_eq!(v["key"], want, "{} {typed}", path.display());
            assert_eq!(v["proj_id"], c);
            assert_eq!(v["path"], path.to_str().unwrap());
            assert!(v.get("shmid").is_some());
        }
    }
}

/// A file whose ftok key (with `proj`) no segment has yet.
fn fresh_key_file(dir: &Path, proj: i32) -> (std::path::PathBuf, u32) {
    for i in 0..100 {
        let p = dir.join(format!("keyfile{i}"));
        std::fs::write(&p, b"k").unwrap();
        let key = glibc_ftok(&p, proj);
        if unsafe { libc::shmget(key as libc::key_t, 0, 0) } < 0 {
            return (p, key);
        }
    }
    panic!("every candidate key is taken");
}

#[test]
fn key_finds_the_segment_with_that_key() {
    let dir = tempfile::tempdir().unwrap();
    let (path, key) = fresh_key_file(dir.path(), 0x9c);
    let seg = SysvSeg::with_key(key, 8192, 0).expect("key taken meanwhile");
    let h = Holder::spawn(&[Hold::Sysv(seg.shmid)]);
    let v = key_json(&path, "0x9c");
    assert_eq!(v["key"], seg.key_string());
    assert_eq!(v["shmid"], seg.shmid);

    let (code, out, err) = run(&["key", path.to_str().unwrap(), "0x9c"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with(&seg.key_string()), "{out}");
    assert!(
        out.contains(&format!("shmid {} has this key", seg.shmid)),
        "{out}"
    );
    assert!(
        out.contains(&h.pid.to_string()),
        "attacher not named: {out}"
    );
    assert!(out.contains("8 KiB"), "size not shown: {out}");
}

#[test]
fn key_says_none_when_no_segment_has_it() {
    let dir = tempfile::tempdir().unwrap();
    let (path, key) = fresh_key_file(dir.path(), b'N' as i32);
    let v = key_json(&path, "N");
    assert_eq!(v["key"], format!("0x{key:08x}"));
    assert_eq!(v["shmid"], Value::Null);
    let (code, out, _) = run(&["key", path.to_str().unwrap(), "N"]);
    assert_eq!(code, 0);
    assert!(out.contains("no System V segment has this key"), "{out}");
}

#[test]
fn key_find_finds_the_test_file() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("a/b");
    std::fs::create_dir_all(&sub).unwrap();
    let file = sub.join("the-key-file");
    std::fs::write(&file, b"k").unwrap();
    let key = format!("0x{:08x}", glibc_ftok(&file, b'Q' as i32));

    let (code, out, err) = run(&[
        "key",
        "--find",
        &key,
        "--in",
        dir.path().to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["proj_id"], b'Q');
    let paths: Vec<&str> = v["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&file.to_str().unwrap()), "{paths:?}");
    assert_eq!(v["complete"], true);

    // Without --in: the default places include /tmp, where tempfile puts the directory.
    if dir.path().starts_with("/tmp") {
        let (code, out, err) = run(&["key", "--find", &key]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains(file.to_str().unwrap()), "{out}");
        assert!(out.contains("'Q'"), "{out}");
    }
}

#[test]
fn key_bad_inputs_are_clean_errors() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("f");
    std::fs::write(&f, b"x").unwrap();
    let f = f.to_str().unwrap();
    let missing = dir.path().join("missing");
    for args in [
        &["key", missing.to_str().unwrap(), "1"][..],
        &["key", f, "0"],
        &["key", f, "0x100"],
        &["key", f, "AB"],
        &["key", "--find", "0x0000abcd"],
        &["key", "--find", "0xnothex"],
        &[
            "key",
            "--find",
            "0x41000001",
            "--in",
            missing.to_str().unwrap(),
        ],
    ] {
        let (code, out, err) = run(args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: {out}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("shmtool: error: "), "{err}");
    }
}
