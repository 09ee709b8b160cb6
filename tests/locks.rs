//! `shmtool locks` against real C programs that lock pthread mutexes and wait on semaphores in
//! shared memory. Every program says what it is doing through its stdout pipe (one byte: `L`
//! when it holds its lock, `W` just before it blocks); a waiter counts as blocked once its
//! /proc/PID/syscall shows the call, polled with a deadline. Programs are killed and reaped on
//! drop; objects are removed by name or id.

use crate::fixtures::{self, unique_name, PosixObj, SysvSeg};
use serde_json::Value;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const OWNER_DEAD_NOT_ROBUST: &str = "owner dead (not robust: waits forever)";
const OWNER_DEAD_ROBUST_UNMARKED: &str =
    "owner dead (robust, but the kernel did not mark it: waits forever)";

/// argv: MODE OBJECT OFFSET [more]. OBJECT is `shm:/NAME` (shm_open) or `sysv:SHMID` (shmat).
const LOCKER: &str = r#"
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

static void say(char c) { if (write(1, &c, 1) != 1) _exit(3); }

/* How the tests' objects are laid out, for debuginfo (the program itself addresses them by
   offset): the mutex at 0x40 is `lock`, the one at 0x80 `robust_lock`. */
struct orders {
    long version;
    char name[56];
    pthread_mutex_t lock;
    char pad[24];
    pthread_mutex_t robust_lock;
};
struct orders *orders_area;

static pthread_mutex_t *thread_mutex;
static void *lock_in_thread(void *arg) {
    (void)arg;
    pthread_setname_np(pthread_self(), "lockthread");
    say('W');
    pthread_mutex_lock(thread_mutex);
    for (;;) pause();
    return NULL;
}

