//! `shmtool show <ID>`: one object in full.

use super::ls::report_hidden;
use super::{Ctx, Run};
use crate::cli::ShowArgs;
use crate::error::Error;
use crate::model::{Kind, Segment};
use crate::render::segments;
use crate::source::inventory::Options;
use crate::units::{parse_hex_addr, parse_key};
use std::io::Write;

/// What the user typed for ID, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    Shmid(i64),
    Key(u32),
    /// A POSIX name, a path or a memfd name; also tried for a number no segment has.
    Name(String),
    At {
        pid: i32,
        addr: u64,
    },
}

/// Parse an ID for `show`.
pub fn parse_id(id: &str) -> Result<Wanted, Error> {
    let t = id.trim();
    if t.is_empty() {
        return Err(Error::BadInput("empty ID".into()));
    }
    if let Some((pid, addr)) = t.split_once(':') {
        if let (Ok(pid), Some(addr)) = (pid.parse::<i32>(), parse_hex_addr(addr)) {
            return Ok(Wanted::At { pid, addr });
        }
    }
    if t.starts_with("0x") || t.starts_with("0X") {
        return parse_key(t).map(Wanted::Key).map_err(Error::BadInput);
    }
    if let Ok(n) = t.parse::<i64>() {
        return Ok(Wanted::Shmid(n));
    }
    Ok(Wanted::Name(t.to_string()))
}

fn addr_in(seg: &Segment, pid: i32, addr: u64) -> bool {
    seg.attachers
        .iter()
        .any(|a| a.pid == pid && a.start <= addr && addr < a.end)
}

/// Find the one object `wanted` names.
pub fn find<'a>(rows: &'a [Segment], wanted: &Wanted, shm_dir: &str) -> Option<&'a Segment> {
    let sysv = || rows.iter().filter(|s| s.kind == Kind::Sysv);
    match wanted {
        Wanted::Shmid(n) => sysv()
            .find(|s| s.id == Some(*n))
            .or_else(|| find(rows, &Wanted::Name(n.to_string()), shm_dir)),
        Wanted::Key(k) => sysv()
            .find(|s| s.key == Some(*k))
            .or_else(|| sysv().find(|s| s.former_key == Some(*k))),
        Wanted::At { pid, addr } => rows.iter().find(|s| addr_in(s, *pid, *addr)),
        Wanted::Name(name) => {
            let in_shm = format!("{}/{}", shm_dir.trim_end_matches('/'), name);
            let memfd = format!("memfd:{name}");
            rows.iter()
                .find(|s| s.path.as_deref() == Some(name.as_str()))
                .or_else(|| {
                    rows.iter().find(|s| {
                        s.path.as_deref() == Some(in_shm.as_str())
                            || s.path.as_deref() == Some(memfd.as_str())
                    })
                })
        }
    }
}

impl Run for ShowArgs {
    fn run(&self, ctx: &Ctx, out: &mut dyn Write) -> anyhow::Result<()> {
        let wanted = parse_id(&self.id)?;
        let inv = super::gather(
            &ctx.sys,
            Options {
                include_readonly_files: true,
                exact_memfds: true,
                messaging: false,
            },
        )?;
        let shm_dir = ctx.sys.shm_dir.to_string_lossy();
        let Some(seg) = find(&inv.segments, &wanted, &shm_dir) else {
            if let Wanted::At { pid, .. } = wanted {
                if !ctx.sys.alive(pid) {
                    return Err(Error::NoSuchProcess(pid).into());
                }
            }
            if let Some(how) = super::history::removal(&self.log, &wanted, &shm_dir) {
                let what = match wanted {
                    Wanted::Shmid(n) => Error::NoSuchShmid(n).to_string(),
                    Wanted::Key(k) => Error::NoSuchKey(crate::model::key_string(k)).to_string(),
                    _ => Error::NoSuchObject(self.id.clone()).to_string(),
                };
                return Err(Error::Gone(format!("{what}: {how}")).into());
            }
            return Err(match wanted {
                Wanted::Shmid(n) => Error::NoSuchShmid(n),
                Wanted::Key(k) => Error::NoSuchKey(crate::model::key_string(k)),
                _ => Error::NoSuchObject(self.id.clone()),
            }
            .into());
        };
        report_hidden(&inv);
        let waiters = super::locks::waiters_on(&ctx.sys, &inv, seg);
        if self.out.json {
            // An `ls` row, plus the threads blocked on locks in it.
            let mut row = serde_json::to_value(seg)?;
            if let Some(fields) = row.as_object_mut() {
                fields.insert("waiters".into(), serde_json::to_value(&waiters)?);
            }
            return crate::render::write_json(out, &row);
        }
        super::with_view(ctx, self.out.bytes, |view| {
            segments::write_detail(out, seg, view)
        })?;
        crate::render::locks::write_waiters(out, &waiters, ctx.color)?;
        self.write_history(out, seg, &shm_dir)?;
        Ok(())
    }
}

impl ShowArgs {
    /// The object's past from the trace log, when there is one.
    fn write_history(
        &self,
        out: &mut dyn Write,
        seg: &Segment,
        shm_dir: &str,
    ) -> anyhow::Result<()> {
        let wanted = match (seg.kind, seg.id, &seg.path) {
            (Kind::Sysv, Some(id), _) => Wanted::Shmid(id),
            (_, _, Some(path)) => Wanted::Name(path.clone()),
            _ => return Ok(()),
        };
        let lines = super::history::story(&self.log, &wanted, shm_dir);
        if lines.is_empty() {
            return Ok(());
        }
        writeln!(out, "\nHistory (trace log {}):", self.log.display())?;
        for l in lines {
            writeln!(out, "  {}", crate::render::sanitize::escape(&l))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert_eq!(parse_id("123").unwrap(), Wanted::Shmid(123));
        assert_eq!(parse_id("0x6f20d677").unwrap(), Wanted::Key(0x6f20d677));
        assert_eq!(
            parse_id("4242:7f00").unwrap(),
            Wanted::At {
                pid: 4242,
                addr: 0x7f00
            }
        );
        assert_eq!(
            parse_id("/dev/shm/x").unwrap(),
            Wanted::Name("/dev/shm/x".into())
        );
        assert!(parse_id("0xnothex").is_err());
        assert!(parse_id("").is_err());
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn ids_never_panic(s in "\\PC{0,30}") {
            let _ = parse_id(&s);
        }

        #[test]
        fn printed_ids_round_trip(shmid in 0i64..i32::MAX as i64, key in any::<u32>(),
                                  pid in 1i32..i32::MAX, addr in any::<u64>()) {
            prop_assert_eq!(parse_id(&shmid.to_string()).unwrap(), Wanted::Shmid(shmid));
            prop_assert_eq!(parse_id(&crate::model::key_string(key)).unwrap(), Wanted::Key(key));
            prop_assert_eq!(
                parse_id(&format!("{pid}:{}", crate::model::hex_addr(addr))).unwrap(),
                Wanted::At { pid, addr }
            );
        }
    }
}
