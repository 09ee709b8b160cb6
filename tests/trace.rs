//! `shmtool trace`, `history` and the trace log in `show`, against real system calls.
//!
//! Each test starts the real tracer, waits for its "tracing" line on stderr, runs a workload of
//! its own processes, stops the tracer (SIGINT, or its own --count) and then looks only at the
//! events of its own processes, keys and names: other tests on this machine make events too.

use crate::fixtures::*;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

/// How long a trace that ends by itself (--count, --duration) may take.
const FINISH_WITHIN: std::time::Duration = std::time::Duration::from_secs(120);

/// A running `shmtool trace --json`.
pub(crate) struct Tracer {
    child: Child,
    stdout: Option<std::thread::JoinHandle<String>>,
    stderr: BufReader<std::process::ChildStderr>,
}

/// Why tracing cannot be tested here, or None.
pub(crate) fn cannot_trace() -> Option<String> {
    if !is_root() {
        return Some("tracing needs root".into());
    }
    None
}

impl Tracer {
    /// Start tracing; None (having said why) when this kernel cannot trace.
    pub(crate) fn start(args: &[&str]) -> Option<Tracer> {
        Tracer::start_via(None, args)
    }

    /// Start tracing through the mechanism `via` names (`SHMTOOL_TRACE_VIA`), or the default.
    pub(crate) fn start_via(via: Option<&str>, args: &[&str]) -> Option<Tracer> {
        let mut cmd = shmtool();
        match via {
            Some(v) => cmd.env("SHMTOOL_TRACE_VIA", v),
            None => cmd.env_remove("SHMTOOL_TRACE_VIA"),
        };
        cmd.arg("trace").arg("--json").args(args);
        Tracer::start_command(cmd)
    }

    /// The same for a command line of the caller's (`shmtool trace --json …` inside a wrapper).
    pub(crate) fn start_command(mut cmd: Command) -> Option<Tracer> {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run shmtool trace");
        let mut stdout = child.stdout.take().unwrap();
        let stdout = std::thread::spawn(move || {
            let mut s = String::new();
            stdout.read_to_string(&mut s).unwrap();
            s
        });
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut seen = String::new();
        loop {
            let mut line = String::new();
            if stderr.read_line(&mut line).unwrap() == 0 {
                let status = child.wait().unwrap();
                // Root without CAP_BPF (a restricted container) or a kernel without syscall
                // tracepoints: nothing to test here.
                if seen.contains("this kernel cannot trace") || seen.contains("tracing needs root")
                {
                    skip(&format!("trace: {}", seen.trim()));
                    return None;
                }
                panic!("trace ended before it started ({status}): {seen}");
            }
            if line.starts_with("shmtool: tracing") {
                break;
            }
            seen.push_str(&line);
        }
        Some(Tracer {
            child,
            stdout: Some(stdout),
            stderr,
        })
    }

    /// Stop with SIGINT; every event printed, and the rest of stderr (the summary).
    pub(crate) fn stop(self) -> (Vec<Value>, String) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        self.finish()
    }

    /// Wait for it to end by itself (--count, --duration).
    /// A trace waiting for a `--count` it never reaches would hang the suite: after
    /// [`FINISH_WITHIN`] it is killed and the test fails, showing what it had printed.
    pub(crate) fn finish(mut self) -> (Vec<Value>, String) {
        let deadline = std::time::Instant::now() + FINISH_WITHIN;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break Some(status);
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let out = self.stdout.take().unwrap().join().unwrap();
        let mut err = String::new();
        self.stderr.read_to_string(&mut err).unwrap();
        let Some(status) = status else {
            panic!("trace did not end within {FINISH_WITHIN:?}; stdout:\n{out}\nstderr:\n{err}");
        };
        assert!(status.success(), "trace failed ({status}): {err}");
        let events = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line ({e}): {l}")))
            .collect();
        (events, err)
    }
}

impl Drop for Tracer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The system's python3 (a per-user shim in root's PATH may not be runnable by uid 65534).
fn python_bin() -> &'static str {
    if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

/// Run a Python workload (optionally as uid 65534); its pid and its standard output.
fn python(script: &str, as_nobody: bool) -> (u32, String) {
    let mut cmd = if as_nobody {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid",
            "65534",
            "--regid",
            "65534",
            "--clear-groups",
            python_bin(),
        ]);
        c
    } else {
        Command::new(python_bin())
    };
    let child = cmd
        .args(["-c", script])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python3");
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "workload failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (pid, String::from_utf8_lossy(&out.stdout).into_owned())
}

