//! One integration test binary: every module here runs the real `shmtool` against real
//! shared memory made by `fixtures`.

mod fixtures;

mod bad_inputs;
mod cli;
mod color;
mod dump;
mod generated;
mod hostile;
mod huge;
mod key;
mod limits;
mod ls;
mod maps;
mod programs;
mod prometheus;
mod races;
mod rm;
mod scan;
mod table;
mod watch;
