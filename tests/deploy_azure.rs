//! Invariants of the Azure template `deploy/azure/fleetgate.json` (ARM JSON, subscription scope):
//! the custom roles' actions are exactly `arm::permissions` (identity writes only on the identity
//! resource group when `identityResourceGroup` is set), role-assignment writes come only from RBAC
//! Administrator with a condition that allows exactly AcrPull for service principals, the queue and
//! the Event Grid subscriptions are set up as the worker expects, and every nested template is closed
//! (each `parameters('…')`/`variables('…')` it uses is declared in it, each declared parameter is used).

use std::collections::BTreeSet;

use fleetgate::arm::permissions::{self, IDENTITY_WRITE_ACTIONS, custom_role_actions, delegation_condition, subscription_role_actions};
use fleetgate::core::names::ACR_PULL_ROLE_GUID;
use fleetgate::events::{
    CLUSTER_DELETE_OPERATION, CLUSTER_WRITE_OPERATION, DELETE_SUCCESS, ROLE_ASSIGNMENT_WRITE_OPERATION, WRITE_SUCCESS,
};
use serde_json::Value;

fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/azure/fleetgate.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).expect("fleetgate.json is valid JSON")
}

/// Every template in the tree (the root and each nested `properties.template`).
fn templates(t: &Value) -> Vec<Value> {
    let mut out = vec![t.clone()];
    for r in t["resources"].as_array().unwrap() {
        if r["type"] == "Microsoft.Resources/deployments" {
            out.extend(templates(&r["properties"]["template"]));
        }
    }
    out
}

/// Every resource of every template, flattened.
fn resources(t: &Value) -> Vec<Value> {
    templates(t).iter().flat_map(|t| t["resources"].as_array().unwrap().clone()).collect()
}

fn of_type(t: &Value, ty: &str) -> Vec<Value> {
    resources(t).into_iter().filter(|r| r["type"] == ty).collect()
}

/// Names used as `fname('name')` in any string under `v` (nested templates excluded).
fn references(v: &Value, fname: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::String(s) => {
            let needle = format!("{fname}('");
            let mut rest = s.as_str();
            while let Some(at) = rest.find(&needle) {
                rest = &rest[at + needle.len()..];
                out.insert(rest[..rest.find('\'').unwrap()].to_string());
            }
        }
        Value::Array(a) => a.iter().for_each(|x| references(x, fname, out)),
        Value::Object(o) => {
            for (k, x) in o {
                if k != "template" {
                    references(x, fname, out);
                }
            }
        }
        _ => {}
    }
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
}

#[test]
fn every_template_is_closed_and_its_expressions_balanced() {
    for (i, t) in templates(&template()).iter().enumerate() {
        assert!(t["$schema"].as_str().unwrap().starts_with("https://schema.management.azure.com/schemas/"), "template {i}");
        let mut used_params = BTreeSet::new();
        references(&t["resources"], "parameters", &mut used_params);
        references(&t["outputs"], "parameters", &mut used_params);
        references(&t["variables"], "parameters", &mut used_params);
        assert_eq!(used_params, keys(&t["parameters"]), "template {i}: parameters used vs declared");
        let mut used_vars = BTreeSet::new();
        references(t, "variables", &mut used_vars);
        let mut declared = keys(&t["variables"]);
        declared.remove("copy");
        for c in t["variables"]["copy"].as_array().into_iter().flatten() {
            declared.insert(c["name"].as_str().unwrap().to_string());
        }
        assert!(used_vars.is_subset(&declared), "template {i}: undeclared variables {:?}", used_vars.difference(&declared));
        // Nested deployments pass exactly the parameters their template declares.
        for r in t["resources"].as_array().unwrap().iter().filter(|r| r["type"] == "Microsoft.Resources/deployments") {
            assert_eq!(r["properties"]["expressionEvaluationOptions"]["scope"], "inner", "{}", r["name"]);
            assert_eq!(keys(&r["properties"]["parameters"]), keys(&r["properties"]["template"]["parameters"]), "{}", r["name"]);
        }
    }
    let text = serde_json::to_string(&template()).unwrap();
    let mut expressions = 0;
    for s in text.split("\"[").skip(1) {
        let expr = &s[..s.find("]\"").expect("expression closes")];
        expressions += 1;
        assert_eq!(expr.matches('(').count(), expr.matches(')').count(), "parentheses in [{expr}]");
        assert_eq!(expr.matches('\'').count() % 2, 0, "quotes in [{expr}]");
    }
    assert!(expressions > 50, "{expressions} expressions checked");
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect()
}

