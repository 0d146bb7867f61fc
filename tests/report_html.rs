//! `fleetgate report --output html` rendered by a real browser: headless Chromium (Debian's
//! `chromium`; `.ci/run` installs it) loads the page with the network switched off, dumps the DOM
//! after its inline script ran and takes a screenshot. The DOM's counts must equal the JSON report's,
//! the table must sort in the browser, and the screenshot must show the stacked bars in their colours.
//! Without Chromium the test fails and says how to install it — it never skips.

mod backfill_support;
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use backfill_support::*;
use common::png;
use serde_json::Value;

/// The browser binary: `FLEETGATE_CHROMIUM`, else `chromium` on PATH.
fn chromium() -> PathBuf {
    let name = std::env::var_os("FLEETGATE_CHROMIUM").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("chromium"));
    let found = Command::new(&name).arg("--version").stdout(Stdio::piped()).stderr(Stdio::null()).output();
    match found {
        Ok(out) if out.status.success() => name,
        _ => panic!(
            "headless Chromium is needed for the HTML report test and was not found ({}): install it with `apt-get install -y chromium` (.ci/run does)",
            name.display()
        ),
    }
}

/// Runs Chromium headless on `url` with `mode` (`--dump-dom` or `--screenshot=…`), no network, a
/// fresh profile, at most 90 s; returns stdout.
fn browse(url: &str, mode: &[String], profile: &Path) -> String {
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(mode)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            let mut out = String::new();
            std::io::Read::read_to_string(&mut child.stdout.take().expect("stdout"), &mut out).expect("chromium output");
            assert!(status.success(), "chromium failed ({status}) on {url}");
            return out;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within 90 s on {url}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The value of `name="…"` in `tag`.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    tag[start..].split('"').next()
}

/// The opening tags in `dom` that start with `prefix` (e.g. `<tr class="cluster"`).
fn tags<'a>(dom: &'a str, prefix: &str) -> Vec<&'a str> {
    dom.match_indices(prefix).map(|(i, _)| &dom[i..i + dom[i..].find('>').unwrap_or(0)]).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_html_report_renders_in_chromium_with_the_json_reports_counts() {
    let sim = mixed_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("fleet.html");
    let out = fleetgate_cli(&sim, &["report", "-o", "html", "--out", page.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(3), "blocked clusters: exit 3; stderr {}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty(), "--out writes the file, not stdout");
    let json: Value = stdout_json(&fleetgate_cli(&sim, &["report", "-o", "json"], &[]));
    let url = format!("file://{}", page.display());
    let (url_sorted, profile) = (format!("{url}#sort=-cluster"), dir.path().join("profile"));

    let dom = tokio::task::spawn_blocking(move || browse(&url_sorted, &["--dump-dom".into()], &profile)).await.unwrap();
    let rows = tags(&dom, "<tr class=\"cluster\"");
    assert_eq!(rows.len() as u64, json["totals"]["clusters"].as_u64().unwrap(), "one row per cluster");
    for status in ["compliant", "changes_needed", "blocked", "excluded", "unreadable"] {
        let n = rows.iter().filter(|t| attr(t, "data-status") == Some(status)).count() as u64;
        assert_eq!(n, json["totals"][status].as_u64().unwrap(), "{status} rows");
    }
    for sub in json["subscriptions"].as_array().unwrap() {
        let id = sub["subscription"].as_str().unwrap();
        let row = tags(&dom, "<tr class=\"rollup\"").into_iter().find(|t| attr(t, "data-subscription") == Some(id)).expect("a roll-up row");
        for (key, json_key) in [
            ("clusters", "clusters"),
            ("compliant", "compliant"),
            ("changes_needed", "changes_needed"),
            ("blocked", "blocked"),
            ("excluded", "excluded"),
            ("failed", "failed"),
        ] {
            assert_eq!(attr(row, &format!("data-{key}")).and_then(|v| v.parse::<u64>().ok()), sub[json_key].as_u64(), "{id} {key}");
        }
    }
    let blocked: Vec<&str> = tags(&dom, "<div class=\"blocker\"").into_iter().filter_map(|t| attr(t, "data-cluster")).collect();
    assert_eq!(blocked.len() as u64, json["totals"]["blocked"].as_u64().unwrap());
    assert!(dom.contains("<code>az aks update -g rg-b -n aks-nooidc --enable-oidc-issuer</code>"), "the fix command is shown");
    let order: Vec<&str> = rows.iter().filter_map(|t| attr(t, "data-cluster")).collect();
    let mut descending = order.clone();
    descending.sort_by(|a, b| b.cmp(a));
    assert_eq!(order, descending, "the inline script sorted the table in the browser (#sort=-cluster)");
    assert!(dom.contains("data-sorted=\"-cluster\""), "the table says how it is sorted");

    let shot = dir.path().join("shot.png");
    let mode = vec![format!("--screenshot={}", shot.display()), "--window-size=1280,1400".into()];
    let profile = dir.path().join("profile-shot");
    tokio::task::spawn_blocking(move || browse(&url, &mode, &profile)).await.unwrap();
    let image = png::decode(&std::fs::read(&shot).expect("the screenshot was written"));
    if let Some(keep) = std::env::var_os("FLEETGATE_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, keep).expect("copy the screenshot");
    }
    assert_eq!((image.width, image.height), (1280, 1400));
    assert!(image.distinct() > 50, "not blank: {} colours", image.distinct());
    // The mixed fleet has compliant, needs-changes, blocked and excluded clusters, and no failed one.
    for (name, rgb) in [
        ("compliant", [0x2e, 0x7d, 0x32]),
        ("needs changes", [0xf9, 0xa8, 0x25]),
        ("blocked", [0xc6, 0x28, 0x28]),
        ("excluded", [0x75, 0x75, 0x75]),
    ] {
        assert!(image.count_near(rgb, 6) > 500, "the {name} segments are on screen ({} pixels)", image.count_near(rgb, 6));
    }
    assert!(image.count_near([0x6a, 0x1b, 0x9a], 6) < 400, "no failed segment (only its legend swatch)");
}
