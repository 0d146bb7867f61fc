//! What a plan's actions do to each resource, terraform-style: `+` create, `~` update in place (with
//! the changed attribute paths of the cluster and pricing PUTs), `-` delete. Actions on the same
//! resource (the cluster's prerequisites and its gating block) form one change.

use crate::core::action::{Action, ActionKind};
use crate::core::names::{FIC_AUDIENCE, KNOWN_AFTER_APPLY};
use crate::core::pricing::{CONTAINER_SENSOR, SECURITY_GATING_ENABLED, STANDARD_TIER};
use crate::id::ResourceId;

/// What happens to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Op {
    /// Created.
    Create,
    /// Updated in place.
    Update,
    /// Deleted (garbage collection).
    Delete,
}

impl Op {
    /// `+`, `~` or `-`.
    pub fn mark(self) -> char {
        match self {
            Self::Create => '+',
            Self::Update => '~',
            Self::Delete => '-',
        }
    }

    /// "created", "updated in place", "destroyed".
    pub fn verb(self) -> &'static str {
        match self {
            Self::Create => "created",
            Self::Update => "updated in place",
            Self::Delete => "destroyed",
        }
    }

    /// The operation of an action kind: the cluster and pricing PUTs update in place, the rest create.
    pub fn of(kind: ActionKind) -> Self {
        match kind {
            ActionKind::EnablePrerequisites | ActionKind::EnableDefenderPlan | ActionKind::UpdateSecurityGating => Self::Update,
            ActionKind::CreateIdentity | ActionKind::CreateFederatedCredential | ActionKind::AssignAcrPull => Self::Create,
        }
    }
}

/// One attribute line: `path = value` (create) or `path: change` (update).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The attribute path (`location`, `properties.securityProfile…identities`).
    pub path: String,
    /// `= "westeurope"`, or `: false → true`, `: + 1 entry (…)`.
    pub value: String,
    /// Marked (`+`/`~`) — otherwise context, like the `id` of a resource updated in place.
    pub changed: bool,
}

impl Attribute {
    fn set(path: &str, value: impl Into<String>) -> Self {
        Self { path: path.into(), value: format!("= {}", value.into()), changed: true }
    }

    fn change(path: &str, change: impl Into<String>) -> Self {
        Self { path: path.into(), value: format!(": {}", change.into()), changed: true }
    }

    fn context(path: &str, value: impl Into<String>) -> Self {
        Self { path: path.into(), value: format!("= {}", value.into()), changed: false }
    }
}

/// One resource and what happens to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceChange {
    /// Create, update in place, delete.
    pub op: Op,
    /// The action kinds behind it, in plan order.
    pub kinds: Vec<ActionKind>,
    /// What the resource is, for the `# … will be created` comment.
    pub what: String,
    /// `Microsoft.ManagedIdentity/userAssignedIdentities`.
    pub resource_type: String,
    /// Its name, or a label when the name is only known after apply.
    pub name: String,
    /// Grouping key: the resource ID lower-cased (or the action's resource text).
    key: String,
    /// Attribute lines.
    pub attributes: Vec<Attribute>,
}

fn quoted(s: &str) -> String {
    format!("{s:?}")
}

fn type_of(id: &ResourceId) -> String {
    id.resource_type().unwrap_or_default()
}

/// The changes of `actions`, one per resource, in plan order.
pub fn resource_changes(actions: &[Action]) -> Vec<ResourceChange> {
    let mut out: Vec<ResourceChange> = Vec::new();
    for action in actions {
        let change = change_of(action);
        match out.iter_mut().find(|c| c.key == change.key) {
            Some(known) => {
                known.kinds.extend(change.kinds);
                known.attributes.extend(change.attributes.into_iter().filter(|a| a.changed));
            }
            None => out.push(change),
        }
    }
    out
}

