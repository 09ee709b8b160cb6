//! `shmtool watch` against real writers: the seed's `struct STU` writer seen counting up, JSON
//! Lines, targets that go away, and a terminal restored after Ctrl-C.

use crate::fixtures::*;
use crate::programs::{build, in_pty, Program, STU_WRITER};
use crate::races::{resume, start_paused};

const STU: &str = "id:i32,name:char[20],sex:char";

fn ids(out: &str) -> Vec<i64> {
    out.lines()
        .filter_map(|l| l.split("id=").nth(1))
        .filter_map(|r| r.split_whitespace().next()?.parse().ok())
        .collect()
}

fn writer(dir: &std::path::Path, limit: Option<&str>) -> Option<(Program, std::path::PathBuf)> {
    let exe = build(dir, "stu", "gcc", STU_WRITER)?;
    let file = dir.join("stu.bin");
    let mut args = vec![file.to_str().unwrap()];
    args.extend(limit);
    Some((Program::start(&exe, &args), file.clone()))
}

#[test]
fn seed_writer_is_seen_counting_up_by_address_and_by_path() {
    let dir = tempfile::tempdir().unwrap();
    let Some((prog, file)) = writer(dir.path(), None) else {
        return;
    };
    let by_addr = [
        "watch".to_string(),
        prog.pid.to_string(),
        format!("{:#x}", prog.addr),
    ];
    let by_path = ["watch".into(), "--path".into(), file.display().to_string()];
    for sel in [&by_addr, &by_path] {
        let mut args: Vec<&str> = sel.iter().map(String::as_str).collect();
        args.extend([
            "--layout",
            STU,
            "--interval",
            "100ms",
            "--count",
            "8",
            "--color",
            "never",
        ]);
        let (code, out, err) = run_bytes(&args);
        assert_eq!(code, 0, "{err}");
        assert!(!out.contains(&0x1b));
        let out = String::from_utf8(out).unwrap();
        let seen = ids(&out);
        assert!(seen.len() >= 2, "{out}");
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "{out}");
        assert!(
            out.lines().all(|l| l.ends_with("name=\"hqx\" sex='m'")),
            "{out}"
        );
    }
}

#[test]
fn json_lines_name_time_offset_old_and_new() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_prog, file)) = writer(dir.path(), None) else {
        return;
    };
    let path = file.to_str().unwrap();
    let (code, out, err) = run(&[
        "watch",
        "--path",
        path,
        "--json",
        "--interval",
        "100ms",
        "--count",
        "5",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().count() >= 1, "{out}");
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["time"].as_str().unwrap().ends_with('Z'));
        let c = &v["changes"][0];
        assert_eq!(c["offset"], 0, "{line}");
        assert_ne!(c["old"], c["new"]);
    }
    // With a layout, the decoded record comes along.
    let (code, out, _) = run(&[
        "watch",
        "--path",
        path,
        "--json",
        "--layout",
        STU,
        "--interval",
        "100ms",
        "--count",
        "5",
    ]);
    assert_eq!(code, 0);
    let first: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(first["records"][0]["fields"]["name"], "hqx");
}

#[test]
fn a_target_exiting_mid_watch_ends_it_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let Some((prog, _file)) = writer(dir.path(), None) else {
        return;
    };
    // Stopped once the first state is shown; the writer ends while it waits.
    let child = start_paused(
        &[
            "watch",
            &prog.pid.to_string(),
            &format!("{:#x}", prog.addr),
            "--interval",
            "20ms",
            "--count",
            "100000",
        ],
        "watch:shown",
    );
    let pid = prog.pid;
    drop(prog);
    let (code, out, err) = resume(child);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!("shmtool: error: process {pid} exited")),
        "{err}"
    );
}

#[test]
fn a_segment_removed_mid_watch_ends_it() {
    let mut seg = SysvSeg::new(4096, 61);
    let mut h = Holder::spawn(&[Hold::Sysv(seg.shmid)]);
    let args = [
        "watch",
        "--shmid",
        &seg.shmid.to_string(),
        "--interval",
        "20ms",
        "--count",
        "100000",
    ];
    let child = start_paused(&args, "watch:shown");
    seg.remove();
    h.stop();
    let (code, _, err) = resume(child);
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("System V segment {} was removed", seg.shmid)),
        "{err}"
    );
}

