//! `shmtool generate` (not written yet).

use super::{Ctx, Run};
use crate::cli::GenerateArgs;
use std::io::Write;

impl Run for GenerateArgs {
    fn run(&self, _ctx: &Ctx, _out: &mut dyn Write) -> anyhow::Result<()> {
        anyhow::bail!("'generate' is not implemented yet")
    }
}
