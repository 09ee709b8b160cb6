//! The smallest eBPF toolkit that `trace` needs, over the raw `bpf(2)` and `perf_event_open(2)`
//! system calls: an instruction assembler, map and program loading, and the two ways records
//! reach user space: the BPF ring buffer (one ring for all CPUs, kernels 5.8+) and, before it,
//! per-CPU perf rings.
//!
//! No compiler, no kernel headers, no libbpf: the programs are a few dozen instructions each,
//! assembled here at run time (see `source::trace` for what they do and why).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// One eBPF instruction, as the kernel reads it.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C)]
pub struct Insn {
    code: u8,
    regs: u8,
    off: i16,
    imm: i32,
}

/// eBPF registers: r0 return value, r1-r5 arguments, r6-r9 callee-saved, r10 frame pointer.
pub type Reg = u8;
pub const R0: Reg = 0;
pub const R1: Reg = 1;
pub const R2: Reg = 2;
pub const R3: Reg = 3;
pub const R4: Reg = 4;
pub const R5: Reg = 5;
pub const R6: Reg = 6;
pub const R7: Reg = 7;
pub const R8: Reg = 8;
pub const R9: Reg = 9;
pub const R10: Reg = 10;

/// Kernel helper numbers (include/uapi/linux/bpf.h, `__BPF_FUNC_MAPPER`).
pub mod helper {
    pub const MAP_LOOKUP_ELEM: i32 = 1;
    pub const MAP_UPDATE_ELEM: i32 = 2;
    pub const MAP_DELETE_ELEM: i32 = 3;
    /// Kernels before 5.5 have only this one for user memory.
    pub const PROBE_READ: i32 = 4;
    pub const KTIME_GET_NS: i32 = 5;
    pub const GET_CURRENT_PID_TGID: i32 = 14;
    pub const GET_CURRENT_UID_GID: i32 = 15;
    pub const GET_CURRENT_COMM: i32 = 16;
    pub const PERF_EVENT_OUTPUT: i32 = 25;
    /// Kernels before 5.5 have only this one for user strings.
    pub const PROBE_READ_STR: i32 = 45;
    pub const GET_CURRENT_CGROUP_ID: i32 = 80;
    pub const PROBE_READ_USER: i32 = 112;
    pub const PROBE_READ_KERNEL: i32 = 113;
    pub const PROBE_READ_USER_STR: i32 = 114;
    pub const RINGBUF_RESERVE: i32 = 131;
    pub const RINGBUF_SUBMIT: i32 = 132;
    pub const RINGBUF_QUERY: i32 = 134;
    pub const GET_CURRENT_TASK_BTF: i32 = 158;
}

/// Width of a memory access.
#[derive(Debug, Clone, Copy)]
pub enum Size {
    B = 0x10,
    H = 0x08,
    W = 0x00,
    DW = 0x18,
}

fn insn(code: u8, dst: Reg, src: Reg, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (dst & 0xf) | ((src & 0xf) << 4),
        off,
        imm,
    }
}

