//! Fleet files (TOML) for the simulator, built from the parts the tests repeat: `[sim]` with the
//! harness's client secret, subscriptions, registries and clusters, plus verbatim TOML for the rest
//! (identities, role assignments, sub-tables of the last cluster).

use std::fmt::Write;

use super::{CLIENT_SECRET, SUB1};

/// A fleet file under construction; [`FleetToml::build`] gives the text.
#[derive(Debug, Clone, Default)]
pub struct FleetToml {
    top: String,
    sim: Option<String>,
    tables: String,
}

impl FleetToml {
    /// An empty fleet.
    pub fn new() -> Self {
        Self::default()
    }

    /// `[sim]` with `client_secret` = [`CLIENT_SECRET`], plus `lines` (e.g. `lro_duration = "3s"`).
    pub fn sim(mut self, lines: &[&str]) -> Self {
        let mut sim = format!("client_secret = \"{CLIENT_SECRET}\"\n");
        lines.iter().for_each(|l| push_line(&mut sim, l));
        self.sim = Some(sim);
        self
    }

    /// `principals`: directory objects (users, groups) that exist besides the fleet's identities.
    pub fn principals(mut self, ids: &[&str]) -> Self {
        let quoted: Vec<String> = ids.iter().map(|id| format!("\"{id}\"")).collect();
        push_line(&mut self.top, &format!("principals = [{}]", quoted.join(", ")));
        self
    }

    /// A subscription with its Defender for Containers state (`off`, `partial`, `full`) and more `lines`.
    pub fn subscription(self, id: &str, defender: &str, lines: &[&str]) -> Self {
        self.table("subscriptions", &[format!("id = \"{id}\""), format!("defender = \"{defender}\"")], lines)
    }

    /// A container registry.
    pub fn registry(self, subscription: &str, resource_group: &str, name: &str) -> Self {
        self.table("registries", &located(subscription, resource_group, name), &[])
    }

    /// A managed cluster with more `lines` (e.g. `attached_registries = ["acrone"]`, `compliant = true`).
    pub fn cluster(self, subscription: &str, resource_group: &str, name: &str, lines: &[&str]) -> Self {
        self.table("clusters", &located(subscription, resource_group, name), lines)
    }

    /// A user-assigned identity with more `lines` (e.g. `principal_id = "…"`, tags).
    pub fn identity(self, subscription: &str, resource_group: &str, name: &str, lines: &[&str]) -> Self {
        self.table("identities", &located(subscription, resource_group, name), lines)
    }

    /// An AcrPull role assignment for `principal_id` at `scope` with more `lines` (e.g. `name = "…"`).
    pub fn acr_pull(self, scope: &str, principal_id: &str, lines: &[&str]) -> Self {
        let keys = [format!("scope = \"{scope}\""), "role = \"AcrPull\"".into(), format!("principal_id = \"{principal_id}\"")];
        self.table("role_assignments", &keys, lines)
    }

    /// Verbatim TOML appended after what is there.
    pub fn raw(mut self, toml: &str) -> Self {
        self.tables.push('\n');
        self.tables.push_str(toml);
        self
    }

    /// The fleet file. `[sim]` gets `lro_retry_after_secs = 0` unless the test set it (see
    /// [`super::fast_polls`]): fleet files also go to `fleetgate sim` child processes.
    pub fn build(&self) -> String {
        let mut out = self.top.clone();
        let mut sim = self.sim.clone().unwrap_or_default();
        if !sim.contains("lro_retry_after_secs") {
            push_line(&mut sim, "lro_retry_after_secs = 0");
        }
        let _ = write!(out, "\n[sim]\n{sim}");
        out.push_str(&self.tables);
        out
    }

    fn table(mut self, array: &str, keys: &[String], lines: &[&str]) -> Self {
        let _ = write!(self.tables, "\n[[{array}]]\n");
        keys.iter().map(String::as_str).chain(lines.iter().copied()).for_each(|l| push_line(&mut self.tables, l));
        self
    }
}

/// SUB1 (Defender full) with the registry `acrone` in `rg-acr`: how most test fleets start.
pub fn sub1_with_acrone() -> FleetToml {
    FleetToml::new().subscription(SUB1, "full", &[]).registry(SUB1, "rg-acr", "acrone")
}

/// [`sub1_with_acrone`] with `[sim]` and two clusters in `rg-aks`: `aks-new` (attached to `acrone`,
/// converges) and `aks-old` (Kubernetes 1.29.4, blocked). The CLI tests' fleet.
pub fn new_and_old() -> String {
    sub1_with_acrone()
        .sim(&[])
        .cluster(SUB1, "rg-aks", "aks-new", &[r#"attached_registries = ["acrone"]"#])
        .cluster(SUB1, "rg-aks", "aks-old", &[r#"kubernetes_version = "1.29.4""#])
        .build()
}

/// [`sub1_with_acrone`] with `[sim]` (plus `sim` lines) and a convergeable cluster attached to
/// `acrone` in `rg-aks` for each of `names`.
pub fn attached_clusters(sim: &[&str], names: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    let acrone = attached(["acrone"]);
    names.into_iter().fold(sub1_with_acrone().sim(sim), |f, name| f.cluster(SUB1, "rg-aks", name.as_ref(), &[&acrone])).build()
}

/// The `attached_registries = [...]` line of a cluster (registry names or ARM IDs).
pub fn attached(registries: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    let quoted: Vec<String> = registries.into_iter().map(|r| format!("\"{}\"", r.as_ref())).collect();
    format!("attached_registries = [{}]", quoted.join(", "))
}

/// The tags fleetgate puts on the dedicated identity it creates for `cluster`.
pub fn fleetgate_tags(cluster: &str) -> String {
    format!(r#"tags = {{ "managed-by" = "fleetgate", "fleetgate.io/cluster" = "{cluster}" }}"#)
}

fn located(subscription: &str, resource_group: &str, name: &str) -> [String; 3] {
    [format!("subscription = \"{subscription}\""), format!("resource_group = \"{resource_group}\""), format!("name = \"{name}\"")]
}

fn push_line(out: &mut String, line: &str) {
    out.push_str(line);
    out.push('\n');
}
