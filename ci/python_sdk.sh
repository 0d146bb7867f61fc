#!/usr/bin/env bash
# Creates the Python virtualenv that tests/python_sdk.rs drives the simulator with: the official Azure SDK
# for Python management libraries, pinned in tests/python_sdk/requirements.txt, from PyPI. Idempotent: an
# existing venv whose installed set already matches the pins is left alone.
# Where: $FLEETGATE_PY_SDK_VENV, default target/python-sdk-venv (what the test looks for).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${FLEETGATE_PY_SDK_VENV:-target/python-sdk-venv}"
REQ=tests/python_sdk/requirements.txt
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
want="$(grep -v '^#' "$REQ" | grep -v '^$' | sort)"
have="$("$VENV/bin/python" -m pip freeze --disable-pip-version-check 2>/dev/null | sort || true)"
if [ "$want" != "$(echo "$have" | grep -F -x -f <(echo "$want") || true)" ]; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ"
fi
echo "python SDK venv: $VENV ($("$VENV/bin/python" --version), $(echo "$want" | wc -l) pinned packages)"
