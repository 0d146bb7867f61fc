//! A `fleetgate` child process aimed at the in-process simulator: the one place that knows its
//! environment (ARM and token endpoints, the client secret, the scope and, for `run`, the Service Bus
//! queue with the root SAS key and a free health port). The child starts from an empty environment
//! (`PATH` aside), so nothing of the developer's shell leaks in.

use std::collections::BTreeMap;
use std::fmt;
use std::process::Output;

use fleetgate::sim::SimHandle;

use super::{CLIENT_ID, CLIENT_SECRET};

/// The Service Bus namespace name most tests configure (the simulator serves any).
pub const TEST_NAMESPACE: &str = "fleetgate-test";

/// Variables whose values `Debug` never shows.
const SECRET_VARS: [&str; 2] = ["AZURE_CLIENT_SECRET", "FLEETGATE_SAS_KEY"];

/// Arguments and the exact environment of one `fleetgate` invocation; build it once, run it as a
/// blocking [`std::process::Command`] or a [`tokio::process::Command`].
#[derive(Clone)]
pub struct FleetgateCommand {
    args: Vec<String>,
    vars: BTreeMap<String, String>,
}

impl FleetgateCommand {
    /// ARM and Entra through `sim` with the client-secret credential, `subscriptions` in scope, a
    /// 10 ms initial retry backoff, `PATH` from the parent, and `gating.manage_defender_plan = "full"`
    /// (the test fleets have Free subscriptions on purpose; [`Self::default_defender_plan`] undoes it).
    pub fn new(sim: &SimHandle, subscriptions: &[&str]) -> Self {
        let base = sim.base_url();
        let vars = [
            ("PATH", std::env::var("PATH").unwrap_or_default()),
            ("FLEETGATE__AZURE__RESOURCE_MANAGER_ENDPOINT", base.clone()),
            ("FLEETGATE__AZURE__AUTHORITY_HOST", base),
            ("FLEETGATE__AZURE__CREDENTIAL", "client_secret".into()),
            ("FLEETGATE__AZURE__RETRY__INITIAL_BACKOFF", "10ms".into()),
            ("FLEETGATE__SCOPE__SUBSCRIPTIONS", subscriptions.join(",")),
            ("FLEETGATE__GATING__MANAGE_DEFENDER_PLAN", "full".into()),
            ("AZURE_TENANT_ID", sim.tenant_id().to_string()),
            ("AZURE_CLIENT_ID", CLIENT_ID.into()),
            ("AZURE_CLIENT_SECRET", CLIENT_SECRET.into()),
        ];
        Self { args: Vec::new(), vars: vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect() }
    }

    /// Adds the simulator's Service Bus: `namespace`, SAS with the root key, 1 s receive timeout, and
    /// the health probes on a free port (`127.0.0.1:0`) so that several workers can run side by side.
    pub fn queue(self, sim: &SimHandle, namespace: &str) -> Self {
        self.env("FLEETGATE__QUEUE__NAMESPACE", namespace)
            .env("FLEETGATE__QUEUE__ENDPOINT", sim.service_bus_endpoint())
            .env("FLEETGATE__QUEUE__AUTH", "sas")
            .env("FLEETGATE__QUEUE__RECEIVE_TIMEOUT", "1s")
            .env("FLEETGATE_SAS_KEY", sim.root_sas_key())
            .env("FLEETGATE__HEALTH__LISTEN", "127.0.0.1:0")
    }

    /// Runs with the default `gating.manage_defender_plan` (`extensions`: never switches a plan on).
    pub fn default_defender_plan(mut self) -> Self {
        self.vars.remove("FLEETGATE__GATING__MANAGE_DEFENDER_PLAN");
        self
    }

    /// Sets (or replaces) one variable.
    pub fn env(mut self, name: &str, value: impl Into<String>) -> Self {
        self.vars.insert(name.to_string(), value.into());
        self
    }

    /// Sets (or replaces) several variables.
    pub fn envs<K: AsRef<str>, V: Into<String>>(self, vars: impl IntoIterator<Item = (K, V)>) -> Self {
        vars.into_iter().fold(self, |cmd, (name, value)| cmd.env(name.as_ref(), value))
    }

    /// Appends arguments.
    pub fn args<S: AsRef<str>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_string()));
        self
    }

    /// A blocking command with exactly these arguments and this environment.
    pub fn std(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_fleetgate"));
        cmd.args(&self.args).env_clear().envs(&self.vars);
        cmd
    }

    /// A tokio command with exactly these arguments and this environment, killed when dropped.
    pub fn tokio(&self) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_fleetgate"));
        cmd.args(&self.args).env_clear().envs(&self.vars).kill_on_drop(true);
        cmd
    }

    /// Runs to completion (stdin empty) and returns what it printed.
    pub fn output(&self) -> Output {
        self.std().output().expect("run fleetgate")
    }
}

impl fmt::Debug for FleetgateCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |(name, value): (&String, &String)| {
            let value = if SECRET_VARS.contains(&name.as_str()) { "<redacted>" } else { value.as_str() };
            (name.clone(), value.to_string())
        };
        f.debug_struct("FleetgateCommand")
            .field("args", &self.args)
            .field("vars", &self.vars.iter().map(shown).collect::<BTreeMap<_, _>>())
            .finish()
    }
}
