//! The simulator's HTTP server. (Skeleton: filled in by the simulator pipeline work.)

use std::net::SocketAddr;

use super::fleet::Fleet;

/// Starts simulators.
#[derive(Debug)]
pub struct Simulator;

/// A running simulator.
#[derive(Debug)]
pub struct SimHandle {
    /// The bound address.
    pub addr: SocketAddr,
}

impl Simulator {
    /// Starts a simulator for `fleet` on `addr` (port 0 = any free port).
    pub async fn start(_fleet: Fleet, addr: SocketAddr) -> std::io::Result<SimHandle> {
        Ok(SimHandle { addr })
    }
}
