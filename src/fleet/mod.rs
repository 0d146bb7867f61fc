//! Fleet scale: backfill, drift resync messages and the fleet report.
//!
//! **The path of a backfill** (`fleetgate backfill`):
//! 1. [`Selection`] (`scope`): `scope.subscriptions` ∩ `--subscription` (an argument outside scope is
//!    an error naming it); `--management-group` enumerates over groups, rows outside the selection are
//!    dropped.
//! 2. Bulk observation (`observe`, `queries`, `inventory`, `stream`, `planner`): Resource Graph for
//!    gating identities, AcrPull assignments and registries (small fleet-wide indexes, loaded first),
//!    then the clusters, streamed and planned page by page; one pricing GET per subscription that matters;
//!    federated credentials per [`FicMode`] (trusted from the gating entry by default, or listed with
//!    `--verify-fics`). One [`Observation`](crate::core::Observation) and [`Plan`](crate::core::Plan)
//!    per cluster — a compliant, blocked or excluded cluster costs **zero** per-cluster ARM reads, and
//!    is dropped once planned: one summary row per cluster stays, and for the clusters needing writes
//!    their view (`pending`: the plan is rebuilt, identical, from the indexes when the job starts).
//! 3. A command shows what will be written ([`Prepared::changes`]: per cluster, and the
//!    subscription-wide Defender plan changes separately) and asks before any write; `--out` saves
//!    the plan, `--plan` applies a saved one, refusing clusters that changed since (`saved`).
//! 4. Clusters whose plan needs changes take the per-cluster path (`direct`): `direct` runs
//!    [`Engine::submit_planned`](crate::reconcile::Engine::submit_planned) (which re-reads the cluster
//!    for its ETag before any write — Resource Graph lags ARM — and falls back to
//!    [`Engine::apply`](crate::reconcile::Engine::apply)) with `backfill.concurrency` at a time — a job
//!    ends when its cluster PUT is accepted and the run's one shared poller (`poller`, outside the limit,
//!    spaced polls in the read budget) follows the operation and parks clusters found busy; `enqueue`
//!    sends one `io.fleetgate.reconcile` command per cluster in batches (`commands`).
//!    A first SIGINT/SIGTERM stops starting clusters; those in flight get a grace period.
//! 5. Every ARM request of the run passes the [`Budget`] (`budget`): per-subscription token buckets
//!    mirroring ARM's, so fleetgate paces itself instead of provoking 429s.
//!
//! **Status** (`status`): the fleet's clusters per subscription and status for the
//! `fleetgate_clusters` gauge, from a backfill's results or one bulk observation (the resync's).
//!
//! **Resync** (`resync`): the pure core of the worker's periodic fleet re-check — epoch-aligned windows,
//! a ±25 % jittered fire inside each, deterministic `MessageId`s per cluster and window.
//!
//! **Report** (`report`, `report_rollup`, `report_format`, `report_table`, `report_html`): the bulk
//! plans per cluster and rolled up per subscription (filters `--status`, `--resource-group`), as a
//! table that fits 120 columns, JSON, CSV, Markdown or one self-contained HTML page.

mod backfill;
pub mod budget;
pub mod changes;
pub mod commands;
mod direct;
mod error;
mod inventory;
mod load;
mod observe;
mod pending;
mod planner;
mod poller;
pub mod progress;
mod progress_bar;
pub mod queries;
mod report;
#[cfg(test)]
mod report_fixture;
mod report_format;
mod report_html;
mod report_rollup;
mod report_table;
pub mod resync;
pub mod saved;
mod scope;
mod sender;
mod status;
mod stream;
mod summary;

pub use backfill::{Backfill, BackfillOptions, PlanFile, Prepared};
pub use budget::{Budget, BudgetLimits, TokenBucket};
pub use changes::{Changes, ClusterChange, SubscriptionChange, action_summary};
pub use error::FleetError;
pub use inventory::{FicMode, Inventory};
pub use load::enumerate_clusters;
pub use observe::{BulkEntry, BulkMapped, BulkOptions, BulkResult, Verdict, bulk_plan, bulk_plan_map};
pub use progress::{Activity, Progress, ProgressStyle};
pub use report::{FleetReport, ReportRow, ReportStatus, Totals, report_row};
pub use report_format::{ReportFormat, render as render_report};
pub use report_rollup::{ReportFilter, SubscriptionRollup, rollup};
pub use resync::{jittered_interval, next_resync, reconcile_messages, window_start};
pub use saved::{SavedCluster, SavedPlan, SavedPlanError};
pub use scope::{NameMatch, Selection, match_subscription_name};
pub use sender::open_queue;
pub use status::{fleet_status, report_gauge_status, run_gauge_status};
pub use summary::{ClusterResult, ClusterStatus, Mode, OUTPUT_SCHEMA_VERSION, RunReport, Summary, result_note};
