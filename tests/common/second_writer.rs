//! A second writer for race tests. Installed as the request hook of fleetgate's ARM client, it waits
//! for the `nth` request matching its trigger and, right before that request is sent, changes the
//! cluster through its own ARM client (real HTTP to the simulator, no `If-Match`, as a careless tool
//! would) and waits for its update to finish. Exactly once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use fleetgate::arm::{ArmClient, Call, RequestHook};
use serde_json::Value;

use super::{TestEnv, arm_client};

/// The change the second writer makes to the cluster document it reads.
pub type Change = Box<dyn Fn(&mut Value) + Send + Sync>;

/// See the module docs.
pub struct SecondWriter {
    arm: ArmClient,
    version: String,
    cluster: String,
    method: &'static str,
    path_contains: String,
    nth: usize,
    seen: AtomicUsize,
    change: Change,
}

impl SecondWriter {
    /// Installs a writer on `env`'s engine that changes `cluster` with `change` right before the `nth`
    /// (1-based) `method` request whose path contains `path_contains` (case-insensitive).
    pub fn install(env: &TestEnv, cluster: &str, method: &'static str, path_contains: &str, nth: usize, change: Change) -> Arc<Self> {
        let writer = Arc::new(Self {
            arm: arm_client(&env.settings),
            version: env.settings.azure.api_versions.managed_clusters.clone(),
            cluster: cluster.to_string(),
            method,
            path_contains: path_contains.to_ascii_lowercase(),
            nth,
            seen: AtomicUsize::new(0),
            change,
        });
        assert!(env.engine.arm().set_request_hook(writer.clone()), "one hook per client");
        writer
    }

    /// True once the writer has written.
    pub fn fired(&self) -> bool {
        self.seen.load(Ordering::SeqCst) >= self.nth
    }

    async fn write(&self) {
        let current = self.arm.get(&self.cluster, &self.version).await.expect("second writer GET").expect("the cluster exists");
        let mut doc = current.body;
        (self.change)(&mut doc);
        let put = self.arm.put(&self.cluster, &self.version, &doc, None).await.expect("second writer PUT");
        self.arm.wait_for_lro(&put).await.expect("second writer's update finishes");
    }
}

#[async_trait::async_trait]
impl RequestHook for SecondWriter {
    async fn before_send(&self, call: &Call, _is_read: bool) {
        let matches = call.method == self.method && call.resource.to_ascii_lowercase().contains(&self.path_contains);
        if matches && self.seen.fetch_add(1, Ordering::SeqCst) + 1 == self.nth {
            self.write().await;
        }
    }
}
