//! The default path on x86_64 (kernels 5.8+): one program on the raw `sys_exit` tracepoint
//! records every call, instead of an enter and an exit program on each call's own tracepoints.
//!
//! At `sys_exit` the caller's argument registers are still in its `pt_regs` (the kernel changes
//! only `ax`, to the return value), and user memory is still mapped, so one hook per call can
//! apply every filter and write the same record as the enter/exit pair: the record bytes are
//! the same `layout`, and `decode` and everything above it cannot tell the paths apart. No slot
//! per thread is kept, and no perf tracepoint buffer is filled twice per call. The price: the
//! program runs on every system call on the machine, and returns after reading `orig_ax` (the
//! call's number) for all but the few it records.

use super::bpf::{self, helper, Asm, Size, R0, R1, R10, R2, R3, R6, R7, R9};
use super::{
    classify, filters, find_tracefs, forget_fd, record, specs, Call, Caller, Map, Maps, Out,
    Readers, Spec, TaskOffsets, TraceError, Tracer, FD_ENDERS, READERS_5_5, RING_BYTES, SCRATCH,
};
use std::os::fd::OwnedFd;

/// x86_64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl).
fn number(call: Call) -> Option<i32> {
    Some(match call {
        Call::Shmget => 29,
        Call::Shmat => 30,
        Call::Shmctl => 31,
        Call::Shmdt => 67,
        Call::Open => 2,
        Call::Openat => 257,
        Call::Unlink => 87,
        Call::Unlinkat => 263,
        Call::MemfdCreate => 319,
        Call::Mmap => 9,
        Call::Ftruncate => 77,
        Call::Munmap => 11,
        Call::CloseRange => 436,
        Call::Exit | Call::Exec => return None,
    })
}
/// x86_64 numbers of the calls in [`FD_ENDERS`].
fn ender_number(syscall: &str) -> Option<i32> {
    Some(match syscall {
        "close" => 3,
        "dup2" => 33,
        "dup3" => 292,
        _ => return None,
    })
}

/// Offsets in x86_64's `struct pt_regs`.
mod regs {
    /// `r10`: the lowest of the argument registers (r10, r9, r8, ax, cx, dx, si, di follow).
    pub const ARGS_FROM: i16 = 56;
    /// di, si, dx, r10, r8, r9: the system call arguments in order.
    pub const ARG: [i16; 6] = [112, 104, 96, 56, 72, 64];
    /// orig_ax (the call's number), ip, cs follow one another from here.
    pub const ORIG_AX: i16 = 120;
}
/// `cs` in pt_regs: 16 bits wide in every layout since 5.x (an `unsigned long` before 6.2).
const CS: i16 = 136;
/// `__USER_CS`: a 64-bit call. The 32-bit entries number calls differently (and are not
/// traced by the syscall tracepoints either).
const USER_CS: i32 = 0x33;

/// Stack: orig_ax, ip and cs as read from pt_regs (24 bytes).
const NR_AT: i16 = -152;
const CS_AT: i16 = NR_AT + 16;
/// Stack: pt_regs from r10 to di (64 bytes), read only for a call to record.
const REGS_AT: i16 = -128;

// Clear of each other and of the scratch slots the shared code uses.
const _: () = assert!(NR_AT + 24 <= REGS_AT && REGS_AT + 64 <= SCRATCH);

fn arg_at(i: usize) -> i16 {
    REGS_AT + regs::ARG[i] - regs::ARGS_FROM
}

/// How the program reads the saved registers (`ctx[0]`, a `struct pt_regs *`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Regs {
    /// A `tp_btf` program (kernels 5.5+ with BTF): the pointer is typed, loads go through it.
    Typed,
    /// A raw tracepoint program: copied out with `bpf_probe_read_kernel`.
    Copied,
}

/// `bpf_probe_read_kernel(r10 + to, len, ctx[0] + from)`, the context in r6.
fn read_regs(a: &mut Asm, to: i16, len: i32, from: i16) {
    a.mov_reg(R1, R10)
        .add_imm(R1, to as i32)
        .mov_imm(R2, len)
        .load(Size::DW, R3, R6, 0)
        .add_imm(R3, from as i32)
        .call(helper::PROBE_READ_KERNEL);
}

/// Go to `out` unless the call came through the 64-bit entry.
fn check_cs(a: &mut Asm, regs: Regs) {
    match regs {
        Regs::Typed => a.load(Size::DW, R1, R6, 0).load(Size::H, R1, R1, CS),
        Regs::Copied => a.load(Size::DW, R1, R10, CS_AT).and_imm(R1, 0xffff),
    };
    a.jne_imm(R1, USER_CS, "out");
}

