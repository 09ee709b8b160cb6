//! `shmtool key PATH PROJ_ID`: the key ftok gives and the segment that has it; and
//! `shmtool key --find KEY`: the files that could have produced a key.

use super::ls::report_hidden;
use super::{note, with_view, Ctx, Run};
use crate::cli::KeyArgs;
use crate::error::Error;
use crate::model::{key_string, Kind, Segment};
use crate::render::key::{self as render, FindJson, FoundFile, KeyAnswer, KeyJson};
use crate::source::bytes_to_string;
use crate::source::ftok::{self, KeyParts, Root, WalkLimits};
use crate::source::inventory::{self, Inventory, Options};
use crate::source::root::Follow;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

impl Run for KeyArgs {
    fn run(&self, ctx: &Ctx, out: &mut dyn Write) -> anyhow::Result<()> {
        match (&self.find, &self.path, &self.proj_id) {
            (Some(key), _, _) => self.find(ctx, key, out),
            (None, Some(path), Some(proj)) => self.forward(ctx, path, proj, out),
            // clap requires PATH and PROJ_ID unless --find is given.
            _ => Err(Error::BadInput("give PATH and PROJ_ID, or --find KEY".into()).into()),
        }
    }
}

fn path_string(p: &Path) -> String {
    bytes_to_string(p.as_os_str().as_bytes())
}

/// Segments that have `key` now, and those marked for removal that were made with it.
fn with_key(inv: &Inventory, key: u32) -> (Option<&Segment>, Vec<&Segment>) {
    let sysv = || inv.segments.iter().filter(|s| s.kind == Kind::Sysv);
    let now = sysv().find(|s| s.key == Some(key));
    let former = sysv().filter(|s| s.former_key == Some(key)).collect();
    (now, former)
}

impl KeyArgs {
    fn forward(
        &self,
        ctx: &Ctx,
        path: &Path,
        proj: &str,
        out: &mut dyn Write,
    ) -> anyhow::Result<()> {
        let proj = ftok::parse_proj_id(proj).map_err(Error::BadInput)?;
        // ftok stats the path, following symlinks; so do we, but never out of the root (the
        // target's with --ns: an absolute or `../..` link stays inside it).
        let md = ctx
            .sys
            .stat_path(path, Follow::InRoot)
            .map_err(|e| Error::BadInput(crate::source::root::describe(path, &e)))?;
        let key = ftok::ftok_key(md.dev, md.ino, proj.bits);
        let inv = inventory::gather(&ctx.sys, Options::default())?;
        report_hidden(&inv);
        let (segment, former) = with_key(&inv, key);
        let answer = KeyAnswer {
            json: KeyJson {
                path: path_string(path),
                proj_id: proj.value,
                key: key_string(key),
                shmid: segment.and_then(|s| s.id),
            },
            proj_bits: proj.bits,
            dev: md.dev,
            ino: md.ino,
            segment,
            former,
        };
        if self.out.json {
            return crate::render::write_json(out, &answer.json);
        }
        with_view(ctx, self.out.bytes, |view| {
            render::write_answer(out, &answer, view)
        })?;
        Ok(())
    }

