//! `fleetgate run [--source servicebus|file:PATH] [--output text|json]`: the event worker.
//!
//! On Service Bus it runs until SIGTERM/SIGINT: the first signal stops receiving and lets in-flight
//! messages finish within `shutdown.grace` (the rest are abandoned), then exits 0; a second signal exits
//! at once (130). A replay file is processed line by line, in order, one message at a time, then the
//! command exits as its summary says (README "Exit codes"): 1 when a message failed or was rejected,
//! 3 when one was blocked or excluded, else 0.
//!
//! `--output json` prints JSON lines, each with `schema_version`: one per message (`message`,
//! `outcome`, `cluster`, `reason`, and `blockers` with their codes for a blocked message), then
//! `{"schema_version", "summary": {…}}` (`docs/schemas/run.schema.json`).
//!
//! On Service Bus with `resync.enabled`, a [`Resync`] loop runs beside the worker: every
//! `resync.interval` (±25 %) it sends a reconcile command per cluster to the same queue.

use std::io::Write;
use std::sync::Arc;

use clap::Args;
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;

use super::exit::Exit;
use super::output::Output;
use super::signals;
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

/// Arguments of `fleetgate run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// `servicebus` (the [queue] settings) or `file:PATH` with one event per line (`file:-` = stdin).
    #[arg(long, default_value = "servicebus", value_name = "SOURCE")]
    source: String,
    /// Output of the per-message lines and the summary: text, or JSON lines.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    output: Output,
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
    // The Service Bus worker never waits on Azure's clock (busy clusters are re-checked by scheduled
    // commands); a replay file has no queue to defer to, so it waits in-process.
    let engine = if replay || !settings.defer.enabled { engine } else { engine.deferring() };
    let worker = Worker::new(Dispatcher::new(engine, shared), source, options).with_reports(tx);
    let printer = tokio::spawn(print_reports(rx, args.output));
    let shutdown = Shutdown::new();
    if serve_health {
        start_health(settings, &worker, credential, scope, &shutdown).await?;
    }
    let first = format!(
        "shutting down — no new messages; in-flight ones get up to {} s to finish, then are abandoned. Signal again to exit now.",
        settings.shutdown.grace.as_secs()
    );
    let second = "second signal — exiting now; unsettled messages are delivered again when their locks expire";
    let signals = signals::forward(shutdown.clone(), first, second);
    let resyncing = resync.map(|r| tokio::spawn(r.run(shutdown.clone())));
    // On a worker thread, not the main thread `block_on` polls: the receive loop is woken after every
    // message, and a wake-up that must unpark the main thread is a thread hand-off each time.
    let result = match tokio::spawn(worker.run(shutdown)).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => anyhow::bail!("the worker's task ended unexpectedly: {e}"),
    };
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
    Some(
        Resync::new(engine.arm().clone(), selection, source.queue().clone(), interval, batch)
            .with_fleet_status(Arc::new(settings.clone()), engine.policy().clone()),
    )
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

/// Prints each report as it arrives; reports that arrived together are written with one write.
async fn print_reports(mut rx: UnboundedReceiver<MessageReport>, output: Output) {
    let mut text = String::new();
    while let Some(report) = rx.recv().await {
        let mut next = Some(report);
        while let Some(report) = next {
            if let Some(line) = report_line(&report, output) {
                text.push_str(&line);
                text.push('\n');
            }
            next = rx.try_recv().ok();
        }
        if !text.is_empty() {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(text.as_bytes());
            let _ = stdout.flush();
            text.clear();
        }
    }
}

/// A report's line as `--output` says (`None`: a message interrupted by shutdown, in JSON).
fn report_line(report: &MessageReport, output: Output) -> Option<String> {
    match output {
        Output::Json => report_json(report).map(|v| versioned_line(v).to_string()),
        Output::Text => Some(report_text(report)),
    }
}

/// A message's JSON line with `schema_version` first and, for a blocked message, its `blockers` parsed
/// from the reason (`code: message`).
fn versioned_line(line: Value) -> Value {
    let mut out = serde_json::Map::new();
    out.insert("schema_version".into(), json!(fleetgate::fleet::OUTPUT_SCHEMA_VERSION));
    let blocked = line.get("outcome").and_then(Value::as_str) == Some(MessageOutcome::Blocked.label());
    let blockers = line.get("reason").and_then(Value::as_str).filter(|_| blocked).and_then(blocker_of);
    if let Value::Object(fields) = line {
        out.extend(fields);
    }
    out.insert("blockers".into(), Value::Array(blockers.into_iter().collect()));
    Value::Object(out)
}

/// `{"code", "message"}` from a blocked message's reason `code: message`, when the code is a blocker code.
fn blocker_of(reason: &str) -> Option<Value> {
    let (code, message) = reason.split_once(": ")?;
    serde_json::from_value::<fleetgate::core::BlockerCode>(json!(code)).ok()?;
    Some(json!({"code": code, "message": message}))
}

/// Prints the summary and gives the exit code: a queue worker that stopped gracefully exits 0 (its
/// failed messages were abandoned for redelivery or parked); a replay (`file:`) exits as its summary
/// says: 1 when a message failed or was rejected, 3 when one was blocked or excluded, else 0.
fn finish(summary: &WorkerSummary, output: Output, replay: bool) -> Exit {
    match output {
        Output::Json => {
            let mut line = summary_json(summary);
            line["schema_version"] = json!(fleetgate::fleet::OUTPUT_SCHEMA_VERSION);
            println!("{line}");
        }
        Output::Text => println!("{}", summary_text(summary)),
    }
    if replay { replay_exit(summary) } else { Exit::Success }
}

/// The exit code of a replay.
fn replay_exit(summary: &WorkerSummary) -> Exit {
    let any = |outcomes: &[MessageOutcome]| outcomes.iter().any(|o| summary.count(*o) > 0);
    if any(&[MessageOutcome::Failed, MessageOutcome::Rejected]) {
        Exit::Failure
    } else if any(&[MessageOutcome::Blocked, MessageOutcome::Excluded]) {
        Exit::Blocked
    } else {
        Exit::Success
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_exit_codes_follow_the_table() {
        let mut s = WorkerSummary::default();
        s.outcomes.insert(MessageOutcome::Converged, 2);
        s.outcomes.insert(MessageOutcome::Ignored, 1);
        assert_eq!(replay_exit(&s), Exit::Success);
        s.outcomes.insert(MessageOutcome::Excluded, 1);
        assert_eq!(replay_exit(&s), Exit::Blocked);
        s.outcomes.insert(MessageOutcome::Rejected, 1);
        assert_eq!(replay_exit(&s), Exit::Failure);
    }

    #[test]
    fn blocked_lines_carry_their_blocker_code() {
        let line = json!({"message": 3, "outcome": "blocked", "cluster": null, "reason": "oidc_issuer_disabled: cluster x has it off"});
        let v = versioned_line(line);
        assert_eq!(v["schema_version"], json!(1));
        assert_eq!(v["blockers"], json!([{"code": "oidc_issuer_disabled", "message": "cluster x has it off"}]));
        let ignored = versioned_line(json!({"message": 1, "outcome": "ignored", "cluster": null, "reason": "out_of_scope"}));
        assert_eq!(ignored["blockers"], json!([]));
        assert!(blocker_of("not_a_code: x").is_none());
    }
}
