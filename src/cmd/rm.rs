//! `shmtool rm` (not written yet).

use super::{Ctx, Run};
use crate::cli::RmArgs;
use std::io::Write;

impl Run for RmArgs {
    fn run(&self, _ctx: &Ctx, _out: &mut dyn Write) -> anyhow::Result<()> {
        anyhow::bail!("'rm' is not implemented yet")
    }
}
