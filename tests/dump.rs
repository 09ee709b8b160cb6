//! `shmtool dump` against real objects: every selector returns exactly the bytes written, and
//! reading leaves the objects (and a System V segment's lpid/nattch/atime) as they were.

use crate::fixtures::*;

fn raw(args: &[&str]) -> Vec<u8> {
    let mut all = vec!["dump", "--format", "raw"];
    all.extend_from_slice(args);
    let (code, out, err) = run_bytes(&all);
    assert_eq!(code, 0, "{all:?}: {err}");
    out
}

fn hex(a: u64) -> String {
    format!("{a:#x}")
}

/// (lpid, nattch, atime, dtime) of a segment.
fn sysv_marks(seg: &SysvSeg) -> (i32, u64, i64, i64) {
    let ds = seg.stat().expect("segment exists");
    (
        ds.shm_lpid,
        ds.shm_nattch as _,
        ds.shm_atime as _,
        ds.shm_dtime as _,
    )
}

#[test]
fn sysv_by_shmid_key_and_ftok_is_exact_and_untouched() {
    let size = 3 * 4096 + 100;
    let seg = SysvSeg::new(size, 11);
    let h = Holder::spawn(&[Hold::Sysv(seg.shmid)]);
    let before = sysv_marks(&seg);
    let id = seg.shmid.to_string();
    let key = seg.key_string();
    assert_eq!(raw(&["--shmid", &id]), pattern(11, size));
    assert_eq!(raw(&["--key", &key]), pattern(11, size));
    assert_eq!(
        raw(&["--shmid", &id, "--offset", "0x1001", "--length", "77"]),
        pattern(11, size)[0x1001..0x1001 + 77]
    );
    if is_root() {
        // Read through the holder's map_files: the segment never sees us.
        assert_eq!(sysv_marks(&seg), before, "lpid/nattch/atime/dtime changed");
    } else {
        skip("lpid/atime check needs root (map_files)");
    }
    assert_eq!(seg.read(), pattern(11, size), "segment changed");
    drop(h);

    // ftok: a segment made with the key ftok gives for a file of ours.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keyfile");
    std::fs::write(&file, b"x").unwrap();
    let c = std::ffi::CString::new(file.to_str().unwrap()).unwrap();
    let fkey = unsafe { libc::ftok(c.as_ptr(), 77) } as u32;
    match SysvSeg::with_key(fkey, 5000, 12) {
        Some(fseg) => {
            let h = Holder::spawn(&[Hold::Sysv(fseg.shmid)]);
            let got = raw(&["--ftok", file.to_str().unwrap(), "77"]);
            assert_eq!(got, pattern(12, 5000));
            drop(h);
        }
        None => skip("the ftok key of a fresh temp file is in use"),
    }
}

