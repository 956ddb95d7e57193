/*
 * demo_exporters_check.c - runs spanring-demo with the exporters chosen
 * at start-up and checks every output it produced, with a real JSON parser.
 *
 *   demo_exporters_check <spanring-demo> all
 *       OTEL_TRACES_EXPORTER=zipkin,file,chrome, zipkin posting to a
 *       Zipkin-style receiver started here (tests/receiver): the receiver's
 *       bodies, the OTLP/JSON lines and the Chrome trace must each hold
 *       every exported span, from one run; excerpts of each are printed.
 *   demo_exporters_check <spanring-demo> chrome
 *       the Chrome trace alone: it parses as JSON and has exactly one
 *       track per worker thread of the demo (4 servers + 2 order workers),
 *       each named after its thread, with properly nested slices.
 *   demo_exporters_check <spanring-demo> default
 *       OTEL_TRACES_EXPORTER unset: the demo writes spanring-traces.jsonl
 *       in its working directory and its summary counts the lines.
 *   demo_exporters_check <spanring-demo> plugin <module>
 *       OTEL_TRACES_EXPORTER=plugin:<module>,file with the example plugin,
 *       through the shared library the demo links.
 *
 * The demo runs in a fresh temporary directory (its working directory),
 * which is removed afterwards.  Exit status 0 when every check passed.
 */
#include <pthread.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "receiver.h"
#include "testutil.h"

#define THREADS 4
#define WORKERS (THREADS / 2)

static char dir[256];

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "FAIL: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	if (*dir)
		sr_test_rmtree(dir);
	exit(1);
}

#define CHECK(c, ...)                  \
	do {                           \
		if (!(c))              \
			die(__VA_ARGS__); \
	} while (0)

static void in_dir(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", dir, name);
}

/* Run the demo in `dir` with the current environment; its stdout goes to
 * demo.out there.  Returns the output (malloc'd). */
static char *run_demo(const char *demo)
{
	char out[400];
	int status;
	pid_t pid;

	in_dir(out, sizeof(out), "demo.out");
	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		FILE *f = freopen(out, "w", stdout);

		if (!f || chdir(dir) != 0)
			_exit(126);
		execl(demo, demo, "--threads", "4", "--requests", "25",
		      "--work-us", "20", "--json", (char *)NULL);
		_exit(127);
	}
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "spanring-demo exited with status %d", WEXITSTATUS(status));
	return sr_test_read_file(out, NULL);
}

/* "exported" from the JSON object on the demo's last line. */
static long long demo_exported(const char *text)
{
	const char *last = text + strlen(text);
	json_error_t err;
	json_t *root;
	long long n;

	while (last > text && last[-1] == '\n')
		last--;
	while (last > text && last[-1] != '\n')
		last--;
	root = json_loads(last, 0, &err);
	CHECK(root, "last line is not JSON: %s", last);
	n = json_integer_value(json_object_get(root, "exported"));
	json_decref(root);
	CHECK(n > 0, "no span exported");
	return n;
}

static void excerpt(const char *title, const char *s, size_t n)
{
	size_t len = strlen(s);

	printf("---- %s (%zu bytes%s) ----\n%.*s%s\n", title, len,
	       len > n ? ", cut" : "", (int)(len > n ? n : len), s,
	       len > n ? " ..." : "");
}

/* ---- zipkin ----------------------------------------------------------------- */

static void check_zipkin(struct sr_rcv *r, long long exported)
{
	long long spans = 0, remote = 0, errors = 0, annotated = 0;
	size_t n = sr_rcv_count(r);

	CHECK(n > 0, "the Zipkin receiver got no request");
	for (size_t i = 0; i < n; i++) {
		const struct sr_rcv_request *q = sr_rcv_get(r, i);
		json_error_t err;
		json_t *arr;

		CHECK(!strcmp(q->path, "/api/v2/spans"), "path %s", q->path);
		arr = json_loadb((const char *)q->body, q->body_len, 0, &err);
		CHECK(json_is_array(arr), "Zipkin body %zu is not a JSON array: %s",
		      i, err.text);
		for (size_t k = 0; k < json_array_size(arr); k++) {
			json_t *sp = json_array_get(arr, k);
			json_t *tags = json_object_get(sp, "tags");
			const char *svc = json_string_value(json_object_get(
				json_object_get(sp, "localEndpoint"), "serviceName"));

			CHECK(svc && !strcmp(svc, "spanring-demo"),
			      "localEndpoint.serviceName is %s", svc ? svc : "(none)");
			CHECK(strlen(json_string_value(json_object_get(sp, "traceId"))) == 32,
			      "traceId");
			remote += json_object_get(sp, "remoteEndpoint") != NULL;
			errors += json_object_get(tags, "error") != NULL;
			annotated += json_object_get(sp, "annotations") != NULL;
			spans++;
		}
		if (i == 0) {
			char *one = json_dumps(json_array_get(arr, 0), JSON_INDENT(1));

			excerpt("zipkin: first span of the first POST /api/v2/spans", one, 1400);
			free(one);
		}
		json_decref(arr);
	}
	printf("zipkin: %zu requests, %lld spans (%lld with remoteEndpoint, %lld "
	       "with an error tag, %lld with annotations)\n", n, spans, remote,
	       errors, annotated);
	CHECK(spans == exported, "Zipkin got %lld spans, demo exported %lld",
	      spans, exported);
	CHECK(remote > 0 && errors > 0 && annotated > 0,
	      "mapping: remote %lld errors %lld annotations %lld", remote,
	      errors, annotated);
}