fn of_pid(events: &[Value], pid: u32) -> Vec<&Value> {
    events.iter().filter(|e| e["pid"] == pid).collect()
}

fn unique_key() -> u32 {
    let n = unique_name("k");
    let mut h: u32 = 2166136261;
    for b in n.bytes() {
        h = (h ^ b as u32).wrapping_mul(16777619);
    }
    h | 0x4000_0000
}

const PY_SYSV: &str = r#"
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
a = libc.shmget(int(sys.argv[1], 16), 4096, 0o1600)
addr = libc.shmat(a, None, 0)
assert libc.shmdt(ctypes.c_void_p(addr)) == 0
assert libc.shmctl(a, 0, None) == 0
b = libc.shmget(int(sys.argv[2], 16), 8192, 0o1666)
print(a, b, hex(addr))
"#;

fn py_with_args(script: &str, args: &[String]) -> String {
    format!(
        "import sys; sys.argv = ['w'] + {:?}\n{script}",
        args.iter().map(|s| s.as_str()).collect::<Vec<_>>()
    )
}

#[test]
fn sysv_lifecycle_and_a_remover_that_did_not_make_it() {
    sysv_lifecycle(None);
}

/// The same through the per-system-call tracepoints, the path of other architectures and
/// older kernels (the default here is one program on sys_exit).
#[test]
fn sysv_lifecycle_through_the_syscall_tracepoints() {
    sysv_lifecycle(Some("tracepoints"));
}