/// Instructions under construction, with forward jumps to named labels patched at the end.
#[derive(Debug, Default)]
pub struct Asm {
    insns: Vec<Insn>,
    fixups: Vec<(usize, &'static str)>,
    labels: Vec<(&'static str, usize)>,
}

impl Asm {
    pub fn mov_reg(&mut self, dst: Reg, src: Reg) -> &mut Self {
        self.push(insn(0xbf, dst, src, 0, 0))
    }
    pub fn mov_imm(&mut self, dst: Reg, imm: i32) -> &mut Self {
        self.push(insn(0xb7, dst, 0, 0, imm))
    }
    pub fn add_imm(&mut self, dst: Reg, imm: i32) -> &mut Self {
        self.push(insn(0x07, dst, 0, 0, imm))
    }
    pub fn and_imm(&mut self, dst: Reg, imm: i32) -> &mut Self {
        self.push(insn(0x57, dst, 0, 0, imm))
    }
    pub fn or_reg(&mut self, dst: Reg, src: Reg) -> &mut Self {
        self.push(insn(0x4f, dst, src, 0, 0))
    }
    pub fn lsh_imm(&mut self, dst: Reg, imm: i32) -> &mut Self {
        self.push(insn(0x67, dst, 0, 0, imm))
    }
    pub fn rsh_imm(&mut self, dst: Reg, imm: i32) -> &mut Self {
        self.push(insn(0x77, dst, 0, 0, imm))
    }
    /// `dst = *(size *)(src + off)`.
    pub fn load(&mut self, size: Size, dst: Reg, src: Reg, off: i16) -> &mut Self {
        self.push(insn(0x61 | size as u8, dst, src, off, 0))
    }
    /// `*(size *)(dst + off) = src`.
    pub fn store(&mut self, size: Size, dst: Reg, off: i16, src: Reg) -> &mut Self {
        self.push(insn(0x63 | size as u8, dst, src, off, 0))
    }
    /// `*(size *)(dst + off) = imm`.
    pub fn store_imm(&mut self, size: Size, dst: Reg, off: i16, imm: i32) -> &mut Self {
        self.push(insn(0x62 | size as u8, dst, 0, off, imm))
    }
    /// `*(size *)(dst + off) += src`, atomically.
    pub fn atomic_add(&mut self, size: Size, dst: Reg, off: i16, src: Reg) -> &mut Self {
        self.push(insn(0xc3 | size as u8, dst, src, off, 0))
    }
    /// `dst = imm64` (two instruction slots).
    pub fn load_imm64(&mut self, dst: Reg, imm: u64) -> &mut Self {
        self.push(insn(0x18, dst, 0, 0, imm as u32 as i32));
        self.push(insn(0, 0, 0, 0, (imm >> 32) as u32 as i32))
    }
    /// `dst = map` (the loader swaps the fd for the map's address).
    pub fn load_map(&mut self, dst: Reg, map: RawFd) -> &mut Self {
        const PSEUDO_MAP_FD: Reg = 1;
        self.push(insn(0x18, dst, PSEUDO_MAP_FD, 0, map));
        self.push(insn(0, 0, 0, 0, 0))
    }
    pub fn call(&mut self, helper: i32) -> &mut Self {
        self.push(insn(0x85, 0, 0, 0, helper))
    }
    /// `if dst == imm goto label`.
    pub fn jeq_imm(&mut self, dst: Reg, imm: i32, label: &'static str) -> &mut Self {
        self.jump(0x15, dst, 0, imm, label)
    }
    /// `if dst != imm goto label`.
    pub fn jne_imm(&mut self, dst: Reg, imm: i32, label: &'static str) -> &mut Self {
        self.jump(0x55, dst, 0, imm, label)
    }
    /// `if dst != src goto label`.
    pub fn jne_reg(&mut self, dst: Reg, src: Reg, label: &'static str) -> &mut Self {
        self.jump(0x5d, dst, src, 0, label)
    }
    /// `if dst > imm goto label` (unsigned).
    pub fn jgt_imm(&mut self, dst: Reg, imm: i32, label: &'static str) -> &mut Self {
        self.jump(0x25, dst, 0, imm, label)
    }
    /// `goto label`.
    pub fn ja(&mut self, label: &'static str) -> &mut Self {
        self.jump(0x05, 0, 0, 0, label)
    }
    /// `if (s64)dst < imm goto label`.
    pub fn jslt_imm(&mut self, dst: Reg, imm: i32, label: &'static str) -> &mut Self {
        self.jump(0xc5, dst, 0, imm, label)
    }
    pub fn label(&mut self, name: &'static str) -> &mut Self {
        self.labels.push((name, self.insns.len()));
        self
    }
    pub fn exit(&mut self) -> &mut Self {
        self.push(insn(0x95, 0, 0, 0, 0))
    }

    /// Jump on `reg` to the code of the case whose value it holds, or return 0 when none does.
    /// Each case is a finished program of its own (it ends in `exit`, its jumps resolved), so
    /// cases may use the same label names.
    pub fn switch(&mut self, reg: Reg, cases: &[(i32, Vec<Insn>)]) -> &mut Self {
        // The jumps, then the default return (2 instructions), then the cases in order.
        let mut target = cases.len() + 2;
        for (at, (value, code)) in cases.iter().enumerate() {
            self.push(insn(0x15, reg, 0, (target - at - 1) as i16, *value));
            target += code.len();
        }
        self.mov_imm(R0, 0).exit();
        for (_, code) in cases {
            self.insns.extend_from_slice(code);
        }
        self
    }

    fn jump(&mut self, code: u8, dst: Reg, src: Reg, imm: i32, label: &'static str) -> &mut Self {
        self.fixups.push((self.insns.len(), label));
        self.push(insn(code, dst, src, 0, imm))
    }

    fn push(&mut self, i: Insn) -> &mut Self {
        self.insns.push(i);
        self
    }

    /// The finished program, jumps resolved.
    pub fn finish(mut self) -> Vec<Insn> {
        for (at, name) in &self.fixups {
            let target = self
                .labels
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, t)| *t)
                .unwrap_or_else(|| panic!("eBPF label {name} is never placed"));
            self.insns[*at].off = (target as isize - *at as isize - 1) as i16;
        }
        self.insns
    }
}

