//! The Grafana dashboard and the Prometheus rules in `deploy/observability/` against the metrics the
//! binary exports: every series a panel, a template variable or a rule queries must be one fleetgate
//! exports (derived from the metric catalog the instruments are built from — the unit tests check the
//! SDK exports exactly it), a recording rule of the same file, or one of the few external series
//! named below with their source. Label names in fleetgate selectors must be labels it records, and
//! every fleetgate metric appears on the dashboard. (`ci/observability.sh` runs promtool on the rules.)

use std::collections::BTreeSet;
use std::path::Path;

use fleetgate::telemetry::metrics::{CATALOG, MetricKind, prometheus_names};
use serde_json::Value;

/// Series that are not fleetgate's, and who exports them (docs/OPERATIONS.md §4 says the same).
const EXTERNAL: &[(&str, &str)] = &[
    ("azure_activemessages_maximum", "Azure Monitor Service Bus ActiveMessages via the OpenTelemetry Collector azure_monitor receiver"),
    (
        "azure_deadletteredmessages_maximum",
        "Azure Monitor Service Bus DeadletteredMessages via the OpenTelemetry Collector azure_monitor receiver",
    ),
    ("kube_deployment_status_replicas_available", "kube-state-metrics"),
];

/// Labels Prometheus or the collector adds to every fleetgate series.
const TARGET_LABELS: &[&str] = &["job", "instance", "service_name", "service_instance_id", "le"];

const FUNCTIONS_AND_KEYWORDS: &[&str] =
    &["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "inf", "nan"];

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// One metric selector in an expression: the name and the label names it matches on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Selector {
    metric: String,
    labels: Vec<String>,
}

/// The metric selectors of a PromQL expression (Grafana `$variables` allowed). Strings, ranges and
/// grouping clauses are skipped; an identifier followed by `(` is a function or an aggregation.
fn selectors(expr: &str) -> Vec<Selector> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let skip_group = |mut j: usize| -> usize {
        let open = chars[j];
        let close = if open == '(' {
            ')'
        } else if open == '[' {
            ']'
        } else {
            '}'
        };
        let mut depth = 0;
        while j < chars.len() {
            if chars[j] == open {
                depth += 1;
            } else if chars[j] == close {
                depth -= 1;
                if depth == 0 {
                    return j + 1;
                }
            } else if chars[j] == '"' {
                j += 1;
                while j < chars.len() && chars[j] != '"' {
                    j += if chars[j] == '\\' { 2 } else { 1 };
                }
            }
            j += 1;
        }
        j
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' {
            i += 1;
            while i < chars.len() && chars[i] != c {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c == '[' {
            i = skip_group(i);
        } else if c == '$' {
            i += 1;
            while i < chars.len() && (chars[i].is_alphanumeric() || "_{}".contains(chars[i])) {
                i += 1;
            }
        } else if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut j = i;
            while j < chars.len() && chars[j] == ' ' {
                j += 1;
            }
            let next = chars.get(j).copied();
            let rest: String = chars[j..].iter().collect();
            let aggregation = ["by ", "by(", "without ", "without("].iter().any(|k| rest.starts_with(k));
            if aggregation {
                // `sum by (…) (…)`: the grouping clause is skipped as a keyword next
            } else if FUNCTIONS_AND_KEYWORDS.contains(&word.as_str()) {
                if next == Some('(') {
                    i = skip_group(j);
                }
            } else if next == Some('(') {
                // a function or an aggregation: its arguments are scanned next
            } else {
                let mut labels = Vec::new();
                if next == Some('{') {
                    let end = skip_group(j);
                    let body: String = chars[j + 1..end - 1].iter().collect();
                    labels = label_names(&body);
                    i = end;
                }
                out.push(Selector { metric: word, labels });
            }
        } else {
            i += 1;
        }
    }
    out
}

/// Label names of a matcher list `a="x", b=~"y"`.
fn label_names(body: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_string = false;
    let mut current = String::new();
    for c in body.chars() {
        match c {
            '"' => in_string = !in_string,
            '=' | '!' | '~' if !in_string => {
                if !current.trim().is_empty() {
                    names.push(current.trim().to_string());
                }
                current.clear();
            }
            ',' if !in_string => current.clear(),
            c if !in_string => current.push(c),
            _ => {}
        }
    }
    names
}

/// Every PromQL expression of the dashboard: panel targets and query variables.
fn dashboard_exprs(dashboard: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().unwrap_or_else(|| panic!("a target without expr in {}", panel["title"]));
            out.push((format!("panel {:?}", panel["title"]), expr.to_string()));
        }
    }
    for var in dashboard["templating"]["list"].as_array().expect("templating") {
        if var["type"] == "query" {
            let q = var["query"]["query"].as_str().or(var["query"].as_str()).expect("a variable query");
            let inner = q.strip_prefix("label_values(").and_then(|r| r.split(',').next()).unwrap_or(q);
            out.push((format!("variable {}", var["name"]), inner.to_string()));
        }
    }
    out
}

