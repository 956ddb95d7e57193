#!/bin/sh
# check_layers.sh - every quoted #include points down the layer diagram of
# docs/architecture.md.
#
# usage: check_layers.sh ROOT LAYER_SPEC...
#   LAYER_SPEC = name|srcdir,srcdir...|incdir,incdir...   (paths under ROOT)
# The top CMakeLists.txt passes one spec per layer, the same lists its
# object libraries are built with, so the build and this check cannot
# disagree.
#
# A header included by a file of a layer must be found in the including
# file's own directory or in one of the layer's include directories, and
# no include may climb ("../"): a relative path compiles whatever the
# include directories say, which is how a wrong-way include slipped in
# before.  White-box tests (tests/) include internal headers by bare name
# only, so they see the headers the way the layers do.
set -u

root=${1:?usage: check_layers.sh ROOT LAYER_SPEC...}
shift
bad=0

fail() {
	echo "check_layers: $*" >&2
	bad=1
}

# The quoted includes of a file, one per line.
includes() {
	sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$1"
}

for spec in "$@"; do
	name=${spec%%|*}
	rest=${spec#*|}
	srcdirs=$(echo "${rest%%|*}" | tr ',' ' ')
	incdirs=$(echo "${rest#*|}" | tr ',' ' ')
	for d in $srcdirs; do
		for f in "$root/$d"/*.c "$root/$d"/*.h; do
			[ -e "$f" ] || continue
			rel=${f#"$root"/}
			for inc in $(includes "$f"); do
				case $inc in
				*..*)
					fail "$rel: #include \"$inc\" climbs out of its directory"
					continue ;;
				esac
				[ -e "$(dirname "$f")/$inc" ] && continue
				found=
				for i in $incdirs; do
					if [ -e "$root/$i/$inc" ]; then
						found=$i
						break
					fi
				done
				[ -n "$found" ] || fail "$rel ($name): #include \"$inc\" is not in its reach ($incdirs)"
			done
		done
	done
done

for f in $(find "$root/tests" -name '*.c' -o -name '*.h'); do
	rel=${f#"$root"/}
	for inc in $(includes "$f"); do
		case $inc in
		*/*) fail "$rel: #include \"$inc\": tests include internal headers by bare name" ;;
		esac
	done
done

[ $bad -eq 0 ] && echo "check_layers: every include points down the layers"
exit $bad
