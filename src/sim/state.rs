//! In-memory ARM state. (Skeleton: filled in by the simulator resources work.)

use tokio::time::Instant;

use super::fleet::{Fleet, FleetError};
use super::http::{SimRequest, SimResponse};
use super::options::SimOptions;

/// Everything the simulated ARM knows.
#[derive(Debug, Default)]
pub struct SimState {}

impl SimState {
    /// Seeds the state from a fleet.
    pub fn from_fleet(_fleet: &Fleet, _options: &SimOptions) -> Result<Self, FleetError> {
        Ok(Self {})
    }

    /// Answers one ARM or Resource Graph request (anything under `/subscriptions/` or `/providers/`).
    pub fn handle_arm(&mut self, _req: &SimRequest, _now: Instant) -> SimResponse {
        SimResponse::error(501, "NotImplemented", "not implemented yet")
    }
}
