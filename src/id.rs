//! Strict ARM resource IDs.
//!
//! Every ID fleetgate acts on passes through [`ResourceId::parse`]: events, config, ARM responses. The
//! parser is deliberately strict (no `..`, no query or fragment, no percent-encoding, no empty segments,
//! a GUID subscription) because an ID is also an authorization decision: the subscription it names is
//! checked against `scope.subscriptions` before anything is sent. IDs compare case-insensitively, as ARM
//! does, and display canonically (`/subscriptions/…/resourceGroups/…/providers/…`).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// Why a string is not an acceptable ARM resource ID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid ARM resource ID {input:?}: {reason}; expected /subscriptions/<guid>/resourceGroups/<rg>/providers/<Namespace>/<type>/<name>"
)]
pub struct IdError {
    /// The offending input, truncated to 200 characters.
    pub input: String,
    /// What rule it broke.
    pub reason: &'static str,
}

/// One `providers/{namespace}/{type}/{name}[/{type}/{name}]*` chunk of an ID.
#[derive(Debug, Clone)]
struct ProviderChunk {
    namespace: String,
    /// `(type, name)` pairs, outermost first.
    types: Vec<(String, String)>,
}

/// A parsed, validated ARM resource ID rooted at a subscription.
#[derive(Debug, Clone)]
pub struct ResourceId {
    subscription: String,
    resource_group: Option<String>,
    chunks: Vec<ProviderChunk>,
    canonical: String,
    key: String,
}

const MAX_LEN: usize = 4096;

