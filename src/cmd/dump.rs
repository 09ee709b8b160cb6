//! `shmtool dump`: a read-only copy of live memory, as hex, raw bytes, text runs or decoded
//! structs. Streams in chunks, so memory use does not grow with the object.

use super::{note, Ctx, Run};
use crate::attach::pointers::PrivateRegions;
use crate::attach::{self, reader, AddrSpec, Selector, Target, Window};
use crate::cli::{DumpArgs, DumpFormat, TargetArgs};
use crate::error::Error;
use crate::render::color::Palette;
use crate::render::hex::{HexWriter, JsonRows, Raw, Sink, TextWriter};
use crate::render::layout::{Layout, LayoutWriter};
use crate::units::parse_size;
use std::io::Write;

/// The selector and window the target arguments describe.
pub fn selector(args: &TargetArgs) -> Result<(Selector, Window), Error> {
    let size =
        |what: &str, t: &str| parse_size(t).map_err(|e| Error::BadInput(format!("{what}: {e}")));
    let win = Window {
        offset: args.offset,
        length: args
            .length
            .as_deref()
            .map(|l| size("--length", l))
            .transpose()?,
    };
    let sel = if let Some(id) = args.shmid {
        Selector::Shmid(id)
    } else if let Some(k) = &args.key {
        Selector::Key(crate::units::parse_key(k).map_err(Error::BadInput)?)
    } else if let Some(f) = &args.ftok {
        let (path, proj) = match f.as_slice() {
            [p, j] => (p, j),
            _ => return Err(Error::BadInput("--ftok needs PATH and PROJ_ID".into())),
        };
        Selector::Ftok {
            path: path.into(),
            proj_id: crate::source::ftok::parse_proj_id(proj)
                .map_err(Error::BadInput)?
                .value,
        }
    } else if let Some(p) = &args.path {
        Selector::Path(p.clone())
    } else {
        let pid = args.pid.ok_or_else(|| {
            Error::BadInput("give PID ADDR, --shmid, --key, --ftok or --path".into())
        })?;
        let addr = args.addr.as_deref().ok_or_else(|| {
            Error::BadInput(format!(
                "an address in pid {pid} is needed (hex or SYMBOL[+OFF]; see 'shmtool maps {pid}')"
            ))
        })?;
        Selector::Addr {
            pid,
            addr: AddrSpec::parse(addr)?,
        }
    };
    Ok((sel, win))
}

/// Resolve the target arguments, saying once how the bytes are read when it matters.
pub fn open_target(ctx: &Ctx, args: &TargetArgs) -> anyhow::Result<Target> {
    let (sel, win) = selector(args)?;
    let target = attach::resolve(&ctx.sys, &sel, win, &|pid, maps, name| {
        crate::source::elf::resolve_symbol(&ctx.sys, pid, maps, name)
    })?;
    if let Some(n) = &target.note {
        note(n);
    }
    crate::hooks::pause_point("dump:resolved");
    Ok(target)
}

/// The layout the arguments ask for, parsed.
pub fn layout(args: &TargetArgs) -> Result<Option<Layout>, Error> {
    if args.layout_repeat == 0 {
        return Err(Error::BadInput("--layout-repeat must be at least 1".into()));
    }
    args.layout
        .as_deref()
        .map(|spec| Layout::parse(spec).map_err(|e| Error::BadInput(format!("--layout: {e}"))))
        .transpose()
}

/// The records to decode: `--layout`'s (already parsed), or `--type`'s from the program's
/// debuginfo; and how many in a row.
pub fn decoding(
    ctx: &Ctx,
    args: &TargetArgs,
    target: &Target,
    lay: Option<Layout>,
) -> anyhow::Result<(Option<Layout>, usize)> {
    Ok(match super::types::type_layout(ctx, args, target)? {
        Some((l, n)) => (Some(l), n),
        None => (lay, args.layout_repeat),
    })
}

/// Bytes `count` records of `lay` take in `target`: all of them, or as many as fit. A target
/// too small for even one record is an error.
pub fn layout_span(target: &Target, lay: &Layout, count: usize) -> Result<u64, Error> {
    if target.len < lay.size() as u64 {
        return Err(Error::BadInput(format!(
            "{} has {} bytes; the layout needs {}",
            target.label,
            target.len,
            lay.size()
        )));
    }
    Ok(lay.span(count).min(target.len))
}

