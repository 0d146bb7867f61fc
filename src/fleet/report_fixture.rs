//! A realistic report for the rendering tests: 12 clusters over three subscriptions with long
//! resource-group and cluster names, every status, repeated actions and several blocker codes.

use super::report::{FleetReport, ReportRow, ReportStatus};
use crate::core::{ActionKind, Blocker};
use crate::id::ResourceId;

const SUBS: [&str; 3] =
    ["00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002", "7c9e6679-7425-40de-944b-e07fc1f90ae7"];

fn cluster(sub: usize, rg: &str, name: &str) -> ResourceId {
    ResourceId::parse(&format!(
        "/subscriptions/{}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{name}",
        SUBS[sub]
    ))
    .unwrap()
}

fn registry(sub: usize, name: &str) -> ResourceId {
    ResourceId::parse(&format!(
        "/subscriptions/{}/resourceGroups/rg-registries/providers/Microsoft.ContainerRegistry/registries/{name}",
        SUBS[sub]
    ))
    .unwrap()
}

fn identity(c: &ResourceId) -> ResourceId {
    ResourceId::parse(&format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{}-defender-gating",
        c.subscription_id(),
        c.resource_group().unwrap_or_default(),
        c.name()
    ))
    .unwrap()
}

fn row(c: ResourceId, status: ReportStatus) -> ReportRow {
    ReportRow {
        identity: Some(identity(&c)),
        cluster: c,
        status,
        identity_exists: status == ReportStatus::Compliant,
        registries_wired: vec![],
        registries_missing: vec![],
        actions: vec![],
        blockers: vec![],
        error: None,
        detail: None,
    }
}

/// The fleet: per subscription a mix of compliant, changes needed, blocked, excluded, unreadable.
pub fn fleet() -> FleetReport {
    use ActionKind::*;
    use ReportStatus::*;
    let mut rows = Vec::new();
    for (sub, rg) in [(0, "rg-prod-aks"), (1, "rg-staging-platform-westeurope"), (2, "rg-dev")] {
        let mut ok = row(cluster(sub, rg, &format!("aks-compliant-{sub}")), Compliant);
        ok.registries_wired = vec![registry(sub, "acrprodweu")];
        rows.push(ok);
    }
    let mut fresh = row(cluster(0, "rg-prod-aks", "aks-prod-weu-01"), ChangesNeeded);
    fresh.registries_missing = vec![registry(0, "acrprodweu"), registry(2, "acrshared")];
    fresh.actions = vec![CreateIdentity, CreateFederatedCredential, AssignAcrPull, AssignAcrPull, UpdateSecurityGating];
    rows.push(fresh);
    let mut pricing = row(cluster(1, "rg-staging-platform-westeurope", "aks-staging-platform-westeurope-blue-01"), ChangesNeeded);
    pricing.identity_exists = true;
    pricing.registries_wired = vec![registry(1, "acrstaging")];
    pricing.registries_missing = vec![registry(1, "acrstagingmirror")];
    pricing.actions = vec![EnableDefenderPlan, AssignAcrPull, UpdateSecurityGating];
    rows.push(pricing);
    let mut gating = row(cluster(2, "rg-dev", "aks-dev-02"), ChangesNeeded);
    gating.identity_exists = true;
    gating.actions = vec![UpdateSecurityGating];
    rows.push(gating);
    for (sub, rg, name) in [(0, "rg-prod-aks", "aks-legacy-01"), (1, "rg-staging-platform-westeurope", "aks-old-sp")] {
        let c = cluster(sub, rg, name);
        let mut b = row(c.clone(), Blocked);
        b.identity = None;
        b.blockers = vec![Blocker::oidc_issuer_disabled(&c), Blocker::kubernetes_version_unsupported(&c, Some("1.29.4"), (1, 31))];
        rows.push(b);
    }
    let free = cluster(2, "rg-dev", "aks-dev-free-plan");
    let mut b = row(free.clone(), Blocked);
    b.blockers = vec![Blocker::defender_plan_off(&free, SUBS[2])];
    rows.push(b);
    let mut excluded = row(cluster(0, "rg-prod-aks", "aks-prod-weu-excluded"), Excluded);
    excluded.identity = None;
    rows.push(excluded);
    let mut unreadable = row(cluster(1, "rg-staging-platform-westeurope", "aks-broken-row"), Unreadable);
    unreadable.identity = None;
    unreadable.error = Some("properties.securityProfile is not an object".into());
    rows.push(unreadable);
    let mut second = row(cluster(2, "rg-dev", "aks-dev-03"), Compliant);
    second.registries_wired = vec![registry(2, "acrshared")];
    rows.push(second);
    FleetReport::from_rows(rows, vec![])
}