impl ResourceId {
    /// Parses and validates `input`.
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let fail = |reason| IdError { input: input.chars().take(200).collect(), reason };
        if input.len() > MAX_LEN {
            return Err(fail("longer than 4096 characters"));
        }
        if let Some(reason) = forbidden_character(input) {
            return Err(fail(reason));
        }
        let rest = input.strip_prefix('/').ok_or_else(|| fail("must start with '/'"))?;
        let segments: Vec<&str> = rest.split('/').collect();
        if segments.iter().any(|s| s.is_empty()) {
            return Err(fail("empty path segment (double or trailing '/')"));
        }
        if segments.iter().any(|s| *s == ".." || *s == ".") {
            return Err(fail("'.' or '..' segment"));
        }
        Self::from_segments(&segments).map_err(fail)
    }

    fn from_segments(seg: &[&str]) -> Result<Self, &'static str> {
        if seg.len() < 2 || !seg[0].eq_ignore_ascii_case("subscriptions") {
            return Err("must start with /subscriptions/<id>");
        }
        let subscription = seg[1];
        if !is_guid(subscription) {
            return Err("subscription ID is not a GUID");
        }
        let mut i = 2;
        let mut resource_group = None;
        if seg.len() > i && seg[i].eq_ignore_ascii_case("resourceGroups") {
            let rg = seg.get(i + 1).ok_or("resourceGroups without a name")?;
            resource_group = Some((*rg).to_string());
            i += 2;
        }
        let chunks = parse_chunks(&seg[i..])?;
        Ok(Self::assemble(subscription.to_string(), resource_group, chunks))
    }

    fn assemble(subscription: String, resource_group: Option<String>, chunks: Vec<ProviderChunk>) -> Self {
        let mut canonical = format!("/subscriptions/{subscription}");
        if let Some(rg) = &resource_group {
            canonical.push_str("/resourceGroups/");
            canonical.push_str(rg);
        }
        for chunk in &chunks {
            canonical.push_str("/providers/");
            canonical.push_str(&chunk.namespace);
            for (ty, name) in &chunk.types {
                canonical.push('/');
                canonical.push_str(ty);
                canonical.push('/');
                canonical.push_str(name);
            }
        }
        let key = canonical.to_ascii_lowercase();
        Self { subscription, resource_group, chunks, canonical, key }
    }

    /// Builds `/subscriptions/{sub}/resourceGroups/{rg}/providers/{namespace}/{type}/{name}`.
    pub fn new_resource(subscription: &str, resource_group: &str, namespace: &str, ty: &str, name: &str) -> Result<Self, IdError> {
        Self::parse(&format!("/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/{namespace}/{ty}/{name}"))
    }

    /// The subscription ID, as written in the input.
    pub fn subscription_id(&self) -> &str {
        &self.subscription
    }

    /// The resource group name, if the ID is inside one.
    pub fn resource_group(&self) -> Option<&str> {
        self.resource_group.as_deref()
    }

    /// The name of the innermost resource (the last segment), or the subscription / group for scopes.
    pub fn name(&self) -> &str {
        match self.chunks.last().and_then(|c| c.types.last()) {
            Some((_, name)) => name,
            None => self.resource_group.as_deref().unwrap_or(&self.subscription),
        }
    }

    /// The innermost resource's full type, e.g. `Microsoft.Authorization/roleAssignments`, or `None` for a
    /// subscription or resource-group scope.
    pub fn resource_type(&self) -> Option<String> {
        let chunk = self.chunks.last()?;
        let types: Vec<&str> = chunk.types.iter().map(|(t, _)| t.as_str()).collect();
        Some(format!("{}/{}", chunk.namespace, types.join("/")))
    }

    /// True when the innermost resource has type `full_type` (case-insensitive).
    pub fn is_type(&self, full_type: &str) -> bool {
        self.resource_type().is_some_and(|t| t.eq_ignore_ascii_case(full_type))
    }

    /// For an extension resource (`{scope}/providers/Microsoft.Authorization/roleAssignments/{n}`), the
    /// scope it is attached to; for a child resource, its parent; `None` at subscription level.
    pub fn parent(&self) -> Option<ResourceId> {
        let mut chunks = self.chunks.clone();
        match chunks.last_mut() {
            Some(last) if last.types.len() > 1 => {
                last.types.pop();
            }
            Some(_) => {
                chunks.pop();
            }
            None => {
                return self.resource_group.as_ref().map(|_| Self::assemble(self.subscription.clone(), None, vec![]));
            }
        }
        Some(Self::assemble(self.subscription.clone(), self.resource_group.clone(), chunks))
    }

    /// Appends `providers/{namespace}/{type}/{name}` (an extension or child under this ID).
    pub fn child_provider(&self, namespace: &str, ty: &str, name: &str) -> Result<Self, IdError> {
        Self::parse(&format!("{}/providers/{namespace}/{ty}/{name}", self.canonical))
    }

    /// Appends `{type}/{name}` to the innermost resource (a nested child such as a FIC under an identity).
    pub fn child(&self, ty: &str, name: &str) -> Result<Self, IdError> {
        Self::parse(&format!("{}/{ty}/{name}", self.canonical))
    }

    /// The canonical string form.
    pub fn as_str(&self) -> &str {
        &self.canonical
    }

    /// Lower-case form: the identity used for equality, hashing and deterministic names.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// True when this ID is inside (or equal to) `scope`.
    pub fn is_within(&self, scope: &ResourceId) -> bool {
        self.key == scope.key || self.key.starts_with(&format!("{}/", scope.key))
    }
}

fn parse_chunks(seg: &[&str]) -> Result<Vec<ProviderChunk>, &'static str> {
    let mut chunks = Vec::new();
    let mut i = 0;
    while i < seg.len() {
        if !seg[i].eq_ignore_ascii_case("providers") {
            return Err("expected 'providers' segment");
        }
        let namespace = seg.get(i + 1).ok_or("'providers' without a namespace")?;
        if !namespace.contains('.') {
            return Err("provider namespace must look like Microsoft.Something");
        }
        i += 2;
        let mut types = Vec::new();
        while i < seg.len() && !seg[i].eq_ignore_ascii_case("providers") {
            let name = seg.get(i + 1).ok_or("resource type without a name")?;
            types.push((seg[i].to_string(), (*name).to_string()));
            i += 2;
        }
        if types.is_empty() {
            return Err("provider namespace without a resource type");
        }
        chunks.push(ProviderChunk { namespace: (*namespace).to_string(), types });
    }
    Ok(chunks)
}

