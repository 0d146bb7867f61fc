//! The managed-cluster api-versions fleetgate knows, and whether each carries
//! `properties.securityProfile.defender.securityGating`. Pure data and functions: config validation,
//! `doctor` and the simulator all answer from here.
//!
//! ARM PUT is a full replace: a cluster written at an api-version whose schema has no
//! `securityGating` loses the gating block. So fleetgate only reads and writes clusters at a version
//! that carries it.
//!
//! Evidence (official `Azure/azure-rest-api-specs`, `specification/containerservice/resource-manager/
//! Microsoft.ContainerService/aks/`; each entry of [`KNOWN`] names the file and commit it was read from):
//! the field was added in `preview/2025-01-02-preview` and reached **stable in 2026-06-01**; stable
//! 2026-01-01 … 2026-05-01 do not have it. Versions that are not in [`KNOWN`] are classified by those two
//! thresholds ([`FIRST_PREVIEW_WITH_GATING`], [`FIRST_STABLE_WITH_GATING`]); a version newer than every
//! known one of its channel is assumed to carry it (ARM does not remove a field from later versions) and
//! `doctor` says so.

use std::fmt;

/// The newest stable api-version that carries `securityGating`: the default of
/// `azure.api_versions.managed_clusters` (preview versions are retired after about a year).
pub const DEFAULT_MANAGED_CLUSTERS: &str = "2026-08-01";

/// The first stable managedClusters api-version with `securityGating`.
pub const FIRST_STABLE_WITH_GATING: &str = "2026-06-01";

/// The first preview managedClusters api-version with `securityGating`.
pub const FIRST_PREVIEW_WITH_GATING: &str = "2025-01-02-preview";

/// One api-version whose schema was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownVersion {
    /// The api-version.
    pub version: &'static str,
    /// True when its managedClusters schema has `securityProfile.defender.securityGating`.
    pub security_gating: bool,
    /// Where that was read (path under `aks/` in azure-rest-api-specs, and commit).
    pub evidence: &'static str,
}

const fn known(version: &'static str, security_gating: bool, evidence: &'static str) -> KnownVersion {
    KnownVersion { version, security_gating, evidence }
}

/// Versions checked in the official specs, newest first per channel.
pub const KNOWN: &[KnownVersion] = &[
    known("2026-08-01", true, "stable/2026-08-01/managedClusters.json @ e9a2cf8c3eb4874ae356e4f099afb521ba858d67"),
    known("2026-07-01", true, "stable/2026-07-01/managedClusters.json @ acab3248b3b973bfacec32f8e3dabc18ba55156d"),
    known("2026-06-01", true, "stable/2026-06-01/managedClusters.json @ ce298e91281e70d5ae896d700060d862b6b2a41f"),
    known("2026-05-01", false, "stable/2026-05-01/managedClusters.json @ a633ba86c75cf67eef0656a7be89280e3a2df80a"),
    known("2026-04-01", false, "stable/2026-04-01/managedClusters.json @ d16280ccea66d545e75d147549d9e65a1835a272"),
    known("2026-03-01", false, "stable/2026-03-01/managedClusters.json @ 76acc6e27c2389a3a0b092e0ea13960192a80094"),
    known("2026-01-01", false, "stable/2026-01-01/managedClusters.json @ 66f53a4fceba9135ec2b138bed403366a7fa06d2"),
    known(
        "2026-08-02-preview",
        true,
        "preview/2026-08-02-preview/examples/ManagedClustersCreate_SecurityProfile.json @ 7e939b08568da475b0fada214e11528baece0d03",
    ),
    known(
        "2026-01-02-preview",
        true,
        "preview/2026-01-02-preview/examples/ManagedClustersCreate_SecurityProfile.json @ 58776c0fcd7875a8e66bed429e6323c300f38fc1",
    ),
    known(
        "2025-01-02-preview",
        true,
        "preview/2025-01-02-preview/examples/ManagedClustersCreate_SecurityProfile.json @ 68898151cf1c6ed24df1da3f78972e72d2589cdb",
    ),
    known(
        "2024-10-02-preview",
        false,
        "preview/2024-10-02-preview/examples/ManagedClustersCreate_SecurityProfile.json @ b2f7419737799f321a271e9327d0b18417eed538",
    ),
];

/// What fleetgate knows about one api-version's `securityGating`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatingSupport {
    /// Read in the specs ([`KNOWN`]).
    Known(bool),
    /// Not in [`KNOWN`], but older than the newest known version of its channel: decided by the
    /// channel's first version with `securityGating`.
    Inferred(bool),
    /// Newer than every known version of its channel: assumed to carry it.
    Newer,
    /// Not of the form `YYYY-MM-DD` or `YYYY-MM-DD-preview`.
    Malformed,
}

impl GatingSupport {
    /// True when fleetgate may read and write clusters at this version.
    pub fn carries_gating(self) -> bool {
        matches!(self, Self::Known(true) | Self::Inferred(true) | Self::Newer)
    }
}

/// A parsed api-version: its date and whether it is a preview.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Parsed<'a> {
    preview: bool,
    date: &'a str,
}

fn parse(version: &str) -> Option<Parsed<'_>> {
    let date = version.get(..10)?;
    let b = date.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if !(digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10)) {
        return None;
    }
    match &version[10..] {
        "" => Some(Parsed { preview: false, date }),
        s if s.eq_ignore_ascii_case("-preview") => Some(Parsed { preview: true, date }),
        _ => None,
    }
}