fn sysv_lifecycle(via: Option<&str>) {
    if let Some(why) = cannot_trace() {
        return skip(&why);
    }
    let (ka, kb) = (unique_key(), unique_key());
    let Some(t) = Tracer::start_via(via, &[]) else {
        return;
    };
    let script = py_with_args(PY_SYSV, &[format!("{ka:x}"), format!("{kb:x}")]);
    let (pid, out) = python(&script, true);
    let nums: Vec<&str> = out.split_whitespace().collect();
    let (a, b): (i64, i64) = (nums[0].parse().unwrap(), nums[1].parse().unwrap());
    let ipcrm = Command::new("ipcrm")
        .args(["-m", &b.to_string()])
        .spawn()
        .unwrap();
    let rm_pid = ipcrm.id();
    assert!(ipcrm.wait_with_output().unwrap().status.success());
    let (events, summary) = t.stop();
    assert!(summary.contains("events shown"), "{summary}");

    let mine: Vec<(String, i64)> = of_pid(&events, pid)
        .iter()
        .filter(|e| e["kind"] == "sysv")
        .map(|e| {
            (
                e["event"].as_str().unwrap().to_string(),
                e["id"].as_i64().unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, i64)> = [
        ("create", a),
        ("attach", a),
        ("detach", a),
        ("remove", a),
        ("create", b),
    ]
    .iter()
    .map(|(n, id)| (n.to_string(), *id))
    .collect();
    assert_eq!(mine, want, "{events:#?}");
    for e in of_pid(&events, pid) {
        assert_eq!(e["comm"], "python3");
        assert_eq!(e["uid"], 65534);
        assert_eq!(e["tid"], pid);
    }
    let first = of_pid(&events, pid)[0];
    assert_eq!(first["key"], format!("0x{ka:08x}"));
    assert_eq!(first["size"], 4096);
    assert_eq!(first["detail"], "IPC_CREAT|0600");
    let attach = of_pid(&events, pid)[1];
    assert_eq!(attach["addr"], nums[2]);
    // The remover is named: ipcrm, as root, with the segment's key.
    let removes = of_pid(&events, rm_pid);
    assert_eq!(removes.len(), 1, "{events:#?}");
    let r = removes[0];
    assert_eq!(
        (r["event"].as_str(), r["id"].as_i64()),
        (Some("remove"), Some(b))
    );
    assert_eq!(
        (r["comm"].as_str(), r["uid"].as_u64()),
        (Some("ipcrm"), Some(0))
    );
    assert_eq!(r["key"], format!("0x{kb:08x}"));
    // In time order.
    let times: Vec<u64> = events
        .iter()
        .map(|e| e["mono_ns"].as_u64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
}

const PY_POSIX: &str = r#"
import os, mmap, sys
path = "/dev/shm/" + sys.argv[1]
fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
os.ftruncate(fd, 8192)
m = mmap.mmap(fd, 8192, mmap.MAP_SHARED)
os.unlink(path)
mfd = os.memfd_create(sys.argv[2])
os.ftruncate(mfd, 4096)
m2 = mmap.mmap(mfd, 4096, mmap.MAP_SHARED)
m3 = mmap.mmap(-1, 4096, mmap.MAP_SHARED)
print("ok")
os._exit(0)
"#;

#[test]
fn posix_and_memfd_objects_and_an_exit_holding_them() {
    posix_and_memfd(None);
}

#[test]
fn posix_and_memfd_through_the_syscall_tracepoints() {
    posix_and_memfd(Some("tracepoints"));
}

fn posix_and_memfd(via: Option<&str>) {
    if let Some(why) = cannot_trace() {
        return skip(&why);
    }
    let (name, mname) = (unique_name("trace-posix"), unique_name("trace-memfd"));
    let Some(t) = Tracer::start_via(via, &[]) else {
        return;
    };
    let (pid, _) = python(
        &py_with_args(PY_POSIX, &[name.clone(), mname.clone()]),
        true,
    );
    let (events, _) = t.stop();
    let path = format!("/dev/shm/{name}");
    let mpath = format!("memfd:{mname}");
    let mine: Vec<(&str, &str, &str)> = of_pid(&events, pid)
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap(),
                e["kind"].as_str().unwrap(),
                e["path"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        mine,
        [
            ("create", "posix", path.as_str()),
            ("resize", "posix", path.as_str()),
            ("mmap", "posix", path.as_str()),
            ("unlink", "posix", path.as_str()),
            ("memfd", "memfd", mpath.as_str()),
            ("resize", "memfd", mpath.as_str()),
            ("mmap", "memfd", mpath.as_str()),
            ("exit", "posix", path.as_str()),
            ("exit", "memfd", mpath.as_str()),
        ],
        "{events:#?}"
    );
    for e in of_pid(&events, pid) {
        assert_eq!(
            (e["comm"].as_str(), e["uid"].as_u64()),
            (Some("python3"), Some(65534))
        );
        assert_eq!(e["user"], "nobody");
    }
    let mmap = of_pid(&events, pid)[2];
    assert_eq!(mmap["size"], 8192);
    assert_eq!(mmap["detail"], "read-write");
}

/// Maps two objects and unmaps them whole, maps a third and unmaps only its first page, and
/// unmaps memory of its own (anonymous, private, malloc's) that trace must not report.
const PY_MUNMAP: &str = r#"
import ctypes, os, mmap, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
path, part = "/dev/shm/" + sys.argv[1], "/dev/shm/" + sys.argv[3]
fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
os.ftruncate(fd, 8192)
m = mmap.mmap(fd, 8192, mmap.MAP_SHARED)
m.close()
os.unlink(path)
mfd = os.memfd_create(sys.argv[2])
os.ftruncate(mfd, 4096)
m2 = mmap.mmap(mfd, 4096, mmap.MAP_SHARED)
m2.close()
pfd = os.open(part, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
os.ftruncate(pfd, 8192)
addr = libc.mmap(None, 8192, 3, 1, pfd, 0)
assert addr not in (None, ctypes.c_void_p(-1).value)
assert libc.munmap(addr, 4096) == 0
os.unlink(part)
# Not recorded: anonymous shared, private of a tracked fd, malloc's own.
mmap.mmap(-1, 4096, mmap.MAP_SHARED).close()
priv = libc.mmap(None, 4096, 3, 2, pfd, 0)
assert libc.munmap(priv, 4096) == 0
big = bytearray(16 << 20)
del big
print(hex(addr))
os._exit(0)
"#;

/// A process that unmaps what it mapped is not reported as holding it when it exits: the
/// trace shows each mmap ended by its munmap (same address, its length) and no exit event for
/// those; one unmapped only in part (from its start) is still held at exit; the munmaps of
/// memory trace did not see mapped (malloc's, anonymous, private) make no event.
#[test]
fn munmap_ends_a_mapping_and_its_exit_event() {
    munmap_ends_a_mapping(None);
}

#[test]
fn munmap_ends_a_mapping_through_the_syscall_tracepoints() {
    munmap_ends_a_mapping(Some("tracepoints"));
}

fn munmap_ends_a_mapping(via: Option<&str>) {
    if let Some(why) = cannot_trace() {
        return skip(&why);
    }
    let (name, mname, pname) = (
        unique_name("trace-unmap"),
        unique_name("trace-unmap-m"),
        unique_name("trace-unmap-p"),
    );
    let Some(t) = Tracer::start_via(via, &[]) else {
        return;
    };
    // The event passes the filters, and the log gives it to history.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("trace.jsonl");
    let log_s = log.to_str().unwrap();
    let Some(only) = Tracer::start_via(via, &["--event", "munmap", "--name", &name]) else {
        return;
    };
    let Some(logged) = Tracer::start_via(via, &["--name", &name, "--log", log_s, "--quiet"]) else {
        return;
    };
    let args = [name.clone(), mname.clone(), pname.clone()];
    let (pid, out) = python(&py_with_args(PY_MUNMAP, &args), true);
    let (events, _) = t.stop();
    let (filtered, _) = only.stop();
    logged.stop();
    let (path, mpath, ppath) = (
        format!("/dev/shm/{name}"),
        format!("memfd:{mname}"),
        format!("/dev/shm/{pname}"),
    );
    let mine: Vec<(&str, &str)> = of_pid(&events, pid)
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap(),
                e["path"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        mine,
        [
            ("create", path.as_str()),
            ("resize", path.as_str()),
            ("mmap", path.as_str()),
            ("munmap", path.as_str()),
            ("unlink", path.as_str()),
            ("memfd", mpath.as_str()),
            ("resize", mpath.as_str()),
            ("mmap", mpath.as_str()),
            ("munmap", mpath.as_str()),
            ("create", ppath.as_str()),
            ("resize", ppath.as_str()),
            ("mmap", ppath.as_str()),
            ("munmap", ppath.as_str()),
            ("unlink", ppath.as_str()),
            ("exit", ppath.as_str()),
        ],
        "{events:#?}"
    );
    let ev = of_pid(&events, pid);
    // Each munmap names the mapping's address, and how much of it went.
    for (map, unmap, len, detail) in [
        (2, 3, 8192, None),
        (7, 8, 4096, None),
        (11, 12, 4096, Some("partial")),
    ] {
        assert_eq!(ev[unmap]["addr"], ev[map]["addr"], "{events:#?}");
        assert_eq!(ev[unmap]["size"], len, "{events:#?}");
        assert_eq!(ev[unmap]["kind"], ev[map]["kind"]);
        assert_eq!(ev[unmap]["detail"].as_str(), detail, "{events:#?}");
    }
    assert_eq!(ev[12]["addr"], out.trim());

    let got: Vec<(&str, &str)> = filtered
        .iter()
        .map(|e| (e["event"].as_str().unwrap(), e["path"].as_str().unwrap()))
        .collect();
    assert_eq!(got, [("munmap", path.as_str())], "{filtered:#?}");
    let (code, out, err) = run(&["history", &path, "--log", log_s, "--json"]);
    assert_eq!(code, 0, "{err}");
    let life: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["event"].clone())
        .collect();
    assert_eq!(
        life,
        ["create", "resize", "mmap", "munmap", "unlink"],
        "{out}"
    );
}

const PY_EXEC: &str = r#"
import ctypes, os, mmap, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
fd = os.open("/dev/shm/" + sys.argv[1], os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
os.ftruncate(fd, 4096)
m = mmap.mmap(fd, 4096, mmap.MAP_SHARED)
shmid = libc.shmget(0, 4096, 0o1600)
assert shmid >= 0
print(shmid, flush=True)
assert libc.shmat(shmid, None, 0) not in (None, ctypes.c_void_p(-1).value)
assert libc.shmctl(shmid, 0, None) == 0
os.execv("/bin/true", ["true"])
"#;

/// A process that runs a new program (execve) no longer holds what the old one mapped or
/// attached: no exit event names them when it ends.
#[test]
fn exec_ends_what_the_old_program_held() {
    exec_ends_holdings(None);
}

#[test]
fn exec_ends_what_the_old_program_held_through_the_syscall_tracepoints() {
    exec_ends_holdings(Some("tracepoints"));
}

fn exec_ends_holdings(via: Option<&str>) {
    if let Some(why) = cannot_trace() {
        return skip(&why);
    }
    let name = unique_name("trace-exec");
    let path = format!("/dev/shm/{name}");
    let Some(t) = Tracer::start_via(via, &[]) else {
        return;
    };
    let (pid, out) = python(&py_with_args(PY_EXEC, std::slice::from_ref(&name)), false);
    let _ = std::fs::remove_file(&path);
    let shmid: i32 = out.trim().parse().unwrap();
    // Removed at once, and detached by the exec; by id in case the workload stopped between.
    unsafe { libc::shmctl(shmid, libc::IPC_RMID, std::ptr::null_mut()) };
    let (events, _) = t.stop();
    let mine: Vec<(&str, &str)> = of_pid(&events, pid)
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap(),
                e["kind"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        mine,
        [
            ("create", "posix"),
            ("resize", "posix"),
            ("mmap", "posix"),
            ("create", "sysv"),
            ("attach", "sysv"),
            ("remove", "sysv"),
        ],
        "{events:#?}"
    );
}

const PY_REUSE: &str = r#"
import ctypes, os, mmap, sys
libc = ctypes.CDLL(None, use_errno=True)
def shm(name):
    fd = os.open("/dev/shm/" + name, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    os.ftruncate(fd, 4096)
    return fd
# close_range(2) closes a shared-memory fd; a regular file then gets its number.
a = shm(sys.argv[1])
assert libc.syscall(436, a, a, 0) == 0, ctypes.get_errno()
f = os.open(sys.argv[3], os.O_RDWR | os.O_CREAT, 0o600)
assert f == a, (f, a)
os.ftruncate(f, 8192)
mmap.mmap(f, 8192, mmap.MAP_SHARED).close()
os.close(f)
# dup2 puts the regular file under another shared-memory fd's number.
b = shm(sys.argv[2])
g = os.open(sys.argv[3], os.O_RDWR)
os.dup2(g, b)
os.close(g)
os.ftruncate(b, 12288)
mmap.mmap(b, 12288, mmap.MAP_SHARED).close()
os.close(b)
os.unlink("/dev/shm/" + sys.argv[1])
os.unlink("/dev/shm/" + sys.argv[2])
"#;

/// An fd number that held a shared-memory object and then, after `close_range` or `dup2`,
/// a regular file: the file's `ftruncate` and `mmap` are never shown as the object's.
#[test]
fn a_reused_fd_number_is_not_the_object_it_held() {
    reused_fd_number(None);
}

#[test]
fn a_reused_fd_number_through_the_syscall_tracepoints() {
    reused_fd_number(Some("tracepoints"));
}

fn reused_fd_number(via: Option<&str>) {
    if let Some(why) = cannot_trace() {
        return skip(&why);
    }
    let (first, second) = (unique_name("trace-cr"), unique_name("trace-dup"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("regular").to_str().unwrap().to_string();
    let Some(t) = Tracer::start_via(via, &[]) else {
        return;
    };
    let args = [first.clone(), second.clone(), file];
    let (pid, _) = python(&py_with_args(PY_REUSE, &args), false);
    for name in [&first, &second] {
        let _ = std::fs::remove_file(format!("/dev/shm/{name}"));
    }
    let (events, _) = t.stop();
    let named: Vec<(&str, &str, Option<u64>)> = of_pid(&events, pid)
        .iter()
        .filter(|e| {
            e["path"]
                .as_str()
                .is_some_and(|p| p.starts_with("/dev/shm/"))
        })
        .map(|e| {
            let path = e["path"].as_str().unwrap();
            (e["event"].as_str().unwrap(), &path[9..], e["size"].as_u64())
        })
        .collect();
    assert_eq!(
        named,
        [
            ("create", first.as_str(), None),
            ("resize", first.as_str(), Some(4096)),
            ("create", second.as_str(), None),
            ("resize", second.as_str(), Some(4096)),
            ("unlink", first.as_str(), None),
            ("unlink", second.as_str(), None),
        ],
        "{events:#?}"
    );
}

/// A mapping made before tracing started (found among the holders when it starts) ends with a
/// munmap event naming it, and its process's exit then names nothing.
#[test]
fn a_mapping_made_before_tracing_ends_with_its_munmap() {
    if let Some(why) = cannot_trace() {
        return skip(&why);
    }
    let obj = PosixObj::new(8192, 3);
    let path = obj.path.to_str().unwrap().to_string();
    let script = r#"
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 8192, mmap.MAP_SHARED)
print("mapped", flush=True)
sys.stdin.readline()
m.close()
os._exit(0)
"#;
    let mut child = Holder(
        Command::new(python_bin())
            .args(["-c", &py_with_args(script, std::slice::from_ref(&path))])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
        None,
    );
    let pid = child.0.id();
    let mut line = String::new();
    BufReader::new(child.0.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "mapped");
    let Some(t) = Tracer::start(&["--pid", &pid.to_string()]) else {
        return;
    };
    drop(child.0.stdin.take());
    assert!(child.0.wait().unwrap().success());
    let (events, _) = t.stop();
    let got: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap(),
                e["path"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(got, [("munmap", path.as_str())], "{events:#?}");
    assert_eq!(events[0]["size"], 8192);
}

#[test]
fn json_lines_match_the_schema() {
    if let Some(why) = cannot_trace() {
        return skip(&why);
    }
    let schema: Value = serde_json::from_str(include_str!("../doc/schema/trace.schema.json"))
        .expect("schema is JSON");
    let (name, mname) = (unique_name("trace-schema"), unique_name("trace-schema"));
    let Some(t) = Tracer::start(&[]) else { return };
    let (pid, _) = python(&py_with_args(PY_POSIX, &[name, mname]), false);
    let unmapped = [
        unique_name("trace-schema"),
        unique_name("trace-schema"),
        unique_name("trace-schema"),
    ];
    let (upid, _) = python(&py_with_args(PY_MUNMAP, &unmapped), false);
    let (ka, kb) = (unique_key(), unique_key());
    let (pid2, out) = python(
        &py_with_args(PY_SYSV, &[format!("{ka:x}"), format!("{kb:x}")]),
        false,
    );
    let b: i32 = out.split_whitespace().nth(1).unwrap().parse().unwrap();
    unsafe { libc::shmctl(b, libc::IPC_RMID, std::ptr::null_mut()) };
    let (events, _) = t.stop();
    assert!(of_pid(&events, pid).len() >= 9);
    assert!(of_pid(&events, pid2).len() >= 5);
    assert!(of_pid(&events, upid).iter().any(|e| e["event"] == "munmap"));
    // Every line, ours or not, has the schema's shape.
    for e in &events {
        if let Err(why) = validate(&schema, e) {
            panic!("{why}: {e}");
        }
    }
}

/// The part of JSON Schema the event schema uses: type, enum, pattern, minimum, required,
/// additionalProperties: false.
fn validate(schema: &Value, v: &Value) -> Result<(), String> {
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let ok = types.iter().any(|t| match *t {
            "object" => v.is_object(),
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "null" => v.is_null(),
            _ => false,
        });
        if !ok {
            return Err(format!("{v} is not {types:?}"));
        }
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array) {
        if !e.contains(v) {
            return Err(format!("{v} not in {e:?}"));
        }
    }
    if let (Some(p), Some(s)) = (schema.get("pattern").and_then(Value::as_str), v.as_str()) {
        if !regex::Regex::new(p).unwrap().is_match(s) {
            return Err(format!("{s:?} does not match {p}"));
        }
    }
    if let (Some(m), Some(n)) = (schema.get("minimum").and_then(Value::as_i64), v.as_i64()) {
        if n < m {
            return Err(format!("{n} < {m}"));
        }
    }
    if let Some(obj) = v.as_object() {
        let props = schema["properties"].as_object().unwrap();
        for r in schema["required"].as_array().unwrap() {
            if !obj.contains_key(r.as_str().unwrap()) {
                return Err(format!("missing {r}"));
            }
        }
        for (k, val) in obj {
            match props.get(k) {
                Some(s) => validate(s, val).map_err(|e| format!("{k}: {e}"))?,
                None => return Err(format!("unexpected key {k}")),
            }
        }
    }
    Ok(())
}

#[test]
fn filters_select_exactly() {
    if let Some(why) = cannot_trace() {
        return skip(&why);
    }
    let base = unique_name("trace-filter");
    let (ka, kb) = (unique_key(), unique_key());
    let glob = format!("{base}-a*");
    let Some(by_name) = Tracer::start(&["--name", &glob, "--event", "create,unlink"]) else {
        return;
    };
    let Some(by_key) = Tracer::start(&["--key", &format!("0x{kb:08x}")]) else {
        return;
    };
    let Some(counted) = Tracer::start(&["--name", &format!("{base}*"), "--count", "2"]) else {
        return;
    };
    let Some(by_user) = Tracer::start(&["--user", "nobody", "--kind", "sysv", "--event", "create"])
    else {
        return;
    };
    let script = r#"
import os, sys, mmap
for n in sys.argv[1:]:
    p = "/dev/shm/" + n
    fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o600)
    os.ftruncate(fd, 4096)
    os.close(fd)
    os.unlink(p)
"#;
    let names = [
        format!("{base}-a1"),
        format!("{base}-b1"),
        format!("{base}-a2"),
    ];
    let (pid, _) = python(&py_with_args(script, &names), true);
    let (spid, out) = python(
        &py_with_args(PY_SYSV, &[format!("{ka:x}"), format!("{kb:x}")]),
        true,
    );
    let b: i32 = out.split_whitespace().nth(1).unwrap().parse().unwrap();
    unsafe { libc::shmctl(b, libc::IPC_RMID, std::ptr::null_mut()) };

    let (events, _) = by_name.stop();
    let got: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e["event"].as_str().unwrap(), e["path"].as_str().unwrap()))
        .collect();
    let p = |n: &str| format!("/dev/shm/{base}-{n}");
    let (a1, a2) = (p("a1"), p("a2"));
    assert_eq!(
        got,
        [
            ("create", a1.as_str()),
            ("unlink", a1.as_str()),
            ("create", a2.as_str()),
            ("unlink", a2.as_str())
        ]
    );
    assert!(events.iter().all(|e| e["pid"] == pid));

    let (events, _) = by_key.stop();
    let got: Vec<(&str, u32)> = events
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap(),
                e["pid"].as_u64().unwrap() as u32,
            )
        })
        .collect();
    let me = std::process::id();
    assert_eq!(got, [("create", spid), ("remove", me)], "{events:#?}");

    let (events, summary) = counted.finish();
    assert_eq!(events.len(), 2, "{events:#?}");
    assert_eq!(events[0]["path"], p("a1"));
    assert!(summary.contains("2 events shown"), "{summary}");

    let (events, _) = by_user.stop();
    assert!(events
        .iter()
        .all(|e| e["uid"] == 65534 && e["kind"] == "sysv" && e["event"] == "create"));
    let ours: Vec<&Value> = events.iter().filter(|e| e["pid"] == spid).collect();
    assert_eq!(ours.len(), 2, "{events:#?}");
}

