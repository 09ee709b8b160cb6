//! `shmtool maps <PID>`: every mapping of one process, classified, with the size, RSS, PSS and
//! swap smaps gives it — the figures `pmap -X` prints, in bytes.

use super::{Ctx, Run};
use crate::cli::MapsArgs;
use crate::render::maps::write_table;
use crate::source::mappings::gather;
use std::io::Write;

impl Run for MapsArgs {
    fn run(&self, ctx: &Ctx, out: &mut dyn Write) -> anyhow::Result<()> {
        let rows = gather(&ctx.sys, self.pid, self.shared)?;
        if rows.is_empty() && !self.shared {
            super::note(&format!(
                "process {} maps no memory (a kernel thread or a zombie)",
                self.pid
            ));
        }
        if self.out.json {
            return crate::render::write_json(out, &rows);
        }
        write_table(out, &rows, self.out.bytes, ctx.color)?;
        Ok(())
    }
}
