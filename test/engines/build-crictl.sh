#!/usr/bin/env bash
# Builds crictl (cri-tools) from its own Go module, once, for the end-to-end
# tests of cri:// references (test/e2e/cri_test.go): they make Kubernetes
# pods through containerd's CRI plugin with it, as a kubelet would. Kept
# under $CNSENTER_ENGINES_CACHE (default /var/tmp/cnsenter-engines), in a
# directory of its own named by the version, apart from the engines of
# build-current.sh so that neither rebuilds the other. Prints that
# directory. A build that fails or is interrupted leaves nothing behind.
set -euo pipefail
CRICTL=v1.37.0
cache=${CNSENTER_ENGINES_CACHE:-/var/tmp/cnsenter-engines}
dir=$cache/crictl-$CRICTL
if [ -x "$dir/crictl" ]; then
	echo "$dir"
	exit 0
fi
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export GOWORK=off GOFLAGS=-mod=mod GOBIN=$tmp
echo "build-crictl: crictl $CRICTL into $dir (a few minutes, once)" >&2
CGO_ENABLED=0 go install sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL >&2
[ -x "$tmp/crictl" ] || { echo "build-crictl: crictl was not built" >&2; exit 1; }
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
echo "$dir"
