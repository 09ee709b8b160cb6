//! `shmtool watch` against real writers: the seed's `struct STU` writer seen counting up, JSON
//! Lines, targets that go away, and a terminal restored after Ctrl-C.

use crate::fixtures::*;
use crate::programs::{build, in_pty, Program, STU_WRITER};

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
            "10ms",
            "--count",
            "2",
            "--color",
            "never",
        ]);
        // Stopped after the first state until the writer has moved on: the one refresh left
        // must see the next id.
        let child = start_paused(&args, "watch:shown");
        wait_for_change(&file, &std::fs::read(&file).unwrap());
        let (code, out, err) = resume(child);
        assert_eq!(code, 0, "{err}");
        assert!(!out.contains('\x1b'));
        let seen = ids(&out);
        assert_eq!(seen.len(), 2, "the first state and one change: {out}");
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "{out}");
        assert!(
            out.lines().all(|l| l.ends_with("name=\"hqx\" sex='m'")),
            "{out}"
        );
    }
}

/// Wait until the file's bytes differ from `from` (the writer moved on).
fn wait_for_change(file: &std::path::Path, from: &[u8]) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::fs::read(file).unwrap() == from {
        assert!(
            std::time::Instant::now() < deadline,
            "the writer never wrote"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// `watch --json --count 2` of the writer's file: the first state, then (shmtool stopped at
/// `watch:shown` until the writer has moved on) one refresh that must see a change.
fn two_json_lines(file: &std::path::Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let path = file.to_str().unwrap();
    let mut args = vec![
        "watch",
        "--path",
        path,
        "--json",
        "--interval",
        "10ms",
        "--count",
        "2",
    ];
    args.extend_from_slice(extra);
    let child = start_paused(&args, "watch:shown");
    wait_for_change(file, &std::fs::read(file).unwrap());
    let (code, out, err) = resume(child);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "the first state and one change: {out}");
    lines
}

#[test]
fn json_lines_name_time_offset_old_and_new() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_prog, file)) = writer(dir.path(), None) else {
        return;
    };
    let lines = two_json_lines(&file, &[]);
    assert_eq!(lines[0]["initial"], true);
    assert_eq!(lines[0]["hex"].as_str().unwrap().len(), 2 * 28);
    let v = &lines[1];
    assert_eq!(v["initial"], false, "{v}");
    assert!(v["time_iso"].as_str().unwrap().ends_with('Z'));
    assert!(v["time_unix"].as_i64().unwrap() > 1_600_000_000, "{v}");
    assert!(v["changed_bytes"].as_u64().unwrap() >= 1, "{v}");
    let c = &v["changes"][0];
    assert_eq!(c["offset"], 0, "{v}");
    assert!(c["address"].as_str().unwrap().starts_with("0x"), "{v}");
    assert_ne!(c["old"], c["new"]);
    assert_eq!(
        c["old"].as_str().unwrap().len(),
        c["new"].as_str().unwrap().len()
    );
    // With a layout, the decoded record comes along: every record first, then the changed one.
    let lines = two_json_lines(&file, &["--layout", STU]);
    let id = |v: &serde_json::Value| v["records"][0]["fields"]["id"].as_i64().unwrap();
    assert_eq!(lines[0]["records"][0]["fields"]["name"], "hqx");
    assert_eq!(lines[1]["records"][0]["fields"]["name"], "hqx");
    assert!(id(&lines[1]) > id(&lines[0]), "{lines:?}");
}

