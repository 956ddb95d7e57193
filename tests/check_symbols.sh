#!/bin/sh
# Every symbol the shared library exports must be public API (sr_*):
# internal code is built with hidden visibility.  (AddressSanitizer adds
# an __odr_asan.<name> indicator beside each exported variable.)
set -eu
lib=$1
bad=$(nm -D --defined-only "$lib" | awk '$2 ~ /[TDBRVW]/ {print $3}' |
      grep -v -E '^(sr_|_init$|_fini$|_edata$|_end$|__bss_start$|__odr_asan\.sr_)' || true)
count=$(nm -D --defined-only "$lib" | awk '$2 ~ /[TDBRVW]/' | grep -c ' sr_' || true)
if [ -n "$bad" ]; then
  echo "exported symbols that are not sr_*:"; echo "$bad"; exit 1
fi
echo "$count exported symbols, all sr_*"