const BPF_MAP_CREATE: libc::c_long = 0;
const BPF_MAP_LOOKUP_ELEM: libc::c_long = 1;
const BPF_MAP_UPDATE_ELEM: libc::c_long = 2;
const BPF_MAP_DELETE_ELEM: libc::c_long = 3;
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_RAW_TRACEPOINT_OPEN: libc::c_long = 17;

pub const MAP_HASH: u32 = 1;
pub const MAP_ARRAY: u32 = 2;
pub const MAP_PERF_EVENT_ARRAY: u32 = 4;
pub const MAP_LRU_HASH: u32 = 9;
pub const MAP_RINGBUF: u32 = 27;
const PROG_TRACEPOINT: u32 = 5;
const PROG_RAW_TRACEPOINT: u32 = 17;
const PROG_TRACING: u32 = 26;
/// `BPF_TRACE_RAW_TP` in `enum bpf_attach_type`: a BTF-typed raw tracepoint (`tp_btf`).
const ATTACH_TRACE_RAW_TP: u32 = 23;

/// `union bpf_attr` is up to a few hundred bytes; the fields we set all sit in its first 128.
#[repr(C, align(8))]
struct Attr([u8; 128]);

impl Attr {
    fn new() -> Attr {
        Attr([0; 128])
    }
    fn u32(&mut self, at: usize, v: u32) -> &mut Self {
        self.0[at..at + 4].copy_from_slice(&v.to_ne_bytes());
        self
    }
    fn u64(&mut self, at: usize, v: u64) -> &mut Self {
        self.0[at..at + 8].copy_from_slice(&v.to_ne_bytes());
        self
    }
    fn name(&mut self, at: usize, name: &str) -> &mut Self {
        let n = name.len().min(15);
        self.0[at..at + n].copy_from_slice(&name.as_bytes()[..n]);
        self
    }
}

