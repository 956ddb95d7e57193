#!/bin/sh
# An SR_NO_INLINE application works and references no sr__ symbol: none
# of the ABI entry points or the sr__active flag that the inline fast
# paths use, so it depends on no part of sr_span_t's layout.
#
# usage: check_no_inline.sh PROGRAM
set -eu
prog=$1
"$prog"
# nm -u: functions it calls; nm -D: also data it binds to, which a copy
# relocation (sr__active) makes a defined symbol of the program.
internal=$({ nm -u "$prog"; nm -D "$prog"; } | awk '{ print $NF }' |
	   sed 's/@.*//' | grep '^sr__' | sort -u || true)
if [ -n "$internal" ]; then
	echo "an SR_NO_INLINE program references ABI entry points:"; echo "$internal"
	exit 1
fi
fast='sr_span_start sr_span_start_ex sr_span_set_bool sr_span_set_int
sr_span_set_double sr_span_set_strn sr_span_set_str sr_span_set_str_static
sr_span_add_event sr_span_end sr_span_end_at'
for f in $fast; do
	nm -u "$prog" | awk '{ print $NF }' | sed 's/@.*//' | grep -qx "$f" || {
		echo "$f is not called out of line"; exit 1; }
done
echo "no sr__ references; the 11 fast-path calls go to exported functions"