fn forbidden_character(input: &str) -> Option<&'static str> {
    for c in input.chars() {
        match c {
            '?' => return Some("contains a query ('?')"),
            '#' => return Some("contains a fragment ('#')"),
            '%' => return Some("contains percent-encoding ('%')"),
            '\\' => return Some("contains a backslash"),
            c if c.is_control() || c.is_whitespace() => return Some("contains whitespace or a control character"),
            _ => {}
        }
    }
    None
}

/// True for the canonical 8-4-4-4-12 hex GUID form.
pub fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    parts.len() == 5 && parts.iter().zip(lens).all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

impl PartialEq for ResourceId {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for ResourceId {}

impl Hash for ResourceId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

impl PartialOrd for ResourceId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ResourceId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical)
    }
}

impl FromStr for ResourceId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for ResourceId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.canonical)
    }
}

impl<'de> serde::Deserialize<'de> for ResourceId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "00000000-0000-0000-0000-000000000001";

    fn acr() -> String {
        format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/acr1")
    }

    #[test]
    fn parses_and_canonicalises_casing() {
        let id =
            ResourceId::parse(&format!("/SUBSCRIPTIONS/{SUB}/resourcegroups/RG/PROVIDERS/Microsoft.ContainerService/managedClusters/c1"))
                .unwrap();
        assert_eq!(id.as_str(), format!("/subscriptions/{SUB}/resourceGroups/RG/providers/Microsoft.ContainerService/managedClusters/c1"));
        assert_eq!(id.resource_group(), Some("RG"));
        assert_eq!(id.name(), "c1");
        assert!(id.is_type("microsoft.containerservice/managedclusters"));
    }

    #[test]
    fn compares_case_insensitively() {
        let a = ResourceId::parse(&acr()).unwrap();
        let b = ResourceId::parse(&acr().to_uppercase().replace("SUBSCRIPTIONS", "subscriptions")).unwrap();
        assert_eq!(a, b);
        let mut set = std::collections::HashSet::new();
        set.insert(a);
        assert!(set.contains(&b));
    }

    #[test]
    fn extension_resource_scope_and_type() {
        let ra = format!("{}/providers/Microsoft.Authorization/roleAssignments/{SUB}", acr());
        let id = ResourceId::parse(&ra).unwrap();
        assert_eq!(id.resource_type().unwrap(), "Microsoft.Authorization/roleAssignments");
        let scope = id.parent().unwrap();
        assert!(scope.is_type("Microsoft.ContainerRegistry/registries"));
        assert_eq!(scope, ResourceId::parse(&acr()).unwrap());
        assert!(id.is_within(&scope));
    }

    #[test]
    fn nested_child_parent() {
        let fic = format!(
            "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mi/federatedIdentityCredentials/f1"
        );
        let id = ResourceId::parse(&fic).unwrap();
        assert_eq!(id.resource_type().unwrap(), "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials");
        assert!(id.parent().unwrap().is_type("Microsoft.ManagedIdentity/userAssignedIdentities"));
    }

    #[test]
    fn rejects_hostile_forms() {
        let cases = [
            "".to_string(),
            "subscriptions/x".to_string(),
            format!("{}/", acr()),
            format!("{}//x", acr()),
            format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.X/a/../b"),
            format!("{}?api-version=1", acr()),
            format!("{}#frag", acr()),
            format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.X%2Fy/a/b"),
            "/subscriptions/not-a-guid/resourceGroups/rg".to_string(),
            format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.X/a"),
            format!("/subscriptions/{SUB}/resourceGroups/rg/foo/bar"),
            format!("/subscriptions/{SUB}/resourceGroups/r g"),
        ];
        for case in cases {
            assert!(ResourceId::parse(&case).is_err(), "accepted {case:?}");
        }
    }

    #[test]
    fn error_names_the_input_and_the_rule() {
        let err = ResourceId::parse("/subscriptions/x/../y").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("/subscriptions/x/../y") && msg.contains("'..'"), "{msg}");
    }

    #[test]
    fn serde_round_trip() {
        let id = ResourceId::parse(&acr()).unwrap();
        let json = serde_json::to_string(&id).unwrap();
        let back: ResourceId = serde_json::from_str(&json).unwrap();
        assert_eq!(id, back);
        assert!(serde_json::from_str::<ResourceId>("\"/nope\"").is_err());
    }
}
