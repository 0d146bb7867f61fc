//! The `fleetgate` binary: the only place that uses `anyhow`; it parses the command line, runs the
//! command on a tokio runtime and maps outcomes to exit codes (see [`cli::Exit`]).

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
