#!/bin/sh
# example_test.sh EXE - run spanring-cxx-server with the console exporter
# and check what it printed: the request spans and their children, the
# exception recorded by the span it unwound through, array attributes,
# and a summary with nothing dropped (its exit status checks the counts).
set -u
exe=$1
out=$(OTEL_TRACES_EXPORTER=console SPANRING_CONSOLE_OUTPUT=stdout \
	OTEL_TRACES_SAMPLER=always_on "$exe" 2>&1)
st=$?
printf '%s\n' "$out"
[ "$st" = 0 ] || { echo "FAIL: exit status $st" >&2; exit 1; }
fail=0
for want in 'GET /cart/{id}  SERVER' 'cache.get  CLIENT' 'SELECT carts  CLIENT' \
	'POST /checkout  SERVER' 'payment.charge  CLIENT' \
	'exception.message="an exception unwound through the span"' \
	'http.response.status_code=402' 'ERROR("card declined: amount over limit")' \
	'search.terms=[red, shoes, ' 'search.result_ids=[100, 107, 114]' \
	'search.scores=[0.9, 0.75, 0.5]' 'dropped'; do
	printf '%s\n' "$out" | grep -qF -- "$want" ||
		{ echo "FAIL: output lacks: $want" >&2; fail=1; }
done
exit $fail
