//! Scenario specs: small, shrinkable descriptions of one cluster and its surroundings, and the proptest
//! strategies that generate them. `build.rs` turns a spec into ARM documents and a policy.

use proptest::prelude::*;

/// How an existing gating entry names its registry.
#[derive(Debug, Clone, Copy)]
pub enum RefForm {
    Name,
    LoginServer,
    Id,
}

/// Whose an existing gating entry is.
#[derive(Debug, Clone, Copy)]
pub enum Owner {
    /// The gating identity; bit 1 = resourceId, 2 = clientId, 4 = objectId present (0 = all).
    Ours(u8),
    /// The gating identity's resourceId with another principal (a deleted and recreated identity).
    Stale,
    /// Another identity.
    Foreign,
}

/// One existing `securityGating.identities` entry for a generated registry.
#[derive(Debug, Clone)]
pub struct EntrySpec {
    pub form: RefForm,
    pub owner: Owner,
    pub case: u64,
}

/// One registry.
#[derive(Debug, Clone)]
pub struct RegSpec {
    /// Index into `SUBS` (3 is never in scope).
    pub sub: usize,
    /// Index into `NAMES` (registry names are globally unique, duplicates are dropped).
    pub name: usize,
    /// False: a GET answers 404.
    pub exists: bool,
    /// The kubelet identity holds AcrPull on it (`az aks update --attach-acr`).
    pub kubelet_pull: bool,
    /// Listed in `gating.extra_registries`.
    pub extra: bool,
    /// An existing gating entry names it.
    pub entry: Option<EntrySpec>,
    /// The gating principal already holds AcrPull on it.
    pub our_pull: bool,
    /// Role definition ID without the subscription prefix.
    pub bare_role: bool,
    pub case: u64,
}

#[derive(Debug, Clone, Copy)]
pub enum Oidc {
    On,
    Off,
    OnWithoutUrl,
}

/// The dedicated identity's `fleetgate.io/cluster` tag.
#[derive(Debug, Clone, Copy)]
pub enum Tag {
    Absent,
    ThisCluster,
    OtherCluster,
}

/// Federated credentials on the gating identity.
#[derive(Debug, Clone, Copy)]
pub enum Fics {
    None,
    Ours,
    OthersOnly,
    /// Entra's maximum, none of them ours.
    Full,
}

/// A subscription's Containers plan.
#[derive(Debug, Clone, Copy)]
pub enum Pricing {
    Absent,
    Free,
    Partial,
    Ready,
}

/// The existing `securityGating` block.
#[derive(Debug, Clone)]
pub struct GatingSpec {
    pub enabled: Option<bool>,
    pub allow_secret_access: Option<bool>,
    /// Extra entries for other identities / registries (some oddly shaped).
    pub foreign: usize,
}

#[derive(Debug, Clone)]
pub struct ClusterSpec {
    pub sub: usize,
    pub exists: bool,
    pub version: usize,
    pub oidc: Oidc,
    pub workload_identity: bool,
    pub kubelet: bool,
    pub excluded: bool,
    pub gating: Option<GatingSpec>,
    pub case: u64,
}

#[derive(Debug, Clone)]
pub struct IdentitySpec {
    pub exists: bool,
    pub tag: Tag,
    pub fics: Fics,
}

#[derive(Debug, Clone)]
pub struct PolicySpec {
    pub kubelet_strategy: bool,
    /// 0 login server, 1 name, 2 resource ID.
    pub reference: usize,
    /// `gating.manage_defender_plan`.
    pub manage_defender_plan: fleetgate::config::DefenderPlanMode,
    pub enable_prerequisites: bool,
    /// Bit i: `SUBS[i]` in scope (i < 3); the cluster's own subscription is added unless it is `SUBS[3]`.
    pub scope_mask: u8,
    pub case: u64,
}

/// Everything about one generated scenario.
#[derive(Debug, Clone)]
pub struct Spec {
    pub cluster: ClusterSpec,
    pub identity: IdentitySpec,
    pub policy: PolicySpec,
    pub registries: Vec<RegSpec>,
    pub pricing: [Pricing; 4],
}

impl Spec {
    /// Everything fleetgate would have done already (entries written the way the policy writes them).
    fn prewired(mut self) -> Self {
        self.identity = IdentitySpec { exists: true, tag: Tag::ThisCluster, fics: Fics::Ours };
        let form = [RefForm::LoginServer, RefForm::Name, RefForm::Id][self.policy.reference];
        for r in &mut self.registries {
            r.our_pull = true;
            r.entry = Some(EntrySpec { form, owner: Owner::Ours(7), case: r.case });
        }
        let gating = self.cluster.gating.get_or_insert(GatingSpec { enabled: None, allow_secret_access: None, foreign: 0 });
        gating.enabled = Some(true);
        self.pricing = [Pricing::Ready; 4];
        self
    }
}

