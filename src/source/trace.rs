//! The kernel side of `shmtool trace`: small eBPF programs on syscall tracepoints that record
//! shared-memory system calls with their caller, and the reader of what they record.
//!
//! Why eBPF on tracepoints, loaded by hand: plain perf tracepoint samples carry every number a
//! system call is given or returns, but only a pointer for a path, and nothing about the caller
//! but its pid; uid and name must then be looked up in /proc afterwards, which races the process
//! (a `shm_open`/`shm_unlink` pair from a short-lived process is gone by then). A program of a few
//! dozen instructions reads all of it at the moment of the call: the path (`bpf_probe_read_user_str`),
//! uid, comm and a CLOCK_MONOTONIC time, and drops uninteresting calls in the kernel (`openat` of
//! anything outside /dev/shm, private `mmap`s, `shmctl` other than IPC_RMID/IPC_SET, `ftruncate`
//! and `mmap` of fds that are not shared-memory objects, `munmap` of anything but a recorded
//! `mmap`'s mapping). It needs no compiler, no kernel headers
//! and no crate beyond libc: the instructions are assembled in `source::bpf`. fanotify was the
//! other candidate for POSIX names; it reports pids but not uids, cannot see memfds, and needs a
//! mark per /dev/shm. Measured overhead is in scripts/bench-trace.sh and the README.
//!
//! Two ways to hook the calls. The default, on x86_64 with kernels 5.8+, is one program on
//! the raw `sys_exit` tracepoint (`trace/sys_exit.rs`): at a call's exit its arguments are still
//! in the caller's saved registers and its user memory still mapped, so one hook per call does
//! what an enter/exit pair does, and writes the same record. Elsewhere (other architectures,
//! older kernels, a kernel that refuses raw tracepoints), or with `SHMTOOL_TRACE_VIA=tracepoints`,
//! each recorded call has its own pair of `syscalls:` tracepoints, as follows.
//!
//! Each enter program keeps the call's arguments in the thread's slot of an array map; the
//! matching exit program takes them, adds the return value, caller and time, and sends one
//! complete record per call, none for a failed call (the exit alone cannot: a sys_exit
//! tracepoint carries only the return value, and a failed `shmctl` or `unlink` removed nothing).
//!
//! Where the cost per call went, and the choices that cut it (issue 15; `perf record` of
//! scripts/shm_churn.c's worst-case loop, share of the loop's CPU, 2-core machine at load
//! 10-15): the first version kept calls in a hash map (update, lookup and delete: 7.1%) and sent
//! records with `bpf_perf_event_output` (4.5%), beside the tracepoints' own machinery (9%), the
//! programs (3%) and their helpers (2.5%). A slot per thread id in an array map is found by
//! address arithmetic, with no lock or allocation (0.9% left, the fd map); records are reserved
//! in place in the BPF ring buffer (5.8+; perf rings before) and submitted without waking the
//! reader (about 1%); `openat`/`unlink` of other paths stop after a 9-byte read of the path's
//! start, and the path is read whole only at exit, for calls under /dev/shm that succeeded.
//! Measured side by side (no tracer, the first version, this one, alternating; 9 runs of 3 s
//! each, medians, load 7-13): the workers' CPU rose 1.34 µs per traced call with the first
//! version and 0.90 µs with this one; `sudo scripts/bench-trace.sh` (load 4-5) gives 1.05 µs in
//! the worst-case loop and 0.72 µs in the one that uses its memory. The tracepoint
//! machinery, paid twice per call, is what remains and what a loop of nothing but these calls
//! cannot hide (README, Performance).
//!
//! Hence the sys_exit path, BTF-typed (`tp_btf`) where the kernel has BTF, so that reading the
//! call's number and arguments from the saved registers is a plain load; a raw tracepoint with
//! `bpf_probe_read_kernel` otherwise. Measured side by side (9 alternating runs of 2 s, medians,
//! 2-core machine at load 1.9-2.6, no other tracer running): the worst-case loop's CPU per round
//! rose 18.6% with the typed program, 31.4% with the raw one, 33.1% with the tracepoints; a loop
//! of unrecorded calls (getppid, open and close of /dev/null) 14.3%, 27.3% and 24.3%; a getppid
//! loop alone +92, +108 and +52 ns a call (every call runs the program's head; the tracepoint
//! path only tests a bitmap for calls it does not record). `perf record -g`, share of the traced
//! loop's CPU under `syscall_exit_work` and `syscall_trace_enter` (3 runs each): worst case 15.2%
//! typed against 19.8% tracepoints, unrecorded calls 13.0% against 20.4%. Much of what is
//! left is writing and submitting each record to the ring buffer, which any mechanism does.
//! Cheaper hooks were tried: fentry/fexit trampolines and BPF LSM programs are refused on that
//! machine (EPERM with an empty verifier log; the kernel forces integrity lockdown), and
//! programs on both raw sys_enter and sys_exit pay the hook twice. scripts/bench-trace.sh
//! compares no tracer and both paths in one run. scripts/bench-trace-floor.sh measures the
//! floor under all of it on the same hook: a program that returns at once costs the worst-case
//! loop 0.3% (median of 5 runs), one that writes a bare 32-byte ring record per recorded call
//! 7.5%, trace 14.1%; the parts of trace's program beyond the bare record are measured in the
//! README (the fd and address maps' inserts and deletes the largest, 0.63 µs a round).

use super::bpf::{
    self, helper, Asm, Map, Reg, Ring, Size, R0, R1, R10, R2, R3, R4, R5, R6, R7, R8, R9,
};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

mod sys_exit;

/// Which call a record describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Call {
    Shmget = 1,
    Shmat = 2,
    Shmdt = 3,
    Shmctl = 4,
    Openat = 5,
    Open = 6,
    Unlink = 7,
    Unlinkat = 8,
    MemfdCreate = 9,
    Mmap = 10,
    Ftruncate = 11,
    /// `sched_process_exit` of a whole process (group_dead).
    Exit = 12,
    /// `munmap` starting at the address a recorded `mmap` returned.
    Munmap = 13,
    /// `sched_process_exec`: the process runs a new program, without the old one's mappings
    /// and System V attachments (and without the fds it closed on exec).
    Exec = 14,
    /// `close_range(first, last, flags)` that closed its range (not one that only marked it
    /// close-on-exec): the reader forgets the remembered fds in it.
    CloseRange = 15,
}

impl Call {
    fn from_u32(n: u32) -> Option<Call> {
        use Call::*;
        [
            Shmget,
            Shmat,
            Shmdt,
            Shmctl,
            Openat,
            Open,
            Unlink,
            Unlinkat,
            MemfdCreate,
            Mmap,
            Ftruncate,
            Exit,
            Munmap,
            Exec,
            CloseRange,
        ]
        .into_iter()
        .find(|c| *c as u32 == n)
    }
}

impl Call {
    /// How many arguments its records carry (the system call's own count).
    fn nargs(self) -> usize {
        specs()
            .iter()
            .find(|s| s.call == self)
            .map_or(0, |s| s.nargs)
    }
}

/// The record layout shared by the programs and [`decode`]. A record without a string ends
/// after its call's arguments (56 bytes for an exit, 104 for `mmap`'s six).
mod layout {
    pub const TAG: i16 = 0;
    pub const UID: i16 = 4;
    pub const PID_TGID: i16 = 8;
    pub const TIME: i16 = 16;
    pub const COMM: i16 = 24;
    pub const CGROUP: i16 = 40;
    pub const RET: i16 = 48;
    pub const ARGS: i16 = 56;
    pub const STR: i16 = 104;
    pub const STR_LEN: i32 = 256;
    /// A record with a string.
    pub const LONG: i32 = 360;

    /// A record without a string, for a call with `nargs` arguments.
    pub const fn short(nargs: usize) -> i32 {
        ARGS as i32 + 8 * nargs as i32
    }
}

