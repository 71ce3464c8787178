# signupflow — `make run` runs the whole system, `make test` runs the tests.
GO            ?= go
TEMPORAL_CLI  ?= v1.5.1
BIN           := $(CURDIR)/bin

.PHONY: all build check-go run test test-unit vet fmt bench fuzz clean

all: build

build: check-go
	$(GO) build -o $(BIN)/signupflow ./cmd/signupflow
	$(GO) build -o $(BIN)/example-connector ./cmd/example-connector

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

test-unit:
	$(GO) test -count=1 -short ./...

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParseResponse -fuzztime 30s ./connector/

# The benchmark harness (bench/, cmd/signupflow-bench): starts the Temporal dev server in memory, a
# redis-server, an SMTP capture, an HTTP connector and signupflow serve on free ports, measures the
# sign-up path against a Temporal-only floor and pending approvals at scale, and stops them all. The
# table goes to stdout, JSON and a chart to bench/results/. The defaults take about 13 minutes on 2 cores.
BENCH_N           ?= 500
BENCH_CONCURRENCY ?= 20
BENCH_PENDING     ?= 5000
bench: check-go $(TEMPORAL_STAMP)
	$(GO) build -o $(BIN)/signupflow-bench ./cmd/signupflow-bench
	$(BIN)/signupflow-bench -n $(BENCH_N) -concurrency $(BENCH_CONCURRENCY) -pending $(BENCH_PENDING)

# The same harness with small numbers, to keep it working (CI runs it; a minute or so). Its results go to
# bench/results/smoke/ (not tracked), so the committed latest.json and latest.png stay.
.PHONY: bench-smoke
bench-smoke: check-go $(TEMPORAL_STAMP)
	$(GO) build -o $(BIN)/signupflow-bench ./cmd/signupflow-bench
	$(BIN)/signupflow-bench -n 20 -concurrency 5 -pending 20 -inbox-calls 10 -decisions 3 -results bench/results/smoke

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN) .data

# Connector plugins. `make proto` regenerates plugins/proto/*.pb.go (committed) with protoc from Debian's
# protobuf-compiler package and the pinned Go generators installed into ./bin; `make plugins` builds the
# example plugins into ./bin/plugins/. Both are phony: ./plugins is also a directory.
.PHONY: proto plugins
PROTOC_GEN_GO      ?= v1.36.11
PROTOC_GEN_GO_GRPC ?= v1.6.2

proto: check-go
	@command -v protoc >/dev/null 2>&1 || { echo "make: protoc is needed: apt-get install -y protobuf-compiler" >&2; exit 1; }
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO)
	GOBIN=$(BIN) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC)
	PATH="$(BIN):$$PATH" protoc --proto_path=plugins/proto \
	  --go_out=plugins/proto --go_opt=paths=source_relative \
	  --go-grpc_out=plugins/proto --go-grpc_opt=paths=source_relative \
	  plugins/proto/connector.proto

plugins: check-go
	@mkdir -p $(BIN)/plugins
	$(GO) build -o $(BIN)/plugins/ ./plugins/examples/...
