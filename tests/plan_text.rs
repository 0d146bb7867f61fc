//! `fleetgate plan` / `apply` text through the binary: terraform-style without a terminal (snapshot),
//! coloured and wrapped to the width on a terminal (`NO_COLOR` honoured), and a compliant cluster
//! re-applied says "No changes", never "converged … 0 applied".

mod common;

use common::child::FleetgateCommand;
use common::snapshot::assert_snapshot;
use common::terminal::{on_a_terminal, visible};
use common::*;
use fleetgate::sim::SimHandle;

async fn sim() -> SimHandle {
    start_sim(&fleet::new_and_old()).await
}

fn cli(sim: &SimHandle) -> FleetgateCommand {
    FleetgateCommand::new(sim, &[SUB1])
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_terminal_the_plan_is_plain_text_grouped_per_resource() {
    let sim = sim().await;
    let new = cluster_id(SUB1, "rg-aks", "aks-new");
    let out = cli(&sim).args(["plan", "--cluster", &new]).output();
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let text = stdout(&out);
    assert_snapshot("cli_plan_new_plain.txt", &text);
    assert!(!text.contains('\x1b'), "no colour into a pipe");
    assert!(text.contains("Plan: 3 to add, 1 to change, 0 to destroy, 0 blocked."), "{text}");
    assert!(!text.contains("/(known after apply)"), "{text}");

    let old = cluster_id(SUB1, "rg-aks", "aks-old");
    let out = cli(&sim).args(["plan", "--cluster", &old]).output();
    assert_eq!(out.status.code(), Some(3));
    let text = stdout(&out);
    assert!(text.contains("  ! kubernetes_version_unsupported\n") && text.contains("az aks upgrade"), "{text}");
    assert!(text.ends_with("Plan: 0 to add, 0 to change, 0 to destroy, 1 blocked.\n"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_the_plan_is_coloured_and_fits_the_width_unless_no_color() {
    let sim = sim().await;
    let new = cluster_id(SUB1, "rg-aks", "aks-new");
    let cmd = cli(&sim).args(["plan", "--cluster", &new]);
    let (code, screen) = tokio::task::spawn_blocking(move || on_a_terminal(&cmd, 100)).await.unwrap();
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("\x1b[32m+\x1b[0m resource") && screen.contains("\x1b[33m~\x1b[0m resource"), "{screen}");
    let shown = visible(&screen);
    assert!(shown.lines().all(|l| l.chars().count() <= 100), "wrapped to 100 columns:\n{shown}");
    assert!(shown.lines().any(|l| l.chars().count() > 90), "and uses the width:\n{shown}");

    let cmd = cli(&sim).env("NO_COLOR", "1").args(["plan", "--cluster", &new]);
    let (code, screen) = tokio::task::spawn_blocking(move || on_a_terminal(&cmd, 80)).await.unwrap();
    assert_eq!(code, Some(0), "{screen}");
    assert!(!screen.contains('\x1b'), "NO_COLOR: {screen}");
    assert!(screen.lines().all(|l| l.chars().count() <= 80), "still wrapped:\n{screen}");
    assert!(screen.contains("~ properties.securityProfile.defender.securityGating.identities:"), "{screen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn re_applying_a_compliant_cluster_says_no_changes() {
    let sim = sim().await;
    let new = cluster_id(SUB1, "rg-aks", "aks-new");
    let first = cli(&sim).args(["apply", "--yes", "--cluster", &new]).output();
    assert_eq!(first.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&first.stderr));
    let text = stdout(&first);
    assert!(text.contains("Apply complete! Resources: 3 added, 1 changed, 0 destroyed (0 already present, 0 failed)."), "{text}");

    let again = cli(&sim).args(["apply", "--yes", "--cluster", &new]).output();
    assert_eq!(again.status.code(), Some(0));
    let text = stdout(&again);
    assert!(text.contains(&format!("No changes. Cluster {SUB1}/rg-aks/aks-new matches the desired state.")), "{text}");
    assert!(!text.contains("converged") && !text.contains("0 applied"), "{text}");
    assert!(text.ends_with("Plan: 0 to add, 0 to change, 0 to destroy, 0 blocked.\n"), "{text}");
}
