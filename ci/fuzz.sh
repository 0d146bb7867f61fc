#!/usr/bin/env bash
# Short coverage-guided fuzz run of every cargo-fuzz target in fuzz/, seeded from fuzz/corpus/.
#
#   ci/fuzz.sh [seconds-per-target]        (default 25; FUZZ_SECONDS also works)
#
# Works on the stable toolchain: libFuzzer instrumentation needs `-Z` flags, which RUSTC_BOOTSTRAP=1
# allows. `--sanitizer none`: the targets are safe Rust, a panic or failed assertion is the finding.
# Installs cargo-fuzz from crates.io when it is missing (about 1.5 min); the first build of the
# instrumented crate takes several minutes (see docs/RELIABILITY.md for measured times).
# A finding fails the script; the input is left under fuzz/artifacts/<target>/ and can be replayed with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none <target> fuzz/artifacts/<target>/<file>
set -euo pipefail

secs="${1:-${FUZZ_SECONDS:-25}}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target_dir="${FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:-$root/target}-fuzz}"
cargo_fuzz_version="0.13.2"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz $cargo_fuzz_version"
    start=$SECONDS
    cargo install --locked cargo-fuzz --version "$cargo_fuzz_version"
    echo "fuzz: cargo-fuzz installed in $((SECONDS - start)) s"
fi

export RUSTC_BOOTSTRAP=1
cd "$root/fuzz"
start=$SECONDS
cargo fuzz build --sanitizer none --target-dir "$target_dir"
echo "fuzz: targets built in $((SECONDS - start)) s"

for target in $(cargo fuzz list); do
    work="$(mktemp -d)"
    cp corpus/"$target"/seed-* "$work"/
    echo "fuzz: $target for $secs s from $(ls "$work" | wc -l) seeds"
    status=0
    cargo fuzz run --sanitizer none --target-dir "$target_dir" "$target" "$work" -- \
        -max_total_time="$secs" -max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$work.log" 2>&1 || status=$?
    grep -E '^(stat::|Done |INFO: seed corpus|==[0-9]+==|thread |SUMMARY|Test unit written|Base64)' "$work.log" || true
    if [ "$status" -ne 0 ]; then
        tail -n 40 "$work.log" >&2
        echo "fuzz: $target FAILED (exit $status); the input is under fuzz/artifacts/$target/" >&2
        exit 1
    fi
    rm -rf "$work" "$work.log"
    echo "fuzz: $target ok"
done
