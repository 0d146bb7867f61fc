#!/usr/bin/env bash
# Checks deploy/observability: the PrometheusRule's spec with `promtool check rules` and the alert unit
# tests with `promtool test rules` (promtool from Debian's prometheus package), and that the Grafana
# dashboard is JSON. tests/observability.rs checks that every metric they query exists.
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/tools.sh
ci_pip PyYAML==6.0.2

if ! command -v promtool >/dev/null; then
    apt-get install -y --no-install-recommends prometheus >/dev/null
fi
echo "promtool: $(promtool --version 2>&1 | head -1)"

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
# A PrometheusRule wraps the rule groups under spec; promtool reads the groups themselves.
"$CI_VENV/bin/python" - deploy/observability/prometheus-rules.yaml "$out/rules.yaml" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
assert doc["apiVersion"] == "monitoring.coreos.com/v1" and doc["kind"] == "PrometheusRule", doc.get("kind")
yaml.safe_dump(doc["spec"], open(sys.argv[2], "w"), sort_keys=False)
PY
promtool check rules "$out/rules.yaml"
cp deploy/observability/prometheus-rules.test.yaml "$out/"
(cd "$out" && promtool test rules prometheus-rules.test.yaml)
"$CI_VENV/bin/python" -c 'import json,sys; d=json.load(open(sys.argv[1])); print("dashboard:", d["title"], "-", len(d["panels"]), "panels")' deploy/observability/grafana-dashboard.json
echo "observability: OK"