fn bpf(cmd: libc::c_long, attr: &mut Attr) -> io::Result<libc::c_long> {
    // SAFETY: attr is a valid, writable bpf_attr-sized buffer for the call's duration.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut Attr,
            std::mem::size_of::<Attr>() as u32,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn owned(fd: libc::c_long) -> OwnedFd {
    // SAFETY: the kernel just gave us this descriptor and nobody else owns it.
    unsafe { OwnedFd::from_raw_fd(fd as RawFd) }
}

/// A map; closed with its fd.
#[derive(Debug)]
pub struct Map {
    pub fd: OwnedFd,
}

impl Map {
    pub fn create(kind: u32, key: u32, value: u32, entries: u32, name: &str) -> io::Result<Map> {
        let mut a = Attr::new();
        a.u32(0, kind).u32(4, key).u32(8, value).u32(12, entries);
        a.name(28, name);
        let fd = match bpf(BPF_MAP_CREATE, &mut a) {
            Ok(fd) => fd,
            // Kernels before 4.15 know no map names.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                a.0[28..44].fill(0);
                bpf(BPF_MAP_CREATE, &mut a)?
            }
            Err(e) => return Err(e),
        };
        Ok(Map { fd: owned(fd) })
    }

    pub fn update(&self, key: &[u8], value: &[u8]) -> io::Result<()> {
        let mut a = Attr::new();
        a.u32(0, self.fd.as_raw_fd() as u32)
            .u64(8, key.as_ptr() as u64)
            .u64(16, value.as_ptr() as u64)
            .u64(24, 0);
        bpf(BPF_MAP_UPDATE_ELEM, &mut a).map(drop)
    }

    /// Remove `key` (ENOENT if it is not there).
    pub fn delete(&self, key: &[u8]) -> io::Result<()> {
        let mut a = Attr::new();
        a.u32(0, self.fd.as_raw_fd() as u32)
            .u64(8, key.as_ptr() as u64);
        bpf(BPF_MAP_DELETE_ELEM, &mut a).map(drop)
    }

    /// The value under `key`, into `value`.
    pub fn lookup(&self, key: &[u8], value: &mut [u8]) -> io::Result<()> {
        let mut a = Attr::new();
        a.u32(0, self.fd.as_raw_fd() as u32)
            .u64(8, key.as_ptr() as u64)
            .u64(16, value.as_mut_ptr() as u64);
        bpf(BPF_MAP_LOOKUP_ELEM, &mut a).map(drop)
    }

    pub fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Load a tracepoint program; on failure the error carries the verifier's log.
pub fn load_tracepoint_prog(insns: &[Insn], name: &str) -> io::Result<OwnedFd> {
    load_prog(PROG_TRACEPOINT, insns, name, None)
}

/// Load a raw tracepoint program (kernels 4.17+): its context is the tracepoint's own
/// arguments, as u64s.
pub fn load_raw_tracepoint_prog(insns: &[Insn], name: &str) -> io::Result<OwnedFd> {
    load_prog(PROG_RAW_TRACEPOINT, insns, name, None)
}

/// Load a BTF-typed raw tracepoint program (`tp_btf`, kernels 5.5+) for the tracepoint whose
/// `btf_trace_*` typedef has id `btf_id` in the kernel's BTF: its context holds the same
/// arguments as a raw tracepoint's, but pointers among them are typed, so the program may load
/// through them directly.
pub fn load_raw_tp_btf_prog(insns: &[Insn], name: &str, btf_id: u32) -> io::Result<OwnedFd> {
    load_prog(PROG_TRACING, insns, name, Some(btf_id))
}

/// Run a raw tracepoint program on every hit of the tracepoint `name` (e.g. `sys_exit`; None
/// for a `tp_btf` program, which names its own); detached when the returned fd closes.
pub fn attach_raw_tracepoint(name: Option<&std::ffi::CStr>, prog: &OwnedFd) -> io::Result<OwnedFd> {
    let mut a = Attr::new();
    a.u64(0, name.map_or(0, |n| n.as_ptr() as u64))
        .u32(8, prog.as_raw_fd() as u32);
    bpf(BPF_RAW_TRACEPOINT_OPEN, &mut a).map(owned)
}

fn load_prog(kind: u32, insns: &[Insn], name: &str, btf_id: Option<u32>) -> io::Result<OwnedFd> {
    // The user-string helper is GPL-only; the kernel accepts this dual licence as compatible.
    let license = c"Dual MIT/GPL";
    let mut log = vec![0u8; 1 << 16];
    let mut a = Attr::new();
    if let Some(id) = btf_id {
        a.u32(68, ATTACH_TRACE_RAW_TP).u32(108, id);
    }
    a.u32(0, kind)
        .u32(4, insns.len() as u32)
        .u64(8, insns.as_ptr() as u64)
        .u64(16, license.as_ptr() as u64);
    a.name(48, name);
    match bpf(BPF_PROG_LOAD, &mut a) {
        Ok(fd) => Ok(owned(fd)),
        Err(first) => {
            // Again with the verifier's log, to say why.
            a.u32(24, 1)
                .u32(28, log.len() as u32)
                .u64(32, log.as_mut_ptr() as u64);
            match bpf(BPF_PROG_LOAD, &mut a) {
                Ok(fd) => Ok(owned(fd)),
                Err(_) => {
                    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
                    let text = String::from_utf8_lossy(&log[..end]);
                    let last = text.lines().rev().find(|l| !l.trim().is_empty());
                    match last {
                        Some(l) => Err(io::Error::new(first.kind(), format!("{first}: {l}"))),
                        None => Err(first),
                    }
                }
            }
        }
    }
}

const PERF_TYPE_SOFTWARE: u32 = 1;
const PERF_TYPE_TRACEPOINT: u32 = 2;
const PERF_COUNT_SW_BPF_OUTPUT: u64 = 10;
const PERF_SAMPLE_RAW: u64 = 1 << 10;
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;
// ioctls: _IO('$', 0), _IOW('$', 8, u32)
const PERF_EVENT_IOC_ENABLE: libc::c_ulong = 0x2400;
const PERF_EVENT_IOC_SET_BPF: libc::c_ulong = 0x4004_2408;

/// `struct perf_event_attr` (version 5 layout, 112 bytes) as bytes; the kernel zero-checks the
/// rest.
fn perf_attr(kind: u32, config: u64, sample_type: u64, flags: u64, wakeup: u32) -> [u8; 112] {
    let mut a = [0u8; 112];
    a[0..4].copy_from_slice(&kind.to_ne_bytes());
    a[4..8].copy_from_slice(&112u32.to_ne_bytes());
    a[8..16].copy_from_slice(&config.to_ne_bytes());
    a[16..24].copy_from_slice(&1u64.to_ne_bytes()); // sample_period
    a[24..32].copy_from_slice(&sample_type.to_ne_bytes());
    a[40..48].copy_from_slice(&flags.to_ne_bytes());
    a[48..52].copy_from_slice(&wakeup.to_ne_bytes()); // wakeup_events / wakeup_watermark
    a
}

fn perf_event_open(attr: &[u8; 112], pid: i32, cpu: i32) -> io::Result<OwnedFd> {
    // SAFETY: attr is a complete perf_event_attr of the size it declares.
    let r = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            attr.as_ptr(),
            pid,
            cpu,
            -1,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(owned(r))
    }
}