/* ---- file ------------------------------------------------------------------- */

static void check_file(const char *path, const char *out, long long exported)
{
	struct sr_test_lines l;
	char want[64], *text;

	CHECK(sr_test_scan_lines(path, &l) == 0, "%s was not written", path);
	printf("file: %s: %ld lines, %ld spans, %ld bad lines\n", path, l.lines,
	       l.spans, l.bad);
	CHECK(l.bad == 0 && !l.partial, "bad or partial lines in %s", path);
	CHECK(l.spans == exported, "file holds %ld spans, demo exported %lld",
	      l.spans, exported);
	snprintf(want, sizeof(want), "traces  %ld line", l.lines);
	CHECK(strstr(out, want), "the summary does not say '%s'", want);
	text = sr_test_read_file(path, NULL);
	excerpt("file: first line (one OTLP/JSON ExportTraceServiceRequest)", text, 700);
	free(text);
}

/* ---- chrome ------------------------------------------------------------------ */

static void check_chrome(const char *path, long long exported)
{
	json_error_t err;
	json_t *root = json_load_file(path, 0, &err), *evs;
	long long tids[64];
	int ntids = 0, named = 0;
	long long slices = 0, instants = 0, async = 0;
	regex_t re;

	CHECK(root, "%s does not parse as JSON: %s (line %d)", path, err.text, err.line);
	evs = json_object_get(root, "traceEvents");
	CHECK(json_is_array(evs), "no traceEvents array");
	regcomp(&re, "^(server|orders)-[0-9]+$", REG_EXTENDED | REG_NOSUB);
	for (size_t k = 0; k < json_array_size(evs); k++) {
		json_t *ev = json_array_get(evs, k);
		const char *ph = json_string_value(json_object_get(ev, "ph"));
		long long tid = json_integer_value(json_object_get(ev, "tid"));

		CHECK(ph, "event %zu has no ph", k);
		if (!strcmp(ph, "X") || !strcmp(ph, "b")) {
			int i;

			slices++;
			async += ph[0] == 'b';
			for (i = 0; i < ntids && tids[i] != tid; i++)
				;
			if (i == ntids) {
				CHECK(ntids < 64, "too many threads");
				tids[ntids++] = tid;
			}
			CHECK(json_is_number(json_object_get(ev, "ts")), "ts");
		} else if (!strcmp(ph, "i")) {
			instants++;
		}
	}
	for (int i = 0; i < ntids; i++) {
		int names = 0;

		for (size_t k = 0; k < json_array_size(evs); k++) {
			json_t *ev = json_array_get(evs, k);
			const char *ph = json_string_value(json_object_get(ev, "ph"));
			const char *what = json_string_value(json_object_get(ev, "name"));
			const char *name;

			if (strcmp(ph, "M") || strcmp(what, "thread_name") ||
			    json_integer_value(json_object_get(ev, "tid")) != tids[i])
				continue;
			name = json_string_value(json_object_get(json_object_get(ev, "args"), "name"));
			CHECK(name && regexec(&re, name, 0, NULL, 0) == 0,
			      "track %lld is named '%s'", tids[i], name ? name : "");
			printf("chrome: track tid %lld \"%s\"\n", tids[i], name);
			names++;
		}
		CHECK(names == 1, "thread %lld has %d thread_name events", tids[i], names);
		named++;
	}
	regfree(&re);
	printf("chrome: %s parses; %lld slices (%lld async), %lld instant events, "
	       "%d tracks, %d named\n", path, slices, async, instants, ntids, named);
	CHECK(slices == exported, "%lld slices, demo exported %lld", slices, exported);
	CHECK(ntids == THREADS + WORKERS, "%d tracks, the demo ran %d threads",
	      ntids, THREADS + WORKERS);
	{
		char *raw = sr_test_read_file(path, NULL);

		excerpt("chrome: the start of the trace file", raw, 1500);
		free(raw);
	}
	json_decref(root);
}

