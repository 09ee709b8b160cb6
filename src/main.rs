//! shmtool's entry point: parse, run, map the outcome to an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    // A completion request from the shell (SHMTOOL_COMPLETE set) is answered here and exits.
    shmtool::complete::complete_if_asked();
    let cli = match shmtool::cli::parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match shmtool::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => shmtool::error::report(&err),
    }
}