#[test]
fn the_first_state_is_printed_in_every_mode() {
    let obj = PosixObj::new(64, 63);
    let bytes = pattern(63, 64);
    let hexs: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    // Nothing changes: --count 3 prints the first state and nothing more.
    let (code, out, err) = run(&[
        "watch",
        "--path",
        &obj.name,
        "--json",
        "--count",
        "3",
        "--interval",
        "10ms",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["initial"], true);
    assert_eq!(v["hex"], hexs.as_str());
    assert_eq!(v["changes"].as_array().unwrap().len(), 0);
    // Lines: the target, then its bytes as hex rows.
    let (code, out, err) = run(&[
        "watch",
        "--path",
        &obj.name,
        "--count",
        "3",
        "--interval",
        "10ms",
    ]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].ends_with(": 64 bytes"), "{out}");
    assert!(lines[0].contains(&obj.name), "{out}");
    assert!(
        lines[1].starts_with(&format!("00000000  {:02x} {:02x}", bytes[0], bytes[1])),
        "{out}"
    );
    assert_eq!(lines.len(), 6, "four rows and the end address: {out}");
    // With a layout, every record.
    let (code, out, err) = run(&[
        "watch",
        "--path",
        &obj.name,
        "--layout",
        "a:u8,b:u8",
        "--layout-repeat",
        "2",
        "--count",
        "3",
        "--interval",
        "10ms",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(
        out.lines()
            .next()
            .unwrap()
            .contains(&format!("[0] a={} b={}", bytes[0], bytes[1])),
        "{out}"
    );
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

/// Run shmtool in a session of its own on a `rows`x`cols` pseudo-terminal of ours (its
/// controlling terminal), with `env` set; `then` gets its pid once it runs. Returns (exit code,
/// transcript). Not util-linux `script`: script stops itself when its child stops, and after
/// `fg` it can miss its child's exit and wait forever.
fn in_sized_pty(
    rows: u16,
    cols: u16,
    env: &[(&str, &str)],
    args: &str,
    then: impl FnOnce(i32),
) -> Option<(i32, Vec<u8>)> {
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::process::CommandExt;
    // SAFETY: plain pty calls on descriptors we own; ptsname_r writes into our buffer.
    let (master, slave) = unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        assert!(m >= 0, "posix_openpt: {}", std::io::Error::last_os_error());
        assert_eq!(libc::grantpt(m), 0);
        assert_eq!(libc::unlockpt(m), 0);
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(m, name.as_mut_ptr(), name.len()), 0);
        let sl = libc::open(
            name.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        assert!(
            sl >= 0,
            "open pty slave: {}",
            std::io::Error::last_os_error()
        );
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        libc::ioctl(sl, libc::TIOCSWINSZ, &ws);
        (std::fs::File::from_raw_fd(m), OwnedFd::from_raw_fd(sl))
    };
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_shmtool"));
    cmd.args(args.split_whitespace())
        .env_remove("NO_COLOR")
        .env("TERM", "xterm")
        .stdin(slave.try_clone().unwrap())
        .stdout(slave.try_clone().unwrap())
        .stderr(slave);
    for (k, v) in env {
        cmd.env(k, v);
    }
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("start shmtool on a pty");
    drop(cmd); // our copies of the slave: the master reads EOF (EIO) once shmtool is gone
    let reader = std::thread::spawn(move || {
        let mut master = master;
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match std::io::Read::read(&mut master, &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
        out
    });
    then(child.id() as i32);
    let status = child.wait().unwrap();
    let out = reader.join().unwrap();
    Some((status.code().unwrap_or(-1), out))
}

/// Process state letter (R, S, T, …) from /proc/PID/stat.
fn state(pid: i32) -> Option<char> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    s[s.rfind(')')? + 1..]
        .split_whitespace()
        .next()?
        .chars()
        .next()
}

fn wait_for_state(pid: i32, want: impl Fn(char) -> bool, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !state(pid).is_some_and(&want) {
        assert!(
            std::time::Instant::now() < deadline,
            "pid {pid} never {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// The transcript's lines as a terminal shows them: escape sequences removed.
fn visible_lines(out: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(out);
    let mut plain = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // CSI: ESC [ params final(@..~)
            if chars.peek() == Some(&'[') {
                chars.next();
                for d in chars.by_ref() {
                    if ('@'..='~').contains(&d) {
                        break;
                    }
                }
            }
            continue;
        }
        plain.push(c);
    }
    plain
        .split('\n')
        .map(|l| l.trim_end_matches('\r').to_string())
        .collect()
}

const ENTER: &str = "\x1b[?1049h";
const LEAVE: &str = "\x1b[?25h\x1b[?1049l";

#[test]
fn at_80x24_nothing_wraps_and_ctrl_z_then_fg_restores_and_redraws() {
    let obj = PosixObj::new(4096, 64);
    let h = Holder::spawn(&[Hold::File(obj.path.clone())]);
    // pid and a 12-digit address: the header is longer than 80 columns, 16-byte rows too.
    let args = format!("watch {} {:#x} --interval 20ms", h.pid, h.addrs[0]);
    let Some((code, out)) = in_sized_pty(24, 80, &[], &args, |pid| {
        wait_until_it_catches(pid, libc::SIGTSTP);
        unsafe { libc::kill(pid, libc::SIGTSTP) };
        wait_for_state(pid, |s| s == 'T', "stopped");
        // `fg`.
        unsafe { libc::kill(pid, libc::SIGCONT) };
        wait_for_state(pid, |s| s != 'T', "continued");
        unsafe { libc::kill(pid, libc::SIGINT) };
    }) else {
        return;
    };
    let text = String::from_utf8_lossy(&out);
    assert_eq!(code, 130, "{text:?}");
    // Entered, left on Ctrl-Z, entered again and redrawn on fg, left at the end.
    let first = text.find(ENTER).expect("entered the screen");
    let left = first + text[first..].find(LEAVE).expect("left on Ctrl-Z");
    let back = left + text[left..].find(ENTER).expect("entered again on fg");
    assert!(text[back..].contains("\x1b[H"), "not redrawn: {text:?}");
    assert!(text.trim_end().ends_with(LEAVE), "{text:?}");
    // No line reaches the last column, so none wraps and nothing scrolls.
    for line in visible_lines(&out) {
        assert!(
            line.chars().count() < 80,
            "{} columns: {line:?}",
            line.chars().count()
        );
    }
    assert!(text.contains('…'), "the header was not cut: {text:?}");
}

#[test]
fn every_ending_signal_restores_the_terminal() {
    let obj = PosixObj::new(256, 65);
    let args = format!("watch --path {} --interval 20ms", obj.name);
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
        let Some((code, out)) = in_sized_pty(24, 80, &[], &args, |pid| {
            wait_until_it_catches(pid, sig);
            unsafe { libc::kill(pid, sig) };
        }) else {
            return;
        };
        let text = String::from_utf8_lossy(&out);
        assert_eq!(code, 128 + sig, "signal {sig}: {text:?}");
        assert!(text.contains(ENTER), "signal {sig}: {text:?}");
        assert!(text.trim_end().ends_with(LEAVE), "signal {sig}: {text:?}");
    }
}

#[test]
fn no_color_on_a_terminal_prints_no_escape_byte_and_still_the_first_state() {
    // The contract: with colour off no 0x1b is printed, so NO_COLOR (like --color never)
    // watches in line mode, which starts with the first state.
    let obj = PosixObj::new(256, 66);
    let args = format!("watch --path {} --interval 20ms --count 2", obj.name);
    for env in [&[("NO_COLOR", "1")][..], &[("TERM", "dumb")][..]] {
        let Some((code, out)) = in_sized_pty(24, 80, env, &args, |_| {}) else {
            return;
        };
        let text = String::from_utf8_lossy(&out);
        assert_eq!(code, 0, "{env:?}: {text:?}");
        assert!(
            !out.contains(&0x1b),
            "{env:?} printed an escape byte: {text:?}"
        );
        assert!(
            text.contains(&format!("{}: 256 bytes", obj.path.display())),
            "{env:?}: no first state: {text:?}"
        );
        assert!(
            text.lines().any(|l| l.starts_with("00000000  ")),
            "{env:?}: no first hex row: {text:?}"
        );
    }
    let Some((_, out)) = in_sized_pty(24, 80, &[], &format!("{args} --color never"), |_| {}) else {
        return;
    };
    assert!(
        !out.contains(&0x1b),
        "--color never: {:?}",
        String::from_utf8_lossy(&out)
    );
}

/// `watch --path OBJ` until the first refresh, with shmtool stopped at `point`, then the object
/// truncated to 100 bytes: one error line naming the short read, never a SIGBUS.
fn truncated_at(point: &str) {
    let obj = PosixObj::new(256 * 1024, 71);
    let path = obj.path.to_str().unwrap();
    let args = [
        "watch",
        "--path",
        path,
        "--interval",
        "10ms",
        "--count",
        "100000",
    ];
    let child = start_paused(&args, point);
    obj.truncate(100);
    let (code, out, err) = resume(child);
    // A signal would show as no exit code (-1 here).
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("shmtool: error: short read: only 100 of 262144 bytes"),
        "{err}"
    );
}

#[test]
fn a_posix_object_truncated_between_refreshes_ends_the_watch_with_one_line() {
    truncated_at("watch:shown");
}

#[test]
fn a_posix_object_truncated_while_read_in_place_is_a_short_read_not_sigbus() {
    // `watch:in-place` is reached only when the object is mapped for reading in place, after
    // the size was checked: the truncation then races the copy itself.
    truncated_at("watch:in-place");
}

#[test]
fn watching_a_sparse_object_allocates_none_of_its_holes() {
    use std::os::unix::fs::{FileExt, MetadataExt};
    let obj = PosixObj::new(4096, 72);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&obj.path)
        .unwrap();
    f.set_len(1 << 20).unwrap();
    f.write_all_at(&[1; 4096], 512 * 1024).unwrap();
    let blocks = || std::fs::metadata(&obj.path).unwrap().blocks();
    let before = blocks();
    if before * 512 >= 1 << 20 {
        return skip("/dev/shm allocated the holes of a sparse file itself");
    }
    let (code, out, err) = run(&[
        "watch",
        "--path",
        obj.path.to_str().unwrap(),
        "--interval",
        "10ms",
        "--count",
        "3",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1048576 bytes"), "{out}");
    assert_eq!(
        blocks(),
        before,
        "watch allocated pages in the object it read"
    );
}
