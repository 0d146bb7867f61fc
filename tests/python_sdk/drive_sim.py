"""Drives the fleetgate simulator with the official Azure SDK for Python management libraries.

Run by tests/python_sdk.rs (which starts the simulator on port 0 and passes its address and an ARM token in
the environment). Every call must succeed, and every response must deserialize into the SDK's models
without unmapped fields:

- TypeSpec-generated packages (containerservice, containerregistry, resource): a model keeps the raw JSON
  in ``_data``; a key there that none of the model's ``rest_field``s names is unmapped.
- AutoRest/msrest-style packages (msi, authorization, security, resourcegraph): these flatten
  ``properties`` into the model, and their own ``additional_properties`` detection only sees top-level
  keys, so the raw JSON of each answer (captured with azure-core's ``raw_response_hook``) is walked
  against the model's ``_attribute_map`` (flattened keys such as ``properties.tenantId`` included, nested
  model types resolved in the model's module); any key the map does not name is unmapped.

Both walks recurse through nested models, lists and dicts. ``self_test`` feeds each style a document with
one extra (nested) field first, so a checker that stopped seeing unmapped fields fails the run.

Plain HTTP to loopback: azure-core's bearer-token policy refuses non-HTTPS unless ``enforce_https=False``
is passed with the request, so every call passes it (polling and paging requests inherit it).
"""

import json
import os
import re
import sys
import time
import uuid

from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError

from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.authorization.v2022_04_01.models import RoleAssignmentCreateParameters
from azure.mgmt.containerregistry import ContainerRegistryManagementClient
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.containerservice.models import ManagedCluster, ManagedClusterAgentPoolProfile, ManagedClusterIdentity
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.msi.v2024_11_30.models import FederatedIdentityCredential, Identity
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resourcegraph import ResourceGraphClient
from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions
from azure.mgmt.security import SecurityCenter

ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
FAST = {"enforce_https": False}
LRO = {"enforce_https": False, "polling_interval": 0.05}


class StaticToken:
    """A TokenCredential that hands out the token the simulator issued (no Entra here)."""

    def __init__(self, token):
        self._token = token

    def get_token(self, *scopes, **kwargs):
        return AccessToken(self._token, int(time.time()) + 3600)

    def get_token_info(self, *scopes, options=None):
        from azure.core.credentials import AccessTokenInfo

        return AccessTokenInfo(self._token, int(time.time()) + 3600)


def unmapped(obj, path="$", out=None, raw=None):
    """Paths of response fields the SDK model does not map (see the module docs). ``raw`` is the answer's
    JSON for msrest-style models."""
    out = [] if out is None else out
    cls = type(obj)
    if hasattr(cls, "_attr_to_rest_field") and hasattr(obj, "_data"):
        fields = cls._attr_to_rest_field
        known = {f._rest_name for f in fields.values()}
        out.extend(f"{path}.{k}" for k in obj._data.keys() if k not in known)
        for attr, field in fields.items():
            unmapped(getattr(obj, attr, None), f"{path}.{field._rest_name}", out)
    elif hasattr(cls, "_attribute_map"):
        out.extend(f"{path}.{k}" for k in (getattr(obj, "additional_properties", None) or {}))
        if raw is None:
            out.append(f"{path}: no raw JSON to check an msrest model against")
        else:
            msrest_unmapped(cls, raw, path, out)
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            unmapped(item, f"{path}[{i}]", out)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            unmapped(v, f"{path}.{k}", out)
    return out


_SPLIT = re.compile(r"(?<!\\)\.")


def msrest_unmapped(cls, data, path, out):
    """Walks ``data`` against ``cls._attribute_map`` (flattened keys as a tree)."""
    if not isinstance(data, dict):
        return
    tree = {}
    for attr, desc in cls._attribute_map.items():
        if desc["key"] == "":
            return  # a declared catch-all (additionalProperties in the spec): anything goes
        parts = [p.replace("\\.", ".") for p in _SPLIT.split(desc["key"])]
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        else:
            node[parts[-1]] = desc["type"]
    models = vars(sys.modules[cls.__module__])
    _walk(tree, data, path, out, models)