/// One system call (or process exit) as recorded in the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEvent {
    pub call: Call,
    /// Process (thread group) id.
    pub pid: i32,
    pub tid: i32,
    pub uid: u32,
    /// CLOCK_MONOTONIC nanoseconds.
    pub mono_ns: u64,
    pub comm: Vec<u8>,
    pub args: [u64; 6],
    pub ret: i64,
    pub cgroup: u64,
    /// The path or name argument, for calls that have one.
    pub text: Option<Vec<u8>>,
}

/// Turn one record's bytes into an event; None for anything malformed.
pub fn decode(b: &[u8]) -> Option<RawEvent> {
    use layout::*;
    let u64_at = |o: i16| -> Option<u64> {
        let o = o as usize;
        Some(u64::from_ne_bytes(b.get(o..o + 8)?.try_into().ok()?))
    };
    let u32_at = |o: i16| -> Option<u32> {
        let o = o as usize;
        Some(u32::from_ne_bytes(b.get(o..o + 4)?.try_into().ok()?))
    };
    let call = Call::from_u32(u32_at(TAG)?)?;
    let pid_tgid = u64_at(PID_TGID)?;
    let mut args = [0u64; 6];
    for (i, a) in args.iter_mut().enumerate().take(call.nargs()) {
        *a = u64_at(ARGS + 8 * i as i16)?;
    }
    let cstr = |s: &[u8]| s[..s.iter().position(|&c| c == 0).unwrap_or(s.len())].to_vec();
    let text = (b.len() >= LONG as usize).then(|| cstr(&b[STR as usize..LONG as usize]));
    Some(RawEvent {
        call,
        pid: (pid_tgid >> 32) as i32,
        tid: pid_tgid as u32 as i32,
        uid: u32_at(UID)?,
        mono_ns: u64_at(TIME)?,
        comm: cstr(b.get(COMM as usize..COMM as usize + 16)?),
        args,
        ret: u64_at(RET)? as i64,
        cgroup: u64_at(CGROUP)?,
        text,
    })
}

/// A test applied to one argument in the enter program: the call is recorded only when
/// `(arg & mask) == value`.
#[derive(Debug, Clone, Copy)]
struct ArgTest {
    arg: usize,
    mask: i32,
    value: i32,
}

/// What to do with one system call.
#[derive(Debug, Clone, Copy)]
struct Spec {
    call: Call,
    /// Tracepoint name without `sys_enter_`/`sys_exit_`.
    syscall: &'static str,
    /// How many arguments it has: a program may not read past its tracepoint's record (the
    /// kernel refuses to attach it, EACCES).
    nargs: usize,
    /// Read this argument as a user string.
    string: Option<usize>,
    /// Keep only strings under /dev/shm/.
    devshm_only: bool,
    test: Option<ArgTest>,
    /// Keep only calls whose fd argument (this one) was returned by a recorded open or memfd.
    tracked_fd: Option<usize>,
    /// The return value is an fd to remember (open, memfd_create).
    returns_fd: bool,
    /// Keep only calls whose address argument (this one) is where a recorded call mapped
    /// something in this process, and forget the address when one succeeds (munmap).
    tracked_addr: Option<usize>,
    /// The return value is an address to remember, with the length in argument 1 (mmap).
    returns_addr: bool,
}

const fn spec(call: Call, syscall: &'static str, nargs: usize) -> Spec {
    Spec {
        call,
        syscall,
        nargs,
        string: None,
        devshm_only: false,
        test: None,
        tracked_fd: None,
        returns_fd: false,
        tracked_addr: None,
        returns_addr: false,
    }
}

fn specs() -> [Spec; 13] {
    [
        spec(Call::Shmget, "shmget", 3),
        spec(Call::Shmat, "shmat", 3),
        spec(Call::Shmdt, "shmdt", 1),
        Spec {
            // IPC_RMID (0) and IPC_SET (1), with or without IPC_64 (0x100).
            test: Some(ArgTest {
                arg: 1,
                mask: !0x101,
                value: 0,
            }),
            ..spec(Call::Shmctl, "shmctl", 3)
        },
        Spec {
            string: Some(1),
            devshm_only: true,
            returns_fd: true,
            ..spec(Call::Openat, "openat", 4)
        },
        Spec {
            string: Some(0),
            devshm_only: true,
            returns_fd: true,
            ..spec(Call::Open, "open", 3)
        },
        Spec {
            string: Some(0),
            devshm_only: true,
            ..spec(Call::Unlink, "unlink", 1)
        },
        Spec {
            string: Some(1),
            devshm_only: true,
            ..spec(Call::Unlinkat, "unlinkat", 3)
        },
        Spec {
            string: Some(0),
            returns_fd: true,
            ..spec(Call::MemfdCreate, "memfd_create", 2)
        },
        Spec {
            // MAP_SHARED (or MAP_SHARED_VALIDATE) without MAP_ANONYMOUS.
            test: Some(ArgTest {
                arg: 3,
                mask: 0x21,
                value: 0x01,
            }),
            tracked_fd: Some(4),
            returns_addr: true,
            ..spec(Call::Mmap, "mmap", 6)
        },
        Spec {
            tracked_fd: Some(0),
            ..spec(Call::Ftruncate, "ftruncate", 2)
        },
        Spec {
            // Only where a recorded mmap's mapping starts: nearly every munmap on a machine is
            // malloc's, and costs one lookup. A munmap that starts elsewhere (one covering the
            // mapping from below, or cutting a piece out of its middle) is not seen, nor is
            // mremap: the mapping then ends unrecorded, and its process's exit still names it.
            tracked_addr: Some(0),
            ..spec(Call::Munmap, "munmap", 2)
        },
        Spec {
            // Without CLOSE_RANGE_CLOEXEC (4): those fds stay open until an exec, which ends
            // them anyway. Every fd it closes leaves the kernel's remembered set only when the
            // reader has read this record (up to one drain later): the programs cannot walk a
            // range of keys, and the reader knows which of them are there.
            test: Some(ArgTest {
                arg: 2,
                mask: 4,
                value: 0,
            }),
            ..spec(Call::CloseRange, "close_range", 3)
        },
    ]
}

/// Calls in progress: one slot per thread id modulo [`SLOTS`] in an array map (a lookup the
/// verifier turns into an address computation: no hash, no lock, no allocation). The enter
/// program fills the slot, the exit program takes it and clears it. Two threads whose ids
/// collide, both inside a recorded call at once, lose the first one's event (counted as lost).
const SLOTS: u32 = 16384;
mod slot {
    pub const PID_TGID: i16 = 0;
    pub const TAG: i16 = 8;
    pub const ARGS: i16 = 16;
    pub const SIZE: u32 = 64;
}

/// Bytes in the BPF ring buffer (one for all CPUs).
const RING_BYTES: u32 = 16 << 20;
/// Records are submitted without waking the reader, which drains the ring on a timer of its own
/// ([`next_wait_ms`]); only a record that finds more than this waiting (a burst the timer did
/// not foresee) wakes it at once.
const RING_WAKE_AT: i32 = RING_BYTES as i32 / 2;

/// How long the reader may sleep before its next drain, given that the last `elapsed_ns` brought
/// `bytes` into rings of `capacity` bytes each: at that rate a ring is at most an eighth full
/// when it wakes, within 5 to 100 ms.
///
/// Why a timer and not wakeups from the programs: a wakeup is raised on the CPU of the traced
/// call, and the scheduler then tends to run the reader on that CPU, where it takes turns with
/// the traced program while another CPU idles. With a wakeup whenever 1 MiB was waiting (40 a
/// second at the benchmark's 230,000 events/s) the benchmark's worker was preempted 260 times
/// in 2.8 s and lost 8% of its wall time to the reader (`/proc/PID/status`,
/// nonvoluntary_ctxt_switches: 24 without trace); the reader's own timer fires on its own CPU.
pub fn next_wait_ms(bytes: u64, elapsed_ns: u64, capacity: u64) -> i32 {
    const MIN_MS: u64 = 5;
    const MAX_MS: u64 = 100;
    if bytes == 0 {
        return MAX_MS as i32;
    }
    let ms = (capacity / 8).saturating_mul(elapsed_ns) / bytes / 1_000_000;
    ms.clamp(MIN_MS, MAX_MS) as i32
}

