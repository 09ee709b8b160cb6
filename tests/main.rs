//! One integration test binary: every module here runs the real `shmtool` against real
//! shared memory made by `fixtures`.

mod fixtures;

mod cli;
mod dump;
mod ls;
mod programs;
mod watch;
