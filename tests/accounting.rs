//! Full accounting: objects only an open fd holds, resident bytes of every kind, and the part of
//! /dev/shm's use no listed object explains.

use crate::fixtures::*;
use serde_json::Value;
use std::process::Command;

fn fd_pids(row: &Value) -> Vec<i64> {
    row["fd_holders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["pid"].as_i64().unwrap())
        .collect()
}

#[test]
fn deleted_but_open_shm_file_and_fd_only_memfd_are_rows_with_their_holder() {
    let obj = PosixObj::new(10_000, 31);
    let memfd = unique_name("shmtool-fdonly");
    let h = Holder::spawn(&[
        Hold::OpenFd(obj.path.clone()),
        Hold::MemfdFd {
            name: memfd.clone(),
            size: 50_000,
            seed: 32,
        },
    ]);
    std::fs::remove_file(&obj.path).unwrap();
    let rows = ls_json(&[]);
    let path = obj.path.to_str().unwrap();

    let deleted: Vec<&Value> = rows
        .iter()
        .filter(|r| r["kind"] == "deleted" && r["path"] == path)
        .collect();
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    let d = deleted[0];
    assert_eq!(fd_pids(d), [h.pid as i64]);
    assert_eq!(d["fd_holders"][0]["fd"].as_u64(), Some(h.addrs[0]));
    assert_eq!(d["size"], 10_000);
    assert!(d["attachers"].as_array().unwrap().is_empty());
    assert_eq!(d["stale"], false);
    // tmpfs allocates whole pages: 10,000 bytes take 3 of 4 KiB.
    assert!(d["rss"].as_u64().unwrap() >= 10_000, "{d}");

    let name = format!("memfd:{memfd}");
    let m: Vec<&Value> = rows
        .iter()
        .filter(|r| r["kind"] == "memfd" && r["path"] == name.as_str())
        .collect();
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(fd_pids(m[0]), [h.pid as i64]);
    assert_eq!(m[0]["size"], 50_000);
    assert!(m[0]["rss"].as_u64().unwrap() >= 50_000, "{}", m[0]);
    assert!(m[0]["ctime_source"] == "btime" || m[0]["ctime_source"] == "mtime");

    // The table says who holds them, marked as holding an fd rather than a mapping.
    let (code, out, err) = run(&["ls", "--pid", &h.pid.to_string()]);
    assert_eq!(code, 0, "{err}");
    let line = out.lines().find(|l| l.contains(&memfd)).expect(&out);
    assert!(
        line.contains(&format!("{}(", h.pid)) && line.contains("[fd]"),
        "{line}"
    );

    // show names the fd.
    let (code, out, err) = run(&["show", &name]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("open by:"), "{out}");
    drop(h);
}

#[test]
fn unmapped_but_open_posix_object_is_in_use_with_its_holder() {
    let obj = PosixObj::new(4096, 33);
    let h = Holder::spawn(&[Hold::OpenFd(obj.path.clone())]);
    let rows = ls_json(&["--kind", "posix"]);
    let p = obj.path.to_str().unwrap();
    let row = rows.iter().find(|r| r["path"] == p).expect("row");
    assert_eq!(fd_pids(row), [h.pid as i64]);
    assert_eq!(row["stale"], false, "{row}");
    assert_eq!(row["verdict"], "in use", "{row}");
    assert_eq!(row["evidence"]["rule"], "open_fd", "{row}");
}

/// pmap -X's Rss column (KiB) for the mapping at `addr` in `pid`.
fn pmap_rss(pid: i32, addr: u64) -> Option<u64> {
    pmap_column(pid, addr, "Rss")
}

/// One column of pmap -X (KiB) for the mapping at `addr` in `pid`.
fn pmap_column(pid: i32, addr: u64, column: &str) -> Option<u64> {
    let out = output_if_installed(Command::new("pmap").args(["-X", &pid.to_string()]))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut header: Vec<&str> = Vec::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.first() == Some(&"Address") {
            header = cols;
            continue;
        }
        if cols.first().and_then(|a| u64::from_str_radix(a, 16).ok()) == Some(addr) {
            let i = header.iter().position(|h| *h == column)?;
            return cols.get(i)?.parse().ok();
        }
    }
    None
}