/// Where records go.
#[derive(Debug)]
enum Out {
    /// A BPF ring buffer (kernels 5.8+).
    Ring(bpf::RingBuf),
    /// A perf event array with one ring per CPU, and those rings.
    Perf(Map, Vec<Ring>),
}

/// The maps every program shares.
#[derive(Debug)]
struct Maps {
    out: Out,
    /// The tracepoint path's calls in progress (the sys_exit path needs none).
    calls: Option<Map>,
    fds: Map,
    /// Mappings a recorded call made: (tgid, address) to length.
    addrs: Map,
    /// One u64: records dropped in the kernel (ring full, or a slot taken by another thread).
    lost: Map,
}

fn bpf_map(kind: u32, key: u32, value: u32, entries: u32, name: &str) -> Result<Map, TraceError> {
    Map::create(kind, key, value, entries, name).map_err(|e| classify("creating a BPF map", e))
}

impl Maps {
    /// The maps every program shares, around the output `out` (no slots: the tracepoint path
    /// adds its own).
    fn around(out: Out) -> Result<Maps, TraceError> {
        Ok(Maps {
            out,
            calls: None,
            // LRU: fds of processes that exit without closing them are forgotten in time.
            fds: bpf_map(bpf::MAP_LRU_HASH, 8, 8, 65536, "shmtool_fds")?,
            // LRU too: mappings of processes that exit (or exec) without unmapping them.
            addrs: bpf_map(bpf::MAP_LRU_HASH, 16, 8, 65536, "shmtool_maps")?,
            lost: bpf_map(bpf::MAP_ARRAY, 4, 8, 1, "shmtool_lost")?,
        })
    }
}

/// How a program reads user memory and the caller's identity on this kernel.
#[derive(Debug, Clone, Copy)]
struct Readers {
    bytes: i32,
    string: i32,
    caller: Caller,
}

const READERS_5_5: Readers = Readers {
    bytes: helper::PROBE_READ_USER,
    string: helper::PROBE_READ_USER_STR,
    caller: Caller::Helpers,
};
/// Kernels before 5.5: the generic helpers.
const READERS_OLD: Readers = Readers {
    bytes: helper::PROBE_READ,
    string: helper::PROBE_READ_STR,
    caller: Caller::Helpers,
};

/// Where a program finds the caller's uid, cgroup and command name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    /// One helper call for each (every program type).
    Helpers,
    /// Plain loads through the current task's pointer (BTF-typed programs, kernels 5.11+).
    Task(TaskOffsets),
}

/// Offsets, from the kernel's BTF, of what [`Caller::Task`] loads: `task->cred->uid`,
/// `task->cgroups->dfl_cgrp->kn->id` (what `bpf_get_current_cgroup_id` returns) and
/// `task->comm`.
///
/// Why: in scripts/bench-trace.sh's worst-case loop, with kernel.bpf_stats_enabled, the
/// sys_exit program took 448-477 ns a run with the three helpers and 345-403 ns with these
/// loads (4 alternating runs each, at rest); in `perf record` of that loop with the helpers,
/// `bpf_get_current_comm` alone was 1.3% of the traced worker's CPU, the uid and cgroup helpers
/// 0.8% each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TaskOffsets {
    cred: i16,
    uid: i16,
    cgroups: i16,
    dfl_cgrp: i16,
    kn: i16,
    kn_id: i16,
    comm: i16,
}

impl TaskOffsets {
    /// None if the kernel's BTF lacks one of them (no cgroups, another layout).
    fn from_btf(btf: &crate::source::btf::Index) -> Option<TaskOffsets> {
        let at = |s: &str, m: &str| i16::try_from(btf.member_offset(s, m)?).ok();
        Some(TaskOffsets {
            cred: at("task_struct", "cred")?,
            uid: at("cred", "uid")?,
            cgroups: at("task_struct", "cgroups")?,
            dfl_cgrp: at("css_set", "dfl_cgrp")?,
            kn: at("cgroup", "kn")?,
            kn_id: at("kernfs_node", "id")?,
            comm: at("task_struct", "comm")?,
        })
    }
}

/// sys_enter_* records hold the arguments from offset 16, 8 bytes each; sys_exit_* the return
/// value there.
const fn tp_arg(i: usize) -> i16 {
    16 + 8 * i as i16
}

/// `r1 = (tgid << 32) | (fd & 0xffffffff)` with the fd in `fd_reg` and pid_tgid in `r2`.
fn fd_key(a: &mut Asm, fd_reg: u8) {
    a.rsh_imm(R2, 32).lsh_imm(R2, 32);
    a.mov_reg(R1, fd_reg).lsh_imm(R1, 32).rsh_imm(R1, 32);
    a.or_reg(R1, R2);
}

/// `r0 = &calls[pid_tgid_reg % SLOTS]`, or goto `out` (never: the index is in range, but the
/// verifier insists on the check).
fn slot_of(a: &mut Asm, calls: &Map, pid_tgid_reg: u8) {
    const KEY: i16 = -4;
    a.mov_reg(R1, pid_tgid_reg)
        .and_imm(R1, SLOTS as i32 - 1)
        .store(Size::W, R10, KEY, R1);
    a.load_map(R1, calls.raw())
        .mov_reg(R2, R10)
        .add_imm(R2, KEY as i32)
        .call(helper::MAP_LOOKUP_ELEM)
        .jeq_imm(R0, 0, "out");
}

/// Add one to the kernel's count of lost records.
fn count_lost(a: &mut Asm, maps: &Maps) {
    const KEY: i16 = -8;
    a.store_imm(Size::W, R10, KEY, 0);
    a.load_map(R1, maps.lost.raw())
        .mov_reg(R2, R10)
        .add_imm(R2, KEY as i32)
        .call(helper::MAP_LOOKUP_ELEM)
        .jeq_imm(R0, 0, "out")
        .mov_imm(R1, 1)
        .atomic_add(Size::DW, R0, 0, R1);
}

/// Where the perf path builds a record: the bottom of the stack frame.
const STACK_REC: i16 = -512;

/// `r8 = a record of `size` bytes to fill` (reserved in the ring, or zeroed on the stack), or
/// count the loss and goto `out` when the ring is full.
fn begin_record(a: &mut Asm, maps: &Maps, size: i32) {
    match &maps.out {
        Out::Ring(r) => {
            a.load_map(R1, r.map().raw())
                .mov_imm(R2, size)
                .mov_imm(R3, 0)
                .call(helper::RINGBUF_RESERVE)
                .jne_imm(R0, 0, "reserved");
            count_lost(a, maps);
            a.ja("out");
            a.label("reserved").mov_reg(R8, R0);
        }
        Out::Perf(..) => {
            // The helper sends all of it: every byte must be written first.
            for off in (0..size as i16).step_by(8) {
                a.store_imm(Size::DW, R10, STACK_REC + off, 0);
            }
            a.mov_reg(R8, R10).add_imm(R8, STACK_REC as i32);
        }
    }
}

