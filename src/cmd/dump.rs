//! `shmtool dump` (not written yet).

use super::{Ctx, Run};
use crate::cli::DumpArgs;
use std::io::Write;

impl Run for DumpArgs {
    fn run(&self, _ctx: &Ctx, _out: &mut dyn Write) -> anyhow::Result<()> {
        anyhow::bail!("'dump' is not implemented yet")
    }
}
