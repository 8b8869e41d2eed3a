# fuzzforge/rust-toolchain:local: rustup's layout of the official rust image (/usr/local/rustup,
# /usr/local/cargo) for machines that cannot reach rustup's servers. backend/scripts/docker-images.sh
# stages the host's default toolchain as ./rustup and rustup's proxies as ./cargo/bin, and passes
# this image as RUST_IMAGE to workers/rust/Dockerfile. With a registry, use
# FUZZFORGE_RUST_IMAGE=rust:1-bookworm instead.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
COPY rustup/ /usr/local/rustup/
COPY cargo/ /usr/local/cargo/
ENV RUSTUP_HOME=/usr/local/rustup CARGO_HOME=/usr/local/cargo PATH=/usr/local/cargo/bin:$PATH
RUN rustc --version && cargo --version
