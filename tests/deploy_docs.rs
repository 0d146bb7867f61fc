//! `docs/OPERATIONS.md` stays true to the code: every configuration key (with its default and
//! environment name), every permission (with the role that grants it) and the ABAC condition, every
//! blocker code, every metric the telemetry module defines, and every file it points at.

use std::path::Path;

use fleetgate::arm::permissions::{Grant, PERMISSIONS, delegation_condition};

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn doc() -> String {
    read("docs/OPERATIONS.md")
}

/// `(section.key, default as written)` for every key of config/default.toml.
fn default_keys() -> Vec<(String, String)> {
    let mut section = String::new();
    let mut keys = Vec::new();
    for line in read("config/default.toml").lines().map(str::trim) {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
        } else if let Some((key, value)) = line.split_once('=') {
            keys.push((format!("{section}.{}", key.trim()), value.trim().to_string()));
        }
    }
    keys
}

/// The table row that documents `needle` (the line starting with `` | `needle` ``).
fn row<'a>(doc: &'a str, needle: &str) -> Option<&'a str> {
    doc.lines().find(|l| l.starts_with(&format!("| `{needle}` |")))
}

#[test]
fn every_config_key_has_a_row_with_default_and_environment_name() {
    let doc = doc();
    let keys = default_keys();
    assert!(keys.len() >= 40, "parsed {} keys from config/default.toml", keys.len());
    let mut missing = Vec::new();
    for (path, default) in &keys {
        let env = format!("FLEETGATE__{}", path.split('.').map(str::to_ascii_uppercase).collect::<Vec<_>>().join("__"));
        match row(&doc, path) {
            Some(line) if line.contains(&format!("`{default}`")) && line.contains(&format!("`{env}`")) => {}
            Some(line) => missing.push(format!("{path}: row lacks default `{default}` or `{env}`: {line}")),
            None => missing.push(format!("{path}: no row")),
        }
    }
    assert!(missing.is_empty(), "docs/OPERATIONS.md configuration reference:\n{}", missing.join("\n"));
    let documented = doc.lines().filter(|l| l.starts_with("| `") && l.contains("| `FLEETGATE__")).count();
    assert_eq!(documented, keys.len(), "rows for keys that config/default.toml no longer has");
}

#[test]
fn permissions_table_is_the_list() {
    let doc = doc();
    for p in PERMISSIONS {
        let line = row(&doc, p.action).unwrap_or_else(|| panic!("no row for {}", p.action));
        let grant = match p.grant {
            Grant::CustomRole => "| custom role |",
            Grant::ConditionedRbacAdministrator => "| RBAC Administrator + condition |",
        };
        assert!(line.contains(grant), "{} must say {grant}: {line}", p.action);
    }
    let rows = doc
        .lines()
        .filter(|l| {
            l.starts_with("| `Microsoft.")
                && l.split('|').nth(2).is_some_and(|c| c.contains("custom role") || c.contains("RBAC Administrator"))
        })
        .count();
    assert_eq!(rows, PERMISSIONS.len(), "the permissions table lists an action that src/arm/permissions.rs does not");
    assert!(doc.contains(&format!("```text\n{}\n```", delegation_condition())), "the documented ABAC condition is the code's");
}

#[test]
fn every_blocker_code_is_explained() {
    let doc = doc();
    let source = read("src/core/blocker.rs");
    let codes = snake_labels(&source);
    assert!(codes.len() >= 12, "{codes:?}");
    for code in codes {
        assert!(row(&doc, &code).is_some(), "blocker {code} has no troubleshooting row");
    }
}

#[test]
fn every_defined_metric_is_documented() {
    let doc = doc();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/telemetry");
    let mut files = vec![];
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() { stack.push(p) } else { files.push(p) }
        }
    }
    assert!(!files.is_empty());
    for file in files.iter().filter(|f| !f.to_string_lossy().contains("test")) {
        let text = std::fs::read_to_string(file).unwrap();
        for name in text.split("\"fleetgate_").skip(1).map(|r| r.split('"').next().unwrap()) {
            assert!(
                doc.contains(&format!("`fleetgate_{name}`")),
                "metric fleetgate_{name} ({}) is not in docs/OPERATIONS.md",
                file.display()
            );
        }
    }
    // Attribute values: message outcomes and write kinds, as the code spells them.
    for (metric, source) in [("fleetgate_messages_total", "src/dispatch/outcome.rs"), ("fleetgate_writes_total", "src/core/action.rs")] {
        let line = row(&doc, metric).unwrap_or_else(|| panic!("no row for {metric}"));
        let values = snake_labels(&read(source));
        assert!(values.len() >= 6, "{source}: {values:?}");
        for v in values {
            assert!(line.contains(&v), "{metric} row lacks {v}: {line}");
        }
    }
}

/// The `"…"` of every `Self::Variant => "…"` line (an enum's label table).
fn snake_labels(source: &str) -> Vec<String> {
    source
        .lines()
        .filter(|l| l.trim_start().starts_with("Self::"))
        .filter_map(|l| l.split("=> \"").nth(1))
        .map(|r| r.trim_end_matches("\",").to_string())
        .collect()
}

#[test]
fn referenced_files_exist() {
    let doc = doc();
    let table = doc.split("Everything in this guide is in the repository:").nth(1).expect("the file table").split("\n\n").nth(1).unwrap();
    let mut checked = 0;
    for line in table.lines().skip(2) {
        let first_cell = line.split('|').nth(1).unwrap();
        for path in first_cell.split('`').skip(1).step_by(2) {
            assert!(Path::new(env!("CARGO_MANIFEST_DIR")).join(path).exists(), "docs/OPERATIONS.md points at {path}, which does not exist");
            checked += 1;
        }
    }
    assert!(checked >= 10, "checked {checked} paths");
}
