#!/usr/bin/env bash
# make deps: install what heapscope, its tests and bench need (Debian 12),
# only what is missing; apt-get update only if something is.
# make realdeps (tests/deps.sh --real): the real programs of
# tests/e2e/real.sh. A package that cannot be installed is said and left
# out (exit 0): its test is then skipped, never passed. Debian's packages
# start their services (nginx on :80, memcached, redis, a PostgreSQL
# cluster) where invoke-rc.d is allowed to; the tests use none of them.
set -euo pipefail
if [[ ${1:-} == --real ]]; then
	REAL=yes
	PKGS=(nginx memcached python3 postgresql postgresql-contrib default-jdk-headless redis-server gdb)
else
	REAL=no
	PKGS=(build-essential g++ libdw-dev libelf-dev libunwind-dev libcjson-dev libcmocka-dev
		libseccomp-dev libc6-dbg pkg-config jq gdb strace util-linux time
		clang libclang-rt-14-dev debuginfod curl libjemalloc2 libtcmalloc-minimal4 musl-tools
		prometheus python3 python3-prometheus-client chromium)
	# prometheus: for promtool (tests/e2e/prometheus.sh); its server's
	# service, started where invoke-rc.d allows it, is not used.
	# chromium: renders --format=svg's map headless (tests/e2e/svg.sh)
fi
missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing+=("$p")
	fi
done
# A JDK is a JDK: Debian's default, or 17's when that one is there.
if [[ $REAL == yes && -x /usr/bin/javac ]]; then
	for i in "${!missing[@]}"; do
		[[ ${missing[$i]} == default-jdk-headless ]] && unset 'missing[i]'
	done
	missing=("${missing[@]}")
fi
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
	[[ $REAL == yes ]] && echo "realdeps: ${missing[*]} not installed: their tests will be skipped" >&2
	[[ $REAL == yes ]] && exit 0
	exit 1
fi
if [[ $REAL == yes ]]; then
	if ! $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"; then
		# one at a time: what can be installed is
		for p in "${missing[@]}"; do
			if ! $SUDO apt-get install -y -q --no-install-recommends "$p"; then
				if [[ $p == default-jdk-headless ]] &&
					$SUDO apt-get install -y -q --no-install-recommends openjdk-17-jdk-headless; then
					continue
				fi
				echo "realdeps: $p cannot be installed: its test in tests/e2e/real.sh will be skipped" >&2
			fi
		done
	fi
	exit 0
fi
if ! $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"; then
	echo "deps: apt-get install ${missing[*]} failed" >&2
	exit 1
fi
