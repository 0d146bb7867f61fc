//! The fleet file. (Skeleton: filled in by the simulator resources work.)

use serde::{Deserialize, Serialize};

use super::options::SimOptions;

/// A fleet: what the simulated Azure contains at start, and how it behaves.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Fleet {
    /// Behaviour knobs.
    pub sim: SimOptions,
}

/// A fleet file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// The file could not be read or parsed.
    #[error("fleet file {path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}
