# signupflow — `make run` runs the whole system, `make test` runs the tests.
GO            ?= go
TEMPORAL_CLI  ?= v1.5.1
BIN           := $(CURDIR)/bin
# The Go modules of the tree: the root and the plugin SDK (plugins/sdk/go.mod).
GO_MODULES    := . $(patsubst %/go.mod,%,$(wildcard */go.mod */*/go.mod))

.PHONY: all build check-go run test test-unit lint vet fmt bench fuzz clean

all: build

build: check-go
	$(GO) build -o $(BIN)/signupflow ./cmd/signupflow
	$(GO) build -o $(BIN)/example-connector ./cmd/example-connector
	$(GO) build -o $(BIN)/example-app ./cmd/example-app
	$(GO) build -o $(BIN)/example-idp ./cmd/example-idp

check-go:
	@command -v $(GO) >/dev/null 2>&1 || { echo "make: Go is needed (go.mod wants $$(sed -n 's/^go //p' go.mod)): https://go.dev/dl/" >&2; exit 1; }

# The pinned temporal CLI (dev server + Web UI), installed from the Go module proxy into ./bin. The stamp
# names the version, so changing TEMPORAL_CLI installs that version; an existing binary of the right
# version is kept. The first build takes several minutes.
TEMPORAL_STAMP := $(BIN)/.temporal-$(TEMPORAL_CLI)
$(TEMPORAL_STAMP): | check-go
	@mkdir -p $(BIN)
	@if $(GO) version -m $(BIN)/temporal 2>/dev/null | grep -q "^[[:space:]]*mod[[:space:]]*github.com/temporalio/cli[[:space:]]*$(TEMPORAL_CLI)[[:space:]]"; then :; else \
	  echo "make: installing the temporal CLI $(TEMPORAL_CLI) into $(BIN) (the first build takes several minutes)"; \
	  GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI); fi
	@touch $@

# Temporal dev server, redis-server, example connector and signupflow serve (with the example plugins
# of examples/signupflow.yaml); Ctrl-C stops them all.
run: build plugins $(TEMPORAL_STAMP)
	./scripts/run.sh

# Unit and integration tests: real Temporal (temporaltest), a real redis-server per test, real HTTP.
test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...
	$(MAKE) --no-print-directory test-sdk

# The fast checks (under a minute with a warm build cache): -short skips every test that needs a server
# of its own. internal/testredis.Start skips instead of starting redis-server, integration/'s TestMain
# starts no Temporal server and runs nothing, and tests that build and run plugin binaries skip. It
# covers every Go module (the root and plugins/sdk).
test-unit:
	@for m in $(GO_MODULES); do echo "go test -count=1 -short ./... ($$m)"; (cd $$m && $(GO) test -count=1 -short ./...) || exit 1; done

# Static checks: gofmt (generated *.pb.go excepted), go vet, staticcheck and workflowcheck (determinism
# of the workflow code in workflows/; what it must not report, and why, is in
# workflows/workflowcheck.config.yaml or an inline //workflowcheck:ignore with a reason). vet and
# staticcheck run in every Go module of the tree (the root and plugins/sdk). The analysers are pinned
# here and installed into ./bin like the temporal CLI: the stamp names the version, so changing one
# installs that version. staticcheck's release must support the Go toolchain in use (v0.8.2 is
# 2026.2.2); workflowcheck's is the one released alongside go.temporal.io/sdk's line (v1.50).
STATICCHECK   ?= v0.8.2
WORKFLOWCHECK ?= v0.6.0
STATICCHECK_STAMP   := $(BIN)/.staticcheck-$(STATICCHECK)
WORKFLOWCHECK_STAMP := $(BIN)/.workflowcheck-$(WORKFLOWCHECK)
$(STATICCHECK_STAMP): | check-go
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK)
	@touch $@
$(WORKFLOWCHECK_STAMP): | check-go
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK)
	@touch $@

# Every check runs; the target fails at the end if any of them found something.
lint: check-go $(STATICCHECK_STAMP) $(WORKFLOWCHECK_STAMP)
	@status=0; \
	echo "gofmt"; unformatted=$$(gofmt -l . | grep -v '\.pb\.go$$'); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change (make fmt):" >&2; echo "$$unformatted" >&2; status=1; fi; \
	for m in $(GO_MODULES); do echo "go vet ($$m)"; (cd $$m && $(GO) vet ./...) || status=1; done; \
	for m in $(GO_MODULES); do echo "staticcheck ($$m)"; (cd $$m && $(BIN)/staticcheck ./...) || status=1; done; \
	echo "workflowcheck (./workflows/...)"; $(BIN)/workflowcheck -config workflows/workflowcheck.config.yaml ./workflows/... || status=1; \
	if [ $$status -ne 0 ]; then echo "make lint: findings above" >&2; fi; exit $$status

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParseResponse -fuzztime 30s ./connector/

# The benchmark harness (bench/, cmd/signupflow-bench). For each Temporal profile it starts Temporal,
# a redis-server, an SMTP capture, an HTTP connector and signupflow serve on free ports, measures the
# sign-up path against a Temporal-only floor, pending approvals at scale and a kill -9 of signupflow under
# load, and stops them all. The profiles (BENCH_PROFILES): memory, the pinned dev server in memory;
# postgres, a PostgreSQL it initialises in a temporary directory (Debian's postgresql package; no root
# needed) and a Temporal server of the go.temporal.io/server module on it (signupflow-bench
# temporal-server); auto, both when PostgreSQL is installed, else memory alone with a note. The tables go
# to stdout, JSON and a chart to bench/results/.
BENCH_N           ?= 500
BENCH_CONCURRENCY ?= 20
BENCH_PENDING     ?= 10000
BENCH_CRASH       ?= 50
BENCH_PROFILES    ?= auto
bench: check-go $(TEMPORAL_STAMP)
	$(GO) build -o $(BIN)/signupflow-bench ./cmd/signupflow-bench
	$(BIN)/signupflow-bench -n $(BENCH_N) -concurrency $(BENCH_CONCURRENCY) -pending $(BENCH_PENDING) \
	  -crash-inflight $(BENCH_CRASH) -profiles $(BENCH_PROFILES)

# The same harness with small numbers, to keep it working (CI runs it; about a minute per profile, the
# PostgreSQL one only where PostgreSQL is installed). Its results go to bench/results/smoke/ (not
# tracked), so the committed latest.json and latest.png stay.
.PHONY: bench-smoke
bench-smoke: check-go $(TEMPORAL_STAMP)
	$(GO) build -o $(BIN)/signupflow-bench ./cmd/signupflow-bench
	$(BIN)/signupflow-bench -n 20 -concurrency 5 -pending 20 -inbox-calls 10 -decisions 3 -crash-inflight 10 \
	  -profiles $(BENCH_PROFILES) -results bench/results/smoke

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN) .data

# Connector plugins. The plugin SDK is a module of its own (plugins/sdk/go.mod; the root go.mod uses it
# through a replace), so `go test ./...` at the root does not enter it: `make test-sdk` vets and tests it.
# `make proto` regenerates the SDK's internal wire protocol (plugins/sdk/internal/proto/*.pb.go, committed)
# with protoc from Debian's protobuf-compiler package and the pinned Go generators installed into ./bin;
# `make plugins` builds the example plugins into ./bin/plugins/. All are phony: ./plugins is a directory.
.PHONY: proto plugins test-sdk
PROTOC_GEN_GO      ?= v1.36.11
PROTOC_GEN_GO_GRPC ?= v1.6.2
PROTO_DIR          := plugins/sdk/internal/proto

proto: check-go
	@command -v protoc >/dev/null 2>&1 || { echo "make: protoc is needed: apt-get install -y protobuf-compiler" >&2; exit 1; }
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO)
	GOBIN=$(BIN) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC)
	PATH="$(BIN):$$PATH" protoc --proto_path=$(PROTO_DIR) \
	  --go_out=$(PROTO_DIR) --go_opt=paths=source_relative \
	  --go-grpc_out=$(PROTO_DIR) --go-grpc_opt=paths=source_relative \
	  $(PROTO_DIR)/connector.proto

plugins: check-go
	@mkdir -p $(BIN)/plugins
	$(GO) build -o $(BIN)/plugins/ ./plugins/examples/...

test-sdk: check-go
	cd plugins/sdk && $(GO) vet ./... && $(GO) test -count=1 ./...
