#!/usr/bin/env bash
# The house rule of lib/ (README, Layout): a folder includes and calls only
# folders below it, and no two files depend on each other in a circle.
#   base < arch < source < glibc < refcore < analysis < report < cmd
# Checked twice: on the sources' #include lines, and on the built objects'
# symbols (who calls whom), so a circle through a shared header is caught
# too. Usage: tests/layering.sh [OBJDIR] (default build/obj; "none" checks
# the sources only). LAYERING_ROOT checks another tree (the self-test in
# tests/run.sh). Reports one result line to $HS_RESULTS when run by
# tests/run.sh.
set -uo pipefail
ROOT=${LAYERING_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$ROOT" || exit 2
OBJ=${1:-build/obj}
rank() {
	case $1 in
	lib/base/*) echo 0 ;; arch/*) echo 1 ;; lib/source/*) echo 2 ;;
	lib/glibc/*) echo 3 ;; lib/refcore/*) echo 4 ;; lib/analysis/*) echo 5 ;;
	lib/report/*) echo 6 ;; cmd/*) echo 7 ;; *) echo "" ;;
	esac
}
bad=0
say() { echo "  layering: $*"; bad=$((bad + 1)); }

# Every file of lib/ sits in a folder of the rule.
for f in lib/*; do
	[[ -d $f ]] || say "$f: a file of lib/ outside the stage folders"
done
for f in lib/*/*.[ch] arch/*; do
	[[ -n $(rank "$f") ]] || say "$f: folder not in the rule (tests/layering.sh)"
done

# 1. Includes: resolve each "X" against -Ilib -Iarch and the file's own
# folder; the included file's folder must not rank above the includer's.
inc_edges=$(mktemp) sym_edges=$(mktemp)
trap 'rm -f "$inc_edges" "$sym_edges"' EXIT
for f in lib/*/*.[ch] arch/*.[ch] cmd/*.[ch]; do
	r=$(rank "$f")
	while read -r h; do
		for cand in "$(dirname "$f")/$h" "lib/$h" "arch/$h"; do
			[[ -f $cand ]] && break
		done
		[[ -f $cand ]] || { say "$f includes \"$h\", which is not in lib/ or arch/"; continue; }
		cand=$(realpath --relative-to=. "$cand")
		hr=$(rank "$cand")
		if [[ -n $hr && $hr -gt $r ]]; then
			say "$f includes $cand, a folder above its own"
		fi
		# module graph: a.c and a.h are one module
		echo "${f%.*} ${cand%.*}" >>"$inc_edges"
	done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
done
if ! tsort "$inc_edges" >/dev/null 2>"$inc_edges.err"; then
	say "a circle of includes: $(grep -v 'input contains a loop' "$inc_edges.err" | sed 's/^tsort: //' | tr '\n' ' ')"
fi
rm -f "$inc_edges.err"

# 2. Calls: every undefined symbol of an object resolved to the object of
# lib/ that defines it; the same two rules on those edges.
if [[ $OBJ == none ]]; then
	:
elif [[ -d $OBJ/lib ]]; then
	declare -A def
	mapfile -t objs < <(find "$OBJ/lib" "$OBJ/arch" "$OBJ/cmd" -name '*.o' 2>/dev/null | sort)
	for o in "${objs[@]}"; do
		src=${o#"$OBJ"/}
		while read -r _ _ s; do def[$s]=${src%.o}; done < <(nm --defined-only -g "$o" | grep -E ' [TDBR] ')
	done
	for o in "${objs[@]}"; do
		src=${o#"$OBJ"/}
		src=${src%.o}
		r=$(rank "$src")
		while read -r _ s; do
			d=${def[$s]:-}
			[[ -z $d || $d == "$src" ]] && continue
			echo "$src $d" >>"$sym_edges"
			dr=$(rank "$d")
			if [[ -n $dr && $dr -gt $r ]]; then
				say "$src.c calls $s from $d.c, a folder above its own"
			fi
		done < <(nm -u "$o")
	done
	if ! tsort "$sym_edges" >/dev/null 2>"$sym_edges.err"; then
		say "a circle of calls: $(grep -v 'input contains a loop' "$sym_edges.err" | sed 's/^tsort: //' | tr '\n' ' ')"
	fi
	rm -f "$sym_edges.err"
else
	say "no objects in $OBJ/lib: build first (make)"
fi

if [[ $bad -eq 0 ]]; then
	echo "  ok    layering: every include and call goes down the stages, no circles"
	[[ -n ${HS_RESULTS:-} ]] && echo "1 0" >>"$HS_RESULTS"
	exit 0
fi
[[ -n ${HS_RESULTS:-} ]] && echo "0 1" >>"$HS_RESULTS"
exit 1