    fn find(&self, ctx: &Ctx, key: &str, out: &mut dyn Write) -> anyhow::Result<()> {
        use std::io::IsTerminal;
        let key = crate::units::parse_key(key).map_err(Error::BadInput)?;
        let parts = KeyParts::of(key);
        if parts.proj_id == 0 {
            return Err(Error::BadInput(format!(
                "key {} cannot come from ftok: its top 8 bits (the proj_id) are zero",
                key_string(key)
            ))
            .into());
        }
        let full = WalkLimits::default().max_depth;
        let roots = if self.dirs.is_empty() {
            default_roots(ctx, key)?
        } else {
            let mut roots = Vec::new();
            for d in &self.dirs {
                ctx.sys
                    .stat_path(d, Follow::InRoot)
                    .map_err(|e| Error::BadInput(crate::source::root::describe(d, &e)))?;
                roots.push(Root {
                    path: d.clone(),
                    depth: full,
                });
            }
            roots
        };
        // Every root is opened inside the root we look from (the target's with --ns).
        let open = |p: &Path| ctx.sys.open_path(p, Follow::InRoot);
        let shown = std::io::stderr().is_terminal();
        if shown {
            let _ = ftok::PROGRESS.set(show_progress);
        }
        let walk = ftok::find_files_in(&roots, &open, key, WalkLimits::default());
        if shown {
            clear_progress();
        }
        if walk.entry_cap_hit {
            note(&format!(
                "stopped after {} entries; narrow the search with --in DIR",
                walk.entries
            ));
        }
        if walk.depth_cap_hit {
            note(&format!(
                "directories deeper than {} levels were not searched",
                WalkLimits::default().max_depth
            ));
        }
        if walk.unreadable > 0 {
            note(&format!(
                "{} director(ies) could not be read (run as root to search everywhere)",
                walk.unreadable
            ));
        }
        let found = FindJson {
            key: key_string(key),
            proj_id: parts.proj_id,
            candidates: walk
                .candidates
                .iter()
                .map(|c| FoundFile {
                    path: path_string(&c.path),
                    inode: c.ino,
                    dev: crate::model::Dev(c.dev),
                    dev_decimal: format!("{}:{}", libc::major(c.dev), libc::minor(c.dev)),
                    is_dir: c.is_dir,
                })
                .collect(),
            searched: roots.iter().map(|r| path_string(&r.path)).collect(),
            entries: walk.entries,
            complete: !(walk.entry_cap_hit || walk.depth_cap_hit || walk.unreadable > 0),
        };
        if self.out.json {
            return crate::render::write_json(out, &found);
        }
        render::write_found(out, &found)?;
        Ok(())
    }
}

/// How deep below a process's working directory to look: ftok paths relative to it are short,
/// and the directory may well be `/`.
const CWD_DEPTH: usize = 2;

/// Where a key's file most likely is: near the working directories of the processes that made
/// or use segments with that key (programs often call `ftok(".", …)` or a relative path), then
/// the usual places for such files.
fn default_roots(ctx: &Ctx, key: u32) -> anyhow::Result<Vec<Root>> {
    let inv = inventory::gather(&ctx.sys, Options::default())?;
    let (now, former) = with_key(&inv, key);
    let mut pids: Vec<i32> = Vec::new();
    for s in now.into_iter().chain(former) {
        pids.extend(s.cpid);
        pids.extend(s.lpid);
        pids.extend(s.attacher_pids());
    }
    let mut roots: Vec<Root> = Vec::new();
    let mut add = |path: PathBuf, depth: usize| match roots.iter_mut().find(|r| r.path == path) {
        Some(r) => r.depth = r.depth.max(depth),
        None => roots.push(Root { path, depth }),
    };
    for pid in pids {
        if let Some(cwd) = ctx.sys.cwd(pid) {
            add(cwd, CWD_DEPTH);
        }
    }
    let full = WalkLimits::default().max_depth;
    for d in ["/tmp", "/var", "/run"] {
        add(PathBuf::from(d), full);
    }
    // As named inside the root the walk opens them in.
    add(ctx.sys.shm_dir.clone(), full);
    Ok(roots)
}

/// One progress line on a terminal's stderr, at most ten times a second: entries seen and the
/// directory being read (escaped, cut to the terminal's width).
fn show_progress(entries: u64, dir: &Path) {
    use std::sync::Mutex;
    use std::time::{Duration, Instant};
    static LAST: Mutex<Option<Instant>> = Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    if last.is_some_and(|t| t.elapsed() < Duration::from_millis(100)) {
        return;
    }
    *last = Some(Instant::now());
    let width = crate::render::table::terminal_width().unwrap_or(80).max(20);
    let head = format!("searching: {entries} entries, in ");
    let dir = crate::text::escape(&dir.to_string_lossy());
    let room = width.saturating_sub(head.len() + 1);
    let dir = crate::render::table::fit_cell(&dir, room, crate::render::table::Trunc::Middle);
    // Spaces, not an erase escape: with colour off no escape byte is ever printed.
    let line = format!("{head}{dir}");
    let used = crate::render::table::display_width(&line);
    let prev = PROGRESS_WIDTH.swap(used, std::sync::atomic::Ordering::Relaxed);
    eprint!("\r{line}{}", " ".repeat(prev.saturating_sub(used)));
}

/// Width of the progress line last printed (to overwrite it).
static PROGRESS_WIDTH: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Blank the progress line, leaving the cursor at its start.
fn clear_progress() {
    let prev = PROGRESS_WIDTH.swap(0, std::sync::atomic::Ordering::Relaxed);
    if prev > 0 {
        eprint!("\r{}\r", " ".repeat(prev));
    }
}
