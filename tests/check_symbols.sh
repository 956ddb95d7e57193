#!/bin/sh
# The shared library exports exactly what the public headers declare.
#
# usage: check_symbols.sh LIBRARY CC INCLUDE_DIR EXPORTS_LIST
#
# Three sets must be equal:
#   headers  every SR_API declaration of <spanring/spanring.h> (which
#            includes every public header), preprocessed twice, as an
#            application with the inline fast paths sees it and with
#            SR_NO_INLINE;
#   list     EXPORTS_LIST, the checked list the linker's version script is
#            built from;
#   library  the dynamic symbol table's defined symbols (nm -D), all of
#            them: not only sr_* ones, so a leaked helper (an ifunc
#            resolver, a libc wrapper) fails too.
# A symbol added to a header but not to the list, or exported without a
# declaration, fails; so does an export whose version node is not named
# for the soname (libspanring.so.X exports SPANRING_X).
set -eu
lib=$1
cc=$2
inc=$3
list=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# After preprocessing, SR_API is this attribute: the marker of an export.
api='__attribute__((visibility("default")))'
declared() {
	printf '#include <spanring/spanring.h>\n' |
	"$cc" -E -P -I"$inc" "$@" -x c - |
	tr '\n' ' ' | tr ';{}' '\n\n\n' | grep -F "$api" |
	sed -e 's/__attribute__((visibility("default")))//' -e 's/(.*//' |
	awk '{ n = $NF; gsub(/[^A-Za-z0-9_]/, "", n); print n }'
}
{ declared; declared -DSR_NO_INLINE; } | sort -u >"$tmp/headers"
grep -v -e '^#' -e '^[[:space:]]*$' "$list" | sort -u >"$tmp/list"
nm -D --defined-only "$lib" | awk 'NF == 3 && $2 != "A" { print $3 }' |
	sed 's/@.*//' | sort -u >"$tmp/library"

rc=0
report() {
	if ! diff -u "$tmp/$1" "$tmp/$2" >"$tmp/d"; then
		echo "$3"; sed -n '3,$p' "$tmp/d" | grep '^[-+]'; rc=1
	fi
}
report headers list "public headers (-) and $list (+) differ:"
report list library "$list (-) and the library's exports (+) differ:"

soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
node="SPANRING_${soname#libspanring.so.}"
bad=$(nm -D --defined-only "$lib" | awk 'NF == 3 && $2 != "A" { print $3 }' |
      grep -v "@@$node\$" || true)
if [ -n "$bad" ]; then
	echo "exports not in the version node $node (soname $soname):"; echo "$bad"; rc=1
fi
[ $rc = 0 ] && echo "$(wc -l <"$tmp/library") exported symbols, as declared and listed; soname $soname, node $node"
exit $rc
