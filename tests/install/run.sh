#!/bin/sh
# Install the built library into a scratch prefix and build an outside
# project against it, C and C++, shared and static: with
# find_package(spanring) (spanring::spanring, spanring::spanring_static)
# and with pkg-config (--libs; for the archive, what spanring.pc declares
# as private).
set -eu
build=$1
consumer=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
libdir=$(dirname "$(find "$tmp/prefix" -name spanring.pc | head -n1)")
libdir=${libdir%/pkgconfig}
export LD_LIBRARY_PATH="$libdir"
for target in spanring::spanring spanring::spanring_static; do
  b="$tmp/b-${target#spanring::}"
  cmake -S "$consumer" -B "$b" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
    -DSPANRING_TARGET="$target" >/dev/null
  cmake --build "$b" >/dev/null
  "$b/consumer"
  "$b/consumer_cxx"
done
# The shared consumer records the soname, which carries the minor before
# 1.0, and the CMake package refuses a request for another minor; the
# static one needs no libspanring at run time.
needed=$(readelf -d "$tmp/b-spanring/consumer" | sed -n 's/.*(NEEDED).*\[\(libspanring[^]]*\)\]/\1/p')
case "$needed" in
  libspanring.so.0.*|libspanring.so.[1-9]*) ;;
  *) echo "consumer needs '$needed', not a versioned soname"; exit 1 ;;
esac
if readelf -d "$tmp/b-spanring_static/consumer" | grep -q 'NEEDED.*libspanring'; then
  echo "the static consumer still needs libspanring.so"; exit 1
fi
if cmake -S "$consumer" -B "$tmp/b2" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
     -DSPANRING_WANT=0.0 >/dev/null 2>&1; then
  echo "find_package(spanring 0.0) accepted a 0.1 library: the minor must match before 1.0"; exit 1
fi
export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc -o "$tmp/pc" "$consumer/consumer.c" $(pkg-config --cflags --libs spanring)
c++ -std=c++17 -o "$tmp/pc_cxx" "$consumer/consumer.cc" $(pkg-config --cflags --libs spanring)
"$tmp/pc"
"$tmp/pc_cxx"
# Static: the archive by path (-l would pick the .so), then what
# spanring.pc declares for it: its Requires.private modules and its
# Libs.private.  (Not pkg-config --static --libs: that also expands
# libcurl's own private libraries, -lldap and more, whose static -dev
# packages a shared libcurl does not need; they are libcurl's business.)
reqs=$(pkg-config --print-requires-private spanring | awk '{print $1}')
[ -n "$reqs" ] || { echo "spanring.pc has no Requires.private"; exit 1; }
private=$(sed -n 's/^Libs.private: *//p' "$libdir/pkgconfig/spanring.pc")
static_libs="$(pkg-config --libs $reqs) $private"
cc -o "$tmp/pc_static" "$consumer/consumer.c" $(pkg-config --cflags spanring) \
  "$libdir/libspanring.a" $static_libs
c++ -std=c++17 -o "$tmp/pc_static_cxx" "$consumer/consumer.cc" $(pkg-config --cflags spanring) \
  "$libdir/libspanring.a" $static_libs
env -u LD_LIBRARY_PATH "$tmp/pc_static"
env -u LD_LIBRARY_PATH "$tmp/pc_static_cxx"
echo "find_package and pkg-config consumers (C, C++; shared, static) built and ran; consumer needs $needed"
