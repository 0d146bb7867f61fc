#!/usr/bin/env python3
"""Writes the committed seed corpus under fuzz/corpus/ (run from anywhere; idempotent).

event_decoder: every event fixture of shared/azure-fixtures/events verbatim, the same envelopes made
concrete for the operations fleetgate acts on (cluster write/delete, role-assignment write, the
reconcile command) in and out of scope, and a few hostile bodies.
resource_id: valid IDs of every shape fleetgate parses plus hostile forms.
"""
import json
import os
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
SUB = "00000000-0000-0000-0000-000000000001"
OTHER = "00000000-0000-0000-0000-0000000000ff"


def fixtures_dir():
    for base in [HERE / "../../shared", HERE / "../../../shared", pathlib.Path("/work/shared")]:
        d = (base / "azure-fixtures/events").resolve()
        if d.is_dir():
            return d
    raise SystemExit("azure-fixtures/events not found")


def write(target, name, data):
    d = HERE / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    (d / f"seed-{name}").write_bytes(data if isinstance(data, bytes) else data.encode())


def cluster(sub=SUB, name="aks-1"):
    return f"/subscriptions/{sub}/resourceGroups/rg-aks/providers/Microsoft.ContainerService/managedClusters/{name}"


def registry(sub=SUB):
    return f"/subscriptions/{sub}/resourceGroups/rg-acr/providers/Microsoft.ContainerRegistry/registries/acr1"


def assignment(sub=SUB):
    return f"{registry(sub)}/providers/Microsoft.Authorization/roleAssignments/11111111-2222-3333-4444-555555555555"


def events():
    src = fixtures_dir()
    for f in sorted(src.glob("*.json")):
        write("event_decoder", f"fixture-{f.stem}", f.read_bytes())
    eg = json.loads((src / "spec-eventgrid-resource-write-success.json").read_text())
    ce = json.loads((src / "spec-cloudevents-resource-write-success.json").read_text())
    cases = [
        ("cluster-write", "Microsoft.Resources.ResourceWriteSuccess", "Microsoft.ContainerService/managedClusters/write", cluster()),
        ("cluster-delete", "Microsoft.Resources.ResourceDeleteSuccess", "Microsoft.ContainerService/managedClusters/delete", cluster()),
        ("role-write", "Microsoft.Resources.ResourceWriteSuccess", "Microsoft.Authorization/roleAssignments/write", assignment()),
        ("out-of-scope", "Microsoft.Resources.ResourceWriteSuccess", "Microsoft.ContainerService/managedClusters/write", cluster(OTHER)),
        ("agent-pool", "Microsoft.Resources.ResourceWriteSuccess", "Microsoft.ContainerService/managedClusters/write", cluster() + "/agentPools/np1"),
    ]
    for name, ty, op, rid in cases:
        for schema, env in (("eg", eg), ("ce", ce)):
            e = json.loads(json.dumps(env))
            e["eventType" if schema == "eg" else "type"] = ty
            e["subject"] = rid
            e["data"].update(operationName=op, resourceUri=rid, subscriptionId=rid.split("/")[2], tenantId=SUB)
            e["data"].pop("claims", None)
            write("event_decoder", f"{schema}-{name}.json", json.dumps(e))
    command = {"specversion": "1.0", "type": "io.fleetgate.reconcile", "source": "fleetgate", "id": "1", "subject": cluster()}
    write("event_decoder", "command.json", json.dumps(command))
    write("event_decoder", "array-of-two.json", json.dumps([command, command]))
    write("event_decoder", "bom.json", b"\xef\xbb\xbf" + json.dumps(command).encode())
    write("event_decoder", "duplicate-key.json", '{"specversion":"1.0","specversion":"1.0","type":"x","source":"s","id":"1"}')
    write("event_decoder", "wrong-types.json", '{"eventType":7,"subject":[],"eventTime":null,"id":{},"data":"x","dataVersion":1}')
    write("event_decoder", "specversion-casing.json", '{"SpecVersion":"1.0","type":"x","source":"s","id":"1"}')
    write("event_decoder", "truncated.json", json.dumps(command)[:40])


def ids():
    fic = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mi/federatedIdentityCredentials/f1"
    seeds = {
        "cluster": cluster(),
        "registry": registry(),
        "assignment": assignment(),
        "fic": fic,
        "subscription": f"/subscriptions/{SUB}",
        "group": f"/subscriptions/{SUB}/resourceGroups/rg",
        "pricing": f"/subscriptions/{SUB}/providers/Microsoft.Security/pricings/Containers",
        "casing": cluster().upper().replace("SUBSCRIPTIONS", "SubScriptions"),
        "trailing-slash": cluster() + "/",
        "dotdot": cluster() + "/../../../other",
        "encoded-slash": cluster().replace("/managedClusters/", "%2FmanagedClusters%2F"),
        "double-slash": cluster().replace("/providers/", "//providers/"),
        "query": cluster() + "?api-version=2024-01-01",
        "fragment": cluster() + "#x",
        "space": cluster().replace("aks-1", "aks 1"),
        "unicode": cluster().replace("aks-1", "akś-1\u202e"),
        "not-guid": cluster().replace(SUB, "not-a-guid"),
        "backslash": cluster().replace("/", "\\"),
        "no-namespace": f"/subscriptions/{SUB}/resourceGroups/rg/providers/managedClusters/x",
        "long": cluster() + "/x" * 2100,
    }
    for name, text in seeds.items():
        write("resource_id", name, text)


if __name__ == "__main__":
    events()
    ids()
    for t in ("event_decoder", "resource_id"):
        print(t, len(os.listdir(HERE / "corpus" / t)), "seeds")