#[test]
fn custom_role_actions_equal_the_permissions_list() {
    let t = template();
    let subscription = strings(&t["variables"]["subscriptionRoleActions"]);
    let identity = strings(&t["variables"]["identityWriteActions"]);
    assert_eq!(subscription, subscription_role_actions(), "regenerate subscriptionRoleActions from src/arm/permissions.rs");
    assert_eq!(identity, IDENTITY_WRITE_ACTIONS, "regenerate identityWriteActions from src/arm/permissions.rs");
    let mut all: Vec<&str> = subscription.iter().chain(&identity).copied().collect();
    let mut listed = custom_role_actions();
    all.sort_unstable();
    listed.sort_unstable();
    assert_eq!(all, listed, "together they are the custom-role actions");
    assert_eq!(
        t["variables"]["customRoleActions"],
        "[if(empty(parameters('identityResourceGroup')), concat(variables('subscriptionRoleActions'), variables('identityWriteActions')), variables('subscriptionRoleActions'))]",
        "identity writes leave the subscription-wide role exactly when the identity resource group is set"
    );
    let defs = of_type(&t, "Microsoft.Authorization/roleDefinitions");
    assert_eq!(defs.len(), 2, "fleetgate operator and its identity writer");
    for (def, actions) in defs.iter().zip(["[variables('customRoleActions')]", "[variables('identityWriteActions')]"]) {
        let perms = &def["properties"]["permissions"];
        assert_eq!(perms.as_array().unwrap().len(), 1);
        assert_eq!(perms[0]["actions"], actions);
        for k in ["notActions", "dataActions", "notDataActions"] {
            assert_eq!(perms[0][k], serde_json::json!([]), "{k}");
        }
        assert_eq!(def["properties"]["type"], "CustomRole");
    }
    assert_eq!(defs[1]["condition"], "[not(empty(parameters('identityResourceGroup')))]");
    assert!(all.iter().all(|a| !a.contains('*')), "no wildcards");
    assert!(!all.iter().any(|a| a.starts_with("Microsoft.Authorization/roleAssignments/") && !a.ends_with("/read")));
}

#[test]
fn identity_writes_are_granted_only_on_the_identity_resource_group() {
    let t = template();
    assert_eq!(
        t["parameters"]["identityResourceGroup"]["defaultValue"], "",
        "empty = the cluster's resource group, as gating.identity_resource_group"
    );
    let per_sub = per_subscription_deployment(&t);
    assert_eq!(per_sub["properties"]["parameters"]["identityResourceGroup"]["value"], "[parameters('identityResourceGroup')]");
    let inner = per_sub["properties"]["template"]["resources"].as_array().unwrap();
    let set = "[not(empty(parameters('identityResourceGroup')))]";
    let group = "[if(empty(parameters('identityResourceGroup')), 'unused', parameters('identityResourceGroup'))]";
    let rg = inner
        .iter()
        .find(|r| r["type"] == "Microsoft.Resources/resourceGroups" && r["name"] == group)
        .expect("the identity resource group");
    assert_eq!(rg["condition"], set);
    let writer = inner.iter().find(|r| r["name"] == "fleetgate-identity-writer").expect("the identity writer deployment");
    assert_eq!((&writer["condition"], &writer["resourceGroup"]), (&Value::from(set), &Value::from(group)), "deployed into that group only");
    let assignments = writer["properties"]["template"]["resources"].as_array().unwrap();
    assert_eq!(assignments.len(), 1);
    let a = &assignments[0];
    assert_eq!(a["type"], "Microsoft.Authorization/roleAssignments");
    assert!(a.get("scope").is_none(), "at the deployment's resource group, nowhere else");
    assert_eq!(
        a["properties"]["roleDefinitionId"],
        "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', parameters('identityRoleGuid'))]"
    );
    assert_eq!(a["properties"]["principalId"], "[parameters('workerPrincipalId')]");
    // No other assignment in the tree uses the identity writer role.
    let uses = of_type(&t, "Microsoft.Authorization/roleAssignments")
        .iter()
        .filter(|a| a["properties"]["roleDefinitionId"].as_str().unwrap().contains("identityRoleGuid"))
        .count();
    assert_eq!(uses, 1);
    // The example deploys the recommended setup, and the example worker config names the same group.
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/azure/fleetgate.parameters.example.json");
    let example: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let chosen = example["parameters"]["identityResourceGroup"]["value"].as_str().expect("the example sets identityResourceGroup");
    let overlay = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/kubernetes/overlays/example/fleetgate.toml");
    let config =
        fleetgate::config::load(&fleetgate::config::ConfigSource { file: Some(overlay.into()), env: Some(Default::default()) }).unwrap();
    assert_eq!(config.gating.identity_resource_group, chosen, "gating.identity_resource_group = identityResourceGroup");
}