/// Fill the caller's part of the record at r8: tag, pid (from `pid_tgid_reg`), uid, time,
/// cgroup and command name.
fn fill_caller(a: &mut Asm, call: Call, pid_tgid_reg: u8, caller: Caller) {
    use layout::*;
    a.store_imm(Size::W, R8, TAG, call as i32)
        .store(Size::DW, R8, PID_TGID, pid_tgid_reg);
    a.call(helper::KTIME_GET_NS).store(Size::DW, R8, TIME, R0);
    match caller {
        Caller::Helpers => {
            a.call(helper::GET_CURRENT_UID_GID)
                .store(Size::W, R8, UID, R0);
            a.call(helper::GET_CURRENT_CGROUP_ID)
                .store(Size::DW, R8, CGROUP, R0);
            a.mov_reg(R1, R8)
                .add_imm(R1, COMM as i32)
                .mov_imm(R2, 16)
                .call(helper::GET_CURRENT_COMM);
        }
        Caller::Task(t) => {
            // r0 = current (typed). A null pointer on the way loads as 0 (the JIT's fault
            // handling for BTF loads), never faults.
            a.call(helper::GET_CURRENT_TASK_BTF);
            a.load(Size::DW, R1, R0, t.cred)
                .load(Size::W, R1, R1, t.uid)
                .store(Size::W, R8, UID, R1);
            a.load(Size::DW, R1, R0, t.cgroups)
                .load(Size::DW, R1, R1, t.dfl_cgrp)
                .load(Size::DW, R1, R1, t.kn)
                .load(Size::DW, R1, R1, t.kn_id)
                .store(Size::DW, R8, CGROUP, R1);
            for half in [0, 8] {
                a.load(Size::DW, R1, R0, t.comm + half)
                    .store(Size::DW, R8, COMM + half, R1);
            }
        }
    }
}

/// Send the record at r8 (`size` bytes; the tracepoint's context in r6).
fn end_record(a: &mut Asm, maps: &Maps, size: i32) {
    match &maps.out {
        Out::Ring(r) => {
            // Wake the reader only when half the ring is waiting: it drains the ring on a timer
            // of its own, so a busy workload pays for no wakeups (see `next_wait_ms`).
            const AVAIL_DATA: i32 = 0;
            const NO_WAKEUP: i32 = 1;
            const FORCE_WAKEUP: i32 = 2;
            a.load_map(R1, r.map().raw())
                .mov_imm(R2, AVAIL_DATA)
                .call(helper::RINGBUF_QUERY)
                .mov_imm(R2, NO_WAKEUP)
                .jgt_imm(R0, RING_WAKE_AT, "wake")
                .ja("submit")
                .label("wake")
                .mov_imm(R2, FORCE_WAKEUP)
                .label("submit")
                .mov_reg(R1, R8)
                .call(helper::RINGBUF_SUBMIT);
        }
        Out::Perf(m, _) => {
            a.mov_reg(R1, R6)
                .load_map(R2, m.raw())
                .load_imm64(R3, 0xffff_ffff) // BPF_F_CURRENT_CPU
                .mov_reg(R4, R8)
                .mov_imm(R5, size)
                .call(helper::PERF_EVENT_OUTPUT);
        }
    }
}

/// Scratch stack slots of the filters and records.
const FD_KEY: i16 = -16;
const PREFIX: i16 = -32;
/// A mapping's key (tgid, address: 16 bytes) and its length.
const ADDR_KEY: i16 = -48;
const ADDR_LEN: i16 = -56;
/// The lowest scratch slot: a program's own stack use stays below it.
const SCRATCH: i16 = ADDR_LEN;

/// Where a program finds a call's argument `i`: a register and an offset from it (the
/// tracepoint's record, a thread's slot, the registers copied to the stack).
type ArgAt<'a> = &'a dyn Fn(usize) -> (Reg, i16);

/// The tests that decide whether a call is recorded, each a goto `out` when it fails: the
/// spec's argument test, a path under /dev/shm/, an fd returned by a recorded open or memfd,
/// an address a recorded mmap returned. Leaves the caller's pid_tgid in `pid_reg`.
fn filters(a: &mut Asm, s: &Spec, maps: &Maps, read: Readers, arg: ArgAt, pid_reg: Reg) {
    if let Some(t) = s.test {
        let (base, off) = arg(t.arg);
        a.load(Size::DW, R1, base, off)
            .and_imm(R1, t.mask)
            .jne_imm(R1, t.value, "out");
    }
    if let (Some(i), true) = (s.string, s.devshm_only) {
        // The first 9 bytes are enough to tell: "/dev/shm/" is read whole, or the path is
        // shorter and is not under it (a longer read could fault past a short path's page).
        let (base, off) = arg(i);
        a.store_imm(Size::DW, R10, PREFIX + 8, 0);
        a.mov_reg(R1, R10)
            .add_imm(R1, PREFIX as i32)
            .mov_imm(R2, 9)
            .load(Size::DW, R3, base, off)
            .call(read.bytes)
            .jne_imm(R0, 0, "out");
        a.load(Size::DW, R1, R10, PREFIX)
            .load_imm64(R2, u64::from_le_bytes(*b"/dev/shm"))
            .jne_reg(R1, R2, "out")
            .load(Size::B, R1, R10, PREFIX + 8)
            .jne_imm(R1, b'/' as i32, "out");
    }
    a.call(helper::GET_CURRENT_PID_TGID).mov_reg(pid_reg, R0);
    if let Some(i) = s.tracked_fd {
        let (base, off) = arg(i);
        a.mov_reg(R2, pid_reg).load(Size::DW, R3, base, off);
        fd_key(a, R3);
        a.store(Size::DW, R10, FD_KEY, R1);
        by_key(a, &maps.fds, FD_KEY, helper::MAP_LOOKUP_ELEM);
        a.jeq_imm(R0, 0, "out");
    }
    if let Some(i) = s.tracked_addr {
        addr_key(a, arg(i), pid_reg);
        by_key(a, &maps.addrs, ADDR_KEY, helper::MAP_LOOKUP_ELEM);
        a.jeq_imm(R0, 0, "out");
    }
}

/// `r0 = op(map, key)`, a lookup or a delete, with the key on the stack at `key`.
fn by_key(a: &mut Asm, map: &Map, key: i16, op: i32) {
    a.load_map(R1, map.raw())
        .mov_reg(R2, R10)
        .add_imm(R2, key as i32)
        .call(op);
}

/// `map[key] = value`, both on the stack.
fn update(a: &mut Asm, map: &Map, key: i16, value: i16) {
    a.mov_reg(R3, R10).add_imm(R3, value as i32).mov_imm(R4, 0);
    by_key(a, map, key, helper::MAP_UPDATE_ELEM);
}

/// The key of a mapping at [`ADDR_KEY`]: the tgid of `pid_reg`, the address at `addr`.
fn addr_key(a: &mut Asm, addr: (Reg, i16), pid_reg: Reg) {
    a.mov_reg(R1, pid_reg)
        .rsh_imm(R1, 32)
        .store(Size::DW, R10, ADDR_KEY, R1);
    a.load(Size::DW, R1, addr.0, addr.1)
        .store(Size::DW, R10, ADDR_KEY + 8, R1);
}

