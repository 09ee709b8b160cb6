//! Which threads are blocked, and on what: `/proc/<pid>/task/<tid>/syscall` names the system
//! call a blocked thread sleeps in and its arguments (futex address, op and expected value;
//! semop's semaphore set). Also the few read-only facts about System V semaphore sets that a
//! waiter's row needs (`semctl` GETVAL/GETPID/GETNCNT never change a set).

use super::procs::ReadError;
use super::Sys;
use std::io::Read;

/// x86_64 system call numbers of the calls that wait on shared memory.
pub const SYS_SEMOP: u64 = 65;
pub const SYS_FUTEX: u64 = 202;
pub const SYS_SEMTIMEDOP: u64 = 220;

/// A thread blocked in a call that waits on something shared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocked {
    /// futex(2) with a waiting op: the address (in the waiter), the op and the expected value.
    Futex { addr: u64, op: u32, val: u32 },
    /// semop(2) or semtimedop(2): the set, and where the operations are in the waiter.
    Semop {
        timed: bool,
        semid: i32,
        sops: u64,
        nsops: u64,
    },
}

/// Parse one `syscall` file: `202 0x7f… 0x80 0x2 0x0 0x0 0x0 0x7ffd… 0x7f…` (number, six
/// arguments, stack and instruction pointers), or `running`, or `-1 …` when not in a call.
/// Only the calls that can wait on shared memory give Some.
pub fn parse_syscall(text: &str) -> Option<Blocked> {
    let mut fields = text.split_ascii_whitespace();
    let nr: u64 = fields.next()?.parse().ok()?;
    let args: Vec<u64> = fields
        .take(6)
        .map(|f| u64::from_str_radix(f.trim_start_matches("0x"), 16))
        .collect::<Result<_, _>>()
        .ok()?;
    if args.len() < 6 {
        return None;
    }
    match nr {
        SYS_FUTEX => {
            let op = args[1] as u32;
            super::lockword::waiting_command(op)?;
            Some(Blocked::Futex {
                addr: args[0],
                op,
                val: args[2] as u32,
            })
        }
        SYS_SEMOP | SYS_SEMTIMEDOP => Some(Blocked::Semop {
            timed: nr == SYS_SEMTIMEDOP,
            semid: args[0] as i32,
            sops: args[1],
            nsops: args[2],
        }),
        _ => None,
    }
}

/// One blocked thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadWait {
    pub pid: i32,
    pub tid: i32,
    pub blocked: Blocked,
}

/// What /proc says about a thread by its tid alone (any thread's tid works under /proc, listed
/// or not): its process and whether it is still running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadInfo {
    pub tgid: i32,
    /// Zombie or dead: gone for every purpose here (its robust list has been walked).
    pub exited: bool,
    /// The `State:` line's text, e.g. `S (sleeping)`, `T (stopped)`, `t (tracing stop)`.
    pub state: String,
}

impl ThreadInfo {
    /// Stopped by a signal or by a debugger: it runs no code until something continues it.
    pub fn stopped(&self) -> bool {
        self.state.starts_with('T') || self.state.starts_with('t')
    }
}

/// Parse the `Tgid:` and `State:` lines of a `status` file.
pub fn parse_status(text: &str) -> Option<ThreadInfo> {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
    };
    let tgid = field("Tgid:")?.parse().ok()?;
    let state = field("State:").unwrap_or("");
    Some(ThreadInfo {
        tgid,
        exited: state.starts_with('Z') || state.starts_with('X'),
        state: state.to_string(),
    })
}

/// Whether the `NSpid:` line of a `status` file says the process sits in a nested pid namespace
/// (its tids, as stored in lock words, are not the ones our /proc shows).
pub fn nested_pid_ns(text: &str) -> bool {
    text.lines()
        .find_map(|l| l.strip_prefix("NSpid:"))
        .is_some_and(|v| v.split_ascii_whitespace().count() > 1)
}

/// A System V semaphore set from `/proc/sysvipc/sem`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SemSet {
    pub key: u32,
    pub semid: i32,
    pub nsems: u32,
}

/// Parse `/proc/sysvipc/sem` (`key semid perms nsems uid gid cuid cgid otime ctime`; the kernel
/// prints keys as signed decimals).
pub fn parse_sysvipc_sem(text: &str) -> Vec<SemSet> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split_ascii_whitespace();
            let key: i64 = f.next()?.parse().ok()?;
            let semid = f.next()?.parse().ok()?;
            let nsems = f.nth(1)?.parse().ok()?;
            Some(SemSet {
                key: key as u32,
                semid,
                nsems,
            })
        })
        .collect()
}

/// One semaphore of a set, as semctl reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SemState {
    pub value: i32,
    /// The last process that operated on it.
    pub last_pid: i32,
    /// How many wait for it to increase.
    pub ncnt: i32,
}

/// Read one semaphore's value, last pid and waiter count. These semctl commands only read.
pub fn sem_state(semid: i32, num: u16) -> Option<SemState> {
    // SAFETY: GETVAL, GETPID and GETNCNT take no fourth argument and write nothing of ours.
    let get = |cmd| unsafe { libc::semctl(semid, num as i32, cmd) };
    let value = get(libc::GETVAL);
    if value < 0 {
        return None;
    }
    Some(SemState {
        value,
        last_pid: get(libc::GETPID),
        ncnt: get(libc::GETNCNT),
    })
}

