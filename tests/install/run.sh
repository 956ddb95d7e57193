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
libdir=$(dirname "$(find "$tmp/prefix" -name spanring.pc | head -n1)")
PKG_CONFIG_PATH="$libdir" cc -o "$tmp/pc" "$consumer/consumer.c" \
  $(PKG_CONFIG_PATH="$libdir" pkg-config --cflags --libs spanring)
LD_LIBRARY_PATH="$libdir/..:$libdir" "$tmp/pc"
echo "find_package and pkg-config consumers built and ran"