/// Send the record of a call that passed: its return value at `ret`, its arguments where `arg`
/// says, the caller (pid_tgid in `pid_reg`) and its path; an fd it returned is remembered.
fn record(
    a: &mut Asm,
    s: &Spec,
    maps: &Maps,
    read: Readers,
    arg: ArgAt,
    ret: (Reg, i16),
    pid_reg: Reg,
) {
    use layout::*;
    let size = if s.string.is_some() {
        LONG
    } else {
        short(s.nargs)
    };
    if let Some(i) = s.tracked_addr {
        // Forgotten before the record is begun (a reserved record must be sent): the call
        // that deletes the entry records it, so two threads unmapping the same address at
        // once (the second finds nothing mapped, and succeeds too) make one record.
        addr_key(a, arg(i), pid_reg);
        by_key(a, &maps.addrs, ADDR_KEY, helper::MAP_DELETE_ELEM);
        a.jne_imm(R0, 0, "out");
    }
    begin_record(a, maps, size);
    a.load(Size::DW, R1, ret.0, ret.1)
        .store(Size::DW, R8, RET, R1);
    for i in 0..s.nargs {
        let (base, off) = arg(i);
        a.load(Size::DW, R1, base, off)
            .store(Size::DW, R8, ARGS + 8 * i as i16, R1);
    }
    fill_caller(a, s.call, pid_reg, read.caller);
    if let Some(i) = s.string {
        let (base, off) = arg(i);
        a.mov_reg(R1, R8)
            .add_imm(R1, STR as i32)
            .mov_imm(R2, STR_LEN)
            .load(Size::DW, R3, base, off)
            .call(read.string);
    }
    if s.returns_fd {
        a.mov_reg(R2, pid_reg).load(Size::DW, R3, ret.0, ret.1);
        fd_key(a, R3);
        a.store(Size::DW, R10, FD_KEY, R1)
            .store_imm(Size::DW, R10, FD_KEY - 8, 1);
        update(a, &maps.fds, FD_KEY, FD_KEY - 8);
    }
    if s.returns_addr {
        addr_key(a, ret, pid_reg);
        let (base, off) = arg(1);
        a.load(Size::DW, R1, base, off)
            .store(Size::DW, R10, ADDR_LEN, R1);
        update(a, &maps.addrs, ADDR_KEY, ADDR_LEN);
    }
    end_record(a, maps, size);
}

/// Forget the fd that `arg` finds if it was remembered (looked up first: the delete locks);
/// goto `out` when it was not.
fn forget_fd(a: &mut Asm, fds: &Map, arg: ArgAt) {
    let (base, off) = arg(0);
    a.call(helper::GET_CURRENT_PID_TGID).mov_reg(R2, R0);
    a.load(Size::DW, R3, base, off);
    fd_key(a, R3);
    a.store(Size::DW, R10, FD_KEY, R1);
    by_key(a, fds, FD_KEY, helper::MAP_LOOKUP_ELEM);
    a.jeq_imm(R0, 0, "out");
    by_key(a, fds, FD_KEY, helper::MAP_DELETE_ELEM);
}

/// The enter program: keep the call's arguments in the thread's slot, if the call is one to
/// record.
///
/// A munmap's address is looked up here, at the entry, rather than at the exit: every munmap
/// that is not of a recorded mapping (nearly all of them: malloc's) then costs one lookup and
/// leaves no slot taken, where a test at the exit would need every munmap's arguments kept
/// until then. The exit forgets the address only if the call succeeded.
fn enter_prog(s: &Spec, maps: &Maps, calls: &Map, read: Readers) -> Vec<bpf::Insn> {
    let mut a = Asm::default();
    a.mov_reg(R6, R1);
    filters(&mut a, s, maps, read, &|i| (R6, tp_arg(i)), R7);
    slot_of(&mut a, calls, R7);
    a.mov_reg(R8, R0);
    // A slot still held by another thread's call: that call's event is lost.
    a.load(Size::DW, R1, R8, slot::PID_TGID)
        .jeq_imm(R1, 0, "free");
    count_lost(&mut a, maps);
    a.label("free");
    a.store(Size::DW, R8, slot::PID_TGID, R7)
        .store_imm(Size::W, R8, slot::TAG, s.call as i32);
    for i in 0..s.nargs {
        a.load(Size::DW, R1, R6, tp_arg(i))
            .store(Size::DW, R8, slot::ARGS + 8 * i as i16, R1);
    }
    a.label("out").mov_imm(R0, 0).exit();
    a.finish()
}

/// The exit program: take the thread's slot and, if the call succeeded, send the record.
fn exit_prog(s: &Spec, maps: &Maps, calls: &Map, read: Readers) -> Vec<bpf::Insn> {
    let mut a = Asm::default();
    a.mov_reg(R6, R1);
    a.call(helper::GET_CURRENT_PID_TGID).mov_reg(R9, R0);
    slot_of(&mut a, calls, R9);
    a.mov_reg(R7, R0);
    // Not ours: the enter program let the call pass, or another thread took the slot since.
    a.load(Size::DW, R1, R7, slot::PID_TGID)
        .jne_reg(R1, R9, "out")
        .load(Size::W, R1, R7, slot::TAG)
        .jne_imm(R1, s.call as i32, "out");
    a.store_imm(Size::DW, R7, slot::PID_TGID, 0);
    // Failed calls changed nothing.
    a.load(Size::DW, R1, R6, tp_arg(0)).jslt_imm(R1, 0, "out");
    record(
        &mut a,
        s,
        maps,
        read,
        &|i| (R7, slot::ARGS + 8 * i as i16),
        (R6, tp_arg(0)),
        R9,
    );
    a.label("out").mov_imm(R0, 0).exit();
    a.finish()
}

/// The calls that end an fd without a record, and which argument is that fd: `close(fd)`, and
/// `dup2`/`dup3` onto `newfd`. Both paths forget the fd when one of them runs.
const FD_ENDERS: [(&str, usize); 3] = [("close", 0), ("dup2", 1), ("dup3", 1)];

/// `close(fd)` forgets a remembered fd (`arg` 0), so a number reused for another file is not
/// mistaken; so do `dup2` and `dup3` for the fd they replace (`arg` 1), even when they fail
/// (the fd then stays open, and its later `mmap` or `ftruncate` goes unrecorded). Every close
/// on the machine runs it: a lookup first, the (locking) delete only on a hit.
fn forget_prog(fds: &Map, arg: usize) -> Vec<bpf::Insn> {
    let mut a = Asm::default();
    a.mov_reg(R6, R1);
    forget_fd(&mut a, fds, &|_| (R6, tp_arg(arg)));
    a.label("out").mov_imm(R0, 0).exit();
    a.finish()
}

/// `sched_process_exit` for the last thread of a process (`group_dead` at `group_dead_off`),
/// or `sched_process_exec` (`call` says which).
fn process_prog(maps: &Maps, call: Call, group_dead_off: Option<i16>) -> Vec<bpf::Insn> {
    let size = layout::short(0);
    let mut a = Asm::default();
    a.mov_reg(R6, R1);
    if let Some(off) = group_dead_off {
        a.load(Size::B, R1, R6, off).jeq_imm(R1, 0, "out");
    }
    a.call(helper::GET_CURRENT_PID_TGID).mov_reg(R9, R0);
    begin_record(&mut a, maps, size);
    a.store_imm(Size::DW, R8, layout::RET, 0);
    fill_caller(&mut a, call, R9, Caller::Helpers);
    end_record(&mut a, maps, size);
    a.label("out").mov_imm(R0, 0).exit();
    a.finish()
}

/// Why tracing cannot start.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("tracing needs root (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN): {0}")]
    Privilege(String),
    #[error("this kernel cannot trace system calls ({0})")]
    Kernel(String),
    #[error("{0}")]
    Other(String),
}

fn classify(what: &str, e: std::io::Error) -> TraceError {
    let msg = format!("{what}: {e}");
    match e.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => TraceError::Privilege(msg),
        Some(libc::ENOSYS) => TraceError::Kernel(format!("{msg}; needs CONFIG_BPF_SYSCALL")),
        _ => TraceError::Other(msg),
    }
}

/// Where the tracepoints are: tracefs, or tracefs inside debugfs; mounted here when neither is
/// (`mounted` says so).
#[derive(Debug)]
pub struct Tracefs {
    pub events: PathBuf,
    pub mounted: Option<PathBuf>,
}