/// The error for a read that ended before the range did: the target's going, when it went
/// (a process that exited, a segment removed), else a short read.
pub fn short_read(ctx: &Ctx, t: &Target, got: u64, wanted: u64) -> Error {
    t.liveness
        .gone(&ctx.sys)
        .unwrap_or_else(|| Error::ShortRead {
            what: t.label.clone(),
            got,
            wanted,
        })
}

impl Run for DumpArgs {
    fn run(&self, ctx: &Ctx, out: &mut dyn Write) -> anyhow::Result<()> {
        if let Some(id) = self.msqid {
            return self.messages(ctx, id, out);
        }
        let lay = layout(&self.target)?;
        let format = self.format_checked(ctx)?;
        let target = open_target(ctx, &self.target)?;
        let (lay, count) = decoding(ctx, &self.target, &target, lay)?;
        let mut file;
        let mut stdout_fd;
        let raw_stdout = self.output.is_none() && format == DumpFormat::Raw && lay.is_none();
        let (out, pal): (&mut dyn Write, Palette) = match &self.output {
            // Raw bytes straight to fd 1 in read-sized writes: standard output's line buffer
            // would split every chunk at its last newline and copy it.
            None if raw_stdout && !self.json => {
                out.flush()?;
                stdout_fd = RawFd1::new();
                (&mut stdout_fd, Palette { on: false })
            }
            Some(p) => {
                file = std::io::BufWriter::with_capacity(
                    reader::CHUNK,
                    open_output(ctx, p, target.reader.object_id(), self.force)?,
                );
                (&mut file, Palette { on: false })
            }
            None => (out, ctx.palette()),
        };
        // Pointer hints appear in hex and layout output.
        let regions = if lay.is_some() || (format == DumpFormat::Hex && !self.json) {
            PrivateRegions::gather(&ctx.sys, &target.mappers.find(&ctx.sys))
        } else {
            PrivateRegions::default()
        };
        let hint = |v: u64| regions.hint(v);
        let (want, mut sink): (u64, Box<dyn Sink + '_>) = match (&lay, format, self.json) {
            (Some(lay), _, json) => {
                let want = layout_span(&target, lay, count)?;
                let w = LayoutWriter::new(lay, target.base, count, pal, &hint, json);
                (want, Box::new(w))
            }
            (None, _, true) => (target.len, Box::new(JsonRows::new(target.base))),
            (None, DumpFormat::Hex, false) => {
                let w = HexWriter::new(target.base, target.len, pal, &hint);
                (target.len, Box::new(w))
            }
            (None, DumpFormat::Text, false) => (
                target.len,
                Box::new(TextWriter::new(target.base, target.len)),
            ),
            (None, DumpFormat::Raw, false) => (target.len, Box::new(Raw)),
        };
        // Raw bytes pass through: 128 KiB at a time stays in cache (as cat's buffer does).
        let chunk = if format == DumpFormat::Raw && lay.is_none() && !self.json {
            RAW_CHUNK
        } else {
            reader::CHUNK
        };
        let streamed =
            reader::stream_by(&target.reader, want, chunk, |_, b| Ok(sink.write(out, b)?))?;
        sink.finish(out)?;
        out.flush()?;
        if streamed.is_short() {
            return Err(short_read(ctx, &target, streamed.got, want).into());
        }
        Ok(())
    }
}