impl Sys {
    /// Every thread of these processes (all processes when None) blocked in a call that can
    /// wait on shared memory, and how many processes' threads we were not allowed to read.
    pub fn thread_waits(&self, pids: Option<&[i32]>) -> (Vec<ThreadWait>, usize) {
        let all;
        let pids = match pids {
            Some(p) => p,
            None => {
                all = self.pids().unwrap_or_default();
                &all
            }
        };
        let me = std::process::id() as i32;
        let mut out = Vec::new();
        let mut denied = 0;
        for &pid in pids.iter().filter(|&&p| p != me) {
            let Ok(tasks) = std::fs::read_dir(self.pid_path(pid, "task")) else {
                continue;
            };
            let mut hidden = false;
            for tid in tasks
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()))
            {
                match self.syscall_of(pid, tid) {
                    Ok(Some(blocked)) => out.push(ThreadWait { pid, tid, blocked }),
                    Ok(None) => {}
                    Err(ReadError::Denied) => hidden = true,
                    Err(_) => {}
                }
            }
            denied += hidden as usize;
        }
        out.sort_by_key(|w| (w.pid, w.tid));
        (out, denied)
    }

    /// What one thread is blocked in, if it waits on something shared.
    pub fn syscall_of(&self, pid: i32, tid: i32) -> Result<Option<Blocked>, ReadError> {
        let path = self.pid_path(pid, &format!("task/{tid}/syscall"));
        let mut text = String::new();
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_string(&mut text))
            .map_err(super::procs::classify_io)?;
        Ok(parse_syscall(&text))
    }

    /// A thread's process and state, by tid; None when no such thread exists.
    pub fn thread_info(&self, tid: i32) -> Option<ThreadInfo> {
        if tid <= 0 {
            return None;
        }
        let text = std::fs::read_to_string(self.pid_path(tid, "status")).ok()?;
        parse_status(&text)
    }

    /// Whether a process lives in a pid namespace below ours (None: could not tell).
    pub fn in_nested_pid_ns(&self, pid: i32) -> Option<bool> {
        let text = std::fs::read_to_string(self.pid_path(pid, "status")).ok()?;
        Some(nested_pid_ns(&text))
    }

    /// The System V semaphore sets of our IPC namespace.
    pub fn sem_sets(&self) -> Vec<SemSet> {
        std::fs::read_to_string(self.proc_root.join("sysvipc/sem"))
            .map(|t| parse_sysvipc_sem(&t))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn futex_waits_are_parsed() {
        let line = "202 0x7fc68be3a040 0x0 0x2 0x0 0x80 0x0 0x7ffd6ec16a28 0x7fc68bcd612b\n";
        assert_eq!(
            parse_syscall(line),
            Some(Blocked::Futex {
                addr: 0x7fc68be3a040,
                op: 0,
                val: 2
            })
        );
        // sem_wait: FUTEX_WAIT_BITSET|FUTEX_CLOCK_REALTIME.
        let line = "202 0x7fa15f342000 0x109 0x0 0x0 0x0 0xffffffff 0x7ffd65477e70 0x7fa15f1dde96";
        assert!(matches!(
            parse_syscall(line),
            Some(Blocked::Futex { op: 0x109, .. })
        ));
    }

    #[test]
    fn futex_wakes_and_other_calls_are_not_waits() {
        // FUTEX_WAKE_PRIVATE.
        assert_eq!(
            parse_syscall("202 0x7f0000001000 0x81 0x1 0x0 0x0 0x0 0x7ffd0 0x7f0"),
            None
        );
        // pause().
        assert_eq!(
            parse_syscall("34 0x1 0x7fffd57266bc 0x1 0x7f7fbc5bafa0 0x1999 0x0 0x7fff 0x7f7f"),
            None
        );
        assert_eq!(parse_syscall("running\n"), None);
        assert_eq!(parse_syscall("-1 0x7ffd0 0x7f0\n"), None);
        assert_eq!(parse_syscall("202 0x1 0x0"), None);
        assert_eq!(parse_syscall(""), None);
    }

    #[test]
    fn semtimedop_is_parsed() {
        let line = "220 0x3 0x7ffea995d5c2 0x1 0x0 0x1999999999999999 0x0 0x7ffea995d5a8 0x7f3e";
        assert_eq!(
            parse_syscall(line),
            Some(Blocked::Semop {
                timed: true,
                semid: 3,
                sops: 0x7ffea995d5c2,
                nsops: 1
            })
        );
    }

    #[test]
    fn status_lines() {
        let text = "Name:\tlocker\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t992\nNgid:\t0\nPid:\t993\nNSpid:\t993\n";
        assert_eq!(
            parse_status(text),
            Some(ThreadInfo {
                tgid: 992,
                exited: false,
                state: "S (sleeping)".into()
            })
        );
        assert!(!nested_pid_ns(text));
        let text = "State:\tZ (zombie)\nTgid:\t5\nNSpid:\t4000\t5\n";
        assert!(parse_status(text).unwrap().exited);
        assert!(parse_status("State:\tt (tracing stop)\nTgid:\t5\n")
            .unwrap()
            .stopped());
        assert!(nested_pid_ns(text));
        assert_eq!(parse_status("State:\tS\n"), None);
    }

    #[test]
    fn sysvipc_sem() {
        let text = "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n\
                    -343476514          0   644          2     0     0     0     0          0 1795427109\n\
                    \x20        0          1   600          1     0     0     0     0          0 1795427109\n";
        assert_eq!(
            parse_sysvipc_sem(text),
            vec![
                SemSet {
                    key: (-343476514i64) as u32,
                    semid: 0,
                    nsems: 2
                },
                SemSet {
                    key: 0,
                    semid: 1,
                    nsems: 1
                }
            ]
        );
    }
}
