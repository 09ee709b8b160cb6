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
    #[error("{what} vanished while it was being read")]
    Vanished { what: String },
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

fn hint(err: &anyhow::Error) -> Option<&'static str> {
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
