//! What the simulator's journal says a run sent: ARM requests by kind, 429s, and writes excluding
//! retries (a write answered 429, 5xx or with a reset connection is sent again; the repeat is the retry).

use std::collections::BTreeMap;

use fleetgate::arm::Call;
use fleetgate::fleet::budget::request_kind;
use fleetgate::sim::JournalEntry;

/// ARM traffic of a run.
#[derive(Debug, Clone, Default)]
pub struct Traffic {
    /// `METHOD kind` → requests (attempts).
    pub by_kind: BTreeMap<String, u64>,
    /// ARM requests (Resource Graph included).
    pub requests: u64,
    /// Reads (GET).
    pub reads: u64,
    /// Write attempts.
    pub writes: u64,
    /// Writes excluding retries.
    pub writes_once: u64,
    /// Resource Graph queries (pages).
    pub graph_queries: u64,
    /// 429 answers.
    pub throttled: u64,
}

/// Tallies the ARM part of `journal`.
pub fn tally(journal: &[JournalEntry]) -> Traffic {
    let mut t = Traffic::default();
    for e in journal.iter().filter(|e| e.is_arm()) {
        t.requests += 1;
        *t.by_kind.entry(request_kind(&Call::new(method(&e.method), e.path.clone()))).or_default() += 1;
        if e.status == 429 {
            t.throttled += 1;
        }
        if e.is_graph_query() {
            t.graph_queries += 1;
        } else if e.is_write() {
            t.writes += 1;
            let retried = e.status == 429 || e.status >= 500 || e.was_reset();
            if !retried {
                t.writes_once += 1;
            }
        } else if e.is_read() {
            t.reads += 1;
        }
    }
    t
}

fn method(m: &str) -> &'static str {
    match m {
        "GET" => "GET",
        "PUT" => "PUT",
        "POST" => "POST",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        _ => "OTHER",
    }
}
