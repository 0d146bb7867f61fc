//! `fleetgate backfill` progress through the binary: on a terminal an indicatif bar with done/total,
//! clusters in flight, writes and 429s; without one plain lines with the same counters (the final
//! one agreeing with the JSON summary), and no rate in a dry run.

mod backfill_support;
mod common;

use backfill_support::*;
use common::child::FleetgateCommand;
use common::faults::fault;
use common::terminal::on_a_terminal;
use common::{SUB1, SUB2};
use fleetgate::sim::faults::FaultRule;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_terminal_progress_is_plain_lines_with_writes_and_429s() {
    let sim = mixed_sim().await;
    // Two 429s on the first identity PUT: the client retries, the counter shows them.
    sim.add_fault(FaultRule {
        status: Some(429),
        retry_after: Some(0),
        count: Some(2),
        ..fault(Some("PUT"), "*/userAssignedIdentities/*")
    });
    let out = fleetgate_cli(&sim, &["backfill", "--yes", "-o", "json"], &[]);
    assert_eq!(out.status.code(), Some(3), "blocked clusters: exit 3; stderr {}", stderr(&out));
    let summary = stdout_json(&out);
    let err = stderr(&out);
    assert!(!err.contains('\r') && !err.contains("\x1b["), "no redrawing without a terminal: {err:?}");
    let last = err.lines().rfind(|l| l.starts_with('[')).unwrap_or_else(|| panic!("progress lines: {err}"));
    let expected = format!(
        "[7/7] 100% in flight 0 · writes {} · 429s {} · done",
        summary["writes"].as_u64().unwrap(),
        summary["throttled"].as_u64().unwrap()
    );
    assert_eq!(last, expected, "{err}");
    assert_eq!(summary["throttled"], 2, "{summary}");

    let dry = fleetgate_cli(&sim, &["backfill", "--dry-run"], &[]);
    let err = stderr(&dry);
    assert!(err.contains("[7/7] 100% in flight 0 · writes 0 · 429s 0 · done"), "{err}");
    assert!(!err.contains("clusters/s") && !err.contains("ETA"), "no rate from a dry run: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_the_backfill_draws_a_bar_with_its_counters() {
    let sim = mixed_sim().await;
    let cmd = FleetgateCommand::new(&sim, &[SUB1, SUB2]).args(["backfill", "--yes"]);
    let (code, screen) = tokio::task::spawn_blocking(move || on_a_terminal(&cmd, 120)).await.unwrap();
    assert_eq!(code, Some(3), "{screen}");
    assert!(screen.contains("\r\x1b[2K"), "the bar redraws in place: {screen:?}");
    let final_bar = screen.rsplit("\r\x1b[2K").find(|s| s.contains("7/7")).unwrap_or_else(|| panic!("a bar at 7/7: {screen:?}"));
    assert!(final_bar.contains("==============================") && final_bar.contains("in flight 0 · writes "), "{final_bar:?}");
    assert!(final_bar.contains(" · 429s 0 · done"), "{final_bar:?}");
    assert!(screen.contains("converged"), "notes above the bar: {screen}");
}
