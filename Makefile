# cnsenter: `make build` builds bin/cnsenter; `make test` installs what the
# tests need (Debian packages), then runs every test, the real-engine ones
# included. See README.md.

PREFIX  ?= /usr/local
# The Docker CLI looks for plugins here (see README for system-wide places).
PLUGINDIR ?= $(or $(DOCKER_CONFIG),$(HOME)/.docker)/cli-plugins
MANDIR     ?= $(PREFIX)/share/man/man1
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/vendor-completions
DEB_VERSION = $(shell echo '$(VERSION)' | sed 's/^v//; s/-dev/~dev/')
DEB_ARCH    = $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
GO      ?= go
VERSION ?= $(shell git describe --tags --dirty 2>/dev/null || echo 0.1.0-dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LIBEXECDIR ?= $(PREFIX)/libexec/cnsenter
CC      ?= cc
# The Go programs link no C (CGO_ENABLED=0): a Go binary with cgo starts
# about 0.6 ms slower on every run. They are static, as is cnsenter-enter,
# the C program every entry runs (enter/stage2): no dynamic loader, and
# nothing from the environment loaded into a process about to enter a
# container. The helpers' directory is built in, for the Docker plugin.
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) \
	-X github.com/cnsenter/cnsenter/internal/libexec.Dir=$(LIBEXECDIR)
