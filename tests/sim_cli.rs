//! `fleetgate sim` as a user runs it: the printed `export` lines, pasted as they are, point `fleetgate
//! doctor` and `fleetgate plan` at the simulator (managed-identity credential path: IDENTITY_ENDPOINT).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Sim(Child);

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `fleetgate sim` on a free port and returns the (NAME, VALUE) pairs of its export lines.
fn start_sim(fleet: &std::path::Path) -> (Sim, Vec<(String, String)>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fleetgate"))
        .args(["sim", "--listen", "127.0.0.1:0", "--fleet"])
        .arg(fleet)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn sim");
    let stdout = child.stdout.take().expect("stdout");
    let sim = Sim(child);
    let mut vars = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        if let Some(rest) = line.strip_prefix("export ") {
            let (name, value) = rest.split_once('=').expect("NAME=VALUE");
            vars.push((name.to_string(), value.trim_matches('\'').to_string()));
        }
        if line.starts_with("curl ") {
            break;
        }
    }
    (sim, vars)
}

#[test]
fn printed_environment_lines_work_as_pasted() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("fleet.toml");
    std::fs::write(
        &fleet,
        "[[subscriptions]]\nid = \"00000000-0000-0000-0000-000000000009\"\ndefender = \"full\"\n\n[[clusters]]\nsubscription = \"00000000-0000-0000-0000-000000000009\"\nresource_group = \"rg\"\nname = \"c1\"\n",
    )
    .unwrap();
    let (_sim, vars) = start_sim(&fleet);
    let names: Vec<&str> = vars.iter().map(|(n, _)| n.as_str()).collect();
    for expected in [
        "FLEETGATE__AZURE__RESOURCE_MANAGER_ENDPOINT",
        "IDENTITY_ENDPOINT",
        "FLEETGATE__SCOPE__SUBSCRIPTIONS",
        "FLEETGATE__QUEUE__ENDPOINT",
    ] {
        assert!(names.contains(&expected), "missing {expected} in {names:?}");
    }
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_fleetgate")).args(args).env_clear().envs(vars.iter().cloned()).output().expect("run fleetgate")
    };
    let doctor = run(&["doctor"]);
    let text = String::from_utf8_lossy(&doctor.stdout);
    assert_eq!(doctor.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&doctor.stderr));
    let cluster =
        "/subscriptions/00000000-0000-0000-0000-000000000009/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1";
    let plan = run(&["plan", "--cluster", cluster, "--output", "json"]);
    assert_eq!(plan.status.code(), Some(0), "{}", String::from_utf8_lossy(&plan.stderr));
    let v: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(v["status"], "changes_needed");
}