/// Open `-o PATH` for writing. Without `--force`: never the object being dumped, never inside
/// /dev/shm (where a file is a live shared-memory object to someone), and only a new file,
/// made `0600` with `O_EXCL|O_NOFOLLOW` (memory is often private; a symlink planted at the
/// name is not followed). With `--force`, an existing file is overwritten (still created
/// `0600` when new). The object being dumped is never written, even with `--force`:
/// truncating it would make its mappers die of SIGBUS.
///
/// The directory is opened once and every check and the open itself go through its fd: the
/// "is this /dev/shm" check compares that fd's device with the shm directory's (not strings,
/// which `..`, a symlink or a bind mount would fool), and the "is this the source" check looks
/// at the very file opened, before anything is truncated.
fn open_output(
    ctx: &Ctx,
    path: &std::path::Path,
    source: Option<(u64, u64)>,
    force: bool,
) -> anyhow::Result<std::fs::File> {
    use crate::source::root;
    use nix::fcntl::OFlag;
    use nix::sys::stat::Mode;
    use std::os::fd::AsFd;
    let shown = path.display();
    let bad = |msg: String| anyhow::Error::from(Error::BadInput(msg));
    let Some(name) = path.file_name() else {
        return Err(bad(format!("{shown} does not name a file")));
    };
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    // The user's own directory, as they named it; only the last component is ours to guard.
    let dir = nix::fcntl::open(
        parent,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| anyhow::Error::from(e).context(format!("opening {}", parent.display())))?;
    let dir_st = root::stat_fd(dir.as_fd())?;
    let is_source = |st: &root::Stat| source == Some((st.dev, st.ino));
    let existing = root::stat_at(dir.as_fd(), name).ok();
    if existing.as_ref().is_some_and(is_source) {
        return Err(bad(format!(
            "{shown} is the object being dumped; writing it would destroy what is read (choose another file)"
        )));
    }
    if in_shm_dir(ctx, &dir_st) && !force {
        return Err(bad(format!(
            "refusing to write {shown} into /dev/shm, where files are live shared memory (use --force)"
        )));
    }
    let mode = Mode::from_bits_truncate(0o600);
    if !force {
        let flags =
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = nix::fcntl::openat(dir.as_fd(), name, flags, mode).map_err(|e| match e {
            // O_CREAT|O_EXCL never follows a final symlink: it says EEXIST.
            nix::Error::EEXIST | nix::Error::ELOOP
                if root::stat_at(dir.as_fd(), name)
                    .is_ok_and(|st| st.file_type() == libc::S_IFLNK) =>
            {
                bad(format!(
                    "{shown} is a symbolic link; refusing to follow it (use --force)"
                ))
            }
            nix::Error::EEXIST => bad(format!(
                "{shown} exists; refusing to overwrite it (use --force)"
            )),
            e => anyhow::Error::from(e).context(format!("creating {shown}")),
        })?;
        super::note(&format!(
            "created {shown} (mode 0600, readable by its owner only)"
        ));
        return Ok(std::fs::File::from(fd));
    }
    // --force: open without truncating, look at what was opened, and only then truncate.
    // O_NONBLOCK: a FIFO with no reader fails instead of hanging.
    let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_CLOEXEC | OFlag::O_NONBLOCK;
    let fd = nix::fcntl::openat(dir.as_fd(), name, flags, mode)
        .map_err(|e| anyhow::Error::from(e).context(format!("opening {shown}")))?;
    let st = root::stat_fd(fd.as_fd())?;
    if is_source(&st) {
        return Err(bad(format!(
            "{shown} is the object being dumped; writing it would destroy what is read (choose another file)"
        )));
    }
    nix::fcntl::fcntl(fd.as_fd(), nix::fcntl::FcntlArg::F_SETFL(OFlag::empty()))?;
    let file = std::fs::File::from(fd);
    if st.is_file() {
        file.set_len(0)
            .map_err(|e| anyhow::Error::from(e).context(format!("truncating {shown}")))?;
    }
    Ok(file)
}

/// Whether the directory `dir` is in a shm directory a dump must not write into without
/// `--force`: the one listed (with `--ns`, the target's, beneath its pinned root) or the
/// host's own. Where that directory is a mount of its own (as /dev/shm is), anything on its
/// device is in it; where it is a plain directory of a larger filesystem (a container root
/// without its own /dev/shm mount, `--shm-dir`), only that directory itself.
fn in_shm_dir(ctx: &Ctx, dir: &crate::source::root::Stat) -> bool {
    use crate::source::root;
    use std::os::fd::AsFd;
    let mut shm = Vec::new();
    shm.extend(ctx.sys.open_shm_dir().ok());
    if ctx.sys.pinned_root.is_some() {
        shm.extend(
            root::Root::host()
                .and_then(|r| r.open_dir(&ctx.sys.shm_maps_dir))
                .ok(),
        );
    }
    shm.iter().any(|fd| {
        let Ok(st) = root::stat_fd(fd.as_fd()) else {
            return false;
        };
        // Its parent, to tell a mount point: only stat'ed, through the fd we hold.
        let parent = nix::fcntl::openat(
            fd.as_fd(),
            "..",
            nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY,
            nix::sys::stat::Mode::empty(),
        )
        .ok()
        .and_then(|p| root::stat_fd(p.as_fd()).ok());
        let own_mount = parent.is_none_or(|p| p.dev != st.dev);
        if own_mount {
            dir.dev == st.dev
        } else {
            (dir.dev, dir.ino) == (st.dev, st.ino)
        }
    })
}