#[test]
fn ipcrm_ends_a_watch_even_when_shmtool_is_the_last_attacher() {
    // Nobody maps it: watch attaches itself, so after IPC_RMID the segment lingers (dest)
    // for as long as watch holds it, and only IPC_STAT tells that it was removed.
    let mut seg = SysvSeg::new(4096, 62);
    let args = [
        "watch",
        "--shmid",
        &seg.shmid.to_string(),
        "--interval",
        "20ms",
        "--count",
        "100000",
    ];
    let child = start_paused(&args, "watch:shown");
    seg.remove();
    assert!(
        seg.exists(),
        "the segment should linger while watch holds it"
    );
    let (code, out, err) = resume(child);
    assert_eq!(code, 1, "{out}{err}");
    let lines: Vec<&str> = err.lines().collect();
    // The shmat note, then exactly one error line.
    let errors: Vec<&&str> = lines
        .iter()
        .filter(|l| l.starts_with("shmtool: error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(
        errors[0].contains(&format!("System V segment {} was removed", seg.shmid)),
        "{err}"
    );
    assert!(!seg.exists(), "watch left the removed segment attached");
}

#[test]
fn bad_interval_and_count_are_errors() {
    let obj = PosixObj::new(16, 1);
    for extra in [
        &["--interval", "5ms"][..],
        &["--interval", "soon"],
        &["--count", "0"],
    ] {
        let mut args = vec!["watch", "--path", &obj.name];
        args.extend_from_slice(extra);
        let (code, out, err) = run(&args);
        assert_eq!(code, 1, "{extra:?}");
        assert!(out.is_empty());
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn on_a_terminal_colour_never_prints_no_escape_and_ctrl_c_restores_it() {
    let obj = PosixObj::new(64, 2);
    let Some(out) = in_pty(
        &format!(
            "watch --path {} --interval 20ms --count 3 --color never",
            obj.name
        ),
        |_| {},
    ) else {
        return;
    };
    assert!(!out.contains(&0x1b), "{}", String::from_utf8_lossy(&out));

    // Redrawn screen with colour; Ctrl-C (SIGINT to shmtool, script's child) restores it.
    let out = in_pty(
        &format!("watch --path {} --interval 20ms --color always", obj.name),
        |script| {
            let pid = shmtool_under(script);
            wait_until_it_catches(pid, libc::SIGINT);
            unsafe { libc::kill(pid, libc::SIGINT) };
        },
    )
    .unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("\x1b[?1049h"), "{text:?}");
    assert!(
        text.trim_end().ends_with("\x1b[?25h\x1b[?1049l"),
        "{text:?}"
    );
}

/// The shmtool that `script` runs (its only child), once it has started.
pub fn shmtool_under(script: i32) -> i32 {
    let children = format!("/proc/{script}/task/{script}/children");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let pid = std::fs::read_to_string(&children)
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<i32>().ok());
        // script forks, then the child execs shmtool: wait for the exec.
        let exe = pid.and_then(|p| std::fs::read_link(format!("/proc/{p}/exe")).ok());
        if let (Some(p), Some(exe)) = (pid, exe) {
            if exe.file_name() == Some(std::ffi::OsStr::new("shmtool")) {
                return p;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "shmtool never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Wait until `pid` has a handler for `sig` (SigCgt in /proc/PID/status): then a signal sent
/// to it is handled, not fatal.
pub fn wait_until_it_catches(pid: i32, sig: i32) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let caught = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                let hex = s
                    .lines()
                    .find_map(|l| l.strip_prefix("SigCgt:"))?
                    .trim()
                    .to_string();
                u64::from_str_radix(&hex, 16).ok()
            })
            .is_some_and(|mask| mask & (1u64 << (sig - 1)) != 0);
        if caught {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "signal {sig} never caught"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}