/// A process holding a segment it made: both end with the test, however it ends.
struct Holder(Child, Option<i32>);

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        if let Some(id) = self.1 {
            unsafe { libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()) };
        }
    }
}

#[test]
fn the_log_feeds_history_and_show() {
    if let Some(why) = cannot_trace() {
        return skip(&why);
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("trace.jsonl");
    let log_s = log.to_str().unwrap();
    let key = unique_key();
    let key_s = format!("0x{key:08x}");
    let trace = |args: &[&str]| {
        let mut a = vec!["--log", log_s, "--quiet", "--key", &key_s];
        a.extend_from_slice(args);
        Tracer::start(&a)
    };

    // Phase 1: a holder creates and attaches the segment and stays.
    let Some(t) = trace(&[]) else { return };
    let mut holder = Holder(
        Command::new("setpriv")
            .args([
                "--reuid",
                "65534",
                "--regid",
                "65534",
                "--clear-groups",
                python_bin(),
                "-c",
            ])
            .arg(format!(
                r#"
import ctypes, sys
libc = ctypes.CDLL(None)
libc.shmat.restype = ctypes.c_void_p
s = libc.shmget({key}, 4096, 0o1600)
libc.shmat(s, None, 0)
print(s, flush=True)
sys.stdin.read()
"#
            ))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
        None,
    );
    let hpid = holder.0.id();
    let mut line = String::new();
    BufReader::new(holder.0.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let shmid: i64 = line.trim().parse().unwrap();
    holder.1 = Some(shmid as i32);
    let (events, _) = t.stop();
    assert!(events.is_empty(), "--quiet prints nothing");

    let (code, out, err) = run(&["show", &shmid.to_string(), "--log", log_s]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("created by pid {hpid} (python3, user nobody)")),
        "{out}"
    );
    assert!(out.contains(&format!("attached by pid {hpid}")), "{out}");

    // Phase 2: someone else removes it; the holder leaves.
    let Some(t) = trace(&[]) else { return };
    let rm = Command::new("ipcrm")
        .args(["-m", &shmid.to_string()])
        .spawn()
        .unwrap();
    let rm_pid = rm.id();
    assert!(rm.wait_with_output().unwrap().status.success());
    // Removed: the id is no longer ours to remove.
    holder.1 = None;
    drop(holder.0.stdin.take());
    holder.0.wait().unwrap();
    t.stop();

    let (code, out, err) = run(&["history", &shmid.to_string(), "--log", log_s, "--json"]);
    assert_eq!(code, 0, "{err}");
    let life: Vec<(String, u64)> = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|e| {
            (
                e["event"].as_str().unwrap().to_string(),
                e["pid"].as_u64().unwrap(),
            )
        })
        .collect();
    let h = hpid as u64;
    assert_eq!(
        life,
        [
            ("create".to_string(), h),
            ("attach".to_string(), h),
            ("remove".to_string(), rm_pid as u64),
            ("exit".to_string(), h)
        ]
    );
    // By key too, as a table.
    let (code, out, _) = run(&["history", &key_s, "--log", log_s]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 5, "{out}");
    assert!(out.contains("ipcrm"), "{out}");

    // The segment is gone: show says who removed it.
    let (code, _, err) = run(&["show", &shmid.to_string(), "--log", log_s]);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!("removed by pid {rm_pid} (ipcrm, user root)")),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn unprivileged_use_is_one_line_naming_the_privilege() {
    let mut cmd = if is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid", "65534", "--regid", "65534", "--clear-groups"]);
        c.arg(env!("CARGO_BIN_EXE_shmtool"));
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_shmtool"))
    };
    let Some(out) = output_if_installed(cmd.args(["trace", "--count", "1"]).stdin(Stdio::null()))
    else {
        return skip("setpriv is not installed");
    };
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(
            "shmtool: error: tracing needs root (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN)"
        ),
        "{err}"
    );
}

