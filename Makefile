# Carrel: `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

GO      ?= go
BIN     := bin/carrel
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
# The race detector needs cgo and a C compiler; a machine with only Go
# runs the same tests without it.
RACE    := $(shell [ "$$($(GO) env CGO_ENABLED)" = 1 ] && command -v gcc >/dev/null 2>&1 && echo -race)

.PHONY: help build run test generate lint fmt clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

build: ## build the carrel binary into bin/
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/carrel

run: build ## serve the portal on the embedded database with demo data (http://127.0.0.1:8080)
	./$(BIN) seed --demo
	./$(BIN) serve --demo

test: ## run every test, on SQLite and PostgreSQL
	$(GO) test $(RACE) -count=1 ./...
	@$(GO) run ./models/modeltest/pgcheck

generate: ## regenerate the templ components' Go code
	$(GO) tool templ generate -include-version=false -path views

fmt: ## format Go and templ sources
	gofmt -w $$(git ls-files '*.go' | grep -v '_templ.go$$')
	$(GO) tool templ fmt views

lint: ## check formatting, vet, and that generated code is fresh
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: run make fmt"; exit 1; }
	$(GO) vet ./...
	$(GO) tool templ generate -include-version=false -path views >/dev/null 2>&1
	@git diff --exit-code -- views >/dev/null || { git diff --stat -- views; echo "templ: generated code is stale; run make generate and commit"; exit 1; }

clean: ## remove the binary and the demo database
	rm -rf bin var