#[test]
fn role_guids_are_the_built_in_roles_and_nothing_broader_is_assigned() {
    let t = template();
    let roles = &t["variables"]["roles"];
    assert_eq!(roles["rbacAdministrator"], permissions::RBAC_ADMINISTRATOR_ROLE_GUID);
    assert_eq!(roles["acrPull"], ACR_PULL_ROLE_GUID);
    assert_eq!(roles["serviceBusDataReceiver"], permissions::SERVICE_BUS_DATA_RECEIVER_ROLE_GUID);
    assert_eq!(roles["serviceBusDataSender"], permissions::SERVICE_BUS_DATA_SENDER_ROLE_GUID);
    assert_eq!(roles["serviceBusDataOwner"], permissions::SERVICE_BUS_DATA_OWNER_ROLE_GUID);
    let text = serde_json::to_string(&t).unwrap();
    // Owner, Contributor, User Access Administrator.
    for broad in ["8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "b24988ac-6180-42a0-ab88-20f7382dd24c", "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"] {
        assert!(!text.contains(broad), "{broad} must not be assigned");
    }
    let assignments = of_type(&t, "Microsoft.Authorization/roleAssignments");
    assert_eq!(assignments.len(), 8, "worker: receiver, 2 senders, custom role, identity writer, RBAC admin; scaler owner; topic sender");
    for a in &assignments {
        let p = &a["properties"];
        assert_eq!(p["principalType"], "ServicePrincipal", "{a}");
        let def = p["roleDefinitionId"].as_str().unwrap();
        let owner = def.contains("serviceBusDataOwner");
        assert!(!owner || p["principalId"].as_str().unwrap().contains("scalerIdentityId"), "Data Owner only for the KEDA scaler");
        assert!(!owner || a["scope"].as_str().unwrap().contains("queueScope"), "Data Owner only on the queue");
    }
}

/// `{…}` value sets after `operator` in `condition`.
fn sets_after<'a>(condition: &'a str, operator: &str) -> Vec<&'a str> {
    condition.split(operator).skip(1).map(|s| s.trim_start().strip_prefix('{').unwrap().split('}').next().unwrap()).collect()
}

#[test]
fn rbac_administrator_condition_allows_exactly_acr_pull_for_service_principals() {
    let t = template();
    let condition = t["variables"]["rbacDelegationCondition"].as_str().unwrap();
    assert_eq!(condition, delegation_condition());
    let guids = sets_after(condition, "ForAnyOfAnyValues:GuidEquals");
    assert_eq!(guids, [ACR_PULL_ROLE_GUID, ACR_PULL_ROLE_GUID], "write and delete both limited to AcrPull alone");
    let types = sets_after(condition, "ForAnyOfAnyValues:StringEqualsIgnoreCase");
    assert_eq!(types, ["'ServicePrincipal'", "'ServicePrincipal'"]);
    for forbidden in ["NotEquals", "ForAllOfAnyValues", "ForAllOfAllValues", "ForAnyOfAllValues", " OR @"] {
        assert!(!condition.contains(forbidden), "{forbidden} would widen the condition");
    }
    let write = condition.find("roleAssignments/write'").unwrap();
    let delete = condition.find("roleAssignments/delete'").unwrap();
    assert!(condition[write..delete].contains("@Request[") && !condition[write..delete].contains("@Resource["));
    assert!(condition[delete..].contains("@Resource[") && !condition[delete..].contains("@Request["));

    let admins: Vec<Value> = of_type(&t, "Microsoft.Authorization/roleAssignments")
        .into_iter()
        .filter(|a| a["properties"]["roleDefinitionId"].as_str().unwrap().contains("rbacAdministrator"))
        .collect();
    assert_eq!(admins.len(), 1);
    assert_eq!(admins[0]["properties"]["condition"], "[parameters('delegationCondition')]");
    assert_eq!(admins[0]["properties"]["conditionVersion"], "2.0");
    let per_sub = per_subscription_deployment(&t);
    assert_eq!(per_sub["properties"]["parameters"]["delegationCondition"]["value"], "[variables('rbacDelegationCondition')]");
    // Every assignment without a condition is a data-plane role, the custom role, or AcrPull-free.
    for a in of_type(&t, "Microsoft.Authorization/roleAssignments") {
        let def = a["properties"]["roleDefinitionId"].as_str().unwrap();
        assert_eq!(a["properties"]["condition"].is_string(), def.contains("rbacAdministrator"), "{def}");
    }
}

