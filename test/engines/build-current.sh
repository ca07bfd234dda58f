#!/usr/bin/env bash
# Builds today's container engines from their own Go modules, once, for the
# end-to-end tests' second generation (test/engines, CNSENTER_ENGINES=current):
# containerd v2 (with its runc shim and ctr), runc, and dockerd from
# github.com/moby/moby/v2. About 20 minutes on 2 cores the first time; the
# binaries are kept under $CNSENTER_ENGINES_CACHE (default
# /var/tmp/cnsenter-engines), in a directory named by the versions, so that
# any later run, of the tests or of CI, starts at once. Prints that
# directory. A build that fails or is interrupted leaves nothing behind.
set -euo pipefail
CONTAINERD=v2.4.2
RUNC=v1.4.4
DOCKERD=v2.0.0-beta.24
cache=${CNSENTER_ENGINES_CACHE:-/var/tmp/cnsenter-engines}
dir=$cache/containerd-$CONTAINERD.runc-$RUNC.dockerd-$DOCKERD
bins=(containerd containerd-shim-runc-v2 ctr runc dockerd)
have() { for b in "${bins[@]}"; do [ -x "$dir/$b" ] || return 1; done; }
if have; then
	echo "$dir"
	exit 0
fi
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export GOWORK=off GOFLAGS=-mod=mod GOBIN=$tmp
echo "build-current: containerd $CONTAINERD, runc $RUNC, dockerd $DOCKERD into $dir (about 20 minutes, once)" >&2
# containerd 2 without btrfs (no btrfs headers needed); runc with seccomp,
# through cgo and libseccomp-dev, as the distributions build it.
CGO_ENABLED=0 go install -tags no_btrfs \
	github.com/containerd/containerd/v2/cmd/containerd@$CONTAINERD \
	github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@$CONTAINERD \
	github.com/containerd/containerd/v2/cmd/ctr@$CONTAINERD >&2
CGO_ENABLED=1 go install -tags seccomp github.com/opencontainers/runc@$RUNC >&2
CGO_ENABLED=0 go install github.com/moby/moby/v2/cmd/dockerd@$DOCKERD >&2
for b in "${bins[@]}"; do
	[ -x "$tmp/$b" ] || { echo "build-current: $b was not built" >&2; exit 1; }
done
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
echo "$dir"
