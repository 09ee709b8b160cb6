//! `shmtool maps` (not written yet).

use super::{Ctx, Run};
use crate::cli::MapsArgs;
use std::io::Write;

impl Run for MapsArgs {
    fn run(&self, _ctx: &Ctx, _out: &mut dyn Write) -> anyhow::Result<()> {
        anyhow::bail!("'maps' is not implemented yet")
    }
}
