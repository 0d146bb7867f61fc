//! SIGTERM / SIGINT for the long-running commands (`run`, `backfill`, the confirmation prompt): the first
//! signal requests a graceful stop on a [`Shutdown`] token; the second exits the process at once (130).

use tokio::task::JoinHandle;

use super::exit::Exit;
use fleetgate::worker::Shutdown;

/// Forwards signals to `shutdown` until aborted: prints `first` on the first signal, `second` on the
/// second and exits with 130.
pub fn forward(shutdown: Shutdown, first: String, second: &'static str) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(e) = next_signal().await {
                tracing::warn!(error = %e, "cannot listen for SIGTERM/SIGINT; stop fleetgate with SIGKILL");
                return;
            }
            if shutdown.request() == 1 {
                eprintln!("\nfleetgate: {first}");
            } else {
                eprintln!("\nfleetgate: {second}");
                std::process::exit(i32::from(Exit::Interrupted.code()));
            }
        }
    })
}

#[cfg(unix)]
async fn next_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}

#[cfg(not(unix))]
async fn next_signal() -> std::io::Result<()> {
    tokio::signal::ctrl_c().await
}