#[test]
fn sysv_nobody_maps_is_attached_read_only_and_says_so() {
    let seg = SysvSeg::new(8192, 13);
    let (code, out, err) =
        run_bytes(&["dump", "--format", "raw", "--shmid", &seg.shmid.to_string()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, pattern(13, 8192));
    assert!(err.contains("shmat"), "{err}");
    assert_eq!(sysv_marks(&seg).1, 0, "left attached");
}

#[test]
fn posix_by_path_and_by_name() {
    let obj = PosixObj::new(10_000, 21);
    let want = pattern(21, 10_000);
    assert_eq!(raw(&["--path", obj.path.to_str().unwrap()]), want);
    assert_eq!(raw(&["--path", &obj.name]), want);
    assert_eq!(
        raw(&["--path", &obj.name, "--offset", "9000"]),
        want[9000..]
    );
    assert_eq!(std::fs::read(&obj.path).unwrap(), want);
}

#[test]
fn pid_addr_mid_mapping_with_length_for_every_kind() {
    let obj = PosixObj::new(3 * 4096, 31);
    let seg = SysvSeg::new(2 * 4096, 32);
    let h = Holder::spawn(&[
        Hold::File(obj.path.clone()),
        Hold::Sysv(seg.shmid),
        Hold::Memfd {
            name: unique_name("shmtool-dump"),
            size: 4096,
            seed: 33,
        },
        Hold::Anon {
            size: 4096 * 2,
            seed: 34,
        },
    ]);
    let pid = h.pid.to_string();
    let cases = [
        (h.addrs[0], 31u8, 3 * 4096usize),
        (h.addrs[1], 32, 2 * 4096),
        (h.addrs[2], 33, 4096),
        (h.addrs[3], 34, 2 * 4096),
    ];
    let before = sysv_marks(&seg);
    for (addr, seed, size) in cases {
        let want = pattern(seed, size);
        // Whole mapping from its start, then from the middle, then a window.
        assert_eq!(raw(&[&pid, &hex(addr)]), want, "seed {seed}");
        assert_eq!(
            raw(&[&pid, &hex(addr + 0x123)]),
            want[0x123..],
            "seed {seed}"
        );
        assert_eq!(
            raw(&[
                &pid,
                &hex(addr + 0x10),
                "--offset",
                "0x20",
                "--length",
                "300"
            ]),
            want[0x30..0x30 + 300],
            "seed {seed}"
        );
    }
    if is_root() {
        assert_eq!(sysv_marks(&seg), before);
    }
    assert_eq!(std::fs::read(&obj.path).unwrap(), pattern(31, 3 * 4096));
}

#[test]
fn hex_format_addresses_are_the_targets_own() {
    let obj = PosixObj::new(4096, 41);
    let h = Holder::spawn(&[Hold::File(obj.path.clone())]);
    let at = h.addrs[0] + 0x40;
    let (code, out, err) = run(&["dump", &h.pid.to_string(), &hex(at), "--length", "32"]);
    assert_eq!(code, 0, "{err}");
    let first = out.lines().next().unwrap();
    assert!(first.starts_with(&format!("{at:x}  ")), "{out}");
    let b = pattern(41, 4096);
    assert!(
        first.contains(&format!("{:02x} {:02x}", b[0x40], b[0x41])),
        "{out}"
    );
    assert_eq!(out.lines().last().unwrap(), format!("{:x}", at + 32));
}

#[test]
fn address_outside_every_mapping_is_a_clean_error() {
    let h = Holder::spawn(&[Hold::Anon {
        size: 4096,
        seed: 1,
    }]);
    let (code, out, err) = run(&["dump", &h.pid.to_string(), "0x10"]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("shmtool: error: 0x10 is not inside any mapping"),
        "{err}"
    );
}

#[test]
fn missing_objects_and_bad_input_are_one_line_errors() {
    let h = Holder::spawn(&[Hold::Anon {
        size: 4096,
        seed: 1,
    }]);
    let pid = h.pid.to_string();
    for args in [
        &["dump", "--shmid", "2147483000"][..],
        &["dump", "--key", "0x7ffffff1"],
        &["dump", "--path", "/nonexistent/shmtool-x"],
        &["dump", &pid, "no_such_symbol_here"],
        &["dump", &pid, "0x1000", "--layout", "id:int"],
        &["dump", "--path", "/dev/null", "--length", "lots"],
        &["dump", "999999999", "0x1000"],
    ] {
        let (code, out, err) = run(args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: {out}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("shmtool: error: "), "{args:?}: {err}");
    }
}

#[test]
fn escape_sequences_in_memory_never_reach_the_output() {
    let obj = PosixObj::new(64, 0);
    let mut data = b"title\x1b]0;pwned\x07 \x1b[2J\x9b31m\xe2\x80\xaeevil".to_vec();
    data.resize(64, 0);
    std::fs::write(&obj.path, &data).unwrap();
    for format in ["hex", "text"] {
        let (code, out, err) = run_bytes(&["dump", "--path", &obj.name, "--format", format]);
        assert_eq!(code, 0, "{err}");
        assert!(!out.contains(&0x1b), "{format}: {out:?}");
        assert!(
            !out.contains(&0x07) && !out.contains(&0x9b),
            "{format}: {out:?}"
        );
        assert!(out.is_ascii(), "{format}: {out:?}");
    }
    let (code, out, _) = run_bytes(&["dump", "--path", &obj.name, "--layout", "s:char[40]"]);
    assert_eq!(code, 0);
    assert!(!out.contains(&0x1b) && out.is_ascii(), "{out:?}");
    // Raw to a pipe is the one format that copies bytes as they are.
    assert_eq!(raw(&["--path", &obj.name]), data);
}

#[test]
fn truncated_object_under_a_live_mapping_is_a_short_read_not_a_crash() {
    let obj = PosixObj::new(4 * 4096, 51);
    let h = Holder::spawn(&[Hold::File(obj.path.clone())]);
    obj.truncate(4096);
    let (code, out, err) = run_bytes(&[
        "dump",
        "--format",
        "raw",
        &h.pid.to_string(),
        &hex(h.addrs[0]),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("short read: only 4096 of 16384 bytes"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(
        out,
        pattern(51, 4096),
        "what could be read is still written"
    );
    // By path, the object is simply smaller now.
    assert_eq!(raw(&["--path", &obj.name]), pattern(51, 4096));
}

#[test]
fn output_file_and_layout() {
    let obj = PosixObj::new(56, 0);
    let mut data = Vec::new();
    for (id, name, sex) in [(10i32, &b"hqx"[..], b'm'), (11, b"abc", b'f')] {
        data.extend_from_slice(&id.to_ne_bytes());
        let mut n = [0u8; 20];
        n[..name.len()].copy_from_slice(name);
        data.extend_from_slice(&n);
        data.extend_from_slice(&[sex, 0, 0, 0]);
    }
    std::fs::write(&obj.path, &data).unwrap();
    let spec = "id:i32,name:char[20],sex:char";
    let (code, out, err) = run(&["dump", "--path", &obj.name, "--layout", spec]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "id=10 name=\"hqx\" sex='m'\n");
    let (code, out, _) = run(&[
        "dump",
        "--path",
        &obj.name,
        "--layout",
        spec,
        "--layout-repeat",
        "2",
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "[0] id=10 name=\"hqx\" sex='m'\n[1] id=11 name=\"abc\" sex='f'\n"
    );
    let (code, out, _) = run(&["dump", "--path", &obj.name, "--layout", spec, "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["fields"]["name"], "hqx");
    assert_eq!(v["fields"]["id"], 10);

    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.bin");
    let (code, out, err) = run(&[
        "dump",
        "--path",
        &obj.name,
        "--format",
        "raw",
        "-o",
        copy.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty());
    assert_eq!(std::fs::read(&copy).unwrap(), data);
}

#[test]
fn std_string_in_shared_memory_is_flagged_as_a_pointer_into_the_writers_heap() {
    let dir = tempfile::tempdir().unwrap();
    let Some(exe) =
        crate::programs::build(dir.path(), "cxx_string", "g++", crate::programs::CXX_STRING)
    else {
        return;
    };
    let file = dir.path().join("shared.bin");
    let prog = crate::programs::Program::start(&exe, &[file.to_str().unwrap()]);
    let want = format!(
        "pointer into pid {} [heap]: meaningless in other processes",
        prog.pid
    );
    let (code, out, err) = run(&[
        "dump",
        &prog.pid.to_string(),
        &hex(prog.addr),
        "--length",
        "64",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&want), "{out}");
    // By path too: the writer is found as a process that maps the file.
    let (code, out, err) = run(&["dump", "--path", file.to_str().unwrap(), "--length", "64"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&want), "{out}");
    // And in a layout: std::string is { char *data; size_t len; char buf[16]; } in libstdc++.
    let (code, out, _) = run(&[
        "dump",
        "--path",
        file.to_str().unwrap(),
        "--layout",
        "id:i64,data:ptr,len:u64",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("len=47"), "{out}");
    assert!(out.contains(&format!("^ data: {want}")), "{out}");
}

#[test]
fn symbols_resolve_from_the_elf_files_a_process_maps() {
    let dir = tempfile::tempdir().unwrap();
    let Some(exe) = crate::programs::build(dir.path(), "stu", "gcc", crate::programs::STU_WRITER)
    else {
        return;
    };
    let file = dir.path().join("stu.bin");
    let prog = crate::programs::Program::start(&exe, &[file.to_str().unwrap()]);
    let pid = prog.pid.to_string();
    let (code, out, err) = run(&[
        "dump",
        &pid,
        "seed_global",
        "--layout",
        "id:i32,name:char[20],sex:char",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "id=42 name=\"symbolic\" sex='x'\n");
    assert_eq!(raw(&[&pid, "seed_global+4", "--length", "8"]), b"symbolic");
}

#[test]
fn raw_bytes_to_a_terminal_are_refused_without_force() {
    let obj = PosixObj::new(32, 3);
    let Some(out) =
        crate::programs::in_pty(&format!("dump --path {} --format raw", obj.name), |_| {})
    else {
        return;
    };
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.contains("refusing to write raw bytes to a terminal"),
        "{text}"
    );
    let out = crate::programs::in_pty(
        &format!("dump --path {} --format raw --force --length 4", obj.name),
        |_| {},
    )
    .unwrap();
    assert!(!String::from_utf8_lossy(&out).contains("refusing"));
}

#[test]
fn selector_usage_errors_exit_2_naming_what_is_missing() {
    for (args, want) in [
        (&["dump", "1"][..], "<ADDR>"),
        (
            &["dump", "--shmid", "1", "--path", "x"],
            "cannot be used with",
        ),
        (&["watch"], "required"),
    ] {
        let (code, out, err) = run(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty());
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

#[test]
fn dump_o_onto_its_own_source_is_refused_even_with_force_and_leaves_it_whole() {
    let obj = PosixObj::new(3 * 4096, 71);
    let h = Holder::spawn(&[Hold::File(obj.path.clone())]);
    let target = obj.path.to_str().unwrap();
    let by_addr = [h.pid.to_string(), hex(h.addrs[0])];
    let selectors: Vec<Vec<&str>> = vec![
        vec!["--path", target],
        vec!["--path", &obj.name],
        vec![&by_addr[0], &by_addr[1]],
    ];
    for sel in &selectors {
        for force in [false, true] {
            let mut args = vec!["dump", "--format", "raw", "-o", target];
            args.extend(sel.iter().copied());
            if force {
                args.push("--force");
            }
            if sel.len() == 2 && sel[0] != "--path" && !is_root() && force {
                // Unprivileged, a process's mapping is read with process_vm_readv: the object
                // behind it is not known, and --force lets -o write (over the object, which
                // this test must keep whole). Not this test's point.
                continue;
            }
            let (code, out, err) = run(&args);
            assert_eq!(code, 1, "{args:?}: {err}");
            assert!(out.is_empty());
            assert_eq!(err.lines().count(), 1, "{err}");
            if force || sel[0] == "--path" || is_root() {
                assert!(
                    err.contains("is the object being dumped"),
                    "{args:?}: {err}"
                );
            }
        }
    }
    assert_eq!(std::fs::read(&obj.path).unwrap(), pattern(71, 3 * 4096));
    drop(h);
}

#[test]
fn dump_o_into_dev_shm_needs_force() {
    let obj = PosixObj::new(64, 72);
    let dest = format!("/dev/shm/{}", unique_name("shmtool-dump-o"));
    struct Gone<'a>(&'a str);
    impl Drop for Gone<'_> {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(self.0);
        }
    }
    let _cleanup = Gone(&dest);
    let args = ["dump", "--path", &obj.name, "--format", "raw", "-o", &dest];
    let (code, _, err) = run(&args);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("into /dev/shm"), "{err}");
    assert!(err.contains("--force"), "{err}");
    assert!(!std::path::Path::new(&dest).exists(), "created anyway");
    // However the directory is spelled: by a symlink to it, or through `..`. The check is on
    // the device of the directory opened, not on the text.
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("shm");
    std::os::unix::fs::symlink("/dev/shm", &link).unwrap();
    let name = unique_name("shmtool-dump-o");
    let _cleanup2 = Gone(&format!("/dev/shm/{name}"));
    for via in [
        link.join(&name).to_str().unwrap().to_string(),
        format!("/dev/shm/../shm/{name}"),
    ] {
        let args = ["dump", "--path", &obj.name, "--format", "raw", "-o", &via];
        let (code, _, err) = run(&args);
        assert_eq!(code, 1, "{via}: {err}");
        assert!(err.contains("into /dev/shm"), "{via}: {err}");
    }
    assert!(!std::path::Path::new(&format!("/dev/shm/{name}")).exists());
    let mut forced = args.to_vec();
    forced.push("--force");
    let (code, _, err) = run(&forced);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read(&dest).unwrap(), pattern(72, 64));
}

#[test]
fn dump_o_creates_0600_and_never_overwrites_or_follows_without_force() {
    use std::os::unix::fs::PermissionsExt;
    let obj = PosixObj::new(100, 73);
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.bin");
    let c = copy.to_str().unwrap();
    let args = ["dump", "--path", &obj.name, "--format", "raw", "-o", c];
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("created") && err.contains("0600"), "{err}");
    let mode = std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(std::fs::read(&copy).unwrap(), pattern(73, 100));

    // An existing file is left alone.
    std::fs::write(&copy, b"keep me").unwrap();
    let (code, _, err) = run(&args);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("exists") && err.contains("--force"), "{err}");
    assert_eq!(std::fs::read(&copy).unwrap(), b"keep me");

    // A symlink planted at the name is not followed.
    let victim = dir.path().join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    let link = dir.path().join("link.bin");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let l = link.to_str().unwrap();
    let (code, _, err) = run(&["dump", "--path", &obj.name, "--format", "raw", "-o", l]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");

    // --force overwrites.
    let mut forced = args.to_vec();
    forced.push("--force");
    let (code, _, err) = run(&forced);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read(&copy).unwrap(), pattern(73, 100));
}

#[test]
fn an_offset_near_two_to_the_64_is_a_usage_error_not_a_wrap() {
    let h = Holder::spawn(&[Hold::Anon {
        size: 4096,
        seed: 1,
    }]);
    let pid = h.pid.to_string();
    let addr = hex(h.addrs[0] + 16);
    for off in [
        "0xffffffffffffffff",
        "0x8000000000000000",
        "18446744073709551615",
    ] {
        for cmd in ["dump", "watch"] {
            let mut args = vec![cmd, &pid, &addr, "--offset", off];
            if cmd == "watch" {
                args.extend(["--count", "1"]);
            }
            let (code, out, err) = run(&args);
            assert_eq!(code, 2, "{cmd} --offset {off}: {err}");
            assert!(out.is_empty(), "{out}");
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(err.contains("--offset"), "{err}");
            assert!(!err.contains("panicked"), "{err}");
        }
    }
    // The largest offset that parses is simply past the end of the mapping.
    let (code, _, err) = run(&["dump", &pid, &addr, "--offset", "0x7fffffffffffffff"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("past the end"), "{err}");
}