fn per_subscription_deployment(t: &Value) -> Value {
    t["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["copy"]["name"] == "monitoredSubscriptions")
        .cloned()
        .expect("per-subscription deployment")
}

#[test]
fn per_subscription_deployment_covers_every_monitored_subscription() {
    let t = template();
    let d = per_subscription_deployment(&t);
    assert_eq!(d["subscriptionId"], "[parameters('monitoredSubscriptionIds')[copyIndex()]]");
    assert_eq!(d["copy"]["count"], "[length(parameters('monitoredSubscriptionIds'))]");
    assert!(d["properties"]["template"]["$schema"].as_str().unwrap().contains("subscriptionDeploymentTemplate"));
    assert_eq!(t["parameters"]["monitoredSubscriptionIds"]["type"], "array");
    let scopes = &t["variables"]["copy"][0];
    assert_eq!(scopes["name"], "monitoredScopes");
    let role = &of_type(&t, "Microsoft.Authorization/roleDefinitions")[0];
    assert!(role["properties"]["assignableScopes"].as_str().unwrap().contains("variables('monitoredScopes')"));
}

#[test]
fn service_bus_queue_and_poison_queue() {
    let t = template();
    let ns = &of_type(&t, "Microsoft.ServiceBus/namespaces")[0];
    assert_eq!(ns["properties"]["disableLocalAuth"], "[parameters('disableLocalAuth')]");
    assert_eq!(t["parameters"]["disableLocalAuth"]["defaultValue"], true);
    assert_eq!(ns["properties"]["minimumTlsVersion"], "1.2");
    assert!(
        !t["parameters"]["serviceBusSku"]["allowedValues"].as_array().unwrap().contains(&"Basic".into()),
        "Basic has no duplicate detection"
    );
    let queues = of_type(&t, "Microsoft.ServiceBus/namespaces/queues");
    assert_eq!(queues.len(), 2);
    let main = queues.iter().find(|q| q["name"].as_str().unwrap().contains("'queueName'")).unwrap();
    let poison = queues.iter().find(|q| q["name"].as_str().unwrap().contains("'poisonQueueName'")).unwrap();
    let mp = &main["properties"];
    assert_eq!(mp["lockDuration"], "PT5M");
    assert_eq!(mp["maxDeliveryCount"], 10);
    assert_eq!(mp["requiresDuplicateDetection"], true);
    assert_eq!(mp["requiresSession"], false, "Event Grid cannot deliver to session queues");
    assert_eq!(mp["duplicateDetectionHistoryTimeWindow"], "[parameters('duplicateDetectionWindow')]");
    assert_eq!(t["parameters"]["duplicateDetectionWindow"]["defaultValue"], "P1D");
    assert_eq!(poison["properties"]["lockDuration"], "PT5M");
    assert_eq!(poison["properties"]["requiresSession"], false);
    assert_eq!(
        t["variables"]["poisonQueue"],
        "[if(empty(parameters('poisonQueueName')), format('{0}-poison', parameters('queueName')), parameters('poisonQueueName'))]",
        "same default as queue.poison_queue"
    );
    assert_eq!(t["parameters"]["queueName"]["defaultValue"], "fleetgate-events", "same default as queue.name");
}

#[test]
fn event_grid_system_topic_and_subscriptions() {
    let t = template();
    let topic = &of_type(&t, "Microsoft.EventGrid/systemTopics")[0];
    assert_eq!(topic["properties"]["topicType"], "Microsoft.Resources.Subscriptions");
    assert_eq!(topic["properties"]["source"], "[subscription().id]");
    assert_eq!(topic["location"], "global");
    assert_eq!(topic["identity"]["type"], "SystemAssigned");
    let subs = of_type(&t, "Microsoft.EventGrid/systemTopics/eventSubscriptions");
    assert_eq!(subs.len(), 2);
    for s in &subs {
        let p = &s["properties"];
        let dest = &p["deliveryWithResourceIdentity"]["destination"];
        assert_eq!(dest["endpointType"], "ServiceBusQueue");
        assert_eq!(dest["properties"]["resourceId"], "[parameters('queueResourceId')]");
        let mapping = &dest["properties"]["deliveryAttributeMappings"];
        assert_eq!(mapping, &serde_json::json!([{"name": "MessageId", "type": "Dynamic", "properties": {"sourceField": "id"}}]));
        assert_eq!(p["deliveryWithResourceIdentity"]["identity"]["type"], "SystemAssigned");
        let ttl = p["retryPolicy"]["eventTimeToLiveInMinutes"].as_u64().unwrap();
        assert!(ttl <= 24 * 60, "the P1D duplicate window must cover the event TTL ({ttl} min)");
    }
    let filter = |name: &str| subs.iter().find(|s| s["name"].as_str().unwrap().contains(name)).unwrap()["properties"]["filter"].clone();
    let clusters = filter("fleetgate-clusters");
    assert_eq!(clusters["includedEventTypes"], serde_json::json!([WRITE_SUCCESS, DELETE_SUCCESS]));
    assert_eq!(clusters["advancedFilters"][0]["key"], "data.operationName");
    assert_eq!(clusters["advancedFilters"][0]["operatorType"], "StringIn");
    assert_eq!(t["variables"]["clusterOperations"], serde_json::json!([CLUSTER_WRITE_OPERATION, CLUSTER_DELETE_OPERATION]));
    let access = filter("fleetgate-registry-access");
    assert_eq!(access["includedEventTypes"], serde_json::json!([WRITE_SUCCESS]));
    assert_eq!(t["variables"]["roleAssignmentOperations"], serde_json::json!([ROLE_ASSIGNMENT_WRITE_OPERATION]));
    assert_eq!(access["advancedFilters"][1]["key"], "subject");
    assert_eq!(access["advancedFilters"][1]["operatorType"], "StringContains");
    assert_eq!(t["variables"]["registrySubjectFragment"], "/providers/Microsoft.ContainerRegistry/registries/");
    let senders: Vec<Value> = of_type(&t, "Microsoft.Authorization/roleAssignments")
        .into_iter()
        .filter(|a| a["properties"]["principalId"] == "[parameters('topicPrincipalId')]")
        .collect();
    assert_eq!(senders.len(), 1, "the system topic's identity may send to the queue");
    assert!(senders[0]["properties"]["roleDefinitionId"].as_str().unwrap().contains("serviceBusDataSender"));
}

#[test]
fn worker_identity_is_federated_with_the_kubernetes_service_account() {
    let t = template();
    let fics = of_type(&t, "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials");
    assert_eq!(fics.len(), 2, "worker and KEDA scaler");
    for f in &fics {
        assert_eq!(f["properties"]["audiences"], serde_json::json!(["api://AzureADTokenExchange"]));
        assert_eq!(f["properties"]["issuer"], "[parameters('oidcIssuerUrl')]");
    }
    let core = t["resources"].as_array().unwrap().iter().find(|r| r["name"] == "[variables('coreDeploymentName')]").unwrap();
    assert_eq!(
        core["properties"]["parameters"]["workerSubject"]["value"],
        "[format('system:serviceaccount:{0}:{1}', parameters('workerNamespace'), parameters('workerServiceAccount'))]"
    );
    // The defaults name what deploy/kubernetes/base creates.
    let base = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/kubernetes/base/serviceaccount.yaml")).unwrap();
    let ns = t["parameters"]["workerNamespace"]["defaultValue"].as_str().unwrap();
    let sa = t["parameters"]["workerServiceAccount"]["defaultValue"].as_str().unwrap();
    assert!(base.contains(&format!("name: {sa}\n")) && base.contains(&format!("namespace: {ns}\n")), "{base}");
}

#[test]
fn example_parameters_fill_every_required_parameter() {
    let t = template();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/azure/fleetgate.parameters.example.json");
    let p: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let given = keys(&p["parameters"]);
    for (name, def) in t["parameters"].as_object().unwrap() {
        assert!(def.get("defaultValue").is_some() || given.contains(name), "{name} has no default and no example value");
    }
    assert!(given.is_subset(&keys(&t["parameters"])), "unknown parameters in the example");
}
