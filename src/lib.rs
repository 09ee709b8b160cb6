//! shmtool: live shared memory on Linux, made visible and safe to handle.
//!
//! Data flows one way: [`source`] reads the kernel, [`model`] holds plain rows, [`cmd`] decides
//! what to show, and [`render`] writes it. `render` never reads /proc; `source` never prints.

pub mod attach;
pub mod cli;
pub mod cmd;
pub mod complete;
pub mod error;
pub mod hooks;
pub mod model;
pub mod render;
pub mod source;
pub mod text;
pub mod units;

use cmd::Run;

/// Run one parsed command line to completion.
pub fn run(cli: cli::Cli) -> anyhow::Result<()> {
    let mut ctx = cmd::Ctx::new(&cli);
    if let Some(pid) = cli.ns {
        // Before any thread exists: the whole command then runs in that namespace.
        ctx.sys.enter_namespace_of(pid)?;
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = match &cli.command {
        cli::Command::Ls(a) => a.run(&ctx, &mut out),
        cli::Command::Show(a) => a.run(&ctx, &mut out),
        cli::Command::Maps(a) => a.run(&ctx, &mut out),
        cli::Command::Key(a) => a.run(&ctx, &mut out),
        cli::Command::Dump(a) => a.run(&ctx, &mut out),
        cli::Command::Watch(a) => a.run(&ctx, &mut out),
        cli::Command::Rm(a) => a.run(&ctx, &mut out),
        cli::Command::Limits(a) => a.run(&ctx, &mut out),
        cli::Command::Restore(a) => a.run(&ctx, &mut out),
        cli::Command::Types(a) => a.run(&ctx, &mut out),
        cli::Command::Trace(a) => a.run(&ctx, &mut out),
        cli::Command::History(a) => a.run(&ctx, &mut out),
        cli::Command::Locks(a) => a.run(&ctx, &mut out),
        cli::Command::Generate(a) => a.run(&ctx, &mut out),
    };
    // Flush even after an error so that what was printed before it is not lost.
    let flushed = std::io::Write::flush(&mut out);
    result?;
    flushed?;
    Ok(())
}