fn change_of(action: &Action) -> ResourceChange {
    let kind = action.kind();
    let base = |what: String, id: &ResourceId, attributes: Vec<Attribute>| ResourceChange {
        op: Op::of(kind),
        kinds: vec![kind],
        what,
        resource_type: type_of(id),
        name: id.name().to_string(),
        key: id.key().to_string(),
        attributes,
    };
    match action {
        Action::EnablePrerequisites { resource, oidc_issuer, workload_identity } => {
            let mut attrs = vec![Attribute::context("id", quoted(resource.as_str()))];
            if *oidc_issuer {
                attrs.push(Attribute::change("properties.oidcIssuerProfile.enabled", "false → true"));
            }
            if *workload_identity {
                attrs.push(Attribute::change("properties.securityProfile.workloadIdentity.enabled", "false → true"));
            }
            base(format!("cluster {}", resource.name()), resource, attrs)
        }
        Action::EnableDefenderPlan { resource, subscription, missing } => {
            let mut attrs = vec![Attribute::context("id", quoted(resource.as_str()))];
            attrs.extend(missing.iter().map(|m| pricing_attribute(m)));
            base(format!("the Defender for Containers plan of subscription {subscription}"), resource, attrs)
        }
        Action::CreateIdentity { resource, location, tags } => {
            let tags: Vec<String> = tags.iter().map(|(k, v)| format!("{} = {}", quoted(k), quoted(v))).collect();
            let attrs = vec![
                Attribute::set("id", quoted(resource.as_str())),
                Attribute::set("location", quoted(location)),
                Attribute::set("tags", format!("{{ {} }}", tags.join(", "))),
                Attribute::set("properties.principalId", KNOWN_AFTER_APPLY),
            ];
            base(format!("the gating identity {}", resource.name()), resource, attrs)
        }
        Action::CreateFederatedCredential { resource, issuer, subject, audience, .. } => {
            let audience = if audience.is_empty() { FIC_AUDIENCE } else { audience.as_str() };
            let attrs = vec![
                Attribute::set("id", quoted(resource.as_str())),
                Attribute::set("properties.issuer", quoted(issuer)),
                Attribute::set("properties.subject", quoted(subject)),
                Attribute::set("properties.audiences", format!("[{}]", quoted(audience))),
            ];
            base("the admission controller's federated credential".into(), resource, attrs)
        }
        Action::AssignAcrPull { resource, registry, principal_id } => acr_pull(resource, registry, principal_id.as_deref()),
        Action::UpdateSecurityGating { resource, enable, add } => {
            let mut attrs = vec![Attribute::context("id", quoted(resource.as_str()))];
            if *enable {
                attrs.push(Attribute::change("properties.securityProfile.defender.securityGating.enabled", "false → true"));
            }
            if !add.is_empty() {
                let names: Vec<&str> = add.iter().map(|a| a.azure_container_registry.as_str()).collect();
                let noun = if add.len() == 1 { "entry" } else { "entries" };
                attrs.push(Attribute::change(
                    "properties.securityProfile.defender.securityGating.identities",
                    format!("+ {} {noun} ({})", add.len(), names.join(", ")),
                ));
            }
            base(format!("cluster {}", resource.name()), resource, attrs)
        }
    }
}

/// The role assignment: its ID when the principal is known, else the collection it goes to with the
/// name as an attribute known after apply (never a placeholder inside a path).
fn acr_pull(resource: &str, registry: &ResourceId, principal: Option<&str>) -> ResourceChange {
    let known = ResourceId::parse(resource).ok().filter(|_| principal.is_some());
    let (id, name) = match &known {
        Some(id) => (quoted(id.as_str()), id.name().to_string()),
        None => (KNOWN_AFTER_APPLY.to_string(), format!("AcrPull on {}", registry.name())),
    };
    let attrs = vec![
        Attribute::set("id", id),
        Attribute::set("scope", quoted(registry.as_str())),
        Attribute::set("properties.roleDefinitionId", "AcrPull"),
        Attribute::set("properties.principalId", principal.map_or_else(|| KNOWN_AFTER_APPLY.to_string(), quoted)),
    ];
    ResourceChange {
        op: Op::Create,
        kinds: vec![ActionKind::AssignAcrPull],
        what: format!("AcrPull for the gating identity on registry {}", registry.name()),
        resource_type: "Microsoft.Authorization/roleAssignments".into(),
        name,
        key: format!("acrpull|{}", registry.key()),
        attributes: attrs,
    }
}

/// The pricing attribute a missing piece (`pricing::missing_for_gating`) turns on.
fn pricing_attribute(missing: &str) -> Attribute {
    match missing {
        STANDARD_TIER => Attribute::change("properties.pricingTier", "\"Free\" → \"Standard\" (billed per vCore)"),
        SECURITY_GATING_ENABLED => Attribute::change(
            &format!("properties.extensions[{CONTAINER_SENSOR}].additionalExtensionProperties.{SECURITY_GATING_ENABLED}"),
            "\"False\" → \"True\"",
        ),
        extension => Attribute::change(&format!("properties.extensions[{extension}].isEnabled"), "\"False\" → \"True\""),
    }
}

/// Adds, changes, destroys.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Resources created.
    pub add: usize,
    /// Resources updated in place.
    pub change: usize,
    /// Resources deleted.
    pub destroy: usize,
}

