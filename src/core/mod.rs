//! The pure core: typed views parsed from ARM JSON, the observation the IO layer fills in, the planner
//! (observation + policy → status, blockers, ordered actions), the JSON edits fleetgate owns (the
//! cluster's `securityGating` block, the Containers pricing) and the report shapes. No IO happens here.

pub mod action;
pub mod blocker;
pub mod bodies;
pub mod gating;
pub mod model;
pub mod names;
pub mod observation;
pub mod plan;
pub mod policy;
pub mod pricing;
pub mod report;
pub mod text;

#[cfg(test)]
pub(crate) mod testutil;

pub use action::{Action, ActionKind};
pub use blocker::{Blocker, BlockerCode};
pub use observation::{ClusterLookup, Observation, ObservedRegistry, RegistrySource, SubscriptionPricing};
pub use plan::{Plan, PlanIdentity, PlanStatus, plan};
pub use policy::{Policy, PolicyError};
pub use report::{AppliedAction, ApplyReport, ApplyStatus, Outcome};
