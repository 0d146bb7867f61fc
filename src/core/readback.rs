//! Is a cluster write confirmed by what ARM serves afterwards? Pure.
//!
//! A cluster without an eTag is written with `If-Match: *`: ARM cannot tell fleetgate that someone
//! else wrote between our read and our PUT, or right after it. So after the long-running operation the
//! cluster is read back and checked here:
//!
//! 1. the edit is still in place (applying it to the read-back changes nothing), and
//! 2. nothing else the planner reads changed compared with the document fleetgate wrote (the
//!    compliance fingerprint of both, `securityGating` and `provisioningState` left out: the first is
//!    checked by 1., the second is the operation's own doing).
//!
//! Anything else is another writer's change: the engine plans again instead of claiming success.

use serde_json::Value;

use crate::core::model::{ClusterView, ModelError};
use crate::core::unchanged::Fingerprint;

/// What the read-back of a cluster write shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadBack {
    /// The edit is in place and nothing else the planner reads changed.
    Confirmed,
    /// The edit is not (fully) there: another writer replaced the document after ours.
    EditMissing,
    /// The edit is there, but a field the planner reads differs from what was written.
    ChangedElsewhere,
}

impl ReadBack {
    /// A short label for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::EditMissing => "edit_missing",
            Self::ChangedElsewhere => "changed_elsewhere",
        }
    }
}

/// Compares the document fleetgate PUT (`written`) with the one read back after the operation.
pub fn check_read_back(
    written: &Value,
    read_back: &Value,
    edit: &(dyn Fn(&mut Value) -> bool + Sync),
    exclude_tag: &str,
) -> Result<ReadBack, ModelError> {
    let after = ClusterView::from_json(read_back)?;
    if edit(&mut read_back.clone()) {
        return Ok(ReadBack::EditMissing);
    }
    let before = ClusterView::from_json(written)?;
    if outside_gating(&before, exclude_tag) != outside_gating(&after, exclude_tag) {
        return Ok(ReadBack::ChangedElsewhere);
    }
    Ok(ReadBack::Confirmed)
}

/// The planner-read fingerprint without `securityGating` and `provisioningState`.
fn outside_gating(view: &ClusterView, exclude_tag: &str) -> Fingerprint {
    let stripped = ClusterView { security_gating: None, provisioning_state: None, ..view.clone() };
    Fingerprint::of(&stripped, exclude_tag)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::core::gating::apply_prerequisites;
    use crate::core::testutil::fixture_body;

    const TAG: &str = "fleetgate.io/exclude";

    fn written() -> Value {
        let mut doc = fixture_body("Microsoft.ContainerService/ManagedClustersCreate_SecurityProfile.json", "200");
        doc["properties"]["oidcIssuerProfile"] = json!({"enabled": true, "issuerURL": "https://oidc.example/t/i/"});
        doc
    }

    fn oidc_on(doc: &mut Value) -> bool {
        apply_prerequisites(doc, true, false)
    }

    #[test]
    fn the_same_document_is_confirmed_whatever_its_provisioning_state_and_etag() {
        let mut back = written();
        back["properties"]["provisioningState"] = json!("Updating");
        back["eTag"] = json!("new");
        back["properties"]["agentPoolProfiles"][0]["count"] = json!(9);
        assert_eq!(check_read_back(&written(), &back, &oidc_on, TAG).unwrap(), ReadBack::Confirmed);
    }

    #[test]
    fn a_lost_edit_is_reported() {
        let mut back = written();
        back["properties"]["oidcIssuerProfile"]["enabled"] = json!(false);
        assert_eq!(check_read_back(&written(), &back, &oidc_on, TAG).unwrap(), ReadBack::EditMissing);
    }

    #[test]
    fn a_change_to_what_the_planner_reads_is_reported() {
        let changes: [fn(&mut Value); 4] = [
            |d| d["tags"]["fleetgate.io/exclude"] = json!("true"),
            |d| d["properties"]["kubernetesVersion"] = json!("1.33"),
            |d| d["properties"]["securityProfile"]["workloadIdentity"] = json!({"enabled": true}),
            |d| d["properties"]["oidcIssuerProfile"]["issuerURL"] = json!("https://oidc.example/t/other/"),
        ];
        for change in changes {
            let mut back = written();
            change(&mut back);
            assert_eq!(check_read_back(&written(), &back, &oidc_on, TAG).unwrap(), ReadBack::ChangedElsewhere, "{back}");
        }
    }

    #[test]
    fn a_change_inside_security_gating_is_judged_by_the_edit_only() {
        let mut back = written();
        back["properties"]["securityProfile"]["defender"]["securityGating"]["allowSecretAccess"] = json!(false);
        assert_eq!(check_read_back(&written(), &back, &oidc_on, TAG).unwrap(), ReadBack::Confirmed);
        assert!(check_read_back(&written(), &json!({"id": "x"}), &oidc_on, TAG).is_err(), "an unreadable read-back is an error");
    }
}
