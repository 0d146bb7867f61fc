//! The request journal: every request the simulator answered (except its own `/_sim/*` admin calls), in
//! completion order, so tests can count writes and inspect bodies.
//!
//! Token values, the `Authorization` header and token-endpoint bodies (client secrets, assertions) are never
//! recorded. The journal keeps the newest [`JOURNAL_CAPACITY`] entries; sequence numbers keep growing, so
//! `since` polling stays correct after old entries are dropped.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::route;

/// How many entries the journal keeps before dropping the oldest.
pub const JOURNAL_CAPACITY: usize = 200_000;

/// Status recorded for a request whose connection was reset by a fault (the client saw no status).
pub const STATUS_RESET: u16 = 0;

/// One answered request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Position in completion order, starting at 1.
    pub seq: u64,
    /// HTTP method, upper case.
    pub method: String,
    /// Raw path (no query).
    pub path: String,
    /// Raw query string (without `?`; empty when none).
    pub query: String,
    /// Status the client saw; [`STATUS_RESET`] when the connection was reset instead.
    pub status: u16,
    /// Request body (JSON, or a JSON string when not JSON); `None` when empty, not recorded
    /// (`journal_bodies = false`) or a token request.
    pub request_body: Option<Value>,
    /// Subscription of an ARM path `/subscriptions/{id}/…`.
    pub subscription: Option<String>,
    /// The request's `If-Match` header, when it had one (preconditions are part of what a write did).
    #[serde(default)]
    pub if_match: Option<String>,
}

impl JournalEntry {
    /// True for ARM and Resource Graph requests (`/subscriptions/…`, `/providers/…`).
    pub fn is_arm(&self) -> bool {
        route::is_arm_path(&self.path)
    }

    /// True for a Resource Graph query (a POST that reads).
    pub fn is_graph_query(&self) -> bool {
        route::is_graph_query(&self.method, &self.path)
    }

    /// True for an ARM write: PUT/POST/PATCH/DELETE on an ARM path, excluding Resource Graph queries.
    pub fn is_write(&self) -> bool {
        matches!(self.method.as_str(), "PUT" | "POST" | "PATCH" | "DELETE") && self.is_arm() && !self.is_graph_query()
    }

    /// True for an ARM read (GET/HEAD on an ARM path).
    pub fn is_read(&self) -> bool {
        matches!(self.method.as_str(), "GET" | "HEAD") && self.is_arm()
    }

    /// True for a call to a token endpoint.
    pub fn is_token_call(&self) -> bool {
        route::is_token_path(&self.method, &self.path)
    }

    /// True when a fault reset the connection instead of answering.
    pub fn was_reset(&self) -> bool {
        self.status == STATUS_RESET
    }
}

/// What the pipeline hands to [`Journal::record`].
#[derive(Debug, Clone)]
pub struct JournalRecord {
    /// HTTP method.
    pub method: String,
    /// Raw path.
    pub path: String,
    /// Raw query string.
    pub query: String,
    /// Status the client saw, or [`STATUS_RESET`].
    pub status: u16,
    /// Body to record, already filtered.
    pub request_body: Option<Value>,
    /// The `If-Match` header, if any.
    pub if_match: Option<String>,
}

/// The journal itself.
#[derive(Debug, Default)]
pub struct Journal {
    entries: VecDeque<JournalEntry>,
    last_seq: u64,
}

impl Journal {
    /// Appends an entry and returns its sequence number.
    pub fn record(&mut self, record: JournalRecord) -> u64 {
        self.last_seq += 1;
        let subscription = route::subscription_of(&record.path).map(str::to_string);
        if self.entries.len() >= JOURNAL_CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(JournalEntry {
            seq: self.last_seq,
            method: record.method,
            path: record.path,
            query: record.query,
            status: record.status,
            request_body: record.request_body,
            subscription,
            if_match: record.if_match,
        });
        self.last_seq
    }

    /// All kept entries, oldest first.
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.entries.iter().cloned().collect()
    }

    /// Entries with `seq > since`, oldest first.
    pub fn since(&self, since: u64) -> Vec<JournalEntry> {
        self.entries.iter().filter(|e| e.seq > since).cloned().collect()
    }

    /// Forgets all entries (sequence numbers keep growing).
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

/// The body as the journal records it: JSON when it parses, else a (lossy UTF-8) JSON string; `None` when empty.
pub fn body_for_journal(body: &[u8]) -> Option<Value> {
    if body.is_empty() {
        return None;
    }
    Some(serde_json::from_slice(body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(method: &str, path: &str, status: u16) -> JournalRecord {
        JournalRecord { method: method.into(), path: path.into(), query: String::new(), status, request_body: None, if_match: None }
    }

    #[test]
    fn records_in_order_with_subscription_and_since() {
        let mut j = Journal::default();
        assert_eq!(j.record(rec("GET", "/subscriptions/s1/resourceGroups", 200)), 1);
        assert_eq!(j.record(rec("PUT", "/subscriptions/s2/x", 201)), 2);
        let all = j.entries();
        assert_eq!(all[0].subscription.as_deref(), Some("s1"));
        assert_eq!(j.since(1).len(), 1);
        assert_eq!(j.since(1)[0].seq, 2);
        j.clear();
        assert!(j.entries().is_empty());
        assert_eq!(j.record(rec("GET", "/msi/token", 200)), 3);
    }

    #[test]
    fn classifies_writes_reads_graph_and_tokens() {
        let mut j = Journal::default();
        j.record(rec("PUT", "/subscriptions/s/x", 200));
        j.record(rec("POST", "/providers/Microsoft.ResourceGraph/resources", 200));
        j.record(rec("POST", "/tenant/oauth2/v2.0/token", 200));
        j.record(rec("DELETE", "/subscriptions/s/x", STATUS_RESET));
        j.record(rec("GET", "/subscriptions/s/x", 200));
        let e = j.entries();
        let writes: Vec<bool> = e.iter().map(JournalEntry::is_write).collect();
        assert_eq!(writes, [true, false, false, true, false]);
        assert!(e[1].is_graph_query() && e[2].is_token_call() && e[3].was_reset() && e[4].is_read());
    }

    #[test]
    fn bodies_are_json_or_strings() {
        assert_eq!(body_for_journal(b""), None);
        assert_eq!(body_for_journal(br#"{"a":1}"#), Some(json!({"a":1})));
        assert_eq!(body_for_journal(b"not json"), Some(json!("not json")));
    }
}
