#!/usr/bin/env bash
# Installs, if missing, the Debian packages the tests use: util-linux's
# nsenter and unshare (the reference and the target maker), busybox-static
# (test images and chroots), containerd, runc and docker.io (the engines the
# end-to-end tests start on private sockets), hyperfine (make bench), and the
# static C library the build links. Idempotent; needs root.
set -euo pipefail
want=(util-linux busybox-static containerd runc docker.io libc6-dev libseccomp-dev gcc make hyperfine time bsdutils strace)
missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages ${missing[*]}; run as root (sudo make deps)" >&2
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
