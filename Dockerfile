# syntax=docker/dockerfile:1
# fleetgate worker image.
#
#   docker build -t fleetgate .                       # default: compile in the builder stage (multi-stage)
#   docker build --target prebuilt -t fleetgate .     # package dist/fleetgate built on the host (CI)
#
# Base images are build arguments so a machine that cannot pull public images can build against local
# ones (ci/image.sh does); the defaults are the public images. The runtime is distroless (glibc,
# libgcc, CA certificates, no shell), runs as the nonroot user 65532, listens on the health port 8080
# (health.listen) and runs `fleetgate run` unless given another command.
ARG RUST_IMAGE=docker.io/library/rust:1.95-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM ${RUST_IMAGE} AS builder
WORKDIR /src
ENV CARGO_TERM_COLOR=never CARGO_INCREMENTAL=0
# Dependency layer: compile every dependency against stub sources; it is rebuilt only when Cargo.toml
# or Cargo.lock change.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
    && printf 'fn main() {}\n' > src/main.rs \
    && : > src/lib.rs \
    && cargo build --release --locked --bin fleetgate \
    && rm -rf src target/release/fleetgate target/release/deps/fleetgate-* target/release/deps/libfleetgate-* \
        target/release/.fingerprint/fleetgate-*
# The crate itself (config/default.toml is compiled into the binary; build.rs records the commit for
# `fleetgate --version`: there is no repository here, so pass it with --build-arg FLEETGATE_COMMIT=…).
ARG FLEETGATE_COMMIT=unknown
ENV FLEETGATE_COMMIT=${FLEETGATE_COMMIT}
COPY build.rs ./
COPY src ./src
COPY config ./config
RUN cargo build --release --locked --bin fleetgate \
    && install -D -m 0755 target/release/fleetgate /out/fleetgate \
    && /out/fleetgate --version

FROM ${RUNTIME_IMAGE} AS runtime-base
LABEL org.opencontainers.image.title="fleetgate" \
      org.opencontainers.image.description="Defender for Containers gated deployment, automated for AKS fleets" \
      org.opencontainers.image.licenses="MIT"
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/fleetgate"]
CMD ["run"]

# The same runtime around a binary built outside (`cargo build --release --locked` → dist/fleetgate).
FROM runtime-base AS prebuilt
COPY --chown=0:0 --chmod=0755 dist/fleetgate /usr/local/bin/fleetgate

# Default target: the binary compiled in the builder stage.
FROM runtime-base AS runtime
COPY --from=builder --chown=0:0 /out/fleetgate /usr/local/bin/fleetgate
