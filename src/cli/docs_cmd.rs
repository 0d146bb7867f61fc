//! `fleetgate completions SHELL` and `fleetgate man`: shell completions (clap_complete) and manual
//! pages (clap_mangen) generated from the same command definitions the parser uses, so they never
//! drift from the real flags.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use clap_complete::Shell;

use super::exit::Exit;

/// Arguments of `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum)]
    shell: Shell,
}

/// Arguments of `man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write fleetgate.1 and one page per command (fleetgate-plan.1, …) into DIR instead of printing
    /// fleetgate.1 to stdout.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

/// Prints the completion script for `args.shell` to stdout (e.g. `fleetgate completions bash >
/// /etc/bash_completion.d/fleetgate`).
pub fn completions(args: CompletionsArgs, mut cmd: clap::Command) -> anyhow::Result<Exit> {
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut cmd, "fleetgate", &mut out);
    out.flush()?;
    Ok(Exit::Success)
}

/// Prints fleetgate(1) in roff to stdout, or writes every page into `--out-dir`.
pub fn man(args: ManArgs, cmd: clap::Command) -> anyhow::Result<Exit> {
    match args.out_dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir)?;
            clap_mangen::generate_to(cmd, &dir)?;
            eprintln!("wrote the manual pages to {}", dir.display());
        }
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(cmd).render(&mut out)?;
            out.flush()?;
        }
    }
    Ok(Exit::Success)
}
