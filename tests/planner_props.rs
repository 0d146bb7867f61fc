//! Planner properties over generated observations (pure, no IO).
//!
//! Each case generates one cluster and its surroundings (both identity strategies; 1–4 registries over
//! up to three subscriptions, one never in scope; partial states: identity / FIC / AcrPull / gating
//! entries present or not, entries naming registries by name, login server or ID in random case,
//! foreign and stale entries; random pricing), builds the ARM documents and lets a pure model of ARM
//! (`planner_props/world.rs`) observe and apply plans the way the engine does. Properties:
//! - applying the plan and planning again gives `compliant` (within 3 rounds, the first one for
//!   `enable_prerequisites`); blocked and excluded plans write nothing and stay as they were;
//! - no action names a resource outside `scope.subscriptions`;
//! - every cluster edit keeps foreign `securityGating.identities` entries and `allowSecretAccess`, and
//!   changes no field fleetgate does not own;
//! - blocked plans have no actions, actions come in the documented order, nothing is written twice;
//! - `compliant` is true: an independent oracle (`planner_props/oracle.rs`) finds the FIC, an AcrPull
//!   and a gating entry for the gating identity on every registry, gating enabled and the plan ready.
//!
//! `PROPTEST_CASES=20000 cargo test --test planner_props` runs a longer search (default 256 per property).

#[path = "planner_props/build.rs"]
mod build;
#[path = "planner_props/edits.rs"]
mod edits;
#[path = "planner_props/oracle.rs"]
mod oracle;
#[path = "planner_props/spec.rs"]
mod spec;
#[path = "planner_props/world.rs"]
mod world;

use std::collections::{BTreeMap, HashSet};

use fleetgate::core::{Action, ActionKind, BlockerCode, ClusterLookup, Observation, Plan, PlanStatus, Policy, plan};
use fleetgate::id::ResourceId;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{FileFailurePersistence, TestRunner};

use build::build;
use edits::check_cluster_edit;
use world::World;

/// The engine's round limit.
const MAX_ROUNDS: usize = 4;

/// Observe → plan → apply, round after round, as `Engine::apply` does. Returns every plan made.
fn converge(world: &mut World, policy: &Policy) -> Vec<Plan> {
    let mut plans = Vec::new();
    for _ in 0..MAX_ROUNDS {
        let obs = world.observe(policy);
        let plan = plan(&obs, policy);
        check_plan(&plan, &obs, policy);
        let done = plan.status != PlanStatus::ChangesNeeded;
        plans.push(plan);
        if done {
            return plans;
        }
        let plan = plans.last().expect("just pushed");
        let mut identity = plan.identity.gating_ref();
        for action in &plan.actions {
            if world.apply(action, &mut identity) {
                break;
            }
        }
    }
    panic!("no convergence in {MAX_ROUNDS} rounds: {:#?}", plans.last());
}

/// Shape rules every plan obeys.
fn check_plan(plan: &Plan, obs: &Observation, policy: &Policy) {
    let (has_actions, has_blockers) = (!plan.actions.is_empty(), !plan.blockers.is_empty());
    match plan.status {
        PlanStatus::Blocked => assert!(!has_actions && has_blockers, "{plan:#?}"),
        PlanStatus::ChangesNeeded => assert!(has_actions && !has_blockers, "{plan:#?}"),
        PlanStatus::Compliant | PlanStatus::Excluded => assert!(!has_actions && !has_blockers, "{plan:#?}"),
    }
    if obs.cluster == ClusterLookup::OutOfScope {
        assert_eq!(codes(plan), [BlockerCode::ClusterOutOfScope]);
    }
    let kinds: Vec<ActionKind> = plan.actions.iter().map(Action::kind).collect();
    assert!(kinds.windows(2).all(|w| w[0] <= w[1]), "actions out of order: {kinds:?}");
    for once in [
        ActionKind::EnablePrerequisites,
        ActionKind::CreateIdentity,
        ActionKind::CreateFederatedCredential,
        ActionKind::UpdateSecurityGating,
    ] {
        assert!(plan.actions_of(once).count() <= 1, "{once} planned twice");
    }
    let targets: Vec<String> = plan.actions.iter().map(|a| format!("{}|{}", a.kind(), a.resource().to_ascii_lowercase())).collect();
    assert_eq!(targets.iter().collect::<HashSet<_>>().len(), targets.len(), "one resource written twice in a plan");
    for action in &plan.actions {
        check_action(action, policy);
    }
    assert!(plan.registries.windows(2).all(|w| w[0] < w[1]), "registries not sorted and distinct");
    assert_eq!(&self::plan(&permuted(obs), policy), plan, "the plan depends on the order of observed items");
}

