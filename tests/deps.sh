#!/usr/bin/env bash
# make deps: install what heapscope, its tests and bench need (Debian 12),
# only what is missing; apt-get update only if something is.
set -euo pipefail
PKGS=(build-essential g++ libdw-dev libelf-dev libunwind-dev libcjson-dev libcmocka-dev
	libseccomp-dev libc6-dbg pkg-config jq gdb strace util-linux time
	clang libclang-rt-14-dev debuginfod curl libjemalloc2 libtcmalloc-minimal4 musl-tools)
missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing+=("$p")
	fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
	echo "deps: all installed"
	exit 0
fi
echo "deps: installing ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
	SUDO=sudo
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get update -q; then
	echo "deps: apt-get update failed" >&2
	exit 1
fi
if ! $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"; then
	echo "deps: apt-get install ${missing[*]} failed" >&2
	exit 1
fi