/// The argument registers onto the stack at [`REGS_AT`] (or goto `out`).
fn copy_args(a: &mut Asm, regs: Regs) {
    match regs {
        Regs::Typed => {
            a.load(Size::DW, R2, R6, 0);
            for off in (0..64).step_by(8) {
                a.load(Size::DW, R1, R2, regs::ARGS_FROM + off).store(
                    Size::DW,
                    R10,
                    REGS_AT + off,
                    R1,
                );
            }
        }
        Regs::Copied => {
            read_regs(a, REGS_AT, 64, regs::ARGS_FROM);
            a.jne_imm(R0, 0, "out");
        }
    }
}

/// Code for one call that reaches sys_exit, with r6 = the context (`struct pt_regs *`, return
/// value) and the call's number and cs on the stack: the enter program's filters, then the exit
/// program's record.
fn case(s: &Spec, maps: &Maps, regs: Regs, caller: Caller) -> Vec<bpf::Insn> {
    let read = Readers {
        caller,
        ..READERS_5_5
    };
    let mut a = Asm::default();
    check_cs(&mut a, regs);
    // Failed calls changed nothing.
    a.load(Size::DW, R1, R6, 8).jslt_imm(R1, 0, "out");
    copy_args(&mut a, regs);
    filters(&mut a, s, maps, read, &|i| (R10, arg_at(i)), R9);
    record(&mut a, s, maps, read, &|i| (R10, arg_at(i)), (R6, 8), R9);
    a.label("out").mov_imm(R0, 0).exit();
    a.finish()
}

/// `close(fd)` forgets a remembered fd (argument `arg` 0), `dup2` and `dup3` the one they
/// replace (`arg` 1), as the tracepoint path's `forget_prog` does (looked up first: the delete
/// locks). At the exit, where the tracepoint path forgets at the entry: another thread of the
/// process that gets the same number from a recorded open in the few instructions between
/// the fd's release and this hook has it forgotten too (its later mmap or ftruncate then goes
/// unrecorded).
fn close_case(fds: &Map, regs: Regs, arg: usize) -> Vec<bpf::Insn> {
    let mut a = Asm::default();
    check_cs(&mut a, regs);
    copy_args(&mut a, regs);
    forget_fd(&mut a, fds, &|_| (R10, arg_at(arg)));
    a.label("out").mov_imm(R0, 0).exit();
    a.finish()
}

/// The whole program: read the call's number, leave at once unless it is one to record.
/// `Caller::Task` needs `Regs::Typed`.
fn program(maps: &Maps, regs: Regs, caller: Caller) -> Vec<bpf::Insn> {
    let mut cases: Vec<(i32, Vec<bpf::Insn>)> = specs()
        .iter()
        .filter_map(|s| Some((number(s.call)?, case(s, maps, regs, caller))))
        .collect();
    for (syscall, arg) in FD_ENDERS {
        if let Some(nr) = ender_number(syscall) {
            cases.push((nr, close_case(&maps.fds, regs, arg)));
        }
    }
    let mut a = Asm::default();
    a.mov_reg(R6, R1);
    match regs {
        Regs::Typed => a
            .load(Size::DW, R1, R6, 0)
            .load(Size::DW, R7, R1, regs::ORIG_AX),
        // A failed read leaves zeros: call 0 (read) is not recorded.
        Regs::Copied => {
            read_regs(&mut a, NR_AT, 24, regs::ORIG_AX);
            a.load(Size::DW, R7, R10, NR_AT)
        }
    };
    a.switch(R7, &cases);
    a.finish()
}

/// The program, loaded and attached: `tp_btf` where the kernel has BTF and accepts it (no copy
/// of the registers on every call), a raw tracepoint otherwise. None where neither loads.
fn load_and_attach(maps: &Maps) -> Result<Option<(OwnedFd, OwnedFd)>, TraceError> {
    if let Some(btf) = crate::source::btf::Index::vmlinux() {
        if let Some(id) = btf.type_id(crate::source::btf::KIND_TYPEDEF, "btf_trace_sys_exit") {
            // The caller's fields loaded through the task pointer where the kernel allows it
            // (5.11+), with helpers otherwise. Any refusal here (no BTF-typed programs, a
            // verifier that reads pt_regs otherwise, a policy against tracing programs) leaves
            // the raw tracepoint to try.
            let direct = TaskOffsets::from_btf(&btf).map(Caller::Task);
            for caller in direct.into_iter().chain([Caller::Helpers]) {
                let typed = bpf::load_raw_tp_btf_prog(
                    &program(maps, Regs::Typed, caller),
                    "shmtool_sysexit",
                    id,
                )
                .and_then(|p| Ok((bpf::attach_raw_tracepoint(None, &p)?, p)));
                if let Ok((link, prog)) = typed {
                    return Ok(Some((prog, link)));
                }
            }
        }
    }
    let copied = program(maps, Regs::Copied, Caller::Helpers);
    let prog = match bpf::load_raw_tracepoint_prog(&copied, "shmtool_sysexit") {
        Ok(p) => p,
        Err(e) if unsupported(&e) => return Ok(None),
        Err(e) => return Err(classify("loading eBPF", e)),
    };
    match bpf::attach_raw_tracepoint(Some(c"sys_exit"), &prog) {
        Ok(link) => Ok(Some((prog, link))),
        Err(e) if unsupported(&e) => Ok(None),
        Err(e) => Err(classify("attaching to sys_exit", e)),
    }
}