def _walk(tree, data, path, out, models):
    for key, value in data.items():
        if key not in tree:
            out.append(f"{path}.{key}")
        elif isinstance(tree[key], dict):
            if isinstance(value, dict):
                _walk(tree[key], value, f"{path}.{key}", out, models)
        else:
            _typed(tree[key], value, f"{path}.{key}", out, models)


def _typed(type_name, value, path, out, models):
    if type_name.startswith("[") and isinstance(value, list):
        for i, item in enumerate(value):
            _typed(type_name[1:-1], item, f"{path}[{i}]", out, models)
    elif type_name.startswith("{") and isinstance(value, dict):
        for k, item in value.items():
            _typed(type_name[1:-1], item, f"{path}.{k}", out, models)
    elif isinstance(models.get(type_name), type) and hasattr(models[type_name], "_attribute_map"):
        msrest_unmapped(models[type_name], value, path, out)


class Run:
    def __init__(self):
        self.calls = []
        self.problems = []

    def check(self, name, obj, raw=None):
        """Records a call and the unmapped fields of its result."""
        extra = unmapped(obj, raw=raw)
        self.calls.append(name)
        if extra:
            self.problems.append(f"{name}: unmapped fields {extra}")
        return obj

    def one(self, name, fn, *args, **kwargs):
        """Calls an msrest-style operation, checking its result against the answer's raw JSON."""
        raws = []
        result = fn(*args, raw_response_hook=lambda r: raws.append(json.loads(r.http_response.text() or "null")), **FAST, **kwargs)
        return self.check(name, result, raw=raws[-1] if raws else None)

    def many(self, name, fn, *args, **kwargs):
        """A paged msrest-style list: every item against its entry in the pages' raw `value` arrays."""
        raws = []
        items = list(fn(*args, raw_response_hook=lambda r: raws.append(json.loads(r.http_response.text() or "null")), **FAST, **kwargs))
        raw_items = [item for page in raws for item in page.get("value", [])]
        if len(raw_items) != len(items):
            self.problems.append(f"{name}: {len(items)} items but {len(raw_items)} in the raw pages")
        return [self.check(f"{name}[item]", item, raw=raw) for item, raw in zip(items, raw_items)]

    def expect(self, cond, message):
        if not cond:
            self.problems.append(message)


def self_test(run):
    """The checker must see one extra field in each model style."""
    from azure.mgmt.containerservice.models import ManagedCluster as Hybrid
    from azure.mgmt.msi.v2024_11_30.models import Identity as Msrest

    hybrid = Hybrid({"location": "x", "properties": {"dnsPrefix": "d", "notInTheSpec": 1}})
    run.expect(unmapped(hybrid) == ["$.properties.notInTheSpec"], f"self-test (TypeSpec models): {unmapped(hybrid)}")
    doc = {"location": "x", "properties": {"tenantId": "t", "notInTheSpec": 1}, "systemData": {"createdBy": "u", "extra": 2}}
    msrest = Msrest.deserialize(doc)
    found = unmapped(msrest, raw=doc)
    run.expect(found == ["$.properties.notInTheSpec", "$.systemData.extra"], f"self-test (msrest models): {found}")