GOFLAGS_BUILD := -trimpath
STAGE2_CFLAGS := -O2 -Wall -Wextra -Wno-unused-parameter -Werror -static
# The C program is also cnsenter's front and the plugin's (front.c): the
# plugin's metadata, the Go plugin's own answer, as a C string.
METADATA_HEADER := sed 's/["\\]/\\&/g; s/.*/\#define PLUGIN_METADATA "&"/'
# The C program's one recipe (target stage2): make build runs it into bin/,
# the tests (test/binaries) into their own directories, so that sources
# (every .c file in enter/stage2), flags and libraries are written here
# only. STAGE2_METADATA is the Go plugin whose metadata is built in; the
# unit tests of enter, which have none, leave it empty.
STAGE2_OUT ?= bin
STAGE2_SRC = $(sort $(wildcard enter/stage2/*.c))
STAGE2_METADATA ?=

.PHONY: build stage2 build-deps demo docs deb test deps check unit engines integration fuzz bench clean install uninstall kubectl-nsenter install-kubectl-nsenter image k8s k8s-stop k8s-test

build: build-deps
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -ldflags '$(LDFLAGS)' -o bin/cnsenter-go ./cmd/cnsenter
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -ldflags '$(LDFLAGS)' -o bin/docker-nsenter-go ./cmd/docker-nsenter
	$(MAKE) --no-print-directory stage2 STAGE2_OUT=bin STAGE2_METADATA=bin/docker-nsenter-go
	ln -f bin/cnsenter-enter bin/cnsenter
	ln -f bin/cnsenter-enter bin/docker-nsenter

stage2:
	mkdir -p $(STAGE2_OUT)
	$(if $(STAGE2_METADATA),$(STAGE2_METADATA) docker-cli-plugin-metadata | $(METADATA_HEADER),true) >$(STAGE2_OUT)/plugin-metadata.h
	$(CC) $(STAGE2_CFLAGS) -DLIBEXECDIR='"$(LIBEXECDIR)"' -include $(STAGE2_OUT)/plugin-metadata.h -o $(STAGE2_OUT)/cnsenter-enter \
		$(STAGE2_SRC) -lseccomp
	rm $(STAGE2_OUT)/plugin-metadata.h

# kubectl nsenter: a module of its own (cmd/kubectl-nsenter/go.mod), so
# that client-go is in no other program. Its helper pod runs IMAGE, which
# `make image` writes as one tarball (OCI layout + docker save's
# manifest.json: ctr/docker/podman load it; no registry): cnsenter's
# static programs, the helper's gate (cnsenter-attach) and, as the tools
# of --host-tools, IMAGE_TOOLS (Debian's busybox-static; IMAGE_TOOLS= for
# none). IMAGE is built into the plugin as its default --image.
IMAGE ?= localhost/cnsenter:$(subst +,-,$(VERSION))
IMAGE_TOOLS ?= $(wildcard /bin/busybox)
KN_LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.defaultImage=$(IMAGE)
kubectl-nsenter:
	cd cmd/kubectl-nsenter && CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -ldflags '$(KN_LDFLAGS)' -o $(CURDIR)/bin/kubectl-nsenter .

install-kubectl-nsenter: kubectl-nsenter
	install -D -m 0755 bin/kubectl-nsenter $(DESTDIR)$(PREFIX)/bin/kubectl-nsenter

image: build kubectl-nsenter
	cd cmd/kubectl-nsenter && CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -ldflags '-s -w' -o $(CURDIR)/bin/cnsenter-attach ./cnsenter-attach
	mkdir -p dist
	@echo "mkimage: $(IMAGE) from bin/ (cnsenter, cnsenter-go, cnsenter-enter, cnsenter-attach)$(if $(IMAGE_TOOLS), and $(IMAGE_TOOLS) with its applets)"
	@cd cmd/kubectl-nsenter && $(GO) run ./mkimage -o $(CURDIR)/dist/cnsenter-image.tar -tag $(IMAGE) \
		$(if $(IMAGE_TOOLS),$(foreach a,$(shell $(IMAGE_TOOLS) --list 2>/dev/null),-link /bin/$(a)=busybox) $(IMAGE_TOOLS):/bin/busybox) \
		$(foreach p,cnsenter cnsenter-go cnsenter-enter cnsenter-attach,$(CURDIR)/bin/$(p))
	@echo "dist/cnsenter-image.tar: $(IMAGE) (ctr -n k8s.io images import dist/cnsenter-image.tar on each node)"

# Debian packages: build-deps for the build (gcc, static glibc, libseccomp),
# deps for the tests too (containerd, runc, docker.io, busybox-static, ...).
build-deps:
	@bash test/install-deps.sh --build

deps:
	bash test/install-deps.sh

# The man pages, written from the programs' own --help (docs/gen).
docs: build kubectl-nsenter
	$(GO) run ./docs/gen -bin bin -out docs

check: build kubectl-nsenter
	@d=$$(mktemp -d) && $(GO) run ./docs/gen -bin bin -out $$d -date "$$(sed -n 's/^\.TH [^ ]* 1 "\([^"]*\)".*/\1/p' docs/cnsenter.1)" && \
		diff -u docs/cnsenter.1 $$d/cnsenter.1 && diff -u docs/docker-nsenter.1 $$d/docker-nsenter.1 && \
		diff -u docs/kubectl-nsenter.1 $$d/kubectl-nsenter.1; rc=$$?; rm -rf $$d; \
		test $$rc -eq 0 || { echo 'docs/*.1 differ from --help: run make docs'; exit 1; }
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: the files above need formatting'; exit 1; }
	$(GO) vet ./...
	cd cmd/kubectl-nsenter && $(GO) vet ./...

# Everything but the end-to-end tests, with the race detector. The
# privileged tests skip with their reason when not run as root.
unit:
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v /test/)
	cd cmd/kubectl-nsenter && $(GO) test -race -count=1 ./...

# Today's engines (containerd 2, runc 1.4, dockerd from moby/moby/v2),
# built from their Go modules into a cache keyed by their versions: about
# 20 minutes the first time, then nothing (test/engines/build-current.sh);
# and crictl, which the CRI tests make pods with, likewise in a directory
# of its own (test/engines/build-crictl.sh, a minute the first time).
engines:
	@bash test/engines/build-current.sh >/dev/null
	@bash test/engines/build-crictl.sh >/dev/null

# Kubernetes v1.37.2 for kubectl nsenter's tests (test/k8s/cluster.sh):
# kube-apiserver, kubelet, kubectl, controller-manager, scheduler, etcd,
# crictl, CNI plugins, from their Go modules, on today's containerd and
# runc (make engines). About 25 minutes on 2 cores the first time, kept
# under K8S_DIR (named by the version), then nothing. k8s-stop stops a
# cluster that an interrupted test run left.
K8S_DIR ?= /var/tmp/k8s-local/v1.37.2
K8S_ENV = K=$(K8S_DIR) CTRBIN=$$(bash test/engines/build-current.sh)
k8s: engines
	@mkdir -p $(K8S_DIR)/bin && [ -x $(K8S_DIR)/bin/crictl ] || cp "$$(bash test/engines/build-crictl.sh)/crictl" $(K8S_DIR)/bin/
	@$(K8S_ENV) bash test/k8s/cluster.sh build >/tmp/cnsenter-k8s-build.log 2>&1 || { tail -30 /tmp/cnsenter-k8s-build.log; exit 1; }

k8s-stop:
	$(K8S_ENV) bash test/k8s/cluster.sh stop

# cnsenter against util-linux nsenter and real targets, then against the
# real engines the tests start themselves: the end-to-end package once on
# Debian's engines and once on today's (CNSENTER_ENGINES), its output
# without the lines of tests that passed, so that the first line of each
# run names its engines and every skip its reason. Both run; either
# failing fails. One package at a time: they count the processes running
# the binary under test.
INTEGRATION_ENV = CNSENTER_BIN=$(CURDIR)/bin/cnsenter CNSENTER_BIN_DIR=$(CURDIR)/bin CNSENTER_DEB=$(CURDIR)/dist/cnsenter_$(DEB_VERSION)_$(DEB_ARCH).deb
integration: build deb engines
	$(INTEGRATION_ENV) $(GO) test -p 1 -count=1 -timeout 20m $$($(GO) list ./test/... | grep -Ev '/test/(e2e|k8s)$$')
	@dir=$$(bash test/engines/build-current.sh) || exit 1; crictl=$$(bash test/engines/build-crictl.sh)/crictl || exit 1; \
	st=$$(mktemp) || exit 1; rc=0; for g in debian current; do \
		echo "== test/e2e on the $$g engines"; \
		{ $(INTEGRATION_ENV) CNSENTER_ENGINES=$$g CNSENTER_ENGINES_DIR=$$dir CNSENTER_CRICTL=$$crictl $(GO) test -v -p 1 -count=1 -timeout 20m ./test/e2e; echo $$? >$$st; } | \
			grep -Ev '^ *(=== (RUN|PAUSE|CONT|NAME)|--- PASS)'; \
		[ "$$(cat $$st)" = 0 ] || rc=1; \
	done; rm -f $$st; exit $$rc

# kubectl nsenter against a real Kubernetes that the tests start and
# stop (test/k8s; they skip, saying why, where it cannot run).
k8s-test: image k8s
	@echo "== test/k8s: kubectl nsenter on Kubernetes"
	@st=$$(mktemp) || exit 1; { CNSENTER_K8S_DIR=$(K8S_DIR) CNSENTER_ENGINES_DIR=$$(bash test/engines/build-current.sh) \
		CNSENTER_K8S_PLUGIN=$(CURDIR)/bin/kubectl-nsenter CNSENTER_K8S_IMAGE=$(CURDIR)/dist/cnsenter-image.tar \
		$(GO) test -v -p 1 -count=1 -timeout 20m ./test/k8s; echo $$? >$$st; } | grep -Ev '^ *(=== (RUN|PAUSE|CONT|NAME)|--- PASS)'; \
		rc=$$(cat $$st); rm -f $$st; exit $$rc

# Each fuzz target for a bounded time (test/fuzz.sh: a failure of Go's
# fuzzing engine that found nothing is run once more).
fuzz:
	GO=$(GO) bash test/fuzz.sh FuzzAgainstGlibc ./internal/getopt
	GO=$(GO) bash test/fuzz.sh FuzzParse ./runtime/ref
	GO=$(GO) bash test/fuzz.sh FuzzParse ./internal/passwd
	GO=$(GO) bash test/fuzz.sh FuzzParseArgs ./cmd/cnsenter
	GO=$(GO) bash test/fuzz.sh FuzzSeccompProfile ./enter
	GO=$(GO) bash test/fuzz.sh FuzzDecode ./runtime/containerd
	GO=$(GO) bash test/fuzz.sh FuzzDecode ./runtime/cri
	GO=$(GO) bash test/fuzz.sh FuzzAnswer ./internal/grpc
	GO=$(GO) bash test/fuzz.sh FuzzString ./internal/printable

test: deps check unit integration k8s-test fuzz

# What cnsenter is for, on an image with nothing inside (root; uses the
# running Docker engine, else starts private ones).
demo: deps build
	$(GO) run ./test/demo -bin bin

# Timings against util-linux nsenter, docker exec and ctr task exec, with
# the same private engines as the tests (root). It prints; it never fails
# because something is slow. deps installs GNU time among the rest;
# BENCHFLAGS='-pairs 50' for more pairs. How to read it: test/bench/README.md.
bench: deps build
	$(GO) run ./test/bench -bin bin $(BENCHFLAGS)

install: build
	install -D -m 0755 bin/cnsenter $(DESTDIR)$(PREFIX)/bin/cnsenter
	install -D -m 0755 bin/cnsenter-go $(DESTDIR)$(LIBEXECDIR)/cnsenter-go
	install -D -m 0755 bin/docker-nsenter-go $(DESTDIR)$(LIBEXECDIR)/docker-nsenter-go
	install -D -m 0755 bin/cnsenter-enter $(DESTDIR)$(LIBEXECDIR)/cnsenter-enter
	install -D -m 0755 bin/docker-nsenter $(DESTDIR)$(PLUGINDIR)/docker-nsenter
	install -D -m 0644 docs/cnsenter.1 $(DESTDIR)$(MANDIR)/cnsenter.1
	install -D -m 0644 docs/docker-nsenter.1 $(DESTDIR)$(MANDIR)/docker-nsenter.1
	install -D -m 0644 completions/cnsenter.bash $(DESTDIR)$(BASHCOMPDIR)/cnsenter
	install -D -m 0644 completions/_cnsenter $(DESTDIR)$(ZSHCOMPDIR)/_cnsenter

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/cnsenter $(DESTDIR)$(LIBEXECDIR)/cnsenter-go $(DESTDIR)$(LIBEXECDIR)/docker-nsenter-go $(DESTDIR)$(LIBEXECDIR)/cnsenter-enter $(DESTDIR)$(PLUGINDIR)/docker-nsenter
	rm -f $(DESTDIR)$(MANDIR)/cnsenter.1 $(DESTDIR)$(MANDIR)/docker-nsenter.1 $(DESTDIR)$(BASHCOMPDIR)/cnsenter $(DESTDIR)$(ZSHCOMPDIR)/_cnsenter
	-rmdir $(DESTDIR)$(LIBEXECDIR)

# A Debian package, with dpkg-deb: both programs, the plugin where every
# user's docker CLI finds it, man pages and completions.
deb: build
	rm -rf dist/deb && mkdir -p dist/deb/DEBIAN
	$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/dist/deb PREFIX=/usr PLUGINDIR=/usr/libexec/docker/cli-plugins
	gzip -9n dist/deb/usr/share/man/man1/*.1
	install -D -m 0644 README.md dist/deb/usr/share/doc/cnsenter/README.md
	install -D -m 0644 -t dist/deb/usr/share/doc/cnsenter/docs docs/*.md
	printf '%s\n' 'Package: cnsenter' 'Version: $(DEB_VERSION)' 'Architecture: $(DEB_ARCH)' \
		'Maintainer: cnsenter developers <dev@cnsenter.invalid>' 'Section: admin' 'Priority: optional' \
		'Recommends: docker.io | containerd' \
		'Description: container-aware nsenter, and docker nsenter' \
		' cnsenter is util-linux nsenter whose --target also takes docker:// and' \
		' containerd:// references; docker nsenter is a Docker CLI plugin that runs a' \
		' program in a container without the exec API, with the host tools if asked.' \
		>dist/deb/DEBIAN/control
	dpkg-deb --root-owner-group --build dist/deb dist/cnsenter_$(DEB_VERSION)_$(DEB_ARCH).deb
	rm -rf dist/deb

clean:
	rm -rf bin dist
