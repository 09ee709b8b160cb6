//! `shmtool watch` (not written yet).

use super::{Ctx, Run};
use crate::cli::WatchArgs;
use std::io::Write;

impl Run for WatchArgs {
    fn run(&self, _ctx: &Ctx, _out: &mut dyn Write) -> anyhow::Result<()> {
        anyhow::bail!("'watch' is not implemented yet")
    }
}
