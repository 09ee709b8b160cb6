//! Huge segments are read in bounded memory: a 4 GiB segment dumps with a small, fixed peak RSS
//! (measured by the kernel through wait4), and watch's memory follows --length, not the segment.

use crate::fixtures::*;
use std::io::Read;
use std::process::Stdio;

const GIB: usize = 1 << 30;

/// Run shmtool, count the bytes it writes, and return (exit code, bytes, peak RSS in KiB).
// Reaped with wait4 below rather than Child::wait, to get its resource usage.
#[allow(clippy::zombie_processes)]
fn run_measured(args: &[&str]) -> (i32, u64, i64, String) {
    let mut child = shmtool()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        match stdout.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n as u64,
        }
    }
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as i32;
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid);
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -libc::WTERMSIG(status)
    };
    (code, total, usage.ru_maxrss, err)
}

#[test]
fn four_gib_segment_dumps_in_bounded_memory() {
    if !is_root() {
        // Unprivileged, the bytes come through process_vm_readv, which makes the holder fault
        // in all 4 GiB: too heavy for a test.
        return skip("reading 4 GiB through map_files needs root");
    }
    let seg = SysvSeg::sparse(4 * GIB);
    let _h = Holder::spawn(&[Hold::Sysv(seg.shmid)]);
    let id = seg.shmid.to_string();
    let (code, bytes, rss_kib, err) = run_measured(&[
        "dump",
        "--shmid",
        &id,
        "--format",
        "raw",
        "-o",
        "/dev/stdout",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(bytes, 4 * GIB as u64);
    assert!(
        rss_kib < 32 * 1024,
        "peak RSS {rss_kib} KiB for a 4 GiB dump"
    );
}

#[test]
fn watch_memory_follows_length_not_segment_size() {
    if !is_root() {
        return skip("reading a 4 GiB segment through map_files needs root");
    }
    let seg = SysvSeg::sparse(4 * GIB);
    let _h = Holder::spawn(&[Hold::Sysv(seg.shmid)]);
    let id = seg.shmid.to_string();
    let (code, _, rss_kib, err) = run_measured(&[
        "watch",
        "--shmid",
        &id,
        "--length",
        "16M",
        "--count",
        "2",
        "--interval",
        "10ms",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        rss_kib < 96 * 1024,
        "peak RSS {rss_kib} KiB watching 16 MiB"
    );
    // The whole 4 GiB would need one copy of it: refused, with the way out named.
    let (code, _, _, err) = run_measured(&["watch", "--shmid", &id, "--count", "1"]);
    assert_eq!(code, 1);
    assert!(err.contains("--length"), "{err}");
}
