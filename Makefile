# signupflow — `make run` runs the whole system, `make test` runs the tests.
GO            ?= go
TEMPORAL_CLI  ?= v1.5.1
BIN           := $(CURDIR)/bin

.PHONY: all build run test test-unit vet fmt bench fuzz clean

all: build

build:
	$(GO) build -o $(BIN)/signupflow ./cmd/signupflow
	$(GO) build -o $(BIN)/example-connector ./cmd/example-connector

$(BIN)/temporal:
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI)

run: build $(BIN)/temporal
	./scripts/run.sh

# Unit and integration tests: real Temporal (temporaltest), a real redis-server per test, real HTTP.
test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

test-unit:
	$(GO) test -count=1 -short ./...

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParseResponse -fuzztime 30s ./connector/

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN) .data