fn ioctl(fd: &OwnedFd, req: libc::c_ulong, arg: libc::c_ulong) -> io::Result<()> {
    // SAFETY: both requests take an integer argument.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), req as _, arg) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Run `prog` on every hit of tracepoint `id`, on every CPU; detached when the fd closes.
pub fn attach_tracepoint(id: u64, prog: &OwnedFd) -> io::Result<OwnedFd> {
    let attr = perf_attr(PERF_TYPE_TRACEPOINT, id, PERF_SAMPLE_RAW, 0, 1);
    // One event (cpu 0, any pid) carries the program; the kernel runs it wherever the
    // tracepoint fires.
    let ev = perf_event_open(&attr, -1, 0)
        .map_err(|e| io::Error::new(e.kind(), format!("perf_event_open: {e}")))?;
    ioctl(
        &ev,
        PERF_EVENT_IOC_SET_BPF,
        prog.as_raw_fd() as libc::c_ulong,
    )
    .map_err(|e| io::Error::new(e.kind(), format!("PERF_EVENT_IOC_SET_BPF: {e}")))?;
    ioctl(&ev, PERF_EVENT_IOC_ENABLE, 0)?;
    Ok(ev)
}

/// One CPU's ring of records written by `bpf_perf_event_output`.
#[derive(Debug)]
pub struct Ring {
    fd: OwnedFd,
    base: *mut u8,
    len: usize,
    data: usize,
    page: usize,
    /// A record copied out of the ring, reused.
    scratch: Vec<u8>,
}

// SAFETY: the mapping is owned by this value and only read through &mut self.
unsafe impl Send for Ring {}

impl Ring {
    /// A ring of `pages` (a power of two) data pages on `cpu`; the reader is woken when
    /// `watermark` bytes are waiting.
    pub fn open(cpu: i32, pages: usize, watermark: u32) -> io::Result<Ring> {
        const WATERMARK_FLAG: u64 = 1 << 14;
        let attr = perf_attr(
            PERF_TYPE_SOFTWARE,
            PERF_COUNT_SW_BPF_OUTPUT,
            PERF_SAMPLE_RAW,
            WATERMARK_FLAG,
            watermark,
        );
        let fd = perf_event_open(&attr, -1, cpu)?;
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        let len = page * (pages + 1);
        // SAFETY: a fresh shared read-write mapping of the event's ring; checked below.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        ioctl(&fd, PERF_EVENT_IOC_ENABLE, 0)?;
        Ok(Ring {
            fd,
            base: base as *mut u8,
            len,
            data: len - page,
            page,
            scratch: Vec::new(),
        })
    }

    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Bytes of records the ring holds.
    pub fn capacity(&self) -> u64 {
        self.data as u64
    }

    /// Hand every record waiting to `sample`, oldest first; returns how many records the
    /// kernel reported lost (the ring was full) and how many bytes were taken.
    pub fn drain(&mut self, sample: &mut dyn FnMut(&[u8])) -> (u64, u64) {
        use std::sync::atomic::{fence, AtomicU64, Ordering};
        // SAFETY: data_head (offset 1024) and data_tail (1032) of perf_event_mmap_page are
        // 8-aligned u64s inside the first page of our mapping.
        let (head_ptr, tail_ptr) = unsafe {
            (
                &*(self.base.add(1024) as *const AtomicU64),
                &*(self.base.add(1032) as *const AtomicU64),
            )
        };
        let head = head_ptr.load(Ordering::Acquire);
        let start = tail_ptr.load(Ordering::Relaxed);
        let mut tail = start;
        fence(Ordering::Acquire);
        let mut header = [0u8; 8];
        let mut lost = 0;
        let mut body = std::mem::take(&mut self.scratch);
        while tail + 8 <= head {
            self.copy_out(tail, &mut header);
            let kind = u32::from_ne_bytes(header[0..4].try_into().unwrap_or_default());
            let size = u16::from_ne_bytes(header[6..8].try_into().unwrap_or_default()) as u64;
            if size < 8 || tail + size > head {
                break;
            }
            body.resize(size as usize - 8, 0);
            self.copy_out(tail + 8, &mut body);
            match kind {
                // PERF_RECORD_SAMPLE with PERF_SAMPLE_RAW: u32 size, then the bytes.
                9 if body.len() >= 4 => {
                    let n = u32::from_ne_bytes(body[0..4].try_into().unwrap_or_default()) as usize;
                    let n = n.min(body.len() - 4);
                    sample(&body[4..4 + n]);
                }
                // PERF_RECORD_LOST: u64 id, u64 lost.
                2 if body.len() >= 16 => {
                    lost += u64::from_ne_bytes(body[8..16].try_into().unwrap_or_default());
                }
                _ => {}
            }
            tail += size;
        }
        self.scratch = body;
        fence(Ordering::Release);
        tail_ptr.store(tail, Ordering::Release);
        (lost, tail - start)
    }

    fn copy_out(&self, pos: u64, buf: &mut [u8]) {
        let start = (pos % self.data as u64) as usize;
        let first = buf.len().min(self.data - start);
        // SAFETY: both ranges lie inside the data area [page, page + data) of our mapping.
        unsafe {
            let data = self.base.add(self.page);
            std::ptr::copy_nonoverlapping(data.add(start), buf.as_mut_ptr(), first);
            if first < buf.len() {
                std::ptr::copy_nonoverlapping(data, buf.as_mut_ptr().add(first), buf.len() - first);
            }
        }
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: base/len are exactly what mmap returned.
        unsafe {
            libc::munmap(self.base as *mut libc::c_void, self.len);
        }
    }
}

/// The reading end of a `BPF_MAP_TYPE_RINGBUF` map: one ring that every CPU's programs reserve
/// records in (`bpf_ringbuf_reserve`/`submit`), read here in the order they were reserved.
#[derive(Debug)]
pub struct RingBuf {
    map: Map,
    consumer: *mut u8,
    producer: *mut u8,
    producer_len: usize,
    page: usize,
    mask: u64,
}

// SAFETY: the mappings are owned by this value and only touched through &mut self.
unsafe impl Send for RingBuf {}

impl RingBuf {
    /// A ring of `bytes` (a power of two, at least a page).
    pub fn create(bytes: u32, name: &str) -> io::Result<RingBuf> {
        let map = Map::create(MAP_RINGBUF, 0, 0, bytes, name)?;
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        let map_at = |len: usize, prot: libc::c_int, offset: usize| {
            // SAFETY: a fresh shared mapping of the map's fd; checked below.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    prot,
                    libc::MAP_SHARED,
                    map.raw(),
                    offset as libc::off_t,
                )
            };
            if p == libc::MAP_FAILED {
                Err(io::Error::last_os_error())
            } else {
                Ok(p as *mut u8)
            }
        };
        // The consumer position page is ours to write; the producer page and the data (mapped
        // twice in a row, so that no record wraps) are read-only.
        let consumer = map_at(page, libc::PROT_READ | libc::PROT_WRITE, 0)?;
        let producer_len = page + 2 * bytes as usize;
        let producer = match map_at(producer_len, libc::PROT_READ, page) {
            Ok(p) => p,
            Err(e) => {
                // SAFETY: exactly what mmap returned above.
                unsafe { libc::munmap(consumer as *mut libc::c_void, page) };
                return Err(e);
            }
        };
        Ok(RingBuf {
            map,
            consumer,
            producer,
            producer_len,
            page,
            mask: bytes as u64 - 1,
        })
    }

    pub fn map(&self) -> &Map {
        &self.map
    }

    /// Hand every record submitted so far to `sample`, oldest first, read in place; returns
    /// how many bytes were taken.
    pub fn drain(&mut self, sample: &mut dyn FnMut(&[u8])) -> u64 {
        use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
        const BUSY: u32 = 1 << 31;
        const DISCARD: u32 = 1 << 30;
        // SAFETY: the consumer and producer positions are the first u64 of their pages.
        let (cons_pos, prod_pos) = unsafe {
            (
                &*(self.consumer as *const AtomicU64),
                &*(self.producer as *const AtomicU64),
            )
        };
        let start = cons_pos.load(Ordering::Relaxed);
        let mut cons = start;
        let prod = prod_pos.load(Ordering::Acquire);
        while cons < prod {
            let at = (cons & self.mask) as usize;
            // SAFETY: record headers are 8-aligned u32s inside the first copy of the data.
            let header = unsafe { &*(self.producer.add(self.page + at) as *const AtomicU32) };
            let len = header.load(Ordering::Acquire);
            if len & BUSY != 0 {
                break;
            }
            let body = (len & !(BUSY | DISCARD)) as usize;
            if len & DISCARD == 0 {
                let start = self.page + at + 8;
                if start + body <= self.producer_len {
                    // SAFETY: inside the double mapping, checked just above.
                    let bytes =
                        unsafe { std::slice::from_raw_parts(self.producer.add(start), body) };
                    sample(bytes);
                }
            }
            cons += (body as u64 + 8 + 7) & !7;
        }
        cons_pos.store(cons, Ordering::Release);
        cons - start
    }
}

