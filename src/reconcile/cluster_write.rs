//! The cluster PUT: the one write that replaces a whole document someone else owns. ARM PUT is a full
//! replace, so fleetgate reads the raw cluster, changes only what it owns (the `securityGating` edit or
//! the prerequisites edit) and writes the result back — and must not lose a concurrent change.
//!
//! - **With an eTag** (the AKS eTag feature): `If-Match: <eTag>`; a change since the read answers 412,
//!   which re-plans. A GET made earlier (the backfill's) may guard the PUT by itself.
//! - **Without an eTag** (what real GA clusters serve): the cluster is read again right before the PUT
//!   (the shortest window), the edit is merged into that fresh document, and it is PUT with
//!   `If-Match: *`. `*` matches any existing cluster and no absent one, so a cluster deleted in the
//!   meantime is answered 412 instead of being re-created by our PUT (a PUT without a precondition would
//!   create a cluster from our copy of its document).
//! - **Hedge**: how AKS treats `If-Match: *` without its eTag feature is not confirmed. If that PUT is
//!   answered 412 while a fresh read shows the cluster exists and still serves no eTag, fleetgate reads it
//!   once more and PUTs once without `If-Match` (logged at warn, counted in
//!   `fleetgate_cluster_put_unconditional_total`), so a provider that does not honour `*` cannot block
//!   convergence.
//!
//! Every read before the PUT passes [`Engine::guard_read`] (scope, opt-out tag) and must show the
//! planner-read fields the plan was made from ([`Fingerprint`]); otherwise the cluster is planned again
//! (`ClusterChanged`). After the operation the cluster as ARM serves it must confirm the write
//! ([`check_read_back`]); if another writer's change landed in between, the caller plans again instead
//! of claiming success. The per-cluster lock of the event path (`dispatch`) is held around all of it.

use serde_json::Value;

use super::{Engine, ReconcileError};
use crate::arm::{ArmError, ArmResponse, LroOutcome};
use crate::core::Outcome;
use crate::core::model::ClusterView;
use crate::core::readback::{ReadBack, check_read_back};
use crate::core::unchanged::Fingerprint;
use crate::id::ResourceId;
use crate::telemetry::metrics;

/// `If-Match` for a cluster served without an eTag: "any existing version, never a new resource".
const ANY_VERSION: &str = "*";

/// A cluster edit: changes the raw document, returns whether anything changed.
pub(super) type Edit<'a> = &'a (dyn Fn(&mut Value) -> bool + Sync);

/// What one cluster write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ClusterWrite {
    /// `applied`, or `already_present` when the fresh document already held the edit.
    pub outcome: Outcome,
    /// HTTP attempts of the PUT (or of the read, when nothing was written).
    pub attempts: u32,
    /// The cluster ARM served after the operation confirms the write (always true when nothing was
    /// written); false = another writer's change: plan again.
    pub confirmed: bool,
}

/// A cluster PUT up to its answer.
pub(super) enum Put {
    /// Nothing to write (already present), or confirmed otherwise.
    Done(ClusterWrite),
    /// The PUT was answered 2xx; its operation (if long-running) is not followed yet.
    Accepted {
        /// The PUT's answer.
        response: Box<ArmResponse>,
        /// The document written.
        written: Value,
    },
}

impl Engine {
    /// Reads the cluster (waiting while an operation runs) and applies `edit` to it — see the module docs.
    /// `basis` is the fingerprint of the cluster the plan was made from.
    pub(super) async fn edit_cluster(
        &self,
        cluster: &ResourceId,
        basis: &Fingerprint,
        edit: Edit<'_>,
    ) -> Result<ClusterWrite, ReconcileError> {
        self.write_cluster(cluster, basis, None, edit).await
    }

    /// [`Engine::edit_cluster`], reusing `earlier` (a GET already made) when it carries an eTag: the
    /// eTag guards the PUT. Without one the cluster is read again right before the PUT.
    pub(super) async fn write_cluster(
        &self,
        cluster: &ResourceId,
        basis: &Fingerprint,
        earlier: Option<ArmResponse>,
        edit: Edit<'_>,
    ) -> Result<ClusterWrite, ReconcileError> {
        match self.put_cluster(cluster, basis, earlier, edit).await? {
            Put::Done(w) => Ok(w),
            Put::Accepted { response, written } => self.finish_write(cluster, &response, &written, edit).await,
        }
    }

    /// [`Engine::write_cluster`] up to the PUT's answer: the operation it started is not followed
    /// (see `submitted`).
    pub(super) async fn put_cluster(
        &self,
        cluster: &ResourceId,
        basis: &Fingerprint,
        earlier: Option<ArmResponse>,
        edit: Edit<'_>,
    ) -> Result<Put, ReconcileError> {
        let current = match earlier {
            Some(got) if got.etag.is_some() => got,
            _ => self.wait_cluster_terminal(cluster).await?,
        };
        self.check_basis(cluster, &current, basis)?;
        let mut doc = current.body.clone();
        if !edit(&mut doc) {
            return Ok(Put::Done(ClusterWrite { outcome: Outcome::AlreadyPresent, attempts: current.attempts, confirmed: true }));
        }
        let if_match = current.etag.clone().unwrap_or_else(|| ANY_VERSION.to_string());
        match self.arm.put(cluster.as_str(), self.cluster_api(), &doc, Some(&if_match)).await {
            Ok(response) => Ok(Put::Accepted { response: Box::new(response), written: doc }),
            Err(e) if e.status() == Some(412) && current.etag.is_none() => self.put_without_if_match(cluster, basis, edit).await,
            Err(e) if is_already_exists(&e) => self.confirm_cluster_edit(cluster, edit, e.into()).await.map(Put::Done),
            Err(e) => Err(e.into()),
        }
    }

