# fuzzforge/go-toolchain:local: Go in /usr/local/go, the layout of the official golang image, for
# machines without a registry. backend/scripts/docker-images.sh stages the host's GOROOT as ./go
# and passes this image as GO_IMAGE to workers/{go,generic}/Dockerfile. With a registry, use
# FUZZFORGE_GO_IMAGE=golang:1.26-bookworm instead.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
COPY go/ /usr/local/go/
ENV PATH=/usr/local/go/bin:$PATH
RUN go version
