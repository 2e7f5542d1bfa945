#!/usr/bin/env bash
# tests/matrix/fetch.sh: fetch other glibc versions from Debian into the matrix cache.
#
#   tests/matrix/fetch.sh [--refresh]
#
# For each Debian suite below it downloads libc6 and the matching libc6-dbg (and, for
# bullseye, libc6-dev + linux-libc-dev so that roots/2.31 is a sysroot for cc.sh) and
# extracts them into ${HEAPSCOPE_MATRIX:-/var/cache/heapscope-matrix}/roots/<X.Y>.
#
# apt runs with a private APT_CONFIG: its sources, lists, archives, status and caches all
# live under the cache, so the system's apt state is never read for packages nor written.
# The mirror is whatever the system's first deb822 stanza in
# /etc/apt/sources.list.d/debian.sources names (or the first "deb" line of
# /etc/apt/sources.list); only the suites change. Only "apt-get update" and
# "apt-get download" are ever run with that config, never install or upgrade.
#
# Idempotent: a suite whose stamp exists is skipped without touching the network.
# --refresh re-reads the indexes and re-fetches a suite whose version moved (sid).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

# suite -> extra packages beyond libc6 and libc6-dbg. libc6-dev + linux-libc-dev make
# roots/2.31 a sysroot for cc.sh. libgcc-s1: glibc dlopens libgcc_s.so.1 for
# pthread_exit/pthread_cancel, and the host's (bookworm) needs GLIBC_2.35, so without
# bullseye's own a victim calling pthread_exit aborts under 2.31.
SUITES=(bullseye trixie sid)
declare -A EXTRA=([bullseye]="libc6-dev linux-libc-dev libgcc-s1" [trixie]="" [sid]="")
# Extras built from another source package: they keep their own version in the suite.
OWN_VERSION=" linux-libc-dev libgcc-s1 "

refresh=0
case ${1-} in
    "") ;;
    --refresh) refresh=1 ;;
    -h|--help) sed -n '2,20s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--refresh]" >&2; exit 2 ;;
esac

log() { printf 'matrix: %s\n' "$*"; }
die() { printf 'matrix: error: %s\n' "$*" >&2; exit 1; }

[[ $(uname -m) == x86_64 ]] || die "only x86_64 is supported (this is $(uname -m))"
arch=$(dpkg --print-architecture)
[[ $arch == amd64 ]] || die "dpkg architecture is $arch, need amd64"
for tool in apt-get apt-cache dpkg-deb flock; do
    command -v "$tool" >/dev/null || die "$tool not found"
done

