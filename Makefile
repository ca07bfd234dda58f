# cnsenter: `make build` builds bin/cnsenter; `make test` installs what the
# tests need (Debian packages), then runs every test, the real-engine ones
# included. See README.md.

PREFIX  ?= /usr/local
# The Docker CLI looks for plugins here (see README for system-wide places).
PLUGINDIR ?= $(or $(DOCKER_CONFIG),$(HOME)/.docker)/cli-plugins
GO      ?= go
VERSION ?= $(shell git describe --tags --dirty 2>/dev/null || echo 0.1.0-dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
# Static: no dynamic loader in either stage (faster start, and nothing from
# the environment is loaded into a process about to enter a container).
# netgo/osusergo keep the static glibc's NSS out of the Go side.
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -linkmode external -extldflags -static
GOFLAGS_BUILD := -trimpath -tags netgo,osusergo

.PHONY: build build-deps demo test deps check unit integration fuzz bench clean install uninstall

build: build-deps
	$(GO) build $(GOFLAGS_BUILD) -ldflags '$(LDFLAGS)' -o bin/cnsenter ./cmd/cnsenter
	$(GO) build $(GOFLAGS_BUILD) -ldflags '$(LDFLAGS)' -o bin/cnsenter-resolve ./cmd/cnsenter-resolve
	$(GO) build $(GOFLAGS_BUILD) -ldflags '$(LDFLAGS)' -o bin/docker-nsenter ./cmd/docker-nsenter

# Debian packages: build-deps for the build (gcc, static glibc, libseccomp),
# deps for the tests too (containerd, runc, docker.io, busybox-static, ...).
build-deps:
	@bash test/install-deps.sh --build

deps:
	bash test/install-deps.sh

check:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: the files above need formatting'; exit 1; }
	$(GO) vet ./...

# Everything but the end-to-end tests, with the race detector. The
# privileged tests skip with their reason when not run as root.
unit:
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v /test/)

# cnsenter against util-linux nsenter and real targets, then against the
# real engines the tests start themselves. One package at a time: both
# count the processes running the binary under test.
integration: build
	CNSENTER_BIN=$(CURDIR)/bin/cnsenter CNSENTER_BIN_DIR=$(CURDIR)/bin $(GO) test -p 1 -count=1 -timeout 20m ./test/...

# Each fuzz target for a bounded time.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzAgainstGlibc$$' -fuzztime 20s ./internal/getopt
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 20s ./runtime/ref
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 20s ./internal/passwd

test: deps check unit integration fuzz

# What cnsenter is for, on an image with nothing inside (root; uses the
# running Docker engine, else starts private ones).
demo: deps build
	$(GO) run ./test/demo -bin bin

# Timings against util-linux nsenter, docker exec and ctr task exec, with
# the same private engines as the tests (root). It prints; it never fails
# because something is slow.
bench: deps build
	$(GO) run ./test/bench -bin bin

install: build
	install -D -m 0755 bin/cnsenter $(DESTDIR)$(PREFIX)/bin/cnsenter
	install -D -m 0755 bin/cnsenter-resolve $(DESTDIR)$(PREFIX)/libexec/cnsenter/cnsenter-resolve
	install -D -m 0755 bin/docker-nsenter $(DESTDIR)$(PLUGINDIR)/docker-nsenter

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/cnsenter $(DESTDIR)$(PREFIX)/libexec/cnsenter/cnsenter-resolve $(DESTDIR)$(PLUGINDIR)/docker-nsenter
	-rmdir $(DESTDIR)$(PREFIX)/libexec/cnsenter

clean:
	rm -rf bin dist