pub fn find_tracefs() -> Result<Tracefs, TraceError> {
    for dir in ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"] {
        let events = Path::new(dir).join("events");
        if events.join("syscalls").is_dir() {
            return Ok(Tracefs {
                events,
                mounted: None,
            });
        }
    }
    let dir = Path::new("/sys/kernel/tracing");
    if dir.is_dir() {
        // SAFETY: constant NUL-terminated strings; no data argument.
        let rc = unsafe {
            libc::mount(
                c"nodev".as_ptr(),
                c"/sys/kernel/tracing".as_ptr(),
                c"tracefs".as_ptr(),
                0,
                std::ptr::null(),
            )
        };
        let r = if rc == 0 {
            Ok(())
        } else {
            Err(nix::Error::last())
        };
        match r {
            Ok(()) => {
                let events = dir.join("events");
                if events.join("syscalls").is_dir() {
                    return Ok(Tracefs {
                        events,
                        mounted: Some(dir.into()),
                    });
                }
                return Err(TraceError::Kernel(
                    "tracefs has no syscall tracepoints; needs CONFIG_FTRACE_SYSCALLS".into(),
                ));
            }
            Err(nix::Error::EPERM) | Err(nix::Error::EACCES) => {
                return Err(TraceError::Privilege(
                    "tracefs is not mounted and mounting it at /sys/kernel/tracing was refused"
                        .into(),
                ))
            }
            Err(nix::Error::ENODEV) => {}
            Err(e) => {
                return Err(TraceError::Other(format!(
                    "mounting tracefs at /sys/kernel/tracing: {e}"
                )))
            }
        }
    }
    Err(TraceError::Kernel(
        "no tracefs; needs CONFIG_TRACING and CONFIG_FTRACE_SYSCALLS".into(),
    ))
}

fn tracepoint_id(events: &Path, group: &str, name: &str) -> Result<u64, TraceError> {
    let path = events.join(group).join(name).join("id");
    let text = std::fs::read_to_string(&path).map_err(|e| match e.raw_os_error() {
        Some(libc::EACCES) | Some(libc::EPERM) => {
            TraceError::Privilege(format!("reading {}: {e}", path.display()))
        }
        _ => TraceError::Kernel(format!("no tracepoint {group}/{name}")),
    })?;
    text.trim()
        .parse()
        .map_err(|_| TraceError::Other(format!("unreadable {}", path.display())))
}

/// The offset of `field` in a tracepoint's format file.
fn field_offset(events: &Path, group: &str, name: &str, field: &str) -> Option<i16> {
    let text = std::fs::read_to_string(events.join(group).join(name).join("format")).ok()?;
    parse_field_offset(&text, field)
}

pub fn parse_field_offset(format: &str, field: &str) -> Option<i16> {
    format.lines().find_map(|l| {
        let mut parts = l.trim().split(';');
        let decl = parts.next()?.trim().strip_prefix("field:")?;
        let ident = decl.rsplit(' ').next()?;
        if ident != field {
            return None;
        }
        parts.find_map(|p| p.trim().strip_prefix("offset:")?.parse().ok())
    })
}

/// Everything loaded into the kernel; detached and freed when dropped.
#[derive(Debug)]
pub struct Tracer {
    maps: Maps,
    epoll: OwnedFd,
    lost_so_far: u64,
    pace: Pace,
    _links: Vec<OwnedFd>,
    _progs: Vec<OwnedFd>,
    pub mounted: Option<PathBuf>,
}

/// When the reader last drained the rings, and how long it may sleep before the next drain.
#[derive(Debug)]
struct Pace {
    last_ns: u64,
    wait_ms: i32,
}

impl Default for Pace {
    /// Before a drain has been timed: the longest sleep.
    fn default() -> Pace {
        Pace {
            last_ns: 0,
            wait_ms: next_wait_ms(0, 0, 0),
        }
    }
}

/// Pages in each CPU's perf ring (kernels without the BPF ring buffer): 16 MiB shared out over
/// the CPUs, 256 KiB to 8 MiB each. At 50,000 events/s (about 5 MB/s) two 8 MiB rings ride out
/// the reader being kept off the CPU for over a second, as happens on a loaded 2-core machine;
/// with 256 KiB rings it lost events there (scripts/bench-trace.sh).
fn ring_pages(ncpu: usize) -> usize {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as usize;
    let each = (16usize << 20) / ncpu.max(1);
    (each.clamp(256 << 10, 8 << 20) / page).next_power_of_two()
}

fn possible_cpus() -> usize {
    std::fs::read_to_string("/sys/devices/system/cpu/possible")
        .ok()
        .and_then(|s| {
            s.trim()
                .split(',')
                .filter_map(|r| r.rsplit('-').next()?.parse::<usize>().ok())
                .max()
        })
        .map(|n| n + 1)
        .unwrap_or(1)
}

/// The BPF ring buffer where the kernel has one (5.8+), per-CPU perf rings before.
fn open_out(ring: bool) -> Result<Out, TraceError> {
    if ring {
        match bpf::RingBuf::create(RING_BYTES, "shmtool_ring") {
            Ok(r) => return Ok(Out::Ring(r)),
            // EINVAL: a map type this kernel does not know.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {}
            Err(e) => return Err(classify("creating a BPF ring buffer", e)),
        }
    }
    let ncpu = possible_cpus();
    let pages = ring_pages(ncpu);
    let out = Map::create(MAP_PERF, 4, 4, ncpu as u32, "shmtool_out")
        .map_err(|e| classify("creating a BPF map", e))?;
    let mut rings = Vec::new();
    for cpu in 0..ncpu {
        // Woken when half the ring is waiting; otherwise drained on the reader's own timer
        // (`next_wait_ms`), for the reason given there.
        let watermark = (pages * 4096 / 2) as u32;
        match Ring::open(cpu as i32, pages, watermark) {
            Ok(ring) => {
                out.update(&(cpu as u32).to_ne_bytes(), &ring.raw_fd().to_ne_bytes())
                    .map_err(|e| classify("registering a ring", e))?;
                rings.push(ring);
            }
            // Possible but offline CPUs have no ring.
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => {}
            Err(e) => return Err(classify("opening a perf ring", e)),
        }
    }
    Ok(Out::Perf(out, rings))
}

/// An epoll set of the rings, edge-triggered: the reader sleeps until a program forces a
/// wakeup (much is waiting) or its timeout, not whenever one record is there.
fn epoll_of(out: &Out) -> Result<OwnedFd, TraceError> {
    use std::os::fd::FromRawFd;
    // SAFETY: no pointer arguments.
    let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if fd < 0 {
        return Err(classify("epoll_create1", std::io::Error::last_os_error()));
    }
    // SAFETY: a descriptor we just made and own.
    let epoll = unsafe { OwnedFd::from_raw_fd(fd) };
    let fds: Vec<std::os::fd::RawFd> = match out {
        Out::Ring(r) => vec![r.map().raw()],
        Out::Perf(_, rings) => rings.iter().map(|r| r.raw_fd()).collect(),
    };
    for ring in fds {
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLET) as u32,
            u64: ring as u64,
        };
        // SAFETY: ev is a valid epoll_event for the call's duration.
        if unsafe { libc::epoll_ctl(fd, libc::EPOLL_CTL_ADD, ring, &mut ev) } < 0 {
            return Err(classify("epoll_ctl", std::io::Error::last_os_error()));
        }
    }
    Ok(epoll)
}

/// The addrs map's key for process `pid`'s mapping at `addr`, as [`addr_key`] builds it.
fn addr_map_key(pid: i32, addr: u64) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&(pid as u64).to_ne_bytes());
    key[8..].copy_from_slice(&addr.to_ne_bytes());
    key
}

/// `SHMTOOL_TRACE_VIA=tracepoints` forces the per-system-call tracepoints (the path for
/// other architectures and older kernels), `sys_exit` the one-program path (an error where it
/// cannot load).
const VIA_ENV: &str = "SHMTOOL_TRACE_VIA";

