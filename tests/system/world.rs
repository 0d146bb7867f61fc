//! The simulated fleet of the system suite, generated from a seed: clusters of every kind fleetgate
//! meets (needs wiring, already compliant, blocked by the OIDC issuer or the Kubernetes version, opted
//! out by tag, and compliant clusters that get a new registry attached while the workers run), their
//! registries (own subscription, plus a hub subscription for cross-subscription pulls), and the fleet
//! file the simulator is seeded from.

use fleetgate::id::ResourceId;

use crate::common::fleet::{FleetToml, attached};
use crate::common::{SUB1, SUB2, SUB3, cluster_id, registry_id};

/// Clusters with the Defender plan on (compliant and attach clusters live here).
pub const FULL_SUB: &str = SUB1;
/// Clusters with the Defender plan off: the first reconcile there enables it (one write in total).
pub const OFF_SUB: &str = SUB2;
/// Shared registries only (plan on).
pub const HUB_SUB: &str = SUB3;
/// A subscription outside the scope (events naming it are noise).
pub const OUTSIDE_SUB: &str = "00000000-0000-0000-0000-0000000000ff";
/// The subscriptions in scope.
pub const SCOPE: [&str; 3] = [SUB1, SUB2, SUB3];
/// Registries per cluster subscription.
const REGISTRIES_PER_SUB: usize = 4;
/// Registries in the hub.
const HUB_REGISTRIES: usize = 2;

/// What a cluster is like at the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Everything is in place except what fleetgate creates.
    Convergeable,
    /// Already wired (identity, FIC, AcrPull, gating).
    Compliant,
    /// OIDC issuer off: blocked (fleetgate never enables it by default).
    OidcOff,
    /// Kubernetes 1.29: blocked.
    OldKubernetes,
    /// Tagged `fleetgate.io/exclude = "true"`.
    Excluded,
    /// Compliant; during the run the test attaches another registry (a real AcrPull role assignment for
    /// the kubelet identity) and sends the role-assignment event.
    Attach,
}

impl Kind {
    /// True when fleetgate can (and must) make the cluster compliant.
    pub fn convergeable(self) -> bool {
        matches!(self, Self::Convergeable | Self::Compliant | Self::Attach)
    }
}

/// One cluster of the fleet.
#[derive(Debug, Clone)]
pub struct Case {
    /// Its ARM ID.
    pub id: ResourceId,
    /// Its kind.
    pub kind: Kind,
    /// Registries its kubelet identity pulls from at the start.
    pub registries: Vec<ResourceId>,
    /// The registry attached during the run ([`Kind::Attach`] only).
    pub attach: Option<ResourceId>,
}

/// The generated fleet.
#[derive(Debug, Clone)]
pub struct World {
    /// Every cluster, in index order.
    pub cases: Vec<Case>,
    /// Every registry.
    pub registries: Vec<ResourceId>,
}

fn registry(sub: &str, name: &str) -> ResourceId {
    ResourceId::parse(&registry_id(sub, "rg-acr", name)).expect("registry id")
}

fn sub_registries(sub: &str, tag: &str) -> Vec<ResourceId> {
    (0..REGISTRIES_PER_SUB).map(|k| registry(sub, &format!("acr{tag}r{k}"))).collect()
}

/// How many of `n` clusters get `share` (at least one).
fn share(n: usize, share: f64) -> usize {
    ((n as f64 * share).round() as usize).max(1)
}

impl World {
    /// `clusters` clusters (at least 10): 10 % compliant, 5 % each attach / OIDC off / old Kubernetes /
    /// excluded, the rest convergeable; 20 % of the convergeable ones also pull from a hub registry.
    pub fn generate(clusters: usize, seed: u64) -> Self {
        assert!(clusters >= 10, "at least 10 clusters, one of each kind");
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut kinds = Vec::new();
        for (kind, s) in
            [(Kind::Compliant, 0.10), (Kind::Attach, 0.05), (Kind::OidcOff, 0.05), (Kind::OldKubernetes, 0.05), (Kind::Excluded, 0.05)]
        {
            kinds.extend(std::iter::repeat_n(kind, share(clusters, s)));
        }
        kinds.resize(clusters, Kind::Convergeable);
        rng.shuffle(&mut kinds);
        let full = sub_registries(FULL_SUB, "s1");
        let off = sub_registries(OFF_SUB, "s2");
        let hub: Vec<ResourceId> = (0..HUB_REGISTRIES).map(|k| registry(HUB_SUB, &format!("acrhub{k}"))).collect();
        let mut cases = Vec::new();
        for (i, kind) in kinds.into_iter().enumerate() {
            let in_full = matches!(kind, Kind::Compliant | Kind::Attach) || i % 2 == 0;
            let (sub, own) = if in_full { (FULL_SUB, &full) } else { (OFF_SUB, &off) };
            let id = ResourceId::parse(&cluster_id(sub, &format!("rg-aks-{}", i % 3), &format!("aks-{i:04}"))).expect("cluster id");
            let first = rng.usize(..own.len());
            let mut registries = vec![own[first].clone()];
            let mut attach = None;
            match kind {
                Kind::Convergeable => {
                    if rng.bool() {
                        registries.push(own[(first + 1) % own.len()].clone());
                    }
                    if rng.f64() < 0.2 {
                        registries.push(hub[rng.usize(..hub.len())].clone());
                    }
                }
                Kind::Attach => attach = Some(own[(first + 1) % own.len()].clone()),
                _ => {}
            }
            cases.push(Case { id, kind, registries, attach });
        }
        Self { cases, registries: full.into_iter().chain(off).chain(hub).collect() }
    }

    /// The clusters of one kind.
    pub fn of(&self, kind: Kind) -> impl Iterator<Item = &Case> {
        self.cases.iter().filter(move |c| c.kind == kind)
    }

    /// The fleet file; `sim` is extra `[sim]` lines (e.g. `lro_duration = "300ms"`).
    pub fn fleet_toml(&self, sim: &str) -> String {
        let mut fleet = FleetToml::new().sim(&[sim]);
        for (sub, defender) in [(FULL_SUB, "full"), (OFF_SUB, "off"), (HUB_SUB, "full")] {
            fleet = fleet.subscription(sub, defender, &[]);
        }
        for r in &self.registries {
            fleet = fleet.registry(r.subscription_id(), "rg-acr", r.name());
        }
        self.cases.iter().fold(fleet, with_cluster).build()
    }
}

fn with_cluster(fleet: FleetToml, c: &Case) -> FleetToml {
    let registries = attached(c.registries.iter().map(ResourceId::as_str));
    let kind = match c.kind {
        Kind::Compliant | Kind::Attach => Some("compliant = true"),
        Kind::OidcOff => Some("oidc_issuer = false"),
        Kind::OldKubernetes => Some(r#"kubernetes_version = "1.29.9""#),
        Kind::Excluded => Some(r#"tags = { "fleetgate.io/exclude" = "true" }"#),
        Kind::Convergeable => None,
    };
    let lines: Vec<&str> = std::iter::once(registries.as_str()).chain(kind).collect();
    fleet.cluster(c.id.subscription_id(), c.id.resource_group().expect("cluster rg"), c.id.name(), &lines)
}