/// Errors that mean "not on this kernel": take the tracepoint path instead.
fn unsupported(e: &std::io::Error) -> bool {
    const ENOTSUPP: i32 = 524;
    matches!(
        e.raw_os_error(),
        Some(libc::EINVAL | libc::ENOENT | libc::ESRCH | libc::EOPNOTSUPP | ENOTSUPP | libc::E2BIG)
    )
}

/// The ring buffer and the maps; None on a kernel without the ring buffer.
fn make_maps() -> Result<Option<Maps>, TraceError> {
    let ring = match bpf::RingBuf::create(RING_BYTES, "shmtool_ring") {
        Ok(r) => r,
        Err(e) if unsupported(&e) => return Ok(None),
        Err(e) => return Err(classify("creating a BPF ring buffer", e)),
    };
    Maps::around(Out::Ring(ring)).map(Some)
}

/// Load and attach the sys_exit path; None where this architecture or kernel has no way to
/// (the caller falls back to the tracepoints). A missing privilege is an error.
pub(super) fn start() -> Result<Option<Tracer>, TraceError> {
    if !cfg!(target_arch = "x86_64") {
        return Ok(None);
    }
    let Some(maps) = make_maps()? else {
        return Ok(None);
    };
    let Some((prog, link)) = load_and_attach(&maps)? else {
        return Ok(None);
    };
    Tracer::around(maps, find_tracefs()?, vec![prog], vec![link]).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_recorded_call_has_a_number_and_its_arguments_a_register() {
        for s in specs() {
            assert!(number(s.call).is_some(), "{:?}", s.call);
        }
        for (syscall, _) in FD_ENDERS {
            assert!(ender_number(syscall).is_some(), "{syscall}");
        }
        let mut at: Vec<i16> = (0..6).map(arg_at).collect();
        at.sort();
        at.dedup();
        assert_eq!(at.len(), 6);
        assert!(at.iter().all(|&o| (REGS_AT..REGS_AT + 64).contains(&o)));
    }

    /// Every form, so that a kernel without BTF (which gets the raw tracepoint) or without
    /// `bpf_get_current_task_btf` (before 5.11) is not left with a program only the assembler
    /// has seen.
    #[test]
    fn the_kernel_accepts_every_form() {
        if !nix::unistd::geteuid().is_root() || !cfg!(target_arch = "x86_64") {
            eprintln!("SKIPPED: loading eBPF needs root on x86_64");
            return;
        }
        let maps = make_maps().unwrap().expect("a ring buffer (5.8+)");
        let copied = program(&maps, Regs::Copied, Caller::Helpers);
        bpf::load_raw_tracepoint_prog(&copied, "shmtool_test").unwrap();
        let Some(btf) = crate::source::btf::Index::vmlinux() else {
            return;
        };
        let id = btf
            .type_id(crate::source::btf::KIND_TYPEDEF, "btf_trace_sys_exit")
            .unwrap();
        let typed = program(&maps, Regs::Typed, Caller::Helpers);
        bpf::load_raw_tp_btf_prog(&typed, "shmtool_test", id).unwrap();
        // The caller through the task pointer: kernels 5.11+.
        let release = nix::sys::utsname::uname().unwrap();
        let release = release.release().to_string_lossy();
        let mut v = release
            .split(['.', '-'])
            .map(|n| n.parse::<u32>().unwrap_or(0));
        if (v.next().unwrap_or(0), v.next().unwrap_or(0)) < (5, 11) {
            return;
        }
        let task = TaskOffsets::from_btf(&btf).expect("task_struct, cred, cgroup offsets");
        let direct = program(&maps, Regs::Typed, Caller::Task(task));
        bpf::load_raw_tp_btf_prog(&direct, "shmtool_test", id).unwrap();
    }

    #[test]
    fn the_program_assembles() {
        let maps = Maps::fake();
        let task = Caller::Task(TaskOffsets {
            cred: 8,
            uid: 8,
            cgroups: 16,
            dfl_cgrp: 8,
            kn: 8,
            kn_id: 8,
            comm: 24,
        });
        for (regs, caller) in [
            (Regs::Typed, task),
            (Regs::Typed, Caller::Helpers),
            (Regs::Copied, Caller::Helpers),
        ] {
            let p = program(&maps, regs, caller);
            assert!(p.len() < 1500, "{}", p.len());
        }
    }
}
