//! Confirmation before writes, like `terraform apply`: the command shows what it will do, then asks on
//! the terminal; only `yes` approves. Without a terminal on standard input there is nobody to ask, so
//! the command refuses unless `--yes` (alias `--auto-approve`) was given.

use std::io::{IsTerminal, Write};

use tokio::sync::oneshot;

use fleetgate::worker::Shutdown;

/// What the user decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// `--yes`, or `yes` typed at the prompt.
    Approved,
    /// Anything else typed (or end of input).
    Declined,
    /// Standard input is not a terminal and `--yes` was not given: refused without asking.
    NoTerminal,
    /// SIGINT/SIGTERM while waiting for the answer.
    Interrupted,
}

/// The error printed for [`Decision::NoTerminal`] (`command`: `apply` or `backfill`).
pub fn no_terminal_message(command: &str) -> String {
    let saved = if command == "backfill" {
        "`fleetgate backfill --dry-run --out FILE`, then `fleetgate backfill --plan FILE`"
    } else {
        "`fleetgate plan … --out FILE`, then `fleetgate apply --plan FILE`"
    };
    format!(
        "refusing to write without confirmation: standard input is not a terminal, so fleetgate cannot ask. Review what `{command}` would do above, then run it again with --yes (or --auto-approve), or save the plan and apply exactly that: {saved}"
    )
}

/// Asks whether to go ahead with `what` (unless `yes`). The prompt goes to stderr; the answer is read
/// from stdin on a thread of its own, so a signal (`stop`) ends the wait at once.
pub async fn confirm(yes: bool, what: &str, stop: &Shutdown) -> Decision {
    if yes {
        return Decision::Approved;
    }
    if !std::io::stdin().is_terminal() {
        return Decision::NoTerminal;
    }
    {
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\nDo you want to perform these actions?\n  {what}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: "
        );
        let _ = err.flush();
    }
    let (tx, rx) = oneshot::channel();
    // A plain thread: a blocked read must not keep the runtime (or the process) alive after a signal.
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = std::io::stdin().read_line(&mut line).map(|_| line);
        let _ = tx.send(read);
    });
    tokio::select! {
        answer = rx => match answer {
            Ok(Ok(line)) => decide(&line),
            _ => Decision::Declined,
        },
        () = stop.requested() => Decision::Interrupted,
    }
}

/// Only `yes` (surrounding blanks ignored) approves.
fn decide(answer: &str) -> Decision {
    if answer.trim() == "yes" { Decision::Approved } else { Decision::Declined }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_yes_approves() {
        assert_eq!(decide("yes\n"), Decision::Approved);
        assert_eq!(decide("  yes \r\n"), Decision::Approved);
        for other in ["y\n", "YES\n", "no\n", "\n", ""] {
            assert_eq!(decide(other), Decision::Declined, "{other:?}");
        }
    }

    #[tokio::test]
    async fn yes_approves_without_a_terminal() {
        assert_eq!(confirm(true, "x", &Shutdown::new()).await, Decision::Approved);
        assert!(no_terminal_message("apply").contains("--yes (or --auto-approve)"));
    }
}
