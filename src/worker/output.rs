//! The lines `fleetgate run` prints per message and at the end: JSON (one object per line, the
//! documented shape) or text.
//!
//! JSON: `{"message": <line number or MessageId>, "outcome": …, "cluster": id|null, "reason": text|null}`
//! per finished message, then `{"summary": {<outcome>: count, …}}` with every outcome present.

use serde_json::{Map, Value, json};

use super::{MessageReport, WorkerSummary};
use crate::dispatch::MessageOutcome;

/// Every outcome, in the order summaries list them.
pub const OUTCOMES: [MessageOutcome; 8] = MessageOutcome::ALL;

/// The JSON line of a finished message; `None` for a message interrupted by shutdown (no outcome).
pub fn report_json(report: &MessageReport) -> Option<Value> {
    let outcome = report.outcome?;
    Some(json!({
        "message": report.id,
        "outcome": outcome.label(),
        "cluster": report.cluster.as_ref().map(|c| c.as_str()),
        "reason": report.reason,
    }))
}

/// The JSON summary line.
pub fn summary_json(summary: &WorkerSummary) -> Value {
    let counts: Map<String, Value> = OUTCOMES.iter().map(|o| (o.label().to_string(), json!(summary.count(*o)))).collect();
    json!({ "summary": counts })
}

/// The text line of a message: `line 3  converged  /subscriptions/…  (reason)`.
pub fn report_text(report: &MessageReport) -> String {
    let outcome = report.outcome.map_or("interrupted", MessageOutcome::label);
    let mut line = format!("{:<10} {:<10}", report.id.to_string(), outcome);
    if let Some(cluster) = &report.cluster {
        line.push(' ');
        line.push_str(cluster.as_str());
    }
    if let Some(reason) = &report.reason {
        line.push_str(&format!(" ({reason})"));
    }
    line
}

/// The text summary: `summary: 2 converged, 1 ignored` (zero counts left out).
pub fn summary_text(summary: &WorkerSummary) -> String {
    let parts: Vec<String> =
        OUTCOMES.iter().filter(|o| summary.count(**o) > 0).map(|o| format!("{} {}", summary.count(*o), o.label())).collect();
    let mut text = if parts.is_empty() { "summary: no messages".to_string() } else { format!("summary: {}", parts.join(", ")) };
    if summary.interrupted > 0 {
        text.push_str(&format!(", {} interrupted by shutdown", summary.interrupted));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::ResourceId;
    use crate::source::MessageId;
    use crate::worker::Settled;
    use std::time::Duration;

    fn report(id: MessageId, outcome: Option<MessageOutcome>, reason: Option<&str>) -> MessageReport {
        let cluster = ResourceId::parse(
            "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/a",
        )
        .unwrap();
        MessageReport {
            id,
            delivery_count: 1,
            outcome,
            cluster: outcome.filter(|o| *o != MessageOutcome::Ignored).map(|_| cluster),
            reason: reason.map(str::to_string),
            settled: Settled::Completed,
            renewals: 0,
            elapsed: Duration::ZERO,
        }
    }

    #[test]
    fn json_lines_have_the_documented_shape() {
        let r = report(MessageId::Line(3), Some(MessageOutcome::Converged), None);
        let v = report_json(&r).unwrap();
        assert_eq!(v["message"], 3);
        assert_eq!(v["outcome"], "converged");
        assert!(v["cluster"].as_str().unwrap().ends_with("/managedClusters/a"));
        assert!(v["reason"].is_null());
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["message", "outcome", "cluster", "reason"]);
        let ignored = report_json(&report(MessageId::Broker("m-1".into()), Some(MessageOutcome::Ignored), Some("out_of_scope"))).unwrap();
        assert_eq!(
            (ignored["message"].as_str(), ignored["cluster"].is_null(), ignored["reason"].as_str()),
            (Some("m-1"), true, Some("out_of_scope"))
        );
        assert!(report_json(&report(MessageId::Line(1), None, None)).is_none());
    }

    #[test]
    fn summaries_list_every_outcome() {
        let mut s = WorkerSummary::default();
        s.outcomes.insert(MessageOutcome::Converged, 2);
        s.outcomes.insert(MessageOutcome::Rejected, 1);
        let v = summary_json(&s);
        let counts = v["summary"].as_object().unwrap();
        assert_eq!(counts.len(), 8);
        assert_eq!((counts["converged"].as_u64(), counts["rejected"].as_u64(), counts["failed"].as_u64()), (Some(2), Some(1), Some(0)));
        assert_eq!(summary_text(&s), "summary: 2 converged, 1 rejected");
        assert_eq!(summary_text(&WorkerSummary::default()), "summary: no messages");
        let text = report_text(&report(MessageId::Line(12), Some(MessageOutcome::Blocked), Some("oidc_issuer_disabled: …")));
        assert!(text.starts_with("line 12") && text.contains("blocked") && text.ends_with("(oidc_issuer_disabled: …)"), "{text}");
    }
}