/// Classifies a managedClusters api-version (see the module docs).
pub fn gating_support(version: &str) -> GatingSupport {
    let Some(v) = parse(version.trim()) else { return GatingSupport::Malformed };
    if let Some(k) = KNOWN.iter().find(|k| parse(k.version) == Some(v)) {
        return GatingSupport::Known(k.security_gating);
    }
    let newest = KNOWN.iter().filter_map(|k| parse(k.version)).filter(|k| k.preview == v.preview).max();
    if newest.is_none_or(|n| v.date > n.date) {
        return GatingSupport::Newer;
    }
    let first = if v.preview { FIRST_PREVIEW_WITH_GATING } else { FIRST_STABLE_WITH_GATING };
    GatingSupport::Inferred(parse(first).is_some_and(|f| v.date >= f.date))
}

/// True when clusters may be read and written at `version` without losing `securityGating`.
pub fn carries_gating(version: &str) -> bool {
    gating_support(version).carries_gating()
}

/// The known versions that carry `securityGating`: stable ones first, newest first.
pub fn good_versions() -> Vec<&'static str> {
    let mut good: Vec<&'static str> = KNOWN.iter().filter(|k| k.security_gating).map(|k| k.version).collect();
    good.sort_by_key(|v| std::cmp::Reverse(parse(v).map(|p| (!p.preview, p.date))));
    good
}

/// Why a configured managedClusters api-version is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnusableVersion {
    /// The version as configured.
    pub version: String,
    /// What is wrong with it.
    pub support: GatingSupport,
}

impl fmt::Display for UnusableVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self.support {
            GatingSupport::Malformed => "is not an api-version (YYYY-MM-DD or YYYY-MM-DD-preview)",
            _ => "has no properties.securityProfile.defender.securityGating (a PUT with it would drop the gating block)",
        };
        write!(
            f,
            "{} {why}; use one that carries it: {} (stable first; default {DEFAULT_MANAGED_CLUSTERS}), or a preview from {FIRST_PREVIEW_WITH_GATING} on",
            self.version,
            good_versions().join(", ")
        )
    }
}

/// Accepts a managedClusters api-version that carries `securityGating` (known, inferred, or newer
/// than every known one).
pub fn check_managed_clusters(version: &str) -> Result<GatingSupport, UnusableVersion> {
    let support = gating_support(version);
    if support.carries_gating() { Ok(support) } else { Err(UnusableVersion { version: version.to_string(), support }) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_verdicts() {
        for v in ["2026-06-01", "2026-07-01", "2026-08-01", "2025-01-02-preview", "2026-01-02-preview", "2026-08-02-preview"] {
            assert_eq!(gating_support(v), GatingSupport::Known(true), "{v}");
        }
        for v in ["2026-01-01", "2026-03-01", "2026-04-01", "2026-05-01", "2024-10-02-preview"] {
            assert_eq!(gating_support(v), GatingSupport::Known(false), "{v}");
        }
    }

    #[test]
    fn unlisted_versions_follow_the_thresholds() {
        assert_eq!(gating_support("2026-02-01"), GatingSupport::Inferred(false));
        assert_eq!(gating_support("2025-10-01"), GatingSupport::Inferred(false));
        assert_eq!(gating_support("2023-06-01"), GatingSupport::Inferred(false));
        assert_eq!(gating_support("2025-06-02-preview"), GatingSupport::Inferred(true));
        assert_eq!(gating_support("2024-09-02-preview"), GatingSupport::Inferred(false));
        assert_eq!(gating_support("2026-10-01"), GatingSupport::Newer);
        assert_eq!(gating_support("2026-10-02-preview"), GatingSupport::Newer);
        assert!(carries_gating("2026-10-01") && carries_gating("2025-06-02-preview") && !carries_gating("2026-02-01"));
    }

    #[test]
    fn malformed_versions_are_refused() {
        for v in ["", "latest", "2026-08", "2026-08-01-beta", "2026-8-01", "2026-08-01preview"] {
            assert_eq!(gating_support(v), GatingSupport::Malformed, "{v:?}");
            assert!(check_managed_clusters(v).unwrap_err().to_string().contains("is not an api-version"), "{v:?}");
        }
    }

    #[test]
    fn default_is_the_newest_known_stable_version_with_gating() {
        let newest_stable = KNOWN.iter().filter(|k| k.security_gating && !k.version.ends_with("-preview")).map(|k| k.version).max();
        assert_eq!(newest_stable, Some(DEFAULT_MANAGED_CLUSTERS));
        assert_eq!(good_versions()[0], DEFAULT_MANAGED_CLUSTERS);
        assert_eq!(
            good_versions(),
            ["2026-08-01", "2026-07-01", "2026-06-01", "2026-08-02-preview", "2026-01-02-preview", "2025-01-02-preview"]
        );
        assert_eq!(gating_support(FIRST_STABLE_WITH_GATING), GatingSupport::Known(true));
        assert_eq!(gating_support(FIRST_PREVIEW_WITH_GATING), GatingSupport::Known(true));
    }

    #[test]
    fn refusal_names_the_version_and_the_good_ones_and_never_a_bad_one() {
        let e = check_managed_clusters("2026-05-01").unwrap_err().to_string();
        assert!(e.starts_with("2026-05-01 has no properties.securityProfile.defender.securityGating"), "{e}");
        assert!(e.contains("2026-08-01, 2026-07-01, 2026-06-01"), "{e}");
        for bad in KNOWN.iter().filter(|k| !k.security_gating) {
            assert!(!e[12..].contains(bad.version), "{e} recommends {}", bad.version);
        }
        assert_eq!(check_managed_clusters("2026-08-01"), Ok(GatingSupport::Known(true)));
    }

    #[test]
    fn evidence_names_the_version_it_proves() {
        for k in KNOWN {
            assert!(k.evidence.contains(&format!("/{}/", k.version)), "{k:?}");
            assert!(k.evidence.split(" @ ").nth(1).is_some_and(|c| c.len() == 40), "{k:?}");
        }
    }
}
