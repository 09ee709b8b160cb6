//! One integration test binary: every module here runs the real `shmtool` against real
//! shared memory made by `fixtures`.

mod fixtures;

mod accounting;
mod bad_inputs;
mod cli;
mod color;
mod completion;
mod containers;
mod dump;
mod generated;
mod hostile;
mod hostile_root;
mod huge;
mod ipc;
mod ipcshow;
mod key;
mod layers;
mod limits;
mod locks;
mod lookup;
mod ls;
mod many;
mod maps;
mod mounts;
mod programs;
mod prometheus;
mod races;
mod removeipc;
mod rm;
mod scan;
mod schema;
mod table;
mod trace;
mod types;
mod verdicts;
mod watch;