impl Tracer {
    /// Load and attach everything: one program on the raw `sys_exit` tracepoint where this
    /// kernel and architecture allow it, the per-system-call tracepoints otherwise.
    pub fn start() -> Result<Tracer, TraceError> {
        match std::env::var(VIA_ENV).as_deref() {
            Ok("tracepoints") => Tracer::start_with(true),
            Ok("sys_exit") => sys_exit::start()?.ok_or_else(|| {
                TraceError::Kernel(format!(
                    "{VIA_ENV}=sys_exit: needs x86_64, raw tracepoints and the BPF ring buffer (5.8+)"
                ))
            }),
            Ok(other) => Err(TraceError::Other(format!(
                "{VIA_ENV}={other}: expected tracepoints or sys_exit"
            ))),
            Err(_) => match sys_exit::start()? {
                Some(t) => Ok(t),
                None => Tracer::start_with(true),
            },
        }
    }

    /// A mapping `pid` made before tracing started, at `addr`: a munmap of it is recorded as
    /// one of a recorded mmap's is. Best effort (the process may be gone already).
    pub fn know_mapping(&self, pid: i32, addr: u64, len: u64) {
        let _ = self
            .maps
            .addrs
            .update(&addr_map_key(pid, addr), &len.to_ne_bytes());
    }

    /// Forget in the kernel what process `pid` had: its fds returned by recorded opens and
    /// the addresses of its recorded mappings (after its exit or exec, a process reusing the
    /// pid, or the new program reusing an fd number or an address, must not match them).
    pub fn forget_process(&self, pid: i32, fds: &[i32], addrs: &[u64]) {
        for &fd in fds {
            let key = ((pid as u64) << 32) | fd as u32 as u64;
            let _ = self.maps.fds.delete(&key.to_ne_bytes());
        }
        for &addr in addrs {
            let _ = self.maps.addrs.delete(&addr_map_key(pid, addr));
        }
    }

    /// Which mechanism this tracer runs on.
    pub fn via(&self) -> &'static str {
        if self.maps.calls.is_some() {
            "tracepoints"
        } else {
            "sys_exit"
        }
    }

    /// Load and attach everything; the perf rings even where the ring buffer exists unless
    /// `ring` (so that tests check both sets of programs on one kernel).
    fn start_with(ring: bool) -> Result<Tracer, TraceError> {
        let calls = bpf_map(bpf::MAP_ARRAY, 4, slot::SIZE, SLOTS, "shmtool_calls")?;
        let maps = Maps::around(open_out(ring)?)?;
        // After the first bpf(2) call, so that a missing privilege is named as such.
        let tracefs = find_tracefs()?;
        let ev = &tracefs.events;

        // probe_read_user(_str) arrived in 5.5; older kernels read user memory with the
        // generic helpers.
        let mut read = READERS_5_5;
        let mut progs = Vec::new();
        let mut links = Vec::new();
        let load = |insns: &[bpf::Insn], name: &str| {
            bpf::load_tracepoint_prog(insns, name).map_err(|e| classify("loading eBPF", e))
        };
        for s in specs() {
            let enter_id = tracepoint_id(ev, "syscalls", &format!("sys_enter_{}", s.syscall));
            let exit_id = tracepoint_id(ev, "syscalls", &format!("sys_exit_{}", s.syscall));
            let (enter_id, exit_id) = match (enter_id, exit_id) {
                (Ok(a), Ok(b)) => (a, b),
                // Newer architectures have no open/unlink, kernels before 5.9 no close_range;
                // everything else must be there.
                (Err(TraceError::Kernel(_)), _)
                    if matches!(s.call, Call::Open | Call::Unlink | Call::CloseRange) =>
                {
                    continue
                }
                (Err(e), _) | (_, Err(e)) => return Err(e),
            };
            let exit = match load(&exit_prog(&s, &maps, &calls, read), "shmtool_exit") {
                Err(TraceError::Other(_))
                    if s.string.is_some() && read.string != READERS_OLD.string =>
                {
                    read = READERS_OLD;
                    load(&exit_prog(&s, &maps, &calls, read), "shmtool_exit")?
                }
                r => r?,
            };
            let enter = load(&enter_prog(&s, &maps, &calls, read), "shmtool_enter")?;
            // The exit first: every call whose enter program runs has its exit run too, so
            // no slot is left taken.
            links.push(attach(exit_id, &exit)?);
            links.push(attach(enter_id, &enter)?);
            progs.push(enter);
            progs.push(exit);
        }
        for (call, arg) in FD_ENDERS {
            let id = match tracepoint_id(ev, "syscalls", &format!("sys_enter_{call}")) {
                Ok(id) => id,
                // Newer architectures have no dup2.
                Err(TraceError::Kernel(_)) if call == "dup2" => continue,
                Err(e) => return Err(e),
            };
            let prog = load(&forget_prog(&maps.fds, arg), "shmtool_close")?;
            links.push(attach(id, &prog)?);
            progs.push(prog);
        }
        let maps = Maps {
            calls: Some(calls),
            ..maps
        };
        Tracer::around(maps, tracefs, progs, links)
    }

    /// The tracer of a path's programs (`progs`, attached by `links`) and their `maps`: the
    /// process exit and exec programs added, the rings watched.
    fn around(
        maps: Maps,
        tracefs: Tracefs,
        mut progs: Vec<OwnedFd>,
        mut links: Vec<OwnedFd>,
    ) -> Result<Tracer, TraceError> {
        attach_process_events(&maps, &tracefs.events, &mut progs, &mut links)?;
        Ok(Tracer {
            epoll: epoll_of(&maps.out)?,
            maps,
            lost_so_far: 0,
            pace: Pace::default(),
            _links: links,
            _progs: progs,
            mounted: tracefs.mounted,
        })
    }

    /// How long the next [`Tracer::poll`] should wait: see [`next_wait_ms`].
    pub fn wait_ms(&self) -> i32 {
        self.pace.wait_ms
    }

    /// Wait up to `timeout_ms` for a wakeup, then take every event waiting (oldest first from
    /// each ring; CPUs' perf rings are not in order with each other). Returns the
    /// CLOCK_MONOTONIC time just before the rings were read (every record stamped earlier than
    /// that was already in its ring, so events older than it can be put in order) and how many
    /// records the kernel dropped since the last call.
    pub fn poll(
        &mut self,
        timeout_ms: i32,
        out: &mut Vec<RawEvent>,
    ) -> std::io::Result<(u64, u64)> {
        let mut evs = [libc::epoll_event { events: 0, u64: 0 }; 8];
        use std::os::fd::AsRawFd;
        // SAFETY: evs is a valid array of epoll_event for the call's duration.
        let r = unsafe {
            libc::epoll_wait(
                self.epoll.as_raw_fd(),
                evs.as_mut_ptr(),
                evs.len() as i32,
                timeout_ms,
            )
        };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        let now = monotonic_ns();
        let mut push = |b: &[u8]| out.extend(decode(b));
        let (mut lost, bytes, capacity) = match &mut self.maps.out {
            Out::Ring(ring) => (0, ring.drain(&mut push), RING_BYTES as u64),
            Out::Perf(_, rings) => rings.iter_mut().fold((0, 0, u64::MAX), |acc, r| {
                let (lost, bytes) = r.drain(&mut push);
                (acc.0 + lost, acc.1 + bytes, acc.2.min(r.capacity()))
            }),
        };
        if self.pace.last_ns != 0 {
            self.pace.wait_ms =
                next_wait_ms(bytes, now.saturating_sub(self.pace.last_ns), capacity);
        }
        self.pace.last_ns = now;
        let mut counted = [0u8; 8];
        if self
            .maps
            .lost
            .lookup(&0u32.to_ne_bytes(), &mut counted)
            .is_ok()
        {
            let counted = u64::from_ne_bytes(counted);
            lost += counted.saturating_sub(self.lost_so_far);
            self.lost_so_far = counted;
        }
        Ok((now, lost))
    }
}

