# syntax=docker/dockerfile:1
# Multi-stage build of the fleetgate worker. Base images are build arguments so CI (which cannot pull
# public images) can build against local bases; the defaults are the public ones.
ARG RUST_IMAGE=docker.io/library/rust:1.95-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM ${RUST_IMAGE} AS builder
WORKDIR /src
# Dependency layer: build with a stub crate so dependencies are cached until Cargo.toml/Cargo.lock change.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src config && echo 'fn main() {}' > src/main.rs && echo '' > src/lib.rs \
    && touch config/default.toml config/demo-fleet.toml \
    && cargo build --release --locked \
    && rm -rf src config
COPY src ./src
COPY config ./config
RUN touch src/main.rs src/lib.rs && cargo build --release --locked

FROM ${RUNTIME_IMAGE}
COPY --from=builder /src/target/release/fleetgate /usr/local/bin/fleetgate
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/fleetgate"]
CMD ["run"]
