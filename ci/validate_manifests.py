"""Validates one rendered kustomization (a multi-document YAML file).

1. Every built-in object against the Kubernetes OpenAPI schemas (kubernetes-validate, offline, strict).
2. ScaledObject and TriggerAuthentication against KEDA's CRD schemas (ci/schemas/keda, strict).
3. fleetgate's invariants: workload identity (pod label, service-account annotation), hardened
   securityContext, probes on the health port, resources, terminationGracePeriodSeconds > shutdown.grace,
   the config file mounted where FLEETGATE_CONFIG points, KEDA on the configured queue with
   workload identity, PodDisruptionBudget and NetworkPolicy (DNS + 443 out, health port in from named
   namespaces only).

Exit status 1 with one line per problem.
"""

import argparse
import copy
import json
import pathlib
import re
import sys
import tomllib

import jsonschema
import kubernetes_validate
import yaml

SCHEMAS = pathlib.Path(__file__).resolve().parent / "schemas" / "keda"
KEDA_SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "scaledobject-keda-v1alpha1.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "triggerauthentication-keda-v1alpha1.json",
}
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def strict(schema):
    """A copy of a CRD schema that rejects unknown fields where the CRD declares its properties."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if (
                node.get("type") == "object"
                and "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


def seconds(duration):
    """'30s', '2m', '1h30m' → seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    parts = re.findall(r"(\d+)(ms|s|m|h)", duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise ValueError(f"unsupported duration {duration!r}")
    return sum(int(n) * units[u] for n, u in parts)


class Checker:
    def __init__(self, docs, allow_placeholders):
        self.docs = docs
        self.allow_placeholders = allow_placeholders
        self.problems = []

    def check(self, cond, message):
        if not cond:
            self.problems.append(message)

    def one(self, kind):
        found = [d for d in self.docs if d.get("kind") == kind]
        self.check(len(found) == 1, f"expected exactly one {kind}, found {len(found)}")
        return found[0] if found else {}

    def schemas(self, k8s_version):
        for doc in self.docs:
            key = (doc.get("apiVersion"), doc.get("kind"))
            name = f"{key[1]}/{doc.get('metadata', {}).get('name')}"
            if key in KEDA_SCHEMAS:
                schema = strict(json.loads((SCHEMAS / KEDA_SCHEMAS[key]).read_text()))
                errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
                for e in errors:
                    self.problems.append(f"{name}: KEDA CRD schema: {'.'.join(map(str, e.path))}: {e.message}")
                continue
            try:
                kubernetes_validate.validate(doc, k8s_version, strict=True)
            except kubernetes_validate.ValidationError as e:
                self.problems.append(f"{name}: Kubernetes {k8s_version} schema: {'.'.join(map(str, e.path))}: {e.message}")
            except kubernetes_validate.SchemaNotFoundError as e:
                self.problems.append(f"{name}: no schema for {key} in Kubernetes {k8s_version}: {e}")

    def config(self, deployment, container):
        """The fleetgate config file from the ConfigMap mounted where FLEETGATE_CONFIG points."""
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        path = env.get("FLEETGATE_CONFIG")
        self.check(path is not None, "FLEETGATE_CONFIG is not set")
        if path is None:
            return {}
        mount = next((m for m in container.get("volumeMounts", []) if path.startswith(m["mountPath"].rstrip("/") + "/")), None)
        self.check(mount is not None and mount.get("readOnly"), f"{path} is not on a read-only mount")
        if mount is None:
            return {}
        volume = next(v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"])
        cm_name = volume.get("configMap", {}).get("name")
        cm = next((d for d in self.docs if d.get("kind") == "ConfigMap" and d["metadata"]["name"] == cm_name), None)
        self.check(cm is not None, f"ConfigMap {cm_name} mounted for {path} is not in the kustomization")
        key = path[len(mount["mountPath"].rstrip("/")) + 1 :]
        text = (cm or {}).get("data", {}).get(key)
        self.check(text is not None, f"ConfigMap {cm_name} has no key {key}")
        return tomllib.loads(text) if text else {}

    def workload(self):
        deployment = self.one("Deployment")
        sa = self.one("ServiceAccount")
        pod = deployment["spec"]["template"]
        spec = pod["spec"]
        self.check(pod["metadata"]["labels"].get("azure.workload.identity/use") == "true", "pod label azure.workload.identity/use")
        self.check(spec.get("serviceAccountName") == sa["metadata"]["name"], "Deployment runs as the annotated ServiceAccount")
        client_id = sa["metadata"].get("annotations", {}).get("azure.workload.identity/client-id", "")
        self.check(bool(GUID.match(client_id)), f"ServiceAccount client-id annotation {client_id!r} is not a GUID")
        psc = spec.get("securityContext", {})
        self.check(psc.get("runAsNonRoot") is True, "pod runAsNonRoot")
        self.check(psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", "seccomp RuntimeDefault")
        (container,) = spec["containers"]
        csc = container.get("securityContext", {})
        self.check(csc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem")
        self.check(csc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation false")
        self.check(csc.get("capabilities", {}).get("drop") == ["ALL"], "capabilities drop ALL")
        res = container.get("resources", {})
        for part in ("requests", "limits"):
            self.check({"cpu", "memory"} <= set(res.get(part, {})), f"resources.{part} cpu and memory")
        ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            get = container.get(probe, {}).get("httpGet", {})
            self.check(get.get("path") == path, f"{probe} path {path}")
            self.check(ports.get(get.get("port")) == 8080 or get.get("port") == 8080, f"{probe} on the health port")
        config = self.config(deployment, container)
        listen = config.get("health", {}).get("listen", "0.0.0.0:8080")
        self.check(int(listen.rsplit(":", 1)[1]) in ports.values(), f"health.listen {listen} is a container port")
        grace = seconds(config.get("shutdown", {}).get("grace", "30s"))
        termination = spec.get("terminationGracePeriodSeconds", 30)
        self.check(termination > grace, f"terminationGracePeriodSeconds {termination} must exceed shutdown.grace {grace}s")
        self.check(container.get("args", [None])[0] == "run", "the container runs `fleetgate run`")
        return deployment, config

    def keda(self, deployment, config):
        so = self.one("ScaledObject")
        ta = self.one("TriggerAuthentication")
        spec = so.get("spec", {})
        self.check(spec.get("scaleTargetRef", {}).get("name") == deployment["metadata"]["name"], "ScaledObject targets the Deployment")
        self.check(spec.get("minReplicaCount", 0) >= 1, "minReplicaCount >= 1 (resync and health need a replica)")
        (trigger,) = spec.get("triggers", [{}])
        meta = trigger.get("metadata", {})
        self.check(trigger.get("type") == "azure-servicebus", "trigger type azure-servicebus")
        self.check(trigger.get("authenticationRef", {}).get("name") == ta["metadata"]["name"], "trigger uses the TriggerAuthentication")
        self.check(ta.get("spec", {}).get("podIdentity", {}).get("provider") == "azure-workload", "workload-identity TriggerAuthentication")
        identity = ta.get("spec", {}).get("podIdentity", {}).get("identityId", "")
        self.check(bool(GUID.match(identity)), f"TriggerAuthentication identityId {identity!r} is not a GUID")
        queue = config.get("queue", {})
        self.check(meta.get("queueName") == queue.get("name", "fleetgate-events"), "KEDA scales on queue.name")
        if not self.allow_placeholders:
            self.check(meta.get("namespace") == queue.get("namespace"), "KEDA namespace equals queue.namespace")
            self.check(bool(queue.get("namespace")), "queue.namespace is set")
            self.check(bool(config.get("scope", {}).get("subscriptions")), "scope.subscriptions is set")

    def policies(self, deployment):
        selector = deployment["spec"]["selector"]["matchLabels"]
        pdb = self.one("PodDisruptionBudget")
        self.check(pdb.get("spec", {}).get("selector", {}).get("matchLabels") == selector, "PDB selects the worker")
        np = self.one("NetworkPolicy")
        spec = np.get("spec", {})
        self.check(spec.get("podSelector", {}).get("matchLabels") == selector, "NetworkPolicy selects the worker")
        self.check(sorted(spec.get("policyTypes", [])) == ["Egress", "Ingress"], "NetworkPolicy restricts both directions")
        egress_ports = {(p.get("protocol", "TCP"), p["port"]) for rule in spec.get("egress", []) for p in rule.get("ports", [])}
        self.check(egress_ports == {("UDP", 53), ("TCP", 53), ("TCP", 443)}, f"egress is DNS + 443 only: {egress_ports}")
        ingress_ports = {p["port"] for rule in spec.get("ingress", []) for p in rule.get("ports", [])}
        self.check(ingress_ports == {8080}, f"ingress is the health port only: {ingress_ports}")
        # Who may reach it: named namespaces only (kubelet probes from the pod's node are never blocked).
        for rule in spec.get("ingress", []):
            peers = rule.get("from", [])
            self.check(bool(peers), "an ingress rule without `from` admits every source")
            for peer in peers:
                labels = peer.get("namespaceSelector", {}).get("matchLabels", {})
                named = set(peer) <= {"namespaceSelector"} and list(labels) == ["kubernetes.io/metadata.name"]
                self.check(named and not peer["namespaceSelector"].get("matchExpressions"), f"ingress peer {peer} is not one namespace by kubernetes.io/metadata.name")

    def placeholders(self, text):
        if not self.allow_placeholders:
            self.check("REPLACE" not in text, "an overlay must replace every REPLACE placeholder")
            self.check("00000000-0000-0000-0000-000000000000" not in text, "an overlay must set real client IDs")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rendered")
    parser.add_argument("--kubernetes-version", default="1.32.0")
    parser.add_argument("--allow-placeholders", action="store_true", help="the base: REPLACE values are expected")
    args = parser.parse_args()
    text = pathlib.Path(args.rendered).read_text()
    docs = [d for d in yaml.safe_load_all(text) if d]
    checker = Checker(docs, args.allow_placeholders)
    checker.schemas(args.kubernetes_version)
    deployment, config = checker.workload()
    checker.keda(deployment, config)
    checker.policies(deployment)
    checker.placeholders(text)
    kinds = sorted(d["kind"] for d in docs)
    if checker.problems:
        print(f"{args.rendered}: {len(checker.problems)} problem(s)")
        for p in checker.problems:
            print(f"  - {p}")
        sys.exit(1)
    print(f"{args.rendered}: {len(docs)} objects valid ({', '.join(kinds)})")


if __name__ == "__main__":
    main()