impl Drop for RingBuf {
    fn drop(&mut self) {
        // SAFETY: both are exactly what mmap returned.
        unsafe {
            libc::munmap(self.consumer as *mut libc::c_void, self.page);
            libc::munmap(self.producer as *mut libc::c_void, self.producer_len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jumps_resolve_forward() {
        let mut a = Asm::default();
        a.jeq_imm(R1, 0, "out").mov_imm(R0, 1).label("out").exit();
        let p = a.finish();
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].off, 1);
        assert_eq!(p[0].code, 0x15);
        assert_eq!(p[0].regs, 1);
    }

    #[test]
    fn switch_jumps_to_each_case() {
        let case = |n| {
            let mut c = Asm::default();
            for _ in 0..n {
                c.mov_imm(R0, 1);
            }
            c.exit();
            c.finish()
        };
        let cases = [(7, case(3)), (9, case(1))];
        let mut a = Asm::default();
        a.mov_reg(R6, R1).switch(R2, &cases);
        let p = a.finish();
        // mov, 2 jumps, default (2), case 7 (4), case 9 (2).
        assert_eq!(p.len(), 1 + 2 + 2 + 4 + 2);
        assert_eq!((p[1].code, p[1].imm, 1 + 1 + p[1].off), (0x15, 7, 5));
        assert_eq!((p[2].imm, 2 + 1 + p[2].off), (9, 9));
        assert_eq!(p[3].code, 0xb7);
        assert_eq!(p[4].code, 0x95);
    }

    #[test]
    fn encodings() {
        let mut a = Asm::default();
        a.load(Size::DW, R1, R6, 16)
            .store(Size::W, R10, -8, R1)
            .store_imm(Size::DW, R10, -16, 0)
            .load_imm64(R2, 0x1122_3344_5566_7788);
        let p = a.finish();
        assert_eq!((p[0].code, p[0].regs, p[0].off), (0x79, 0x61, 16));
        assert_eq!((p[1].code, p[1].regs, p[1].off), (0x63, 0x1a, -8));
        assert_eq!(p[2].code, 0x7a);
        assert_eq!(
            (p[3].imm as u32, p[4].imm as u32),
            (0x5566_7788, 0x1122_3344)
        );
    }
}
