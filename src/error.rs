//! Domain errors, and how any error reaches the user: one line on stderr and an exit code.

use std::io;
use std::process::ExitCode;

/// Errors the domain raises on purpose; everything else arrives as `anyhow` context chains.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no System V segment with shmid {0}")]
    NoSuchShmid(i64),
    #[error("no System V segment with key {0}")]
    NoSuchKey(String),
    #[error("no such process: {0}")]
    NoSuchProcess(i32),
    #[error("no object matches {0:?}")]
    NoSuchObject(String),
    #[error("{0}")]
    BadInput(String),
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// An object that no longer exists, with what the trace log says became of it.
    #[error("{0}")]
    Gone(String),
    /// The target went away while we worked on it: a process exited, a segment was removed, a
    /// file was replaced. `what` names it ("process 4242"), `how` says what happened ("exited").
    #[error("{what} {how}")]
    Vanished { what: String, how: String },
    /// The kernel said no; `help` names what would be allowed (a capability, a uid).
    #[error("permission denied: {what}")]
    Refused { what: String, help: String },
    /// A read ended before the range did, while the target is still there.
    #[error("short read: only {got} of {wanted} bytes of {what} could be read (truncated under its mapping?)")]
    ShortRead { what: String, got: u64, wanted: u64 },
}

impl Error {
    /// `Vanished` from two phrases.
    pub fn vanished(what: impl Into<String>, how: impl Into<String>) -> Error {
        Error::Vanished {
            what: what.into(),
            how: how.into(),
        }
    }
}

/// Ends the program with this exit code, after the command has already said why.
#[derive(Debug, thiserror::Error)]
#[error("exit status {0}")]
pub struct Exit(pub u8);

/// Print `err` as one line (or nothing, for a closed pipe) and pick the exit code.
pub fn report(err: &anyhow::Error) -> ExitCode {
    if let Some(Exit(code)) = err.downcast_ref::<Exit>() {
        return ExitCode::from(*code);
    }
    if is_broken_pipe(err) {
        return ExitCode::SUCCESS;
    }
    let mut line = format!("shmtool: error: {err:#}");
    if let Some(hint) = hint(err) {
        line.push_str(" (hint: ");
        line.push_str(hint);
        line.push(')');
    }
    // Messages quote paths and names from the machine: escape them before they reach a terminal.
    eprintln!("{}", crate::text::escape(&line));
    ExitCode::from(1)
}

/// A reader that went away (`shmtool ls | head -1`) is not an error.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
            // serde_json wraps the writer's error in its own type.
            || cause
                .downcast_ref::<serde_json::Error>()
                .is_some_and(|e| e.io_error_kind() == Some(io::ErrorKind::BrokenPipe))
    })
}

fn hint(err: &anyhow::Error) -> Option<&str> {
    // A refusal knows what would help; no generic advice then.
    if let Some(help) = err
        .chain()
        .find_map(|cause| match cause.downcast_ref::<Error>() {
            Some(Error::Refused { help, .. }) => Some(help.as_str()),
            _ => None,
        })
    {
        return (!help.is_empty()).then_some(help);
    }
    // Root was refused for a reason running as root again will not change.
    // SAFETY: geteuid cannot fail and touches no memory.
    if unsafe { libc::geteuid() } == 0 {
        return None;
    }
    let denied = err.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<Error>(),
            Some(Error::PermissionDenied(_))
        ) || cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::PermissionDenied)
            || cause
                .downcast_ref::<nix::Error>()
                .is_some_and(|e| matches!(e, nix::Error::EACCES | nix::Error::EPERM))
    });
    denied.then_some("run as root, or as the owner, to read other users' memory and processes")
}