/* ---- modes ------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	char file_path[400], chrome_path[400], url[128], spec[1200];
	struct sr_rcv *r = NULL;
	const char *mode;
	long long exported;
	char *out;

	if (argc < 3) {
		fprintf(stderr, "usage: %s <spanring-demo> all|chrome|default|"
				"plugin <module>\n", argv[0]);
		return 2;
	}
	mode = argv[2];
	/* The demo runs in another directory: make its path absolute. */
	CHECK((argv[1] = realpath(argv[1], NULL)) != NULL, "no such demo");
	CHECK(sr_test_mkdtemp(dir, sizeof(dir), "demo") == 0, "mkdtemp");
	in_dir(file_path, sizeof(file_path), "traces.jsonl");
	in_dir(chrome_path, sizeof(chrome_path), "trace.json");
	setenv("OTEL_SERVICE_NAME", "spanring-demo", 1);
	setenv("OTEL_TRACES_SAMPLER", "always_on", 1);
	setenv("SPANRING_FILE_PATH", file_path, 1);
	setenv("SPANRING_CHROME_PATH", chrome_path, 1);

	if (!strcmp(mode, "all")) {
		r = sr_rcv_start();
		CHECK(r, "cannot start the receiver");
		sr_rcv_set_default(r, &(struct sr_rcv_reply){ .status = 202 });
		snprintf(url, sizeof(url), "http://127.0.0.1:%u/api/v2/spans",
			 sr_rcv_port(r));
		setenv("OTEL_EXPORTER_ZIPKIN_ENDPOINT", url, 1);
		setenv("OTEL_TRACES_EXPORTER", "zipkin,file,chrome", 1);
		out = run_demo(argv[1]);
		exported = demo_exported(out);
		excerpt("spanring-demo output", out, 4000);
		check_zipkin(r, exported);
		check_file(file_path, out, exported);
		check_chrome(chrome_path, exported);
		sr_rcv_stop(r);
	} else if (!strcmp(mode, "chrome")) {
		setenv("OTEL_TRACES_EXPORTER", "chrome", 1);
		out = run_demo(argv[1]);
		exported = demo_exported(out);
		check_chrome(chrome_path, exported);
	} else if (!strcmp(mode, "default")) {
		unsetenv("OTEL_TRACES_EXPORTER");
		unsetenv("SPANRING_FILE_PATH");
		out = run_demo(argv[1]);
		exported = demo_exported(out);
		excerpt("spanring-demo output", out, 4000);
		CHECK(strstr(out, "spanring-traces.jsonl"), "summary names no file");
		in_dir(file_path, sizeof(file_path), "spanring-traces.jsonl");
		check_file(file_path, out, exported);
	} else if (!strcmp(mode, "plugin") && argc > 3) {
		char example[400], *text, *p;
		long long spans = 0;

		CHECK((argv[3] = realpath(argv[3], NULL)) != NULL, "no such plugin");
		in_dir(example, sizeof(example), "example.txt");
		setenv("SPANRING_EXAMPLE_OUTPUT", example, 1);
		snprintf(spec, sizeof(spec), "plugin:%s,file", argv[3]);
		setenv("OTEL_TRACES_EXPORTER", spec, 1);
		out = run_demo(argv[1]);
		exported = demo_exported(out);
		CHECK(strstr(out, "exporter example"), "no 'example' exporter in the summary");
		text = sr_test_read_file(example, NULL);
		CHECK(text, "the plugin wrote no %s", example);
		excerpt("example plugin output", text, 1500);
		for (p = text; (p = strstr(p, " spans=")) != NULL; p++)
			spans += strtoll(p + 7, NULL, 10);
		free(text);
		CHECK(spans == exported, "plugin counted %lld spans, demo exported %lld",
		      spans, exported);
		check_file(file_path, out, exported);
	} else {
		die("unknown mode '%s'", mode);
	}
	free(out);
	free(argv[1]);
	sr_test_rmtree(dir);
	printf("PASS %s\n", mode);
	return 0;
}