/// The `ls --json` row of `kind` that `pid` maps at `addr`.
fn row_at<'a>(rows: &'a [Value], kind: &str, pid: i32, addr: u64) -> &'a Value {
    let a = format!("0x{addr:x}");
    rows.iter()
        .find(|r| {
            r["kind"] == kind
                && r["attachers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x["pid"] == pid && x["start"] == a.as_str())
        })
        .unwrap_or_else(|| panic!("no {kind} row at {a}"))
}

#[test]
fn rss_of_anon_and_memfd_rows_agrees_with_pmap() {
    if !is_root() {
        // Resident bytes of these come from a stat through map_files (CAP_SYS_ADMIN).
        return skip("map_files needs root");
    }
    let name = unique_name("shmtool-rss");
    let h = Holder::spawn(&[
        Hold::Memfd {
            name: name.clone(),
            size: 5 * 4096 + 100,
            seed: 34,
        },
        Hold::Anon {
            size: 7 * 4096,
            seed: 35,
        },
    ]);
    let rows = ls_json(&["--pid", &h.pid.to_string()]);
    for (kind, addr) in [("memfd", h.addrs[0]), ("anon", h.addrs[1])] {
        let row = row_at(&rows, kind, h.pid, addr);
        let Some(kib) = pmap_rss(h.pid, addr) else {
            return skip("pmap -X is not installed");
        };
        assert_eq!(row["rss"].as_u64(), Some(kib * 1024), "{kind}: {row}");
    }
    // Sorting by resident bytes ranks the 7-page anon above the 6-page memfd.
    let (code, out, err) = run(&["ls", "--pid", &h.pid.to_string(), "--sort", "rss"]);
    assert_eq!(code, 0, "{err}");
    let order: Vec<&str> = out
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let anon = order.iter().position(|k| *k == "anon").expect(&out);
    let memfd = order.iter().position(|k| *k == "memfd").expect(&out);
    assert!(anon < memfd, "{out}");
}

const INNER_ENV: &str = "SHMTOOL_TEST_PRIVATE_SHM";

/// `limits` explains every byte of a /dev/shm where every holder can be read: a private tmpfs
/// mounted on /dev/shm in a private mount namespace, with a file, a deleted file still open and
/// a file in a subdirectory.
#[test]
fn limits_unexplained_is_zero_on_a_private_dev_shm() {
    if !is_root() {
        return skip("mounting a tmpfs on /dev/shm needs root");
    }
    let exe = env!("CARGO_BIN_EXE_shmtool");
    let script = format!(
        r#"set -e
mount -t tmpfs -o size=8m shmtool-test /dev/shm
head -c 100000 /dev/zero > /dev/shm/plain
mkdir /dev/shm/sub && head -c 5000 /dev/zero > /dev/shm/sub/inner
exec 3<>/dev/shm/held
head -c 300000 /dev/zero >&3
rm /dev/shm/held
"{exe}" limits --json 3>&-
"#
    );
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .env(INNER_ENV, "1")
        .stdin(std::process::Stdio::null())
        .output();
    let Ok(out) = out else {
        return skip("unshare(1) is not installed");
    };
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && (err.contains("unshare") || err.contains("mount")) {
        return skip(&format!("cannot make a private /dev/shm: {}", err.trim()));
    }
    assert!(out.status.success(), "{err}");
    let l: Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = &l["dev_shm"];
    let page = l["page_size"].as_u64().unwrap();
    let objects = d["objects"].as_u64().unwrap();
    assert_eq!(objects, 3, "{d}");
    let used = d["used"].as_u64().unwrap();
    assert!(used >= 405_000, "{d}");
    let unexplained = d["unexplained"].as_u64().unwrap();
    assert!(unexplained <= page * objects, "{d}");
    assert_eq!(d["explained"].as_u64().unwrap() + unexplained, used, "{d}");
}

