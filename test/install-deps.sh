#!/usr/bin/env bash
# Installs, if missing, the Debian packages cnsenter needs. Idempotent.
#   install-deps.sh --build   what `make build` needs: gcc, the static C
#                             library and libseccomp
#   install-deps.sh           and what the tests and benchmarks use:
#                             util-linux's nsenter and unshare (reference and
#                             target maker), busybox-static (test images and
#                             chroots), containerd, runc and docker.io (the
#                             engines the end-to-end tests start on private
#                             sockets), podman (run by the tests on a private
#                             store), uidmap and rootlesskit (rootless Podman
#                             and Docker, run by a user the tests make), script,
#                             strace, hyperfine and time; openssl and curl
#                             (test/k8s/cluster.sh: certificates, health checks).
set -euo pipefail
want=(gcc make libc6-dev libseccomp-dev)
if [ "${1:-}" != --build ]; then
	want+=(util-linux bsdutils busybox-static containerd runc docker.io podman uidmap rootlesskit strace hyperfine time zsh groff-base man-db openssl curl)
fi
missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing Debian packages ${missing[*]}: install them, or run this as root" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The packages' own services are not started: the tests start the daemons
# themselves, on private sockets.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod +x "$policy"
	trap 'rm -f "$policy"' EXIT
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