/// No action outside scope; actions only when the policy asks for them.
fn check_action(action: &Action, policy: &Policy) {
    let ids: Vec<&ResourceId> = match action {
        Action::EnablePrerequisites { resource, .. } => {
            assert!(policy.enable_prerequisites);
            vec![resource]
        }
        Action::EnableDefenderPlan { resource, subscription, missing } => {
            assert!(policy.manage_defender_plan && policy.allows_subscription(subscription));
            if policy.defender_plan == fleetgate::config::DefenderPlanMode::Extensions {
                assert!(
                    !missing.iter().any(|m| m == fleetgate::core::pricing::STANDARD_TIER),
                    "extensions switched a plan on: {missing:?}"
                );
            }
            vec![resource]
        }
        Action::CreateIdentity { resource, .. } => {
            assert_eq!(policy.strategy, fleetgate::config::IdentityStrategy::Dedicated);
            vec![resource]
        }
        Action::CreateFederatedCredential { resource, identity, .. } => vec![resource, identity],
        Action::AssignAcrPull { resource, registry, .. } => {
            assert!(resource.to_ascii_lowercase().starts_with(&format!("{}/providers/", registry.key())), "{resource}");
            vec![registry]
        }
        Action::UpdateSecurityGating { resource, add, .. } => std::iter::once(resource).chain(add.iter().map(|a| &a.registry)).collect(),
    };
    for id in ids {
        assert!(policy.allows(id), "{} writes {id}, outside scope.subscriptions {:?}", action.kind(), policy.subscriptions);
    }
}

/// The same observation with every list reversed.
fn permuted(obs: &Observation) -> Observation {
    let mut o = obs.clone();
    o.registries.reverse();
    o.federated_credentials.reverse();
    o.identity_acr_pulls.reverse();
    o.pricing.reverse();
    o
}

fn codes(plan: &Plan) -> Vec<BlockerCode> {
    plan.blockers.iter().map(|b| b.code).collect()
}

/// Runs one scenario to its end and checks the end state against the first plan.
fn run_scenario(spec: &spec::Spec) -> Vec<Plan> {
    let mut s = build(spec);
    let before = s.world.cluster.clone();
    let plans = converge(&mut s.world, &s.policy);
    let (first, last) = (&plans[0], plans.last().expect("at least one plan"));
    match first.status {
        PlanStatus::ChangesNeeded => {
            let prerequisites_first = first.actions_of(ActionKind::EnablePrerequisites).count() == 1;
            let limit_found_late = prerequisites_first && codes(last) == [BlockerCode::FederatedCredentialLimit];
            assert!(last.is_compliant() || limit_found_late, "not compliant after applying: {last:#?}\nfirst: {first:#?}");
            assert!(plans.len() <= if prerequisites_first { 3 } else { 2 }, "{} rounds", plans.len());
        }
        _ => {
            assert_eq!(plans.len(), 1);
            assert!(s.world.writes.is_empty(), "a {:?} plan wrote", first.status);
            assert_eq!(&plan(&s.world.observe(&s.policy), &s.policy), first, "planning again changed the verdict");
        }
    }
    if last.is_compliant() {
        oracle::check_compliant_world(&s.world, last, &s.policy);
    }
    let mut seen = HashSet::new();
    assert!(s.world.writes.iter().all(|w| seen.insert(w)), "a resource was written twice: {:?}", s.world.writes);
    if let (Some(before), Some(after)) = (&before, &s.world.cluster) {
        check_cluster_edit(before, after);
    }
    plans
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("tests/planner_props/proptest-regressions.txt"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn apply_then_plan_again_is_compliant_and_keeps_foreign_state(spec in spec::spec()) {
        run_scenario(&spec);
    }
}

/// The generator reaches every status, every action kind and most blocker codes (a weak generator
/// would make the property above vacuous). Prints the distribution (`-- --nocapture`).
#[test]
fn generator_covers_every_status_action_and_blocker() {
    let mut runner = TestRunner::deterministic();
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    let mut actions: BTreeMap<String, usize> = BTreeMap::new();
    let mut blockers: BTreeMap<String, usize> = BTreeMap::new();
    let mut writes = 0;
    let cases = 1000;
    for _ in 0..cases {
        let spec = spec::spec().new_tree(&mut runner).expect("strategy").current();
        let plans = run_scenario(&spec);
        let first = &plans[0];
        *statuses.entry(format!("{:?}", first.status)).or_default() += 1;
        for p in &plans {
            p.actions.iter().for_each(|a| *actions.entry(a.kind().to_string()).or_default() += 1);
            writes += p.actions.len();
        }
        first.blockers.iter().for_each(|b| *blockers.entry(b.code.to_string()).or_default() += 1);
    }
    eprintln!("{cases} scenarios; first-plan statuses {statuses:?}; actions applied {writes} {actions:?}; blockers {blockers:?}");
    assert_eq!(statuses.len(), 4, "{statuses:?}");
    assert_eq!(actions.len(), 6, "{actions:?}");
    assert!(blockers.len() >= 10, "{blockers:?}");
}