static char *map_obj(const char *obj, size_t *len) {
    *len = 0;
    if (strncmp(obj, "shm:", 4) == 0) {
        int fd = shm_open(obj + 4, O_RDWR, 0);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0) { perror("shm_open"); exit(2); }
        *len = st.st_size;
        char *p = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) { perror("mmap"); exit(2); }
        close(fd);
        return p;
    }
    if (strncmp(obj, "sysv:", 5) == 0) {
        char *p = shmat(atoi(obj + 5), NULL, 0);
        if (p == (void *)-1) { perror("shmat"); exit(2); }
        return p;
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    const char *mode = argv[1];
    if (!strcmp(mode, "named-semwait")) {
        sem_t *s = sem_open(argv[2], O_CREAT | O_EXCL, 0600, 0);
        if (s == SEM_FAILED) { perror("sem_open"); return 2; }
        say('W');
        sem_wait(s);
        return 0;
    }
    if (!strcmp(mode, "sysv-semwait")) {
        struct sembuf op = { 1, -1, 0 };
        say('W');
        semop(atoi(argv[2]), &op, 1);
        return 0;
    }
    if (!strcmp(mode, "anon-fork")) {
        /* Shared anonymous memory between a parent and its forked child: the child holds the
           mutex (and dies with its parent), the parent waits for it. */
        char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return 2;
        pthread_mutex_t *am = (pthread_mutex_t *)(p + 0x40);
        pthread_mutexattr_t a;
        pthread_mutexattr_init(&a);
        pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
        pthread_mutex_init(am, &a);
        int ready[2];
        if (pipe(ready)) return 2;
        pid_t parent = getpid();
        pid_t child = fork();
        if (child == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent) _exit(0);
            pthread_mutex_lock(am);
            if (write(ready[1], "L", 1) != 1) _exit(3);
            for (;;) pause();
        }
        char c;
        if (read(ready[0], &c, 1) != 1) return 5;
        say('W');
        pthread_mutex_lock(am);
        return 0;
    }
    if (!strcmp(mode, "private-deadlock")) {
        pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
        pthread_mutex_lock(&m);
        say('W');
        pthread_mutex_lock(&m);
        return 0;
    }
    size_t len;
    char *base = map_obj(argv[2], &len);
    if (!base || argc < 4) return 2;
    pthread_mutex_t *m = (pthread_mutex_t *)(base + strtol(argv[3], NULL, 0));
    orders_area = (struct orders *)base;
    if (!strcmp(mode, "init-mutex")) {
        pthread_mutexattr_t a;
        pthread_mutexattr_init(&a);
        pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
        if (argc > 4 && atoi(argv[4])) pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
        return pthread_mutex_init(m, &a);
    }
    if (!strcmp(mode, "init-sem")) return sem_init((sem_t *)m, 1, 0);
    if (!strcmp(mode, "init-cond")) {
        pthread_condattr_t a;
        pthread_condattr_init(&a);
        pthread_condattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
        return pthread_cond_init((pthread_cond_t *)(base + strtol(argv[4], NULL, 0)), &a);
    }
    if (!strcmp(mode, "condwait")) {
        pthread_cond_t *c = (pthread_cond_t *)(base + strtol(argv[4], NULL, 0));
        if (pthread_mutex_lock(m)) return 4;
        say('W');
        pthread_cond_wait(c, m);
        for (;;) pause();
    }
    if (!strcmp(mode, "hold") || !strcmp(mode, "hold-unmapped")) {
        if (pthread_mutex_lock(m)) return 4;
        /* Unmapping while holding a robust mutex hides it from the kernel's robust-list walk
           at exit, so the kernel cannot mark it when this process dies. */
        if (!strcmp(mode, "hold-unmapped") && len) munmap(base, len);
        say('L');
        for (;;) pause();
    }
    if (!strcmp(mode, "wait")) {
        say('W');
        int r = pthread_mutex_lock(m);
        say((char)r);
        for (;;) pause();
    }
    if (!strcmp(mode, "thread-wait")) {
        pthread_t t;
        thread_mutex = m;
        if (pthread_create(&t, NULL, lock_in_thread, NULL)) return 4;
        pthread_join(t, NULL);
        return 0;
    }
    if (!strcmp(mode, "cross")) {
        pthread_mutex_t *m2 = (pthread_mutex_t *)(base + strtol(argv[4], NULL, 0));
        if (pthread_mutex_lock(m)) return 4;
        say('L');
        char c;
        if (read(0, &c, 1) != 1) return 5;
        say('W');
        pthread_mutex_lock(m2);
        for (;;) pause();
    }
    if (!strcmp(mode, "semwait")) {
        say('W');
        sem_wait((sem_t *)m);
        say('P');
        for (;;) pause();
    }
    if (!strcmp(mode, "idle")) { say('R'); for (;;) pause(); }
    return 2;
}
"#;

/// The locker program, built into its own temporary directory (removed on drop).
struct Locker {
    _dir: tempfile::TempDir,
    exe: PathBuf,
}

impl Locker {
    fn build() -> Option<Locker> {
        let dir = tempfile::tempdir().unwrap();
        let exe = crate::programs::build(dir.path(), "locker", "gcc", LOCKER)?;
        Some(Locker { _dir: dir, exe })
    }

    fn run(&self, args: &[&str]) {
        let st = Command::new(&self.exe).args(args).status().unwrap();
        assert!(st.success(), "locker {args:?} failed: {st}");
    }

    fn start(&self, args: &[&str]) -> Proc {
        let child = Command::new(&self.exe)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start locker");
        Proc {
            pid: child.id() as i32,
            child,
        }
    }
}

/// A running locker; killed and reaped on drop.
struct Proc {
    pid: i32,
    child: Child,
}

impl Proc {
    /// The next byte it says (its stdout is a pipe only we read).
    fn said(&mut self) -> u8 {
        let mut b = [0u8];
        self.child
            .stdout
            .as_mut()
            .unwrap()
            .read_exact(&mut b)
            .expect("the program ended before saying anything");
        b[0]
    }

    fn expect(&mut self, c: u8) {
        assert_eq!(self.said(), c, "program {} said something else", self.pid);
    }

    fn go(&mut self) {
        self.child.stdin.as_mut().unwrap().write_all(b"g").unwrap();
    }

    /// Poll /proc/PID/syscall until it shows system call `nr`, with a deadline.
    fn blocked_in(&self, nr: u32) {
        self.blocked_in_any(&[nr]);
    }

