//! The recorded Azure documents under `tests/fixtures/recorded/` (see its SOURCES.md): loading them,
//! what each one is, and JSON helpers for comparing a document with what fleetgate sent.
//! Included with `#[path]` by the tests that use it (not part of `common`).
#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::Value;

/// The sanitized subscription every recording uses.
pub const RECORDED_SUB: &str = "00000000-0000-0000-0000-000000000000";
/// Where fleetgate's edit lives; everything outside it must be sent back as read.
pub const GATING: &str = "/properties/securityProfile/defender/securityGating";

/// What a recorded cluster should come out as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// OIDC issuer, workload identity and a kubelet identity: plan and apply converge it.
    Converges,
    /// Blocked with these blocker codes (in order), and zero writes.
    Blocked(&'static [&'static str]),
}

/// One recorded managed-cluster GET response.
#[derive(Debug, Clone, Copy)]
pub struct RecordedCluster {
    /// File stem under `clusters/` (and `cassettes/`).
    pub name: &'static str,
    /// The api-version of the recorded request URL.
    pub api_version: &'static str,
    /// What fleetgate must do with it.
    pub expect: Expect,
}

/// Every recorded cluster document.
pub const CLUSTERS: &[RecordedCluster] = &[
    RecordedCluster { name: "cli-2023-06-01-workload-identity", api_version: "2023-06-01", expect: Expect::Converges },
    RecordedCluster { name: "cli-2025-09-01-automatic", api_version: "2025-09-01", expect: Expect::Converges },
    RecordedCluster { name: "preview-2024-02-02-automatic", api_version: "2024-02-02-preview", expect: Expect::Converges },
    RecordedCluster {
        name: "preview-2024-03-02-no-workload-identity",
        api_version: "2024-03-02-preview",
        expect: Expect::Blocked(&["workload_identity_disabled"]),
    },
    RecordedCluster {
        name: "cli-2022-04-02-preview-no-oidc",
        api_version: "2022-04-02-preview",
        expect: Expect::Blocked(&["oidc_issuer_disabled", "workload_identity_disabled"]),
    },
];

/// The recorded cluster named `name`.
pub fn recorded(name: &str) -> RecordedCluster {
    *CLUSTERS.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no recorded cluster {name}"))
}

/// `tests/fixtures/recorded`.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/recorded")
}

/// The bytes of `recorded/{rel}`; a missing file fails the test.
pub fn read(rel: &str) -> String {
    let path = dir().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The recorded response body of cluster `name`, parsed.
pub fn cluster_doc(name: &str) -> Value {
    serde_json::from_str(&read(&format!("clusters/{name}.json"))).unwrap_or_else(|e| panic!("clusters/{name}.json: {e}"))
}

/// The document's eTag, whichever casing the service used (`eTag` in the spec, `etag` in some recordings).
pub fn etag(doc: &Value) -> Option<&str> {
    doc.get("eTag").or_else(|| doc.get("etag")).and_then(Value::as_str)
}

/// `body` with `securityGating` removed, and the parents fleetgate's edit created (absent in `read`)
/// removed again when they are left empty.
pub fn outside_gating(body: &Value, read: &Value) -> Value {
    let mut out = body.clone();
    if let Some(defender) = out.pointer_mut("/properties/securityProfile/defender").and_then(Value::as_object_mut) {
        defender.remove("securityGating");
    }
    for (parent, key) in [("/properties/securityProfile", "defender"), ("/properties", "securityProfile")] {
        let pointer = format!("{parent}/{key}");
        let created = read.pointer(&pointer).is_none();
        let empty = out.pointer(&pointer).and_then(Value::as_object).is_some_and(|o| o.is_empty());
        if created && empty {
            out.pointer_mut(parent).and_then(Value::as_object_mut).map(|p| p.remove(key));
        }
    }
    out
}

/// JSON pointers where `a` and `b` differ (`(dropped)` = only in `a`, `(added)` = only in `b`).
pub fn differences(a: &Value, b: &Value) -> Vec<String> {
    let mut out = Vec::new();
    diff_into(a, b, "", &mut out);
    out
}

fn diff_into(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, xv) in x {
                match y.get(k) {
                    Some(yv) => diff_into(xv, yv, &format!("{path}/{k}"), out),
                    None => out.push(format!("{path}/{k} (dropped)")),
                }
            }
            out.extend(y.keys().filter(|k| !x.contains_key(*k)).map(|k| format!("{path}/{k} (added)")));
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            x.iter().zip(y).enumerate().for_each(|(i, (x, y))| diff_into(x, y, &format!("{path}/{i}"), out));
        }
        _ if a != b => out.push(format!("{path}: {a} != {b}")),
        _ => {}
    }
}

/// The `content-length` response header recorded in cassette excerpt `name` (the length of the body as
/// the service sent it).
pub fn recorded_content_length(name: &str) -> usize {
    let cassette = read(&format!("cassettes/{name}.yaml"));
    let after = cassette.split("content-length:\n").nth(1).unwrap_or_else(|| panic!("{name}: no content-length header"));
    let line = after.lines().next().unwrap_or_default();
    let digits: String = line.chars().filter(char::is_ascii_digit).collect();
    digits.parse().unwrap_or_else(|e| panic!("{name}: content-length {line:?}: {e}"))
}
