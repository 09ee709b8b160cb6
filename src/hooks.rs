//! Pause points for race tests. With `SHMTOOL_PAUSE_AT=<name>` in the environment, the process
//! stops itself (SIGSTOP) when it reaches the point of that name, so a test can change the world
//! between two steps (remove a segment, end a process, truncate a file, reuse an id) and then
//! let it go on with SIGCONT. Without the variable a pause point costs one cached lookup.

use std::sync::OnceLock;

static WANTED: OnceLock<Option<String>> = OnceLock::new();

/// Stop here if the environment asks for this point.
pub fn pause_point(name: &str) {
    let wanted = WANTED.get_or_init(|| std::env::var("SHMTOOL_PAUSE_AT").ok());
    if wanted.as_deref() == Some(name) {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGSTOP);
    }
}