impl Counts {
    /// Counts `changes` by operation.
    pub fn of(changes: &[ResourceChange]) -> Self {
        let n = |op: Op| changes.iter().filter(|c| c.op == op).count();
        Self { add: n(Op::Create), change: n(Op::Update), destroy: n(Op::Delete) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::gating::GatingAddition;

    const SUB: &str = "00000000-0000-0000-0000-000000000001";

    fn cluster() -> ResourceId {
        ResourceId::parse(&format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1"))
            .unwrap()
    }

    fn registry(name: &str) -> ResourceId {
        ResourceId::parse(&format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/{name}"))
            .unwrap()
    }

    #[test]
    fn cluster_puts_merge_into_one_update_with_their_paths() {
        let add = vec![GatingAddition {
            registry: registry("acrprodweu"),
            login_server: None,
            azure_container_registry: "acrprodweu.azurecr.io".into(),
        }];
        let changes = resource_changes(&[
            Action::EnablePrerequisites { resource: cluster(), oidc_issuer: true, workload_identity: false },
            Action::UpdateSecurityGating { resource: cluster(), enable: false, add },
        ]);
        assert_eq!(changes.len(), 1);
        let c = &changes[0];
        assert_eq!((c.op, c.kinds.len(), c.resource_type.as_str()), (Op::Update, 2, "Microsoft.ContainerService/managedClusters"));
        let lines: Vec<String> = c.attributes.iter().map(|a| format!("{}{}", a.path, a.value)).collect();
        assert_eq!(
            lines,
            [
                format!("id= \"{}\"", cluster()),
                "properties.oidcIssuerProfile.enabled: false → true".into(),
                "properties.securityProfile.defender.securityGating.identities: + 1 entry (acrprodweu.azurecr.io)".into(),
            ]
        );
        assert_eq!(Counts::of(&changes), Counts { add: 0, change: 1, destroy: 0 });
    }

    #[test]
    fn an_unknown_role_assignment_name_is_an_attribute_not_part_of_a_path() {
        let reg = registry("acr1");
        let placeholder = format!("{reg}/providers/Microsoft.Authorization/roleAssignments/{KNOWN_AFTER_APPLY}");
        let c = &resource_changes(&[Action::AssignAcrPull { resource: placeholder, registry: reg.clone(), principal_id: None }])[0];
        assert_eq!((c.op, c.name.as_str()), (Op::Create, "AcrPull on acr1"));
        assert!(c.attributes.iter().all(|a| !a.value.contains(&format!("/{KNOWN_AFTER_APPLY}"))), "{c:?}");
        assert_eq!(c.attributes[0].value, format!("= {KNOWN_AFTER_APPLY}"));
        let known = crate::core::names::acr_pull_assignment_id(&reg, "p-1").unwrap();
        let c =
            &resource_changes(&[Action::AssignAcrPull { resource: known.to_string(), registry: reg, principal_id: Some("p-1".into()) }])[0];
        assert_eq!(c.attributes[0].value, format!("= \"{known}\""));
    }

    #[test]
    fn pricing_pieces_become_attribute_paths() {
        let pricing = ResourceId::parse(&format!("/subscriptions/{SUB}/providers/Microsoft.Security/pricings/Containers")).unwrap();
        let missing = [STANDARD_TIER, CONTAINER_SENSOR, SECURITY_GATING_ENABLED].map(String::from).to_vec();
        let c = &resource_changes(&[Action::EnableDefenderPlan { resource: pricing, subscription: SUB.into(), missing }])[0];
        let paths: Vec<&str> = c.attributes.iter().filter(|a| a.changed).map(|a| a.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "properties.pricingTier",
                "properties.extensions[ContainerSensor].isEnabled",
                "properties.extensions[ContainerSensor].additionalExtensionProperties.SecurityGatingEnabled"
            ]
        );
        assert_eq!(c.op, Op::Update);
    }

    #[test]
    fn a_deletion_renders_with_a_red_minus() {
        let id = ResourceId::parse(&format!(
            "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/c1-defender-gating"
        ))
        .unwrap();
        let change = ResourceChange {
            op: Op::Delete,
            kinds: vec![],
            what: "the gating identity of deleted cluster c1".into(),
            resource_type: type_of(&id),
            name: id.name().into(),
            key: id.key().into(),
            attributes: vec![Attribute { path: "id".into(), value: format!("= {}", quoted(id.as_str())), changed: true }],
        };
        let style = super::super::TextStyle { color: true, width: None };
        let text = super::super::render_lines(&super::super::plan::resource_lines(&change), &style);
        assert!(text.contains("will be destroyed"), "{text}");
        assert!(
            text.contains("\x1b[31m-\x1b[0m resource \"Microsoft.ManagedIdentity/userAssignedIdentities\" \"c1-defender-gating\" {"),
            "{text:?}"
        );
        assert_eq!(Counts::of(&[change]), Counts { add: 0, change: 0, destroy: 1 });
    }
}