impl DumpArgs {
    /// The output format asked for; raw bytes to a terminal are refused without --force.
    fn format_checked(&self, ctx: &Ctx) -> Result<DumpFormat, Error> {
        let format = self.format.unwrap_or(DumpFormat::Hex);
        if format == DumpFormat::Raw && self.output.is_none() && ctx.stdout_tty && !self.force {
            return Err(Error::BadInput(
                "refusing to write raw bytes to a terminal (use -o FILE, a pipe, or --force)"
                    .into(),
            ));
        }
        Ok(format)
    }

    /// `dump --msqid`: copies of a queue's messages, which stay in the queue.
    fn messages(&self, ctx: &Ctx, id: i64, out: &mut dyn Write) -> anyhow::Result<()> {
        use crate::source::ipcstate::{copy_messages, StateError};
        let format = self.format_checked(ctx)?;
        let msgs = copy_messages(id).map_err(|e| -> anyhow::Error {
            match e {
                StateError::Gone => Error::NoSuchObject(format!("msg:{id}")).into(),
                StateError::Denied => Error::PermissionDenied(format!(
                    "message queue {id}: copying its messages needs read permission on it"
                ))
                .into(),
                StateError::NoCopy => Error::BadInput(format!(
                    "message queue {id}: this kernel cannot copy messages without taking them \
                     (msgrcv MSG_COPY needs CONFIG_CHECKPOINT_RESTORE); nothing was read"
                ))
                .into(),
                StateError::TooBig(i) => Error::BadInput(format!(
                    "message queue {id}: message {i} is larger than kernel.msgmax is now, and \
                     the kernel copies no more than that; nothing was printed"
                ))
                .into(),
                StateError::Other(e) => anyhow::Error::from(e).context(format!("msg:{id}")),
            }
        })?;
        if msgs.is_empty() {
            note(&format!("message queue {id} is empty"));
        }
        let mut file;
        let (out, pal): (&mut dyn Write, Palette) = match &self.output {
            Some(p) => {
                file = std::io::BufWriter::new(open_output(ctx, p, None, self.force)?);
                (&mut file, Palette { on: false })
            }
            None => (out, ctx.palette()),
        };
        for m in &msgs {
            match (self.json, format) {
                (true, _) => {
                    let j = crate::render::ipc::MessageJson::new(id, m.index, m.mtype, &m.text);
                    crate::render::write_json_compact(out, &j)?;
                    writeln!(out)?;
                }
                (false, DumpFormat::Raw) => out.write_all(&m.text)?,
                (false, DumpFormat::Text) => {
                    writeln!(out, "message {}: type {}", m.index, m.mtype)?;
                    let mut w = TextWriter::new(0, m.text.len() as u64);
                    w.write(out, &m.text)?;
                    w.finish(out)?;
                }
                (false, DumpFormat::Hex) => {
                    crate::render::ipc::write_message_hex(out, m.index, m.mtype, &m.text, pal)?
                }
            }
        }
        out.flush()?;
        Ok(())
    }
}

/// The read (and write) size for raw output.
const RAW_CHUNK: usize = 128 << 10;

/// Standard output as the bare file descriptor: each write is one write(2).
struct RawFd1;

impl RawFd1 {
    /// Into a pipe, room for a few chunks (the default 64 KiB pipe makes each write wait for
    /// the reader). Refused beyond the system's pipe-max-size, which only costs speed.
    fn new() -> RawFd1 {
        // SAFETY: fstat writes only into the stat we own; fcntl changes only the pipe's size.
        unsafe {
            let mut st: libc::stat = std::mem::zeroed();
            if libc::fstat(libc::STDOUT_FILENO, &mut st) == 0
                && st.st_mode & libc::S_IFMT == libc::S_IFIFO
            {
                libc::fcntl(
                    libc::STDOUT_FILENO,
                    libc::F_SETPIPE_SZ,
                    (4 * RAW_CHUNK) as libc::c_int,
                );
            }
        }
        RawFd1
    }
}

impl Write for RawFd1 {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // SAFETY: fd 1 stays open for the whole run; write reads only from `buf`.
        let n = unsafe { libc::write(libc::STDOUT_FILENO, buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(n as usize)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
