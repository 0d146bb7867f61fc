//! `fleetgate run [--source servicebus|file:PATH] [--output text|json]`: the event worker.
//!
//! On Service Bus it runs until SIGTERM/SIGINT: the first signal stops receiving and lets in-flight
//! messages finish within `shutdown.grace` (the rest are abandoned), then exits 0; a second signal exits
//! at once (130). A replay file is processed line by line, in order, one message at a time, then the
//! command exits: 0 unless some message `failed`.
//!
//! On Service Bus with `resync.enabled`, a [`Resync`] loop runs beside the worker: every
//! `resync.interval` (±25 %) it sends a reconcile command per cluster to the same queue.

use std::io::Write;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use tokio::sync::mpsc::UnboundedReceiver;

use super::Exit;
use azure_core::credentials::TokenCredential;
use fleetgate::arm::{ArmClient, auth};
use fleetgate::config::{QueueAuthKind, Settings};
use fleetgate::dispatch::{Dispatcher, MessageOutcome};
use fleetgate::fleet::Selection;
use fleetgate::health::{self, Readiness};
use fleetgate::reconcile::Engine;
use fleetgate::source::{FileSource, QueueCredential, ServiceBusSource, Source, SourceError, SourceSpec, sas_key_from_env};
use fleetgate::worker::output::{report_json, report_text, summary_json, summary_text};
use fleetgate::worker::{MessageReport, Resync, Shutdown, Worker, WorkerOptions, WorkerSummary};

/// How often readiness is re-evaluated.
const HEALTH_CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Exit code after a second signal.
const EXIT_INTERRUPTED: i32 = 130;

/// Output of `fleetgate run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// One line per handled message, then `summary: …`.
    Text,
    /// JSON lines: `{"message","outcome","cluster","reason"}` per message, then `{"summary": {…}}`.
    Json,
}

/// Arguments of `fleetgate run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// `servicebus` (the [queue] settings) or `file:PATH` with one event per line (`file:-` = stdin).
    #[arg(long, default_value = "servicebus", value_name = "SOURCE")]
    source: String,
    /// Output format of the per-message lines and the summary.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    output: OutputFormat,
}

/// Runs the worker.
pub async fn run(args: RunArgs, settings: &Settings) -> anyhow::Result<Exit> {
    let spec = match SourceSpec::parse(&args.source) {
        Ok(spec) => spec,
        Err(e) => return usage(&e),
    };
    let credential = auth::credential_from_settings(&settings.azure)?;
    let shared = Arc::new(settings.clone());
    let engine = Engine::new(ArmClient::new(&settings.azure, &settings.scope.subscriptions, credential.clone())?, Arc::clone(&shared))?;
    let mut options = WorkerOptions::from_settings(settings);
    let serve_health = matches!(spec, SourceSpec::ServiceBus);
    let replay = matches!(spec, SourceSpec::File(_));
    let mut resync = None;
    let source: Arc<dyn Source> = match spec {
        SourceSpec::File(path) => {
            options.max_concurrency = 1;
            match FileSource::open(&path).await {
                Ok(source) => Arc::new(source),
                Err(e) => return usage(&e),
            }
        }
        SourceSpec::ServiceBus => {
            let queue_credential = match settings.queue.auth {
                QueueAuthKind::Sas => match sas_key_from_env(&settings.queue) {
                    Ok(key) => QueueCredential::Sas(key),
                    Err(e) => return usage(&e),
                },
                QueueAuthKind::Entra => QueueCredential::Entra(credential.clone()),
            };
            match ServiceBusSource::from_settings(&settings.queue, queue_credential) {
                Ok(source) => {
                    resync = resync_loop(settings, &engine, &source);
                    Arc::new(source)
                }
                Err(e) => return usage(&e),
            }
        }
    };
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let scope = engine.arm().scope().to_string();
    let worker = Worker::new(Dispatcher::new(engine, shared), source, options).with_reports(tx);
    let printer = tokio::spawn(print_reports(rx, args.output));
    let shutdown = Shutdown::new();
    if serve_health {
        start_health(settings, &worker, credential, scope, &shutdown).await?;
    }
    let signals = tokio::spawn(forward_signals(shutdown.clone(), settings.shutdown.grace));
    let resyncing = resync.map(|r| tokio::spawn(r.run(shutdown.clone())));
    let result = worker.run(shutdown).await;
    signals.abort();
    if let Some(task) = resyncing {
        task.abort();
    }
    let _ = printer.await;
    // A replay's exit status says whether every line was handled; a queue worker's failed messages were
    // abandoned for redelivery (or parked), so a graceful stop is a success whatever happened before.
    match result {
        Ok(summary) => Ok(finish(&summary, args.output, replay)),
        Err(e) => {
            finish(&e.summary, args.output, replay);
            eprintln!("error: {e}");
            Ok(Exit::Failure)
        }
    }
}

