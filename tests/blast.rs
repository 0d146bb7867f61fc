//! Blast radius (issue 12; docs/RELIABILITY.md "Blast radius"): the real `fleetgate` binary, as a child
//! process, against the in-process simulator — directly, or behind a hostile ARM proxy (`proxy`) that
//! tampers with the simulator's answers. Every test counts, from the simulator's journal, the requests
//! that left `scope.subscriptions`: the figure is 0.
//!
//! - `scope`: item 2 (garbage collection deletes only fleetgate's own assignments in scope) and item 3
//!   (`nextLink`, `Azure-AsyncOperation`, `Location` into another subscription on the same host).
//! - `size`: item 5 (a 300 MB cluster GET is refused while streaming; peak RSS measured by an ignored
//!   test).
//! - `waits`: item 6 (absurd quota headers neither panic `plan` nor leave a `run` message without an
//!   outcome).
//! - `redirects`: item 7 (the Service Bus client does not follow a 307 to another host).
//! - `writes`: items 1 (a kubelet identity outside scope) and 4 (an opt-out tag set mid-apply).
//! - `config`: item 8 (duration ranges, endpoint user-info, `config show` redaction; exit code 2).

#[path = "common/mod.rs"]
mod common;

#[path = "blast/config.rs"]
mod config;
#[path = "blast/proxy.rs"]
mod proxy;
#[path = "blast/redirects.rs"]
mod redirects;
#[path = "blast/scope.rs"]
mod scope;
#[path = "blast/size.rs"]
mod size;
#[path = "blast/waits.rs"]
mod waits;
#[path = "blast/writes.rs"]
mod writes;

use fleetgate::sim::JournalEntry;

/// ARM requests in the journal outside `allowed` subscriptions (Resource Graph aside): method and path.
pub fn outside_scope(journal: &[JournalEntry], allowed: &[&str]) -> Vec<String> {
    journal
        .iter()
        .filter(|e| e.is_arm() && !e.is_graph_query())
        .filter(|e| !e.subscription.as_deref().is_some_and(|s| allowed.iter().any(|a| a.eq_ignore_ascii_case(s))))
        .map(|e| format!("{} {}", e.method, e.path))
        .collect()
}