def clusters(run, env, cred):
    aks = ContainerServiceClient(cred, env["SUB"], base_url=env["SIM_URL"])
    rg, name = env["RG"], env["CLUSTER"]
    got = run.check("managed_clusters.get", aks.managed_clusters.get(rg, name, **FAST))
    run.expect(got.type == "Microsoft.ContainerService/ManagedClusters", f"type {got.type}")
    listed = [run.check("managed_clusters.list[item]", c) for c in aks.managed_clusters.list(**FAST)]
    by_rg = [run.check("managed_clusters.list_by_resource_group[item]", c) for c in aks.managed_clusters.list_by_resource_group(rg, **FAST)]
    run.expect(len(listed) == int(env["CLUSTERS"]), f"list paged through {len(listed)} clusters, want {env['CLUSTERS']}")
    run.expect(len(by_rg) >= 1, "list_by_resource_group found nothing")
    before = {"fqdn": got.properties.fqdn, "portal": got.properties.azure_portal_fqdn, "k8s": got.properties.current_kubernetes_version,
              "principal": got.identity.principal_id}
    got.tags = dict(got.tags or {}, touchedBy="python-sdk")
    # The SDK drops read-only fields from the PUT body; what AKS computes must survive anyway.
    updated = run.check("managed_clusters.begin_create_or_update(update)", aks.managed_clusters.begin_create_or_update(rg, name, got, **LRO).result())
    after = {"fqdn": updated.properties.fqdn, "portal": updated.properties.azure_portal_fqdn,
             "k8s": updated.properties.current_kubernetes_version, "principal": updated.identity.principal_id}
    run.expect(updated.properties.provisioning_state == "Succeeded", f"update ended {updated.properties.provisioning_state}")
    run.expect(after == before and all(before.values()), f"read-only fields changed across the SDK's PUT: {before} -> {after}")
    run.expect(all(p.current_orchestrator_version for p in updated.properties.agent_pool_profiles), "pool currentOrchestratorVersion lost")
    run.expect(updated.tags.get("touchedBy") == "python-sdk", "tag not written")
    new = ManagedCluster(
        location="westeurope",
        identity=ManagedClusterIdentity(type="SystemAssigned"),
        dns_prefix="pysdk",
        agent_pool_profiles=[ManagedClusterAgentPoolProfile(name="nodepool1", count=1, vm_size="Standard_D2s_v5", mode="System")],
    )
    poller = aks.managed_clusters.begin_create_or_update(rg, "aks-python-new", new, **LRO)
    run.expect(poller.status() in ("Creating", "InProgress"), f"a create starts Creating, not {poller.status()}")
    created = run.check("managed_clusters.begin_create_or_update(create)", poller.result())
    run.expect(created.properties.provisioning_state == "Succeeded", f"create ended {created.properties.provisioning_state}")
    run.expect(bool(created.properties.fqdn and created.identity.principal_id and created.properties.identity_profile),
               "a created cluster lacks fqdn, identity principal or kubelet identity")


def identities(run, env, cred):
    msi = ManagedServiceIdentityClient(cred, env["SUB"], base_url=env["SIM_URL"])
    rg = env["RG"]
    uai, ficops = msi.user_assigned_identities, msi.federated_identity_credentials
    made = run.one("user_assigned_identities.create_or_update", uai.create_or_update, rg, "py-gating", Identity(location="westeurope"))
    run.one("user_assigned_identities.get", uai.get, rg, "py-gating")
    run.many("user_assigned_identities.list_by_resource_group", uai.list_by_resource_group, rg)
    fic = FederatedIdentityCredential(issuer="https://westeurope.oic.prod-aks.azure.com/t/i/", subject="system:serviceaccount:kube-system:x", audiences=["api://AzureADTokenExchange"])
    run.one("federated_identity_credentials.create_or_update", ficops.create_or_update, rg, "py-gating", "py-fic", fic)
    run.one("federated_identity_credentials.get", ficops.get, rg, "py-gating", "py-fic")
    fics = run.many("federated_identity_credentials.list", ficops.list, rg, "py-gating")
    run.expect(len(fics) == 1, f"{len(fics)} FICs listed")
    return made.principal_id