    /// The hedge: `If-Match: *` was answered 412. A fresh read must show the cluster (it exists, guarded,
    /// unchanged since planned) still without an eTag; then one PUT without `If-Match`.
    async fn put_without_if_match(&self, cluster: &ResourceId, basis: &Fingerprint, edit: Edit<'_>) -> Result<Put, ReconcileError> {
        let again = self.wait_cluster_terminal(cluster).await?;
        if again.etag.is_some() {
            return Err(ReconcileError::ClusterChanged { cluster: cluster.to_string(), what: "the cluster now serves an eTag" });
        }
        self.check_basis(cluster, &again, basis)?;
        let mut doc = again.body.clone();
        if !edit(&mut doc) {
            return Ok(Put::Done(ClusterWrite { outcome: Outcome::AlreadyPresent, attempts: again.attempts, confirmed: true }));
        }
        tracing::warn!(
            %cluster,
            "the cluster PUT with If-Match: * was answered 412 although the cluster exists and serves no eTag; writing it once without If-Match after a fresh read"
        );
        metrics().cluster_put_unconditional();
        let response = self.arm.put(cluster.as_str(), self.cluster_api(), &doc, None).await?;
        Ok(Put::Accepted { response: Box::new(response), written: doc })
    }

    /// Follows the operation, then checks the cluster ARM serves afterwards against what was written.
    async fn finish_write(
        &self,
        cluster: &ResourceId,
        resp: &ArmResponse,
        written: &Value,
        edit: Edit<'_>,
    ) -> Result<ClusterWrite, ReconcileError> {
        let finished = match self.accepted_put_done(cluster, resp).await? {
            true => LroOutcome { body: Value::Null, polls: 0 },
            false => self.arm.wait_for_lro(resp).await?,
        };
        let after = match finished.polls {
            // Not long-running: the PUT's own answer is not a read; read the cluster.
            0 => match self.arm.get(cluster.as_str(), self.cluster_api()).await? {
                Some(read) => read.body,
                None => return Err(ReconcileError::ClusterGone { cluster: cluster.to_string() }),
            },
            _ => finished.body,
        };
        let confirmed = self.read_back_confirms(cluster, written, &after, edit)?;
        Ok(ClusterWrite { outcome: Outcome::Applied, attempts: resp.attempts, confirmed })
    }

    /// The cluster ARM serves after the operation (`after`) confirms what was `written`
    /// ([`check_read_back`]); false = another writer's change landed: plan again.
    pub(super) fn read_back_confirms(
        &self,
        cluster: &ResourceId,
        written: &Value,
        after: &Value,
        edit: Edit<'_>,
    ) -> Result<bool, ReconcileError> {
        let check = check_read_back(written, after, edit, &self.policy.exclude_tag).map_err(|e| ReconcileError::model(cluster, e))?;
        if check != ReadBack::Confirmed {
            tracing::info!(%cluster, read_back = check.as_str(), "the cluster changed right after our write (another writer); planning again");
        }
        Ok(check == ReadBack::Confirmed)
    }

    /// The read before a write shows what the plan was made from (planner-read fields, opt-out tag
    /// included); otherwise plan again.
    fn check_basis(&self, cluster: &ResourceId, current: &ArmResponse, basis: &Fingerprint) -> Result<ClusterView, ReconcileError> {
        let view = self.guard_read(cluster, current)?;
        if Fingerprint::of(&view, &self.policy.exclude_tag) != *basis {
            return Err(ReconcileError::ClusterChanged { cluster: cluster.to_string(), what: "the cluster changed" });
        }
        Ok(view)
    }

    /// After an "already exists" answer: success only if a re-read shows the edit in place.
    async fn confirm_cluster_edit(
        &self,
        cluster: &ResourceId,
        edit: Edit<'_>,
        err: ReconcileError,
    ) -> Result<ClusterWrite, ReconcileError> {
        let resp = self.wait_cluster_terminal(cluster).await?;
        let mut doc = resp.body.clone();
        if edit(&mut doc) { Err(err) } else { Ok(ClusterWrite { outcome: Outcome::AlreadyPresent, attempts: 1, confirmed: true }) }
    }

    /// The fingerprint of a cluster read (the basis of its edits).
    pub(super) fn basis_of(&self, view: &ClusterView) -> Fingerprint {
        Fingerprint::of(view, &self.policy.exclude_tag)
    }

    fn cluster_api(&self) -> &str {
        &self.settings.azure.api_versions.managed_clusters
    }
}

/// A 4xx whose message says the thing already exists (the seed doc's "security gating already exists",
/// a FIC's "Issuer and subject combination already exists").
pub(super) fn is_already_exists(e: &ArmError) -> bool {
    let client_error = e.status().is_some_and(|s| (400..500).contains(&s) && s != 412 && s != 429);
    client_error && e.to_string().to_ascii_lowercase().contains("already exist")
}
