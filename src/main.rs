//! shmtool's entry point: parse, run, map the outcome to an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match shmtool::cli::parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match shmtool::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => shmtool::error::report(&err),
    }
}