def role_assignments(run, env, cred, principal):
    auth = AuthorizationManagementClient(cred, env["SUB"], base_url=env["SIM_URL"])
    scope = env["REGISTRY_ID"]
    defs = run.many("role_definitions.list", auth.role_definitions.list, scope, filter="roleName eq 'AcrPull'")
    run.expect([d.name for d in defs] == [ACR_PULL], f"roleName filter gave {[d.name for d in defs]}")
    run.one("role_definitions.get_by_id", auth.role_definitions.get_by_id, defs[0].id)
    first = str(uuid.uuid4())
    params = RoleAssignmentCreateParameters(role_definition_id=defs[0].id, principal_id=principal, principal_type="ServicePrincipal")
    made = run.one("role_assignments.create", auth.role_assignments.create, scope, first, params)
    run.expect(made.created_by is None, f"createdBy {made.created_by}")
    try:
        auth.role_assignments.create(scope, str(uuid.uuid4()), params, **FAST)
        run.problems.append("a second assignment of the same grant did not fail")
    except HttpResponseError as e:
        code = e.error.code if e.error else None
        message = e.error.message if e.error else ""
        run.calls.append("role_assignments.create(RoleAssignmentExists)")
        run.expect(e.status_code == 409 and code == "RoleAssignmentExists", f"got {e.status_code} {code}")
        run.expect(re.search(r"existing role assignment is " + first.replace("-", "") + r"\.$", message or "") is not None, f"message {message!r}")
    listed = run.many("role_assignments.list_for_scope", auth.role_assignments.list_for_scope, scope, filter=f"principalId eq '{principal}'")
    run.expect(any(a.name == first for a in listed), "the created assignment is not listed")


def pricings(run, env, cred):
    sec = SecurityCenter(cred, env["SUB"], base_url=env["SIM_URL"])
    scope = f"subscriptions/{env['SUB']}"
    got = run.one("pricings.get", sec.pricings.get, scope, "Containers")
    raws = []
    listed = sec.pricings.list(scope, raw_response_hook=lambda r: raws.append(json.loads(r.http_response.text() or "null")), **FAST)
    run.check("pricings.list", listed, raw=raws[-1])
    got.pricing_tier = "Standard"
    run.one("pricings.update", sec.pricings.update, scope, "Containers", got)


def graph(run, env, cred):
    rgc = ResourceGraphClient(cred, base_url=env["SIM_URL"])
    query = "Resources | where type =~ 'microsoft.containerservice/managedclusters' | project id, name"
    rows, token, pages = [], None, 0
    while True:
        request = QueryRequest(subscriptions=[env["SUB"]], query=query, options=QueryRequestOptions(top=2, skip_token=token))
        page = run.one("resources", rgc.resources, request)
        rows.extend(page.data)
        pages += 1
        token = page.skip_token
        if not token:
            break
    run.expect(pages >= 2, f"Resource Graph gave {pages} page(s)")
    run.expect(len(rows) == int(env["CLUSTERS"]) + 1, f"Resource Graph paged through {len(rows)} clusters")


def others(run, env, cred):
    res = ResourceManagementClient(cred, env["SUB"], base_url=env["SIM_URL"])
    run.check("resource_groups.get", res.resource_groups.get(env["RG"], **FAST))
    acr = ContainerRegistryManagementClient(cred, env["SUB"], base_url=env["SIM_URL"])
    run.check("registries.get", acr.registries.get(env["REGISTRY_RG"], env["REGISTRY"], **FAST))


def main():
    env = os.environ
    cred = StaticToken(env["SIM_TOKEN"])
    run = Run()
    steps = [self_test, lambda r: clusters(r, env, cred), lambda r: others(r, env, cred), lambda r: pricings(r, env, cred)]
    for step in steps:
        step(run)
    principal = identities(run, env, cred)
    role_assignments(run, env, cred, principal)
    graph(run, env, cred)
    print(json.dumps({"calls": run.calls, "problems": run.problems}))
    return 1 if run.problems else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # noqa: BLE001 - any failure is reported to the Rust test as JSON
        import traceback

        traceback.print_exc()
        print(json.dumps({"calls": [], "problems": [f"unexpected {type(e).__name__}: {e}"]}))
        sys.exit(1)
