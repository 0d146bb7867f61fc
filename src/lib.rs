//! # fleetgate
//!
//! Automates Microsoft Defender for Containers *gated deployment* on AKS fleets: for every cluster in
//! scope it makes sure the Defender plan extensions, a gating managed identity, a federated identity
//! credential for the admission controller, AcrPull on every registry the cluster uses, and the
//! cluster's `securityProfile.defender.securityGating` entries exist — and changes nothing else.
//!
//! # Layout
//!
//! Data flows **event → trigger → observe → plan → apply**:
//!
//! - [`id`]: strict, case-insensitive ARM resource IDs. Everything that names a resource goes through it.
//! - [`events`]: decoding Event Grid / CloudEvents message bodies and classifying them into triggers. No IO.
//! - [`config`]: typed settings layered from defaults, a file and `FLEETGATE__…` variables.
//! - [`core`]: the pure core. Typed views parsed from ARM JSON, the planner (actual state + policy →
//!   status, blockers, ordered actions), the JSON edits fleetgate owns, the read-back check of a
//!   cluster write, the managedClusters api-versions with and without `securityGating`, and the
//!   compliance fingerprint + bounded memo behind `gating.unchanged_cluster_ttl`, and the
//!   terraform-style text of plans and apply results (`core::text`: per resource, `+`/`~`/`-`,
//!   attribute paths, wrapped and coloured as the caller says). No IO.
//! - [`arm`]: the Azure Resource Manager client: credentials, retries driven by one error
//!   classifier table, pacing from ARM's `x-ms-ratelimit-remaining-subscription-*` headers (so
//!   replicas sharing a principal stay under its bucket), long-running operations (waited for, or
//!   polled once per call from a handle), paging, Resource Graph.
//! - [`queue`]: Service Bus queues through azure_messaging_servicebus 0.21 and a transport that adds
//!   endpoint override, Entra tokens, timeouts and the status handling the crate lacks.
//! - [`reconcile`]: the engine: observe (IO) → plan (core) → apply (IO), round after round until the
//!   plan is empty; per-identity FIC serialization; "already exists" is success; the cluster PUT with
//!   or without an eTag (fresh read, `If-Match: *`, read-back), the opt-out tag re-checked on every
//!   read before a write. In deferring mode (the Service Bus worker) it never waits on Azure's clock:
//!   a busy cluster or an accepted cluster PUT ends the reconcile `Pending`.
//! - [`defer`]: the Service Bus worker's deferral of a cluster whose AKS operation is running (pure):
//!   the scheduled reconcile command, its state, its backoff, its deterministic `MessageId`.
//! - [`dispatch`]: one message → decode → trigger → engine → outcome and how to settle the message;
//!   a repeated cluster-write event for a cluster found compliant and unchanged costs one GET (memo).
//! - [`source`]: where messages come from — the Service Bus queue (peek-lock, park in the poison queue)
//!   or a JSON-lines replay file — with their settle operations.
//! - [`worker`]: the runtime: bounded concurrency, lock renewal, settling (a transient failure after a
//!   pause that doubles per delivery), graceful shutdown, drift resync; and `fleetgate demo`.
//! - [`fleet`]: fleet scale — backfill in two phases (`prepare`: bulk observe through Resource Graph,
//!   planned page by page as rows stream in; `execute`: per-subscription ARM budget, direct (long
//!   operations followed by one shared poller outside the concurrency limit) or enqueue,
//!   a graceful interrupt), what a run will change (`changes`: per cluster, and the subscription-wide
//!   Defender plan changes apart), saved plans (`saved`: fingerprints, refusal after a change), the
//!   drift-resync messages, the fleet report (per-subscription roll-up, filters, a 120-column table,
//!   CSV, Markdown, a self-contained HTML page), the progress display (an indicatif bar or plain
//!   lines) and the fleet's status for the `fleetgate_clusters` gauge.
//! - [`telemetry`]: logs, traces and metrics (one catalog of every exported metric, which the
//!   dashboards and alert rules in `deploy/observability/` are checked against).
//! - [`health`]: `/healthz` and `/readyz` for the worker.
//! - [`sim`]: the embedded Azure simulator the whole product is tested and demonstrated against.
//! - [`deadline`]: time arithmetic that saturates instead of panicking (every deadline is computed there).
//! - `cli` (binary side, `src/cli/`): the `fleetgate` commands, the confirmation before writes, `-o`
//!   text/JSON renderers (`docs/schemas/`), the one exit-code table, signals, `completions` and `man`.

pub mod arm;
pub mod config;
pub mod core;
pub mod deadline;
pub mod defer;
pub mod dispatch;
pub mod events;
pub mod fleet;
pub mod health;
pub mod id;
pub mod queue;
pub mod reconcile;
pub mod sim;
pub mod source;
pub mod telemetry;
pub mod worker;
