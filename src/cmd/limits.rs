//! `shmtool limits`: the kernel's System V limits, /dev/shm's size, and current use of each.
//! Read by `source::limits`, written by `render::limits`.

use super::{Ctx, Run};
use crate::cli::LimitsArgs;
use crate::render::limits::{write_containers, write_remove_ipc, write_table};
use crate::source::limits::{gather, other_dev_shms};
use std::io::Write;

impl Run for LimitsArgs {
    fn run(&self, ctx: &Ctx, out: &mut dyn Write) -> anyhow::Result<()> {
        let mut l = gather(&ctx.sys, true)?;
        if self.all_namespaces {
            let (mounts, unreadable) = other_dev_shms(&ctx.sys);
            if unreadable > 0 {
                super::note(&format!(
                    "{unreadable} mount namespace(s) could not be looked into{}",
                    super::unless_root(" (run as root)")
                ));
            }
            l.dev_shm_containers = Some(mounts);
        }
        if self.out.json {
            return crate::render::write_json(out, &l);
        }
        write_table(out, &l, self.out.bytes, ctx.color)?;
        if let Some(mounts) = &l.dev_shm_containers {
            write_containers(out, l.dev_shm.as_ref(), mounts, self.out.bytes, ctx.color)?;
        }
        if let Some(risk) = &l.remove_ipc {
            let users = crate::source::users::Users::default();
            write_remove_ipc(out, risk, &|uid| users.name(uid), &ctx.palette())?;
        }
        Ok(())
    }
}