/// Subscriptions (hex letters so that casing matters). Index 3 is never in scope.
pub const SUBS: [&str; 4] = [
    "aaaaaaaa-bbbb-cccc-dddd-00000000000a",
    "aaaaaaaa-bbbb-cccc-dddd-00000000000b",
    "aaaaaaaa-bbbb-cccc-dddd-00000000000c",
    "aaaaaaaa-bbbb-cccc-dddd-0000000000ff",
];
/// Registry names.
pub const NAMES: [&str; 4] = ["acrone", "AcrTwo", "acrthree", "acrfour"];
/// Kubernetes versions (minimum 1.31).
pub const VERSIONS: [&str; 5] = ["1.31.2", "1.32.0", "1.31", "v1.33.1", "1.30.9"];

/// Mostly true.
fn likely() -> BoxedStrategy<bool> {
    prop::bool::weighted(0.85).boxed()
}

fn entry() -> impl Strategy<Value = EntrySpec> {
    let form = prop_oneof![Just(RefForm::Name), Just(RefForm::LoginServer), Just(RefForm::Id)];
    let owner = prop_oneof![4 => (0u8..8).prop_map(Owner::Ours), 1 => Just(Owner::Stale), 1 => Just(Owner::Foreign)];
    (form, owner, any::<u64>()).prop_map(|(form, owner, case)| EntrySpec { form, owner, case })
}

fn registry() -> impl Strategy<Value = RegSpec> {
    let sub = prop_oneof![10 => 0usize..3, 1 => Just(3usize)];
    (
        sub,
        0usize..4,
        prop::bool::weighted(0.96),
        likely(),
        prop::bool::weighted(0.2),
        prop::option::of(entry()),
        any::<bool>(),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(|(sub, name, exists, kubelet_pull, extra, entry, our_pull, bare_role, case)| RegSpec {
            sub,
            name,
            exists,
            kubelet_pull,
            extra,
            entry,
            our_pull,
            bare_role,
            case,
        })
}

fn gating() -> impl Strategy<Value = GatingSpec> {
    (prop::option::of(any::<bool>()), prop::option::of(any::<bool>()), 0usize..3)
        .prop_map(|(enabled, allow_secret_access, foreign)| GatingSpec { enabled, allow_secret_access, foreign })
}

fn cluster() -> impl Strategy<Value = ClusterSpec> {
    let sub = prop_oneof![8 => 0usize..3, 1 => Just(3usize)];
    let version = prop_oneof![12 => 0usize..4, 1 => Just(4usize)];
    let oidc = prop_oneof![14 => Just(Oidc::On), 5 => Just(Oidc::Off), 1 => Just(Oidc::OnWithoutUrl)];
    let flags = (prop::bool::weighted(0.97), prop::bool::weighted(0.9), prop::bool::weighted(0.97), prop::bool::weighted(0.05));
    (sub, version, oidc, flags, prop::option::of(gating()), any::<u64>()).prop_map(
        |(sub, version, oidc, (exists, workload_identity, kubelet, excluded), gating, case)| ClusterSpec {
            sub,
            exists,
            version,
            oidc,
            workload_identity,
            kubelet,
            excluded,
            gating,
            case,
        },
    )
}

fn identity() -> impl Strategy<Value = IdentitySpec> {
    let tag = prop_oneof![6 => Just(Tag::ThisCluster), 3 => Just(Tag::Absent), 1 => Just(Tag::OtherCluster)];
    let fics = prop_oneof![4 => Just(Fics::None), 4 => Just(Fics::Ours), 3 => Just(Fics::OthersOnly), 1 => Just(Fics::Full)];
    (any::<bool>(), tag, fics).prop_map(|(exists, tag, fics)| IdentitySpec { exists, tag, fics })
}

fn policy() -> impl Strategy<Value = PolicySpec> {
    use fleetgate::config::DefenderPlanMode::{Extensions, Full, Off};
    let mode = prop_oneof![Just(Extensions), Just(Full), Just(Off)];
    (any::<bool>(), 0usize..3, mode, any::<bool>(), 1u8..8, any::<u64>()).prop_map(
        |(kubelet_strategy, reference, manage_defender_plan, enable_prerequisites, scope_mask, case)| PolicySpec {
            kubelet_strategy,
            reference,
            manage_defender_plan,
            enable_prerequisites,
            scope_mask,
            case,
        },
    )
}

fn pricing() -> impl Strategy<Value = Pricing> {
    prop_oneof![Just(Pricing::Absent), Just(Pricing::Free), Just(Pricing::Partial), Just(Pricing::Ready)]
}

/// A whole scenario: 1–4 registries over up to 4 subscriptions (one of them never in scope); about one
/// in six starts fully wired.
pub fn spec() -> impl Strategy<Value = Spec> {
    let pricing = [pricing(), pricing(), pricing(), pricing()];
    (cluster(), identity(), policy(), prop::collection::vec(registry(), 1..5), pricing, prop::bool::weighted(0.17)).prop_map(
        |(cluster, identity, policy, registries, pricing, prewired)| {
            let spec = Spec { cluster, identity, policy, registries, pricing };
            if prewired { spec.prewired() } else { spec }
        },
    )
}

/// `s` with the case of each ASCII letter chosen by `seed` (0 keeps it as written).
pub fn cased(s: &str, seed: u64) -> String {
    if seed == 0 {
        return s.to_string();
    }
    let mut x = seed;
    s.chars()
        .map(|c| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            if (x >> 40) & 1 == 1 { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() }
        })
        .collect()
}