/// The resync loop over the worker's own queue, when `resync.enabled`.
fn resync_loop(settings: &Settings, engine: &Engine, source: &ServiceBusSource) -> Option<Resync> {
    if !settings.resync.enabled {
        return None;
    }
    let selection = match Selection::new(&settings.scope.subscriptions, &[], &[]) {
        Ok(selection) => selection,
        Err(e) => {
            tracing::warn!(error = %e, "resync disabled: no fleet to re-check (set scope.subscriptions)");
            return None;
        }
    };
    let (interval, batch) = (settings.resync.interval, settings.backfill.batch_size);
    tracing::info!(interval_s = interval.as_secs(), "resync enabled: the fleet is re-checked every interval (±25 %)");
    Some(Resync::new(engine.arm().clone(), selection, source.queue().clone(), interval, batch))
}

/// `/healthz` and `/readyz` on `health.listen`, fed from the worker's status and the credential.
async fn start_health(
    settings: &Settings,
    worker: &Worker,
    credential: Arc<dyn TokenCredential>,
    scope: String,
    shutdown: &Shutdown,
) -> anyhow::Result<()> {
    let addr: std::net::SocketAddr = settings.health.listen.parse()?;
    let readiness = Readiness::default();
    let stop = shutdown.clone();
    health::serve(addr, readiness.clone(), async move { stop.forced().await }).await?;
    tokio::spawn(health::watch_worker(readiness, worker.status(), credential, scope, HEALTH_CHECK_EVERY, shutdown.clone()));
    Ok(())
}

fn usage(e: &SourceError) -> anyhow::Result<Exit> {
    eprintln!("error: {e}");
    Ok(Exit::Usage)
}

/// Prints each report as it arrives.
async fn print_reports(mut rx: UnboundedReceiver<MessageReport>, output: OutputFormat) {
    while let Some(report) = rx.recv().await {
        let line = match output {
            OutputFormat::Json => report_json(&report).map(|v| v.to_string()),
            OutputFormat::Text => Some(report_text(&report)),
        };
        if let Some(line) = line {
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{line}");
            let _ = stdout.flush();
        }
    }
}

/// Prints the summary; exit 0, or 1 for a `replay` (file source) in which a message failed.
fn finish(summary: &WorkerSummary, output: OutputFormat, replay: bool) -> Exit {
    match output {
        OutputFormat::Json => println!("{}", summary_json(summary)),
        OutputFormat::Text => println!("{}", summary_text(summary)),
    }
    if replay && summary.count(MessageOutcome::Failed) > 0 { Exit::Failure } else { Exit::Success }
}

/// SIGTERM / SIGINT → `shutdown.request()`; the second signal exits the process at once.
async fn forward_signals(shutdown: Shutdown, grace: std::time::Duration) {
    loop {
        if let Err(e) = next_signal().await {
            tracing::warn!(error = %e, "cannot listen for SIGTERM/SIGINT; stop the worker with SIGKILL");
            return;
        }
        if shutdown.request() == 1 {
            eprintln!(
                "fleetgate: shutting down — no new messages; in-flight ones get up to {} s to finish, then are abandoned. Signal again to exit now.",
                grace.as_secs()
            );
        } else {
            eprintln!("fleetgate: second signal — exiting now; unsettled messages are delivered again when their locks expire");
            std::process::exit(EXIT_INTERRUPTED);
        }
    }
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
