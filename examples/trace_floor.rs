//! The floor under `shmtool trace`'s overhead, for scripts/bench-trace-floor.sh: the least any
//! tracer on the `sys_exit` tracepoint can cost, measured with programs that do less than
//! trace's.
//!
//!   trace_floor hook      a BTF-typed program on sys_exit that returns at once: the hook
//!                         alone (the syscall slow path it switches on for every task, and the
//!                         tracepoint's call into the program)
//!   trace_floor records   the same hook, reading the call's number, and for each of the calls
//!                         scripts/shm_churn.c's rounds record (shmget, shmat, shmdt, shmctl,
//!                         openat, ftruncate, mmap, munmap, unlink) a bare 32-byte record in a
//!                         BPF ring buffer: tag, time, pid and tid; no filter, no caller
//!                         details, no path. What reporting each call costs at the least.
//!
//! Runs as root until SIGINT or SIGTERM, draining the ring every 50 ms (as trace's reader
//! does at that rate), prints "ready" once attached and, at the end, the records it read.

use shmtool::source::bpf::{self, helper, Asm, Size, R0, R1, R2, R3, R6, R7, R8};
use shmtool::source::btf;
use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

/// x86_64 numbers of the calls a shm_churn round makes that trace records.
const RECORDED: [i32; 10] = [29, 30, 67, 31, 257, 77, 9, 11, 87, 263];
/// `orig_ax` in x86_64's `struct pt_regs`.
const ORIG_AX: i16 = 120;
const RECORD: i32 = 32;
/// As large as trace's ring: the reader keeps it at most an eighth full.
const RING_BYTES: u32 = 16 << 20;
/// `BPF_RB_NO_WAKEUP`: the reader drains on its own timer.
const NO_WAKEUP: i32 = 1;

fn program(mode: &str, ring: &bpf::RingBuf) -> Result<Vec<bpf::Insn>, String> {
    let mut a = Asm::default();
    match mode {
        "hook" => {
            a.mov_imm(R0, 0).exit();
        }
        "records" => {
            let record = {
                let mut c = Asm::default();
                c.load_map(R1, ring.map().raw())
                    .mov_imm(R2, RECORD)
                    .mov_imm(R3, 0)
                    .call(helper::RINGBUF_RESERVE)
                    .jeq_imm(R0, 0, "out")
                    .mov_reg(R8, R0)
                    .store(Size::W, R8, 0, R7)
                    .call(helper::KTIME_GET_NS)
                    .store(Size::DW, R8, 8, R0)
                    .call(helper::GET_CURRENT_PID_TGID)
                    .store(Size::DW, R8, 16, R0)
                    .mov_reg(R1, R8)
                    .mov_imm(R2, NO_WAKEUP)
                    .call(helper::RINGBUF_SUBMIT)
                    .label("out")
                    .mov_imm(R0, 0)
                    .exit();
                c.finish()
            };
            let cases: Vec<(i32, Vec<bpf::Insn>)> =
                RECORDED.iter().map(|&n| (n, record.clone())).collect();
            a.mov_reg(R6, R1)
                .load(Size::DW, R1, R6, 0)
                .load(Size::DW, R7, R1, ORIG_AX)
                .switch(R7, &cases);
        }
        other => return Err(format!("unknown mode {other:?} (hook or records)")),
    }
    Ok(a.finish())
}

fn main() -> Result<(), String> {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let mut ring =
        bpf::RingBuf::create(RING_BYTES, "floor_ring").map_err(|e| format!("ring: {e}"))?;
    let insns = program(&mode, &ring)?;
    let index = btf::Index::vmlinux().ok_or("no kernel BTF")?;
    let id = index
        .type_id(btf::KIND_TYPEDEF, "btf_trace_sys_exit")
        .ok_or("no btf_trace_sys_exit in the kernel's BTF")?;
    let prog = bpf::load_raw_tp_btf_prog(&insns, "floor", id).map_err(|e| format!("load: {e}"))?;
    let _link = bpf::attach_raw_tracepoint(None, &prog).map_err(|e| format!("attach: {e}"))?;
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
    println!("ready");
    let mut records = 0u64;
    while !STOP.load(Ordering::Relaxed) {
        std::thread::sleep(std::time::Duration::from_millis(50));
        ring.drain(&mut |_| records += 1);
    }
    ring.drain(&mut |_| records += 1);
    println!("{records} records");
    Ok(())
}
