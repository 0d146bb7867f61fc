#!/usr/bin/env bash
# Debian packages the tests and checks need beyond the Rust toolchain: chromium (headless, for the
# HTML report test tests/report_html.rs) and prometheus (its promtool, for ci/observability.sh).
# Installed only when missing; `apt-get update` once first on a fresh machine.
set -euo pipefail
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v promtool >/dev/null || missing+=(prometheus)
if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "chromium: $(chromium --version 2>/dev/null | head -1)"
echo "promtool: $(promtool --version 2>&1 | head -1)"