const MAP_PERF: u32 = bpf::MAP_PERF_EVENT_ARRAY;

/// The `sched_process_exit` and `sched_process_exec` programs, on their tracepoints (both
/// paths). Neither is a system call's: they cost nothing to other calls.
fn attach_process_events(
    maps: &Maps,
    events: &Path,
    progs: &mut Vec<OwnedFd>,
    links: &mut Vec<OwnedFd>,
) -> Result<(), TraceError> {
    let group_dead = field_offset(events, "sched", "sched_process_exit", "group_dead");
    for (call, name, tracepoint, group_dead) in [
        (
            Call::Exit,
            "shmtool_pexit",
            "sched_process_exit",
            group_dead,
        ),
        (Call::Exec, "shmtool_pexec", "sched_process_exec", None),
    ] {
        let prog = bpf::load_tracepoint_prog(&process_prog(maps, call, group_dead), name)
            .map_err(|e| classify("loading eBPF", e))?;
        links.push(attach(tracepoint_id(events, "sched", tracepoint)?, &prog)?);
        progs.push(prog);
    }
    Ok(())
}

fn attach(id: u64, prog: &OwnedFd) -> Result<OwnedFd, TraceError> {
    bpf::attach_tracepoint(id, prog).map_err(|e| classify("attaching to a tracepoint", e))
}

/// The cgroup v2 hierarchy's directories by id (`bpf_get_current_cgroup_id` is the directory's
/// inode number), as paths relative to its root, e.g. `/system.slice/docker-<id>.scope`. Empty
/// on a machine with no cgroup v2 hierarchy mounted (cgroup v1 only).
pub fn cgroup_paths() -> std::collections::HashMap<u64, String> {
    use std::os::unix::fs::MetadataExt;
    let mut out = std::collections::HashMap::new();
    let root = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        .into_iter()
        .map(Path::new)
        .find(|p| nix::sys::statfs::statfs(*p).is_ok_and(|s| s.filesystem_type().0 == 0x6367_7270));
    let Some(root) = root else { return out };
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        if let Ok(md) = std::fs::metadata(&dir) {
            let rel = dir.strip_prefix(root).unwrap_or(Path::new(""));
            out.insert(md.ino(), format!("/{}", rel.to_string_lossy()));
        }
        // Bounded: a machine with a pathological number of cgroups is not walked further.
        if out.len() > 100_000 {
            break;
        }
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push(e.path());
                }
            }
        }
    }
    out
}

/// CLOCK_MONOTONIC now, in nanoseconds (the clock `bpf_ktime_get_ns` reads).
pub fn monotonic_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC)
}

/// CLOCK_REALTIME now, in nanoseconds since the epoch.
pub fn realtime_ns() -> u64 {
    clock_ns(libc::CLOCK_REALTIME)
}

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec to write.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reader_sleeps_so_the_ring_is_an_eighth_full_at_most() {
        const MS: u64 = 1_000_000;
        let ring = 16 << 20;
        // Nothing came: the longest sleep.
        assert_eq!(next_wait_ms(0, 100 * MS, ring), 100);
        // 2 MiB in 100 ms: an eighth of the ring comes in 100 ms.
        assert_eq!(next_wait_ms(2 << 20, 100 * MS, ring), 100);
        // Four times the rate: a quarter of the time.
        assert_eq!(next_wait_ms(8 << 20, 100 * MS, ring), 25);
        // A flood: never busier than every 5 ms.
        assert_eq!(next_wait_ms(16 << 20, MS, ring), 5);
        // A trickle: never longer than 100 ms.
        assert_eq!(next_wait_ms(100, 100 * MS, ring), 100);
    }

    const EXIT_FORMAT: &str = "name: sched_process_exit\nID: 369\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:0;\n\tfield:pid_t pid;\toffset:24;\tsize:4;\tsigned:1;\n\tfield:bool group_dead;\toffset:32;\tsize:1;\tsigned:0;\n";

    #[test]
    fn field_offsets_from_a_captured_format() {
        assert_eq!(parse_field_offset(EXIT_FORMAT, "group_dead"), Some(32));
        assert_eq!(parse_field_offset(EXIT_FORMAT, "pid"), Some(24));
        assert_eq!(parse_field_offset(EXIT_FORMAT, "prio"), None);
    }

    #[test]
    fn records_decode() {
        let mut b = vec![0u8; layout::LONG as usize];
        b[0..4].copy_from_slice(&(Call::Openat as u32).to_ne_bytes());
        b[4..8].copy_from_slice(&1000u32.to_ne_bytes());
        b[8..16].copy_from_slice(&((77u64 << 32) | 78).to_ne_bytes());
        b[16..24].copy_from_slice(&5u64.to_ne_bytes());
        b[24..28].copy_from_slice(b"prog");
        b[48..56].copy_from_slice(&3i64.to_ne_bytes());
        b[72..80].copy_from_slice(&0o102u64.to_ne_bytes());
        b[104..117].copy_from_slice(b"/dev/shm/abc\0");
        let e = decode(&b).unwrap();
        assert_eq!(
            (e.pid, e.tid, e.uid, e.mono_ns, e.ret),
            (77, 78, 1000, 5, 3)
        );
        assert_eq!(e.comm, b"prog");
        assert_eq!(e.args[2], 0o102);
        assert_eq!(e.text.as_deref(), Some(&b"/dev/shm/abc"[..]));
        assert!(decode(&b[..50]).is_none());
        assert!(decode(&b[..layout::short(4) as usize])
            .unwrap()
            .text
            .is_none());
        // A short record carries its call's arguments only.
        b[0..4].copy_from_slice(&(Call::Shmdt as u32).to_ne_bytes());
        b[56..64].copy_from_slice(&0x7f00u64.to_ne_bytes());
        let e = decode(&b[..layout::short(1) as usize]).unwrap();
        assert_eq!((e.call, e.args), (Call::Shmdt, [0x7f00, 0, 0, 0, 0, 0]));
        assert!(decode(&b[..layout::short(0) as usize]).is_none());
    }

    /// A map whose fd is /dev/null: enough to assemble programs, not to load them.
    pub(super) fn fake_map() -> Map {
        Map {
            fd: std::fs::File::open("/dev/null").unwrap().into(),
        }
    }

    impl Maps {
        pub(super) fn fake() -> Maps {
            Maps {
                out: Out::Perf(fake_map(), Vec::new()),
                calls: None,
                fds: fake_map(),
                addrs: fake_map(),
                lost: fake_map(),
            }
        }
    }

    #[test]
    fn programs_assemble() {
        // Label fixups panic if a program jumps to a label it never places.
        let maps = Maps::fake();
        let calls = fake_map();
        for s in specs() {
            assert!(enter_prog(&s, &maps, &calls, READERS_5_5).len() < 80);
            // The perf path zeroes its record on the stack: up to 45 stores.
            assert!(exit_prog(&s, &maps, &calls, READERS_5_5).len() < 150);
        }
        assert!(process_prog(&maps, Call::Exit, Some(32)).len() < 60);
        assert!(forget_prog(&maps.fds, 1).len() < 30);
    }

    #[test]
    fn the_kernel_accepts_the_programs() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("SKIPPED: loading eBPF needs root");
            return;
        }
        for ring in [true, false] {
            let mut t = Tracer::start_with(ring).unwrap();
            assert_eq!(t.via(), "tracepoints");
            let mut recs = Vec::new();
            t.poll(0, &mut recs).unwrap();
        }
        let t = sys_exit::start().unwrap();
        if cfg!(target_arch = "x86_64") && bpf::RingBuf::create(4096, "shmtool_probe").is_ok() {
            let mut t = t.expect("the sys_exit path loads on x86_64 with a ring buffer");
            assert_eq!(t.via(), "sys_exit");
            let mut recs = Vec::new();
            t.poll(0, &mut recs).unwrap();
        }
    }
}