    fn blocked_in_any(&self, nrs: &[u32]) {
        let path = format!("/proc/{}/syscall", self.pid);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let nr = text.split_whitespace().next().and_then(|n| n.parse().ok());
            if nr.is_some_and(|n| nrs.contains(&n)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} never blocked in syscall {nrs:?}: {text}",
                self.pid
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The tid of a thread other than the main one once it is blocked in `nr` (with a deadline).
    fn other_thread_blocked_in(&self, nr: u32) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let tasks = std::fs::read_dir(format!("/proc/{}/task", self.pid)).unwrap();
            for tid in tasks.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok()) {
                let path = format!("/proc/{}/task/{tid}/syscall", self.pid);
                let text = std::fs::read_to_string(path).unwrap_or_default();
                if tid != self.pid && text.split_whitespace().next() == Some(&nr.to_string()) {
                    return tid;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no thread of {} blocked",
                self.pid
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Poll /proc/PID/stat until the process is stopped, with a deadline.
    fn stopped(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap();
            let state = stat.rsplit_once(')').unwrap().1.split_whitespace().next();
            if state == Some("T") {
                return;
            }
            assert!(Instant::now() < deadline, "{} never stopped", self.pid);
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// SIGKILL and reap.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

const FUTEX: u32 = 202;

/// `locks --json --pid PIDS` parsed.
fn locks(pids: &[i32]) -> Vec<Value> {
    let list: Vec<String> = pids.iter().map(|p| p.to_string()).collect();
    let (code, out, err) = fixtures::run(&["locks", "--json", "--pid", &list.join(",")]);
    assert_eq!(code, 0, "locks failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("bad JSON ({e}): {out}"))
}

fn row_of(rows: &[Value], pid: i32) -> &Value {
    rows.iter()
        .find(|r| r["pid"] == pid)
        .unwrap_or_else(|| panic!("no row for {pid}: {rows:#?}"))
}

/// Whether the tests can read other processes' syscall files and memory.
fn can_look() -> bool {
    let scope = std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope").unwrap_or_default();
    if fixtures::is_root() || matches!(scope.trim(), "" | "0") {
        return true;
    }
    fixtures::skip("Yama restricts reading other processes' syscall files (run as root)");
    false
}

/// A /dev/shm object or a System V segment, as the locker names it and as JSON names it.
enum Obj {
    Posix(PosixObj),
    Sysv(SysvSeg),
}

impl Obj {
    fn posix() -> Obj {
        Obj::Posix(PosixObj::new(4096, 0))
    }
    fn sysv() -> Obj {
        Obj::Sysv(SysvSeg::new(4096, 0))
    }
    fn arg(&self) -> String {
        match self {
            Obj::Posix(p) => format!("shm:/{}", p.name),
            Obj::Sysv(s) => format!("sysv:{}", s.shmid),
        }
    }
    fn check(&self, object: &Value) {
        match self {
            Obj::Posix(p) => {
                assert_eq!(object["kind"], "posix");
                assert_eq!(object["path"], p.path.to_str().unwrap());
            }
            Obj::Sysv(s) => {
                assert_eq!(object["kind"], "sysv");
                assert_eq!(object["id"], s.shmid);
                assert_eq!(object["key"], s.key_string());
            }
        }
    }
    fn show_id(&self) -> String {
        match self {
            Obj::Posix(p) => p.name.clone(),
            Obj::Sysv(s) => s.shmid.to_string(),
        }
    }
}

/// A holder locks a process-shared mutex at offset 0x40 of `obj`, a waiter blocks on it, the
/// holder is killed with SIGKILL: the waiter is reported waiting on a dead, non-robust owner.
fn killed_holder_of_a_plain_mutex(obj: Obj) {
    if !can_look() {
        return;
    }
    let Some(locker) = Locker::build() else {
        return;
    };
    let o = obj.arg();
    locker.run(&["init-mutex", &o, "0x40", "0"]);
    let mut holder = locker.start(&["hold", &o, "0x40"]);
    holder.expect(b'L');
    let mut waiter = locker.start(&["wait", &o, "0x40"]);
    waiter.expect(b'W');
    waiter.blocked_in(FUTEX);

    let rows = locks(&[waiter.pid, holder.pid]);
    assert_eq!(rows.len(), 1, "only the waiter is blocked: {rows:#?}");
    let r = row_of(&rows, waiter.pid);
    obj.check(&r["object"]);
    assert_eq!(r["offset"], 0x40);
    assert!(r["address"].as_str().unwrap().starts_with("0x"), "{r:#}");
    assert_eq!(r["lock"], "mutex");
    assert_eq!(r["robust"], false);
    assert_eq!(r["pshared"], true);
    assert_eq!(r["owner"]["tid"], holder.pid);
    assert_eq!(r["owner"]["pid"], holder.pid);
    assert_eq!(r["owner"]["alive"], true);
    assert_eq!(r["verdict"], "owner alive");

    holder.kill();
    let rows = locks(&[waiter.pid]);
    let r = row_of(&rows, waiter.pid);
    assert_eq!(r["owner"]["tid"], holder.pid);
    assert_eq!(r["owner"]["alive"], false);
    assert_eq!(r["verdict"], OWNER_DEAD_NOT_ROBUST);
    assert_eq!(r["word"], "0x00000002");
    // The waiter was built with -g: the one struct that puts a mutex there names it.
    assert_eq!(r["member"], "struct orders.lock");

    // The table says the same, and `show` of the object lists the waiter.
    let (code, out, err) = fixtures::run(&["locks", "--pid", &waiter.pid.to_string()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(OWNER_DEAD_NOT_ROBUST), "{out}");
    assert!(out.contains(&format!("{} (dead)", holder.pid)), "{out}");
    let (code, out, err) = fixtures::run(&["show", &obj.show_id()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(OWNER_DEAD_NOT_ROBUST), "{out}");
    assert!(out.contains(&waiter.pid.to_string()), "{out}");
    let (code, out, err) = fixtures::run(&["show", &obj.show_id(), "--json"]);
    assert_eq!(code, 0, "{err}");
    let show: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(show["waiters"][0]["pid"], waiter.pid, "{show:#}");
}

#[test]
fn dead_holder_of_a_mutex_in_dev_shm() {
    killed_holder_of_a_plain_mutex(Obj::posix());
}

#[test]
fn dead_holder_of_a_mutex_in_a_sysv_segment() {
    killed_holder_of_a_plain_mutex(Obj::sysv());
}

#[test]
fn robust_mutex_whose_holder_dies_goes_to_the_waiter_with_eownerdead() {
    if !can_look() {
        return;
    }
    let Some(locker) = Locker::build() else {
        return;
    };
    let obj = Obj::posix();
    let o = obj.arg();
    locker.run(&["init-mutex", &o, "0x80", "1"]);
    let mut holder = locker.start(&["hold", &o, "0x80"]);
    holder.expect(b'L');
    let mut waiter = locker.start(&["wait", &o, "0x80"]);
    waiter.expect(b'W');
    waiter.blocked_in(FUTEX);
    let rows = locks(&[waiter.pid]);
    let r = row_of(&rows, waiter.pid);
    assert_eq!(r["robust"], true);
    assert_eq!(r["owner_died"], false);
    assert_eq!(r["owner"]["tid"], holder.pid);
    assert_eq!(r["verdict"], "owner alive");
    assert_eq!(
        r["word"],
        format!("0x{:08x}", 0x8000_0000u32 | holder.pid as u32)
    );

    // The kernel walks the dead holder's robust list, marks the word and wakes the waiter,
    // whose pthread_mutex_lock returns EOWNERDEAD: nobody is left waiting.
    holder.kill();
    assert_eq!(waiter.said(), libc::EOWNERDEAD as u8);
    waiter.blocked_in(34); // pause()
    assert!(locks(&[waiter.pid]).is_empty());
}

#[test]
fn robust_mutex_the_kernel_could_not_release_is_owner_dead() {
    if !can_look() {
        return;
    }
    let Some(locker) = Locker::build() else {
        return;
    };
    let obj = Obj::posix();
    let o = obj.arg();
    locker.run(&["init-mutex", &o, "0x80", "1"]);
    let mut holder = locker.start(&["hold-unmapped", &o, "0x80"]);
    holder.expect(b'L');
    let mut waiter = locker.start(&["wait", &o, "0x80"]);
    waiter.expect(b'W');
    waiter.blocked_in(FUTEX);
    let r = locks(&[waiter.pid]);
    let r = row_of(&r, waiter.pid);
    // Alive, but no longer mapping the object it holds a lock in.
    assert!(
        r["verdict"].as_str().unwrap().starts_with("owner unclear"),
        "{r:#}"
    );
    holder.kill();
    let rows = locks(&[waiter.pid]);
    let r = row_of(&rows, waiter.pid);
    assert_eq!(r["robust"], true);
    assert_eq!(r["owner_died"], false);
    assert_eq!(r["owner"]["alive"], false);
    assert_eq!(r["verdict"], OWNER_DEAD_ROBUST_UNMARKED);
    assert!(r["verdict"].as_str().unwrap().starts_with("owner dead"));
    // Named with --type, in the table too.
    let pid = waiter.pid.to_string();
    let (code, out, err) = fixtures::run(&["locks", "--pid", &pid, "--type", "struct orders"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("MEMBER") && out.contains("struct orders.robust_lock"),
        "{out}"
    );
    // A type the program does not define names nothing, and says so.
    let (code, out, err) = fixtures::run(&["locks", "--pid", &pid, "--type", "struct nosuch"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("MEMBER"), "{out}");
    assert!(err.contains("nosuch"), "{err}");
}

#[test]
fn two_processes_deadlocked_on_two_mutexes_are_a_cycle() {
    if !can_look() {
        return;
    }
    let Some(locker) = Locker::build() else {
        return;
    };
    let obj = Obj::sysv();
    let o = obj.arg();
    locker.run(&["init-mutex", &o, "0", "0"]);
    locker.run(&["init-mutex", &o, "0x100", "0"]);
    let mut a = locker.start(&["cross", &o, "0", "0x100"]);
    a.expect(b'L');
    let mut b = locker.start(&["cross", &o, "0x100", "0"]);
    b.expect(b'L');
    a.go();
    b.go();
    a.expect(b'W');
    b.expect(b'W');
    a.blocked_in(FUTEX);
    b.blocked_in(FUTEX);
    let rows = locks(&[a.pid, b.pid]);
    assert_eq!(rows.len(), 2, "{rows:#?}");
    let ra = row_of(&rows, a.pid);
    let rb = row_of(&rows, b.pid);
    assert_eq!(
        ra["verdict"],
        format!("cycle: {} waits on {} waits on {}", a.pid, b.pid, a.pid)
    );
    assert_eq!(
        rb["verdict"],
        format!("cycle: {} waits on {} waits on {}", b.pid, a.pid, b.pid)
    );
    assert_eq!(ra["offset"], 0x100);
    assert_eq!(rb["offset"], 0);
    assert_eq!(ra["cycle"], serde_json::json!([a.pid, b.pid]));
    let (code, out, _) = fixtures::run(&["locks", "--pid", &a.pid.to_string()]);
    assert_eq!(code, 0);
    assert!(out.contains("cycle: "), "{out}");
}

#[test]
fn waiter_on_a_semaphore_in_dev_shm() {
    if !can_look() {
        return;
    }
    let Some(locker) = Locker::build() else {
        return;
    };
    let obj = Obj::posix();
    let o = obj.arg();
    locker.run(&["init-sem", &o, "0x200"]);
    let mut waiter = locker.start(&["semwait", &o, "0x200"]);
    waiter.expect(b'W');
    waiter.blocked_in(FUTEX);
    let rows = locks(&[waiter.pid]);
    let r = row_of(&rows, waiter.pid);
    obj.check(&r["object"]);
    assert_eq!(r["offset"], 0x200);
    assert_eq!(r["lock"], "semaphore");
    assert_eq!(r["owner"], Value::Null);
    assert_eq!(r["verdict"], "no owner (semaphore: waits for a post)");
    // --kind filters by the object's kind.
    let pid = waiter.pid.to_string();
    let (_, out, _) = fixtures::run(&["locks", "--json", "--pid", &pid, "--kind", "sysv"]);
    assert_eq!(out.trim(), "[]");
    let (_, out, _) = fixtures::run(&["locks", "--json", "--pid", &pid, "--kind", "posix"]);
    assert_ne!(out.trim(), "[]");
}

/// A named semaphore's file, unlinked on drop.
struct NamedSem(PathBuf);

impl Drop for NamedSem {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn waiter_on_a_named_semaphore() {
    if !can_look() {
        return;
    }
    let Some(locker) = Locker::build() else {
        return;
    };
    let name = unique_name("shmtool-test-sem");
    let _file = NamedSem(Path::new("/dev/shm").join(format!("sem.{name}")));
    let mut waiter = locker.start(&["named-semwait", &format!("/{name}")]);
    waiter.expect(b'W');
    waiter.blocked_in(FUTEX);
    let rows = locks(&[waiter.pid]);
    let r = row_of(&rows, waiter.pid);
    assert_eq!(r["object"]["path"], format!("/dev/shm/sem.{name}"));
    assert_eq!(r["offset"], 0);
    assert_eq!(r["lock"], "semaphore");
}

/// A System V semaphore set, removed by id on drop.
struct SemSet(i32);

impl Drop for SemSet {
    fn drop(&mut self) {
        unsafe { libc::semctl(self.0, 0, libc::IPC_RMID) };
    }
}

#[test]
fn waiter_on_a_sysv_semaphore() {
    if !can_look() {
        return;
    }
    let Some(locker) = Locker::build() else {
        return;
    };
    let id = unsafe { libc::semget(libc::IPC_PRIVATE, 2, 0o600) };
    assert!(id >= 0, "semget: {}", std::io::Error::last_os_error());
    let _set = SemSet(id);
    let mut waiter = locker.start(&["sysv-semwait", &id.to_string()]);
    waiter.expect(b'W');
    // glibc makes semop a semtimedop.
    waiter.blocked_in_any(&[65, 220]);
    let rows = locks(&[waiter.pid]);
    let r = row_of(&rows, waiter.pid);
    assert_eq!(r["object"]["kind"], "sem");
    assert_eq!(r["object"]["id"], id);
    assert_eq!(r["lock"], "sysv-sem");
    assert_eq!(r["sem_num"], 1);
    assert_eq!(r["sem_op"], -1);
    assert_eq!(r["sem_value"], 0);
}

#[test]
fn processes_not_blocked_on_shared_memory_are_not_listed() {
    if !can_look() {
        return;
    }
    let Some(locker) = Locker::build() else {
        return;
    };
    let obj = Obj::posix();
    let o = obj.arg();
    locker.run(&["init-mutex", &o, "0", "0"]);
    // Maps the object and sleeps in pause().
    let mut idle = locker.start(&["idle", &o, "0"]);
    idle.expect(b'R');
    // Holds the mutex; nobody waits for it.
    let mut holder = locker.start(&["hold", &o, "0"]);
    holder.expect(b'L');
    // Blocked for ever in futex, but on a mutex in its own private memory.
    let mut private = locker.start(&["private-deadlock", "-"]);
    private.expect(b'W');
    private.blocked_in(FUTEX);
    idle.blocked_in(34);
    holder.blocked_in(34);
    assert_eq!(
        locks(&[idle.pid, holder.pid, private.pid]),
        Vec::<Value>::new()
    );
    let (code, out, _) = fixtures::run(&["locks", "--pid", &private.pid.to_string()]);
    assert_eq!(code, 0);
    assert_eq!(out, "no thread is blocked on a lock in shared memory\n");
}

#[test]
fn a_waiting_thread_is_named_by_its_tid_and_a_stopped_owner_is_said() {
    if !can_look() {
        return;
    }
    let Some(locker) = Locker::build() else {
        return;
    };
    let obj = Obj::posix();
    let o = obj.arg();
    locker.run(&["init-mutex", &o, "0x40", "0"]);
    let mut holder = locker.start(&["hold", &o, "0x40"]);
    holder.expect(b'L');
    let mut waiter = locker.start(&["thread-wait", &o, "0x40"]);
    waiter.expect(b'W');
    let tid = waiter.other_thread_blocked_in(FUTEX);
    // Our own child: stopping it is ours to do.
    unsafe { libc::kill(holder.pid, libc::SIGSTOP) };
    holder.stopped();
    let rows = locks(&[waiter.pid]);
    // The main thread waits in pthread_join, on a futex in private memory: not listed.
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let r = &rows[0];
    assert_eq!(r["pid"], waiter.pid);
    assert_eq!(r["tid"], tid);
    assert_eq!(r["comm"], "lockthread");
    assert_eq!(r["verdict"], "owner alive");
    assert!(
        r["owner"]["state"].as_str().unwrap().starts_with('T'),
        "{r:#}"
    );
    assert!(r["note"].as_str().unwrap().contains("stopped"), "{r:#}");
    let (_, out, _) = fixtures::run(&["locks", "--pid", &waiter.pid.to_string()]);
    assert!(out.contains("stopped"), "{out}");
}

#[test]
fn waiter_on_a_condition_variable_in_shared_memory() {
    if !can_look() {
        return;
    }
    let Some(locker) = Locker::build() else {
        return;
    };
    let obj = Obj::sysv();
    let o = obj.arg();
    locker.run(&["init-mutex", &o, "0x40", "0"]);
    locker.run(&["init-cond", &o, "0x40", "0x80"]);
    let mut waiter = locker.start(&["condwait", &o, "0x40", "0x80"]);
    waiter.expect(b'W');
    waiter.blocked_in(FUTEX);
    let rows = locks(&[waiter.pid]);
    let r = row_of(&rows, waiter.pid);
    obj.check(&r["object"]);
    // The word is __g_signals[0], 40 bytes into the condvar.
    assert_eq!(r["offset"], 0x80 + 40);
    // The layout checked is glibc 2.36's (__g_refs went away in 2.41); elsewhere an honest
    // `futex` is the right answer (and never a mutex).
    let version = unsafe { std::ffi::CStr::from_ptr(libc::gnu_get_libc_version()) };
    let minor: u32 = version
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("2."))
        .and_then(|m| m.split('.').next()?.parse().ok())
        .unwrap_or(0);
    if !(25..41).contains(&minor) {
        assert_ne!(r["lock"], "mutex", "{r:#}");
        fixtures::skip(&format!(
            "condvar layout of glibc {version:?} is not recognised"
        ));
        return;
    }
    assert_eq!(r["lock"], "condvar");
    assert_eq!(r["pshared"], true);
    assert_eq!(
        r["verdict"],
        "no owner (condition variable: waits for a signal)"
    );
}

#[test]
fn parent_waiting_on_its_forked_child_in_shared_anonymous_memory() {
    if !can_look() {
        return;
    }
    let Some(locker) = Locker::build() else {
        return;
    };
    // The child is killed by the kernel when its parent (ours) dies: PR_SET_PDEATHSIG.
    let mut parent = locker.start(&["anon-fork", "-"]);
    parent.expect(b'W');
    parent.blocked_in(FUTEX);
    let rows = locks(&[parent.pid]);
    let r = row_of(&rows, parent.pid);
    assert_eq!(r["object"]["kind"], "anon");
    assert_eq!(r["offset"], 0x40);
    assert_eq!(r["lock"], "mutex");
    assert_eq!(r["owner"]["alive"], true);
    assert_eq!(r["owner"]["maps_object"], true);
    assert_ne!(r["owner"]["pid"], parent.pid);
    assert_eq!(r["verdict"], "owner alive");
}

#[test]
fn locks_pid_of_no_process_is_an_error() {
    let (code, out, err) = fixtures::run(&["locks", "--pid", "2147483647"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        err.starts_with("shmtool: error: ") && err.contains("2147483647"),
        "{err}"
    );
    let (code, _, err) = fixtures::run(&["locks", "--kind", "bogus"]);
    assert_eq!(code, 2, "{err}");
}