/// Over 90% full, `limits` says so and how to give a container more.
#[test]
fn limits_flags_a_nearly_full_dev_shm_with_a_hint() {
    if !is_root() {
        return skip("mounting a tmpfs on /dev/shm needs root");
    }
    let exe = env!("CARGO_BIN_EXE_shmtool");
    let script = format!(
        r#"set -e
mount -t tmpfs -o size=1m shmtool-test /dev/shm
head -c 1000000 /dev/zero > /dev/shm/big
"{exe}" limits
"#
    );
    let Ok(out) = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .stdin(std::process::Stdio::null())
        .output()
    else {
        return skip("unshare(1) is not installed");
    };
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && (err.contains("unshare") || err.contains("mount")) {
        return skip(&format!("cannot make a private /dev/shm: {}", err.trim()));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{err}");
    assert!(text.contains("/dev/shm is"), "{text}");
    assert!(text.contains("--shm-size"), "{text}");
    assert!(text.contains("sizeLimit"), "{text}");
}

#[test]
fn rss_of_a_file_row_is_its_page_cache_as_fincore_counts_it() {
    if !is_root() {
        return skip("map_files needs root");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cached.bin");
    std::fs::write(&file, pattern(36, 5 * 4096)).unwrap();
    let h = Holder::spawn(&[Hold::File(file.clone())]);
    let Some(out) = output_if_installed(
        Command::new("fincore")
            .args(["--bytes", "--noheadings", "--output", "RES"])
            .arg(&file),
    ) else {
        return skip("fincore (util-linux) is not installed");
    };
    let res: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let rows = ls_json(&["--pid", &h.pid.to_string(), "--kind", "file"]);
    let p = file.to_str().unwrap();
    let row = rows.iter().find(|r| r["path"] == p).expect("row");
    assert_eq!(row["rss"].as_u64(), Some(res), "{row}");
    assert!(res >= 5 * 4096);
    assert_eq!(row["swap"], 0);
}

/// Whether the machine has swap configured (SwapTotal in /proc/meminfo).
fn swap_configured() -> bool {
    std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("SwapTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .is_some_and(|kb| kb > 0)
}

#[test]
fn swap_of_every_kind_is_zero_and_rss_is_pmaps_with_swap_off() {
    if !is_root() {
        return skip("resident bytes of memfds and shared anonymous memory need map_files (root)");
    }
    let seg = SysvSeg::new(3 * 4096, 36);
    let obj = PosixObj::new(2 * 4096, 37);
    let name = unique_name("shmtool-swap");
    let h = Holder::spawn(&[
        Hold::Memfd {
            name: name.clone(),
            size: 4 * 4096,
            seed: 38,
        },
        Hold::Anon {
            size: 5 * 4096,
            seed: 39,
        },
        Hold::Sysv(seg.shmid),
        Hold::File(obj.path.clone()),
    ]);
    let rows = ls_json(&["--pid", &h.pid.to_string()]);
    let at = |kind: &str, addr: u64| row_at(&rows, kind, h.pid, addr);
    let kinds = [
        ("memfd", h.addrs[0]),
        ("anon", h.addrs[1]),
        ("sysv", h.addrs[2]),
        ("posix", h.addrs[3]),
    ];
    if swap_configured() {
        // Split through cachestat: both figures are there, and together they are the blocks.
        for (kind, addr) in kinds {
            let row = at(kind, addr);
            assert!(row["swap"].is_u64() && row["rss"].is_u64(), "{kind}: {row}");
        }
        eprintln!("swap is configured here: swapped bytes checked for presence only");
        return;
    }
    for (kind, addr) in kinds {
        let row = at(kind, addr);
        assert_eq!(row["swap"], 0, "{kind}: {row}");
        let Some(swap_kib) = pmap_column(h.pid, addr, "Swap") else {
            return skip("pmap -X is not installed");
        };
        assert_eq!(swap_kib, 0, "{kind}: pmap says swapped");
    }
    // The objects the holder wrote are wholly resident in it: pmap agrees to the byte.
    for (kind, addr) in &kinds[..2] {
        let row = at(kind, *addr);
        assert_eq!(
            row["rss"].as_u64(),
            pmap_rss(h.pid, *addr).map(|k| k * 1024),
            "{kind}: {row}"
        );
    }
    // The SWAP column shows the same.
    let (code, out, err) = run(&[
        "ls",
        "--pid",
        &h.pid.to_string(),
        "-o",
        "KIND,RSS,SWAP",
        "--bytes",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().next().unwrap().contains("SWAP"), "{out}");
    for l in out.lines().skip(1) {
        assert_eq!(l.split_whitespace().last(), Some("0"), "{out}");
    }
}
