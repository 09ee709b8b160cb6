//! Huge segments are read in bounded memory: a 4 GiB segment dumps with a small, fixed peak RSS
//! (measured by the kernel through wait4), and watch's memory follows --length, not the segment.

use crate::fixtures::*;
use std::io::Read;
use std::process::Stdio;

const GIB: usize = 1 << 30;

/// Python that runs its arguments as a child and prints the child's peak RSS (KiB) last on
/// stderr. The peak is measured from a small parent: a process started straight from the test
/// binary inherits the test binary's own high-water mark at exec (Linux carries `maxrss`
/// across exec, and posix_spawn shares the parent's memory until then).
const MEASURE: &str = r#"
import resource, subprocess, sys
p = subprocess.run(sys.argv[1:])
kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
sys.stderr.write("\nMAXRSS %d\n" % kib)
sys.exit(p.returncode if p.returncode >= 0 else 128 - p.returncode)
"#;

/// Run shmtool, count the bytes it writes, and return (exit code, bytes, peak RSS in KiB,
/// stderr).
fn run_measured(args: &[&str]) -> (i32, u64, i64, String) {
    let mut child = std::process::Command::new("python3")
        .args(["-c", MEASURE, env!("CARGO_BIN_EXE_shmtool")])
        .args(args)
        .env_remove("NO_COLOR")
        .env("TERM", "dumb")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs the measured command");
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
    let status = child.wait().unwrap();
    let (err, rss) = err
        .trim_end()
        .rsplit_once("\nMAXRSS ")
        .expect("peak RSS line");
    (
        status.code().unwrap_or(-1),
        total,
        rss.trim().parse().unwrap(),
        err.to_string(),
    )
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
    let (code, bytes, rss_kib, err) = run_measured(&["dump", "--shmid", &id, "--format", "raw"]);
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
    // Above the copy limit (256 MiB), blocks are hashed: memory stays far below the region.
    let (code, _, rss_kib, err) = run_measured(&[
        "watch",
        "--shmid",
        &id,
        "--length",
        "300M",
        "--count",
        "2",
        "--interval",
        "10ms",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        rss_kib < 64 * 1024,
        "peak RSS {rss_kib} KiB watching 300 MiB"
    );
    // The whole 4 GiB, read every refresh, only when asked for: refused, the way out named.
    let (code, _, _, err) = run_measured(&["watch", "--shmid", &id, "--count", "1"]);
    assert_eq!(code, 1);
    assert!(err.contains("--length"), "{err}");
}

/// The segment's resident bytes, as /proc/sysvipc/shm reports them.
fn segment_rss(shmid: i32) -> u64 {
    let text = std::fs::read_to_string("/proc/sysvipc/shm").unwrap();
    let head: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
    let col = |name: &str| head.iter().position(|h| *h == name).unwrap();
    let (id_col, rss_col) = (col("shmid"), col("rss"));
    text.lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f[id_col] == shmid.to_string())
        .map(|f| f[rss_col].parse().unwrap())
        .expect("segment listed")
}

#[test]
fn dumping_an_untouched_gib_segment_leaves_its_rss_as_it_was() {
    if !is_root() {
        // Unprivileged, our own attachment can only be read with process_vm_readv, which
        // faults pages in (the README says so).
        return skip("reading holes without faulting them in needs map_files (root)");
    }
    let seg = SysvSeg::sparse(GIB);
    let id = seg.shmid.to_string();
    let before = segment_rss(seg.shmid);
    // Nobody maps it: shmtool attaches it itself, then reads the attachment as a file.
    let (code, bytes, _, err) = run_measured(&["dump", "--shmid", &id, "--format", "raw"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(bytes, GIB as u64);
    let after = segment_rss(seg.shmid);
    assert_eq!(before, after, "dump faulted in {} bytes", after - before);
    // The same through a holder that maps it without touching it.
    let _h = Holder::spawn(&[Hold::Sysv(seg.shmid)]);
    let (code, bytes, _, err) = run_measured(&["dump", "--shmid", &id, "--format", "raw"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(bytes, GIB as u64);
    assert_eq!(segment_rss(seg.shmid), before);
}

/// A `SHM_HUGETLB|SHM_NORESERVE` segment: with no huge pages in the pool, touching it raises
/// SIGBUS, so only a reader that never touches it can dump it.
struct HugeSeg(i32);

impl HugeSeg {
    fn new(size: usize) -> Result<HugeSeg, std::io::Error> {
        let id = unsafe {
            libc::shmget(
                libc::IPC_PRIVATE,
                size,
                libc::IPC_CREAT | 0o600 | libc::SHM_HUGETLB | libc::SHM_NORESERVE,
            )
        };
        if id < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(HugeSeg(id))
    }
}

impl Drop for HugeSeg {
    fn drop(&mut self) {
        unsafe { libc::shmctl(self.0, libc::IPC_RMID, std::ptr::null_mut()) };
    }
}

fn huge_pages_free() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("HugePages_Free:"))
        .map_or(0, |v| v.trim().parse().unwrap())
}

#[test]
fn a_hugetlb_noreserve_segment_with_an_empty_pool_dumps_as_zeros() {
    if !is_root() {
        return skip("SHM_HUGETLB needs CAP_IPC_LOCK (or vm.hugetlb_shm_group)");
    }
    // NORESERVE takes nothing from the pool at shmget: an empty pool (the usual state, and
    // this test's point) is fine, and a non-empty one is left as it was.
    let free = huge_pages_free();
    let size = 4 << 20;
    let seg = match HugeSeg::new(size) {
        Ok(s) => s,
        Err(e) => return skip(&format!("the kernel refused a SHM_HUGETLB segment: {e}")),
    };
    let id = seg.0.to_string();
    let (code, bytes, _, err) = run_measured(&["dump", "--shmid", &id, "--format", "raw"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(bytes, size as u64);
    let (code, out, err) = run(&["dump", "--shmid", &id, "--length", "64"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("00000000  00 00 00 00"), "{out}");
    let (code, _, err) = run(&[
        "watch",
        "--shmid",
        &id,
        "--count",
        "2",
        "--interval",
        "10ms",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("Bus error"), "{err}");
    assert_eq!(huge_pages_free(), free, "the pool changed");
}

#[test]
fn a_layout_of_millions_of_elements_streams_in_bounded_memory() {
    // 16 Mi elements. Decoded whole, a record of 4 Mi took ~400 MB (and 67108864 took
    // 6.2 GB); gathered whole but decoded element by element, it still held its bytes (16 MiB
    // here, over the bound below). Streamed, a record holds one element's bytes: the peak is
    // the program's own, whatever the record's size.
    const N: usize = 16 << 20;
    let name = unique_name("shmtool-layout");
    let path = std::path::Path::new("/dev/shm").join(&name);
    let f = std::fs::File::create(&path).unwrap();
    struct Gone(std::path::PathBuf);
    impl Drop for Gone {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let _cleanup = Gone(path.clone());
    f.set_len(N as u64).unwrap();
    let spec = format!("x:u8[{N}]");
    for json in [false, true] {
        let mut args = vec!["dump", "--path", &name, "--layout", &spec];
        if json {
            args.push("--json");
        }
        let (code, bytes, rss_kib, err) = run_measured(&args);
        assert_eq!(code, 0, "{err}");
        // "x=[0, 0, …, 0]" or {"…":{"x":[0,0,…]}}: every element was written.
        assert!(bytes as usize >= 2 * N, "{bytes} bytes");
        assert!(
            rss_kib < 24 * 1024,
            "peak RSS {rss_kib} KiB decoding {N} elements (json: {json})"
        );
    }
}