CACHE=$MATRIX_CACHE
# The cache must not be inside the git work tree (nothing downloaded may be committed).
top=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || true)
if [[ -n $top ]]; then
    rc=$(realpath -m -- "$CACHE"); rt=$(realpath -m -- "$top")
    [[ $rc != "$rt" && $rc != "$rt"/* ]] || die "cache $CACHE is inside the work tree $top; set HEAPSCOPE_MATRIX elsewhere"
fi

t0=$SECONDS
mkdir -p "$CACHE/roots" "$CACHE/stamps" "$CACHE/debs" \
         "$CACHE/apt/lists/partial" "$CACHE/apt/archives/partial" "$CACHE/apt/sources.list.d"
CACHE=$(realpath -- "$CACHE")
# One fetch at a time: several test suites may start "make matrix" together.
exec 9>"$CACHE/.lock"
flock 9

# --- the host glibc: described, never extracted --------------------------------------
host=$(matrix_host_version)
hostroot=$(matrix_root "$host")
if [[ ! -f $hostroot/HOST ]]; then
    mkdir -p "$hostroot"
    {
        echo "glibc $host is the host's own libc: run.sh runs programs directly,"
        echo "debuginfo.sh prints nothing (the system's debug paths apply)."
        echo "debian-version=$(dpkg-query -W -f='${Version}' libc6 2>/dev/null || echo unknown)"
    } >"$hostroot/HOST"
    log "host glibc $host: described in $hostroot/HOST (programs run directly)"
else
    log "host glibc $host: nothing to fetch"
fi

# The package names a suite's root is made of; recorded in the stamp, so that a root
# extracted by an older fetch.sh with fewer packages is rebuilt.
recipe() { echo "packages=libc6 libc6-dbg${EXTRA[$1]:+ ${EXTRA[$1]}}"; }

# ROOT-VERSION of SUITE is complete and made of today's recipe.
root_current() {
    matrix_have_root "$2" && grep -qxF "$(recipe "$1")" "$(matrix_root "$2")/.stamp"
}

# --- which suites still need work -----------------------------------------------------
todo=()
for s in "${SUITES[@]}"; do
    if [[ $refresh == 0 && -f $CACHE/stamps/$s ]] && root_current "$s" "$(cat "$CACHE/stamps/$s")"; then
        v=$(cat "$CACHE/stamps/$s")
        log "$s: glibc $v already in $(matrix_root "$v") ($(sed -n 's/^debian-version=//p' "$(matrix_root "$v")/.stamp")), skipped"
    else
        todo+=("$s")
    fi
done
if [[ ${#todo[@]} == 0 ]]; then
    log "nothing to do ($((SECONDS - t0)) s)"
    exit 0
fi

# --- private apt configuration ---------------------------------------------------------
# The system's first deb822 stanza with only "Suites:" replaced (comments dropped).
# Fallback: the first "deb URI suite components" line of a one-line sources.list.
stanza=""
if [[ -r /etc/apt/sources.list.d/debian.sources ]]; then
    stanza=$(awk '
        /^[[:space:]]*#/ { next }
        /^[[:space:]]*$/ { if (n) exit; next }
        { n++; print }' /etc/apt/sources.list.d/debian.sources)
fi
if [[ -z $stanza && -r /etc/apt/sources.list ]]; then
    stanza=$(awk '$1 == "deb" && $2 !~ /^\[/ {
        printf "Types: deb\nURIs: %s\nSuites: x\nComponents: main\n", $2; exit }' /etc/apt/sources.list)
fi
[[ -n $stanza ]] || die "no Debian source found in the system's apt configuration"
grep -qi '^URIs:' <<<"$stanza" || die "the system's first apt source has no URIs: line"
{
    awk -v suites="${todo[*]}" '
        tolower($1) == "suites:"     { print "Suites: " suites; next }
        tolower($1) == "components:" { print "Components: main"; next }
        tolower($1) == "types:"      { print "Types: deb"; next }
        { print }' <<<"$stanza"
    grep -qi '^Signed-By:' <<<"$stanza" || echo "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
} >"$CACHE/apt/sources.list.d/matrix.sources"

: >"$CACHE/apt/status"          # nothing "installed": the candidate is the suite's own
APT_CONFIG_FILE=$CACHE/apt/apt.conf
cat >"$APT_CONFIG_FILE" <<CONF
// Private apt configuration of tests/matrix/fetch.sh: download only, never install.
Dir::Etc::SourceList "/dev/null";
Dir::Etc::SourceParts "$CACHE/apt/sources.list.d";
Dir::Etc::Preferences "/dev/null";
Dir::Etc::PreferencesParts "/dev/null";
Dir::State "$CACHE/apt";
Dir::State::Lists "$CACHE/apt/lists";
Dir::State::status "$CACHE/apt/status";
Dir::Cache "$CACHE/apt";
Dir::Cache::Archives "$CACHE/apt/archives";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT::Architectures { "$arch"; };
Acquire::Languages "none";
CONF
export APT_CONFIG=$APT_CONFIG_FILE

# As root, apt downloads as user _apt; let it write where it downloads to, so that
# it need not fall back to an unsandboxed download (and warn).
if [[ $(id -u) == 0 ]] && getent passwd _apt >/dev/null; then
    chown _apt "$CACHE/apt/lists/partial" "$CACHE/apt/archives/partial" "$CACHE/debs"
fi

log "apt-get update (suites: ${todo[*]})"
t=$SECONDS
apt-get -q update >"$CACHE/apt/update.log" 2>&1 || {
    cat "$CACHE/apt/update.log" >&2; die "apt-get update failed"; }
grep -E '^(W|E):' "$CACHE/apt/update.log" >&2 || true
log "apt-get update done in $((SECONDS - t)) s"

# Every version of every package we may want, in one apt-cache run: without a
# pkgcache.bin each apt-cache call re-reads all the lists (about 1.5 s).
all_pkgs=(libc6 libc6-dbg)
for s in "${todo[@]}"; do
    for p in ${EXTRA[$s]}; do all_pkgs+=("$p"); done
done
madison=$(apt-cache madison "${all_pkgs[@]}")

# Newest version of PACKAGE in SUITE exactly (not SUITE-updates etc.), or nothing.
suite_version() {
    awk -F'|' -v pkg="$1" -v suite="$2" -v arch="$arch" '
        { gsub(/^ +| +$/, "", $1); gsub(/^ +| +$/, "", $2) }
        $1 == pkg && $3 ~ (" " suite "/[^ ]+ " arch " Packages") { print $2; exit }' <<<"$madison"
}

# The file apt-get download writes for PACKAGE=VERSION (epoch colon escaped).
deb_name() { printf '%s_%s_%s.deb\n' "$1" "${2//:/%3a}" "$arch"; }

# Point every absolute symlink of ROOT inside ROOT (relative links, so the cache can be
# moved). E.g. 2.31's lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/ld-2.31.so
# and usr/lib/x86_64-linux-gnu/libpthread.so -> /lib/x86_64-linux-gnu/libpthread.so.0.
fix_symlinks() {
    local root=$1 link target n=0
    while IFS= read -r -d '' link; do
        target=$(readlink -- "$link")
        [[ $target == /* ]] || continue
        ln -sfnr -- "$root$target" "$link"
        n=$((n + 1))
    done < <(find "$root" -type l -print0)
    printf '%s\n' "$n"
}

# GNU ld linker scripts of the -dev package (libc.so, libm.so, ...) name absolute paths,
# e.g. "GROUP ( /lib/x86_64-linux-gnu/libc.so.6 /usr/lib/.../libc_nonshared.a ... )".
# ld resolves those against --sysroot only if it can tell the script lies in the sysroot;
# prefix them with "=" (ld: "relative to the sysroot") so that this never depends on
# how the root was reached. Without --sysroot they would silently mean the host's libc.
fix_ldscripts() {
    local root=$1 f n=0
    for f in "$root"/usr/lib/"$MATRIX_TRIPLET"/*.so; do
        [[ -f $f && ! -L $f ]] || continue
        [[ $(head -c 4 -- "$f" | od -An -c | tr -d ' ') == 177ELF ]] && continue
        grep -q 'GROUP' -- "$f" || continue
        sed -i -E 's@([ (])(/(usr/)?lib(64)?/)@\1=\2@g' -- "$f"
        n=$((n + 1))
    done
    printf '%s\n' "$n"
}

# --- resolve: the exact version of every package, per suite ---------------------------
declare -A UP SPECS          # suite -> upstream X.Y, suite -> "pkg=ver pkg=ver ..."
work=()                      # suites whose root must be (re)built
for s in "${todo[@]}"; do
    ver=$(suite_version libc6 "$s")
    [[ -n $ver ]] || die "$s: no libc6 for $arch on the mirror"
    [[ $ver =~ ^([0-9]+:)?([0-9]+\.[0-9]+) ]] || die "$s: odd libc6 version $ver"
    up=${BASH_REMATCH[2]}
    root=$(matrix_root "$up")
    if [[ $up == "$host" ]]; then
        log "$s: glibc $ver is the host's version $host: nothing to extract"
        echo "$up" >"$CACHE/stamps/$s"
        continue
    fi
    if root_current "$s" "$up" && grep -qxF "debian-version=$ver" "$root/.stamp"; then
        log "$s: glibc $ver already in $root, skipped"
        echo "$up" >"$CACHE/stamps/$s"
        continue
    fi
    # libc6 and libc6-dbg (+ extras) at exactly the libc6 version, except OWN_VERSION.
    specs=()
    for p in libc6 libc6-dbg ${EXTRA[$s]}; do
        pv=$(suite_version "$p" "$s")
        [[ -n $pv ]] || die "$s: $p not available"
        [[ $OWN_VERSION == *" $p "* || $pv == "$ver" ]] || die "$s: $p is $pv, not $ver"
        specs+=("$p=$pv")
    done
    UP[$s]=$up
    SPECS[$s]="${specs[*]}"
    work+=("$s")
done

# --- download: one apt-get run for every missing .deb ---------------------------------
need=()
for s in "${work[@]}"; do
    for spec in ${SPECS[$s]}; do
        [[ -s $CACHE/debs/$(deb_name "${spec%%=*}" "${spec#*=}") ]] || need+=("$spec")
    done
done
if [[ ${#need[@]} -gt 0 ]]; then
    t=$SECONDS
    (cd "$CACHE/debs" && apt-get -q download "${need[@]}" >"$CACHE/apt/download.log" 2>&1) || {
        cat "$CACHE/apt/download.log" >&2; die "apt-get download failed"; }
    log "downloaded ${#need[@]} packages in $((SECONDS - t)) s: ${need[*]}"
fi

# --- extract: beside the final place, then rename, so a root is complete or absent -----
for s in "${work[@]}"; do
    up=${UP[$s]}
    root=$(matrix_root "$up")
    read -r -a specs <<<"${SPECS[$s]}"
    ver=${specs[0]#*=}
    t=$SECONDS
    tmp=$CACHE/roots/.tmp-$up.$$
    rm -rf -- "$tmp"
    mkdir -p "$tmp"
    for spec in "${specs[@]}"; do
        dpkg-deb -x "$CACHE/debs/$(deb_name "${spec%%=*}" "${spec#*=}")" "$tmp"
    done
    nl=$(fix_symlinks "$tmp")
    ns=$(fix_ldscripts "$tmp")
    {
        echo "debian-version=$ver"
        echo "suite=$s"
        recipe "$s"
        printf 'package=%s\n' "${specs[@]}"
    } >"$tmp/.stamp"
    if [[ -e $root ]]; then
        # Replaced (sid moved on): rename first, so a reader never sees a half root.
        mv -- "$root" "$CACHE/roots/.old-$up.$$"
        rm -rf -- "$CACHE/roots/.old-$up.$$"
    fi
    mv -- "$tmp" "$root"
    echo "$up" >"$CACHE/stamps/$s"
    log "$s: glibc $ver (${specs[*]}) extracted into $root in $((SECONDS - t)) s" \
        "($nl absolute symlinks and $ns linker scripts rewritten, $(du -sh "$root" | cut -f1))"
done

log "done in $((SECONDS - t0)) s; cache $CACHE holds $(du -sh "$CACHE" | cut -f1)"