#[test]
fn history_without_a_log_says_so() {
    let (code, _, err) = run(&["history", "5", "--log", "/nonexistent/trace.jsonl"]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("shmtool: error: no trace log at /nonexistent/trace.jsonl"),
        "{err}"
    );
}

#[test]
fn the_table_names_each_event_and_colours_only_when_asked() {
    if let Some(why) = cannot_trace() {
        return skip(&why);
    }
    for color in ["never", "always"] {
        let name = unique_name("trace-table");
        let mut child = shmtool()
            .args(["--color", color, "trace", "--name", &name, "--count", "2"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        let mut seen = String::new();
        while !line.starts_with("shmtool: tracing") {
            seen.push_str(&line);
            line.clear();
            if stderr.read_line(&mut line).unwrap() == 0 {
                let _ = child.wait();
                let mut rest = seen.clone();
                stderr.read_to_string(&mut rest).unwrap();
                if rest.contains("this kernel cannot trace") || rest.contains("tracing needs root")
                {
                    return skip(&format!("trace: {}", rest.trim()));
                }
                panic!("trace did not start: {rest}");
            }
        }
        let script = "import os,sys\np='/dev/shm/'+sys.argv[1]\nos.close(os.open(p, os.O_CREAT|os.O_RDWR, 0o600))\nos.unlink(p)\n";
        python(&py_with_args(script, std::slice::from_ref(&name)), false);
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(
            lines[0].contains("TIME") && lines[0].contains("OBJECT"),
            "{text}"
        );
        assert!(
            lines[1].contains("create") && lines[1].contains(&name),
            "{text}"
        );
        assert!(
            lines[2].contains("unlink") && lines[2].contains("python3"),
            "{text}"
        );
        assert_eq!(text.contains('\x1b'), color == "always", "{text}");
    }
}

#[test]
fn an_unknown_trace_mechanism_is_one_line_naming_the_variable() {
    let out = shmtool()
        .env("SHMTOOL_TRACE_VIA", "kprobes")
        .args(["trace", "--count", "1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("SHMTOOL_TRACE_VIA=kprobes: expected tracepoints or sys_exit"),
        "{err}"
    );
}
