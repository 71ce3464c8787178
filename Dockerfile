# syntax=docker/dockerfile:1
#
# signupflow container image: one static binary, three subcommands
# (serve = api + worker in one process, api, worker), plus the example API
# connector (/usr/local/bin/example-connector), the example relying party
# (/usr/local/bin/example-app) and the example connector plugins
# (/usr/local/lib/signupflow/plugins/). docker-compose.yml runs the
# same image as signupflow-api, signupflow-worker and, with its entrypoint
# overridden, example-connector.

# ---- build ------------------------------------------------------------------
# go.mod asks for go 1.26.8. The golang images set GOTOOLCHAIN=local, so a
# stale cached 1.26.x image older than that would refuse to build; "auto" lets
# the go command fetch the exact toolchain (checksum-verified) in that case.
FROM golang:1.26-bookworm AS build
ENV GOTOOLCHAIN=auto \
    CGO_ENABLED=0
WORKDIR /src

# Dependencies in their own layer: only a go.mod/go.sum change re-downloads.
# go.mod replaces the plugin SDK module with ./plugins/sdk, so its go.mod
# must be there too.
COPY go.mod go.sum ./
COPY plugins/sdk/go.mod plugins/sdk/go.sum ./plugins/sdk/
RUN go mod download

COPY . .
RUN --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/ ./cmd/signupflow ./cmd/example-connector ./cmd/example-app
# The example connector plugins (docs/plugins.md), started by the worker as child processes.
RUN --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/plugins/ ./plugins/examples/...

# ---- runtime ----------------------------------------------------------------
# distroless/static: no shell, no package manager, CA certificates and tzdata
# included, runs as uid/gid 65532 (nonroot). Nothing in signupflow needs cgo.
FROM gcr.io/distroless/static-debian12:nonroot

COPY --from=build /out/signupflow /out/example-connector /out/example-app /usr/local/bin/
# deploy/signupflow.compose.yaml names the plugins by these paths (deploy/compose_test.go checks it).
COPY --from=build /out/plugins/ /usr/local/lib/signupflow/plugins/
# Default config baked in (its connectors point at 127.0.0.1:7071, as for
# `make run`). docker-compose.yml bind-mounts deploy/signupflow.compose.yaml
# read-only over the same path; its connectors call the example-connector
# service.
COPY examples/signupflow.yaml /etc/signupflow/signupflow.yaml

USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/signupflow"]
CMD ["serve", "--config", "/etc/signupflow/signupflow.yaml"]
