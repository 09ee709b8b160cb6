//! `shmtool limits`: the kernel's System V limits, /dev/shm's size, and current use of each.

use super::{Ctx, Run};
use crate::cli::LimitsArgs;
use crate::render::table::TableWriter;
use crate::units::size_cell;
use serde::Serialize;
use std::io::Write;

/// The limits and their use; the JSON of `limits --json`.
#[derive(Debug, Serialize)]
pub struct Limits {
    /// Largest segment allowed, bytes (kernel.shmmax).
    pub shmmax: Option<u64>,
    /// Largest segment that exists, bytes.
    pub largest_segment: u64,
    /// Total System V memory allowed, in pages (kernel.shmall).
    pub shmall_pages: Option<u64>,
    /// The same in bytes.
    pub shmall_bytes: Option<u64>,
    /// Pages used by all segments (each rounded up to whole pages, as the kernel counts).
    pub used_pages: u64,
    pub page_size: u64,
    /// Most segments allowed (kernel.shmmni).
    pub shmmni: Option<u64>,
    /// Segments that exist.
    pub segments: u64,
    /// Whether segments nobody attaches are removed when their creator exits.
    pub shm_rmid_forced: Option<bool>,
    pub dev_shm: Option<DevShm>,
}

/// Size and use of the /dev/shm filesystem.
#[derive(Debug, Serialize)]
pub struct DevShm {
    pub path: String,
    pub size: u64,
    pub used: u64,
    pub available: u64,
    pub inodes: u64,
    pub inodes_used: u64,
}

fn read_u64(ctx: &Ctx, name: &str) -> Option<u64> {
    let text = std::fs::read_to_string(ctx.sys.proc_root.join("sys/kernel").join(name)).ok()?;
    text.trim().parse().ok()
}

/// Gather the limits.
pub fn gather(ctx: &Ctx) -> anyhow::Result<Limits> {
    let recs = ctx.sys.sysv_segments()?;
    let page_size = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .map(|p| p as u64)
        .unwrap_or(4096);
    let shmall_pages = read_u64(ctx, "shmall");
    let dev_shm = nix::sys::statvfs::statvfs(&ctx.sys.shm_dir)
        .ok()
        // fsblkcnt_t and friends are not u64 on every target.
        .map(|s| {
            #[allow(clippy::unnecessary_cast)]
            let frag = s.fragment_size() as u64;
            #[allow(clippy::unnecessary_cast)]
            DevShm {
                path: ctx.sys.shm_dir.to_string_lossy().into_owned(),
                size: s.blocks() as u64 * frag,
                used: (s.blocks() as u64).saturating_sub(s.blocks_free() as u64) * frag,
                available: s.blocks_available() as u64 * frag,
                inodes: s.files() as u64,
                inodes_used: (s.files() as u64).saturating_sub(s.files_free() as u64),
            }
        });
    Ok(Limits {
        shmmax: read_u64(ctx, "shmmax"),
        largest_segment: recs.iter().map(|r| r.size).max().unwrap_or(0),
        shmall_bytes: shmall_pages.map(|p| p.saturating_mul(page_size)),
        shmall_pages,
        used_pages: recs.iter().map(|r| r.size.div_ceil(page_size)).sum(),
        page_size,
        shmmni: read_u64(ctx, "shmmni"),
        segments: recs.len() as u64,
        shm_rmid_forced: read_u64(ctx, "shm_rmid_forced").map(|v| v != 0),
        dev_shm,
    })
}

fn pct(used: u64, limit: Option<u64>) -> String {
    match limit {
        Some(l) if l > 0 => format!("{:.1}%", used as f64 * 100.0 / l as f64),
        _ => "-".into(),
    }
}

impl Run for LimitsArgs {
    fn run(&self, ctx: &Ctx, out: &mut dyn Write) -> anyhow::Result<()> {
        let l = gather(ctx)?;
        if self.out.json {
            return crate::render::write_json(out, &l);
        }
        let b = self.out.bytes;
        let size = |v: Option<u64>| v.map(|v| size_cell(v, b)).unwrap_or_else(|| "-".into());
        let mut t = TableWriter::new(
            &[
                ("LIMIT", false),
                ("VALUE", true),
                ("IN USE", true),
                ("USE", true),
                ("MEANING", false),
            ],
            ctx.color,
        );
        t.row(&[
            "shmmax".to_string(),
            size(l.shmmax),
            size_cell(l.largest_segment, b),
            pct(l.largest_segment, l.shmmax),
            "largest System V segment (in use: the largest that exists)".into(),
        ]);
        t.row(&[
            "shmall".to_string(),
            size(l.shmall_bytes),
            size_cell(l.used_pages * l.page_size, b),
            pct(l.used_pages, l.shmall_pages),
            format!(
                "all System V segments together ({} pages of {} bytes)",
                l.shmall_pages.map(|p| p.to_string()).unwrap_or("-".into()),
                l.page_size
            ),
        ]);
        t.row(&[
            "shmmni".to_string(),
            l.shmmni.map(|v| v.to_string()).unwrap_or("-".into()),
            l.segments.to_string(),
            pct(l.segments, l.shmmni),
            "number of System V segments".into(),
        ]);
        if let Some(d) = &l.dev_shm {
            t.row(&[
                d.path.clone(),
                size_cell(d.size, b),
                size_cell(d.used, b),
                pct(d.used, Some(d.size)),
                "POSIX shared memory filesystem (tmpfs)".into(),
            ]);
            t.row(&[
                format!("{} inodes", d.path),
                d.inodes.to_string(),
                d.inodes_used.to_string(),
                pct(d.inodes_used, Some(d.inodes)),
                "files in it".into(),
            ]);
        }
        t.write(out)?;
        if let Some(f) = l.shm_rmid_forced {
            writeln!(
                out,
                "\nkernel.shm_rmid_forced = {} ({})",
                f as u8,
                if f {
                    "segments nobody attaches are removed when their creator exits"
                } else {
                    "segments outlive their creator until removed"
                }
            )?;
        }
        Ok(())
    }
}
