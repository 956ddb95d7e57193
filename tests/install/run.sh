#!/bin/sh
# Install the built library into a scratch prefix and build an outside
# project against it twice: with find_package(spanring) and with pkg-config.
set -eu
build=$1
consumer=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
cmake -S "$consumer" -B "$tmp/b" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/b" >/dev/null
LD_LIBRARY_PATH="$tmp/prefix/lib:$tmp/prefix/lib/x86_64-linux-gnu" "$tmp/b/consumer"
# The consumer records the soname, which carries the minor before 1.0, and
# the CMake package refuses a request for another minor.
needed=$(readelf -d "$tmp/b/consumer" | sed -n 's/.*(NEEDED).*\[\(libspanring[^]]*\)\]/\1/p')
case "$needed" in
  libspanring.so.0.*|libspanring.so.[1-9]*) ;;
  *) echo "consumer needs '$needed', not a versioned soname"; exit 1 ;;
esac
if cmake -S "$consumer" -B "$tmp/b2" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
     -DSPANRING_WANT=0.0 >/dev/null 2>&1; then
  echo "find_package(spanring 0.0) accepted a 0.1 library: the minor must match before 1.0"; exit 1
fi
libdir=$(dirname "$(find "$tmp/prefix" -name spanring.pc | head -n1)")
PKG_CONFIG_PATH="$libdir" cc -o "$tmp/pc" "$consumer/consumer.c" \
  $(PKG_CONFIG_PATH="$libdir" pkg-config --cflags --libs spanring)
LD_LIBRARY_PATH="$libdir/..:$libdir" "$tmp/pc"
echo "find_package and pkg-config consumers built and ran; consumer needs $needed"
