//! The pure core: typed views parsed from ARM JSON, the observation the IO layer fills in, the planner
//! (observation + policy → status, blockers, ordered actions), the JSON edits fleetgate owns (the
//! cluster's `securityGating` block, the Containers pricing) and the report shapes. No IO happens here.
//!
//! How the IO layer uses it (see [`observation`] for building the observation in one pass):
//! 1. `let plan = plan(&observation, &policy);` — `compliant`, `blocked` or `excluded` need no write
//!    ([`ApplyReport::without_writes`]).
//! 2. Run `plan.actions` in order:
//!    - `enable_prerequisites`: GET raw cluster → [`gating::apply_prerequisites`] → PUT `If-Match`; then
//!      observe and plan again (the issuer URL is only known afterwards).
//!    - `enable_defender_plan`: GET pricing → [`pricing::merge_for_gating`] → PUT.
//!    - `create_identity`: PUT [`bodies::identity_body`]; the answer parsed with
//!      [`model::IdentityView::from_json`] gives the principal for the next steps
//!      ([`gating::GatingIdentityRef::from_identity`]); otherwise use [`PlanIdentity::gating_ref`].
//!    - `create_federated_credential`: PUT [`bodies::federated_credential_body`] (one at a time per identity).
//!    - `assign_acr_pull`: PUT [`bodies::acr_pull_body`] at [`names::acr_pull_assignment_id`].
//!    - `update_security_gating`: GET raw cluster → [`gating::apply_security_gating`] with
//!      [`gating::desired_entries`] → PUT `If-Match` (the eTag, or `*` for a cluster without one) only
//!      when it returned true; then [`readback::check_read_back`] on the cluster the operation left.
//! 3. Observe and plan again → [`ApplyReport::finish`].
//!
//! [`api_versions`] is the list of managedClusters api-versions with and without `securityGating`.

pub mod action;
pub mod api_versions;
pub mod blocker;
pub mod bodies;
pub mod gating;
pub mod model;
pub mod names;
pub mod observation;
pub mod plan;
pub mod policy;
pub mod pricing;
pub mod readback;
pub mod report;
pub mod text;
pub mod unchanged;

#[cfg(test)]
pub(crate) mod testutil;

pub use action::{Action, ActionKind};
pub use blocker::{Blocker, BlockerCode};
pub use observation::{ClusterLookup, Observation, ObservedRegistry, RegistrySource, SubscriptionPricing};
pub use plan::{Plan, PlanIdentity, PlanStatus, plan};
pub use policy::{Policy, PolicyError};
pub use report::{AppliedAction, ApplyReport, ApplyStatus, Outcome};
