# Lethe: class-unlearning experiments. `make run` is the main job, `make test` the tests.
GO      ?= go
BIN     := bin/lethe
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: all build run report test bench lint fuzz clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) .

# The main job: the quickstart experiment on the built-in MNIST, then its
# report table. A second `make run` reuses every cached stage.
# --keep-going: a stage whose method this build lacks fails alone, and the
# table shows everything else; --jobs 2: two stages at once, one core each
# (40 s against 45 s with one job on a 2-core machine).
run: build
	./$(BIN) run experiments/quickstart.hcl --keep-going --jobs 2

# The quickstart's tables and figures as files in out/quickstart, from the
# results `make run` stored (lethe report computes nothing).
report: build
	./$(BIN) report experiments/quickstart.hcl --out out/quickstart

test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 30m ./...

# Speed and memory targets live here, never in unit tests.
bench:
	./scripts/bench_cpu.sh
	$(GO) test -run '^$$' -bench . -benchtime 3x -timeout 60m $$($(GO) list ./... | grep -v '/nn$$')

lint:
	@files=$$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'); \
	test -z "$$(gofmt -l $$files)" || (echo "gofmt would change:"; gofmt -l $$files; exit 1)
	$(GO) vet ./...

fuzz:
	@echo "fuzz targets are listed per package; e.g. go test -fuzz=FuzzCIFAR ./data"

clean:
	rm -rf bin
