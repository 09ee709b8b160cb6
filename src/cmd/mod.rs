//! One file per subcommand, each implementing [`Run`] over its clap arguments.

pub mod dump;
pub mod generate;
pub mod history;
pub mod key;
pub mod limits;
pub mod locks;
pub mod ls;
pub mod maps;
pub mod restore;
pub mod rm;
pub mod scope;
pub mod show;
pub mod trace;
pub mod types;
pub mod watch;

use crate::cli::Cli;
use crate::render::color::{self, Palette};
use crate::source::Sys;
use std::io::{IsTerminal, Write};

/// What every command needs besides its own arguments, decided once at start-up.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub sys: Sys,
    /// Whether to colour standard output.
    pub color: bool,
    /// Whether standard output is a terminal (for redraws and the raw-bytes guard).
    pub stdout_tty: bool,
}

impl Ctx {
    pub fn new(cli: &Cli) -> Ctx {
        let stdout_tty = std::io::stdout().is_terminal();
        crate::render::table::set_width(if cli.wide {
            None
        } else {
            crate::render::table::terminal_width()
        });
        let mut sys = Sys::new(&cli.proc_root, &cli.shm_dir);
        sys.mqueue_dir = cli.mqueue_dir.clone();
        Ctx {
            sys,
            color: color::decide(cli.color, stdout_tty),
            stdout_tty,
        }
    }

    pub fn palette(&self) -> Palette {
        Palette { on: self.color }
    }
}

/// A subcommand.
pub trait Run {
    fn run(&self, ctx: &Ctx, out: &mut dyn Write) -> anyhow::Result<()>;
}

/// Gather the inventory and put its verdicts into words (the JSON `stale_reason`).
pub fn gather(
    sys: &Sys,
    opts: crate::source::inventory::Options,
) -> anyhow::Result<crate::source::inventory::Inventory> {
    let mut inv = crate::source::inventory::gather(sys, opts)?;
    crate::render::verdict::annotate(&mut inv.segments);
    Ok(inv)
}

static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Silence [`note`] from now on (`ls --quiet`).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, std::sync::atomic::Ordering::Relaxed);
}

/// Say something once on stderr that is not an error (e.g. how much was hidden from us).
pub fn note(msg: &str) {
    if QUIET.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    eprintln!("shmtool: note: {}", crate::render::sanitize::escape(msg));
}

/// ` (run as root)`-style advice, or nothing when we are root already (then the cause is
/// elsewhere: a security module, a sandbox, another user namespace).
pub fn unless_root(hint: &'static str) -> &'static str {
    if nix::unistd::geteuid().is_root() {
        ""
    } else {
        hint
    }
}

/// Run `f` with the view of rows this context and `--bytes` ask for (user names looked up once
/// each, ages counted from now).
pub fn with_view<R>(
    ctx: &Ctx,
    exact_bytes: bool,
    f: impl FnOnce(&crate::render::segments::View) -> R,
) -> R {
    let users = crate::source::users::Users::default();
    let owner = |u: u32| users.name(u);
    f(&crate::render::segments::View {
        color: ctx.color,
        exact_bytes,
        now: ls::now(),
        owner: &owner,
        namespaces: false,
        reasons: false,
        programs: false,
    })
}
