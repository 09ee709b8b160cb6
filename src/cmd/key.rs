//! `shmtool key` (not written yet).

use super::{Ctx, Run};
use crate::cli::KeyArgs;
use std::io::Write;

impl Run for KeyArgs {
    fn run(&self, _ctx: &Ctx, _out: &mut dyn Write) -> anyhow::Result<()> {
        anyhow::bail!("'key' is not implemented yet")
    }
}