/// `record:` names and `expr:` lines of the PrometheusRule (one line each, as the file promises).
fn rules(yaml: &str) -> (BTreeSet<String>, Vec<(String, String)>) {
    let (mut recorded, mut exprs) = (BTreeSet::new(), Vec::new());
    let mut current = String::new();
    for line in yaml.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix("- record:").or_else(|| line.strip_prefix("record:")) {
            recorded.insert(name.trim().to_string());
            current = name.trim().to_string();
        } else if let Some(name) = line.strip_prefix("- alert:") {
            current = name.trim().to_string();
        } else if let Some(expr) = line.strip_prefix("expr:") {
            let expr = expr.trim();
            assert!(!expr.is_empty() && !expr.starts_with('|') && !expr.starts_with('>'), "{current}: keep expr on one line");
            exprs.push((current.clone(), expr.trim_matches('\'').to_string()));
        }
    }
    (recorded, exprs)
}

#[test]
fn the_selector_scanner_finds_metrics_and_labels_and_nothing_else() {
    let s = selectors(
        r#"sum by (status) (rate(fleetgate_messages_total{outcome="failed", x=~"a,b"}[5m] offset 1h)) / on() group_left max(fleetgate:clusters:max) > 0.5"#,
    );
    assert_eq!(
        s,
        [
            Selector { metric: "fleetgate_messages_total".into(), labels: vec!["outcome".into(), "x".into()] },
            Selector { metric: "fleetgate:clusters:max".into(), labels: vec![] },
        ]
    );
    assert_eq!(
        selectors("time() - max(x_seconds) > 43200 and absent(y)").iter().map(|s| s.metric.as_str()).collect::<Vec<_>>(),
        ["x_seconds", "y"]
    );
    assert_eq!(selectors("rate(a[$__rate_interval])")[0].metric, "a");
}

#[test]
fn every_metric_the_dashboard_and_the_rules_query_is_exported() {
    let exported: BTreeSet<String> = prometheus_names().into_iter().collect();
    assert!(exported.contains("fleetgate_clusters") && exported.contains("fleetgate_last_resync_timestamp_seconds"));
    assert!(exported.contains("fleetgate_reconcile_duration_seconds_bucket"));
    let dashboard: Value = serde_json::from_str(&read("deploy/observability/grafana-dashboard.json")).expect("the dashboard is JSON");
    let yaml = read("deploy/observability/prometheus-rules.yaml");
    assert!(yaml.contains("kind: PrometheusRule") && yaml.contains("\nspec:\n  groups:"), "a PrometheusRule with spec.groups");
    let (recorded, rule_exprs) = rules(&yaml);
    assert!(rule_exprs.len() >= 8, "{rule_exprs:?}");
    let external: BTreeSet<&str> = EXTERNAL.iter().map(|(m, _)| *m).collect();
    let mut queried = BTreeSet::new();
    for (place, expr) in dashboard_exprs(&dashboard).into_iter().chain(rule_exprs) {
        let found = selectors(&expr);
        assert!(!found.is_empty(), "{place}: no metric in {expr}");
        for s in found {
            let known = exported.contains(&s.metric) || recorded.contains(&s.metric) || external.contains(s.metric.as_str());
            assert!(known, "{place} queries {} ({expr}), which nothing exports", s.metric);
            if let Some(info) = CATALOG.iter().find(|m| m.prometheus_series().contains(&s.metric)) {
                for label in &s.labels {
                    let ok = info.labels.contains(&label.as_str()) || TARGET_LABELS.contains(&label.as_str());
                    assert!(ok, "{place}: {} has no label {label} ({expr})", s.metric);
                }
                queried.insert(info.name);
            }
        }
    }
    let unused: Vec<&str> = CATALOG.iter().map(|m| m.name).filter(|n| !queried.contains(n)).collect();
    assert!(unused.is_empty(), "metrics neither on the dashboard nor in a rule: {unused:?}");
    let alerts = [
        "FleetgateMessagesFailing",
        "FleetgatePoisonQueueNotEmpty",
        "FleetgateDeadLetterQueueNotEmpty",
        "FleetgateResyncOverdue",
        "FleetgateWorkerNotReady",
        "FleetgateComplianceDropping",
    ];
    for alert in alerts {
        assert!(yaml.contains(&format!("- alert: {alert}\n")), "{alert}");
    }
    assert!(
        CATALOG.iter().any(|m| m.name == "fleetgate_clusters" && m.kind == MetricKind::Gauge && m.labels == ["status", "subscription"])
    );
}
