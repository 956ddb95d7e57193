/*
 * test_prometheus.c - OTEL_METRICS_EXPORTER=prometheus with the
 * spanmetrics processor: GET /metrics parsed by the Prometheus project's
 * own parser (tests/prom_check.py, Debian python3-prometheus-client)
 * with the values recorded here; the endpoint's answers to bad requests
 * (400, 404, 405, 408 for an idle client, which does not hold up
 * others); a bad variable reported.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "metrics_int.h"
#include "testutil.h"

static void tweak(sr_config_t *c)
{
	c->processors = "spanmetrics";
	c->service_name = "promtest";
}

static int dial(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(sr__metrics_prom_port()) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Send req, read the whole answer into buf (NUL-terminated). */
static size_t ask(const char *req, char *buf, size_t cap)
{
	int fd = dial();
	size_t n = 0;
	ssize_t r;

	assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
	while (n + 1 < cap && (r = recv(fd, buf + n, cap - n - 1, 0)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	close(fd);
	return n;
}

static void span(const sr_tracer_t *t, const char *name, sr_span_kind_t k,
		 bool error, uint64_t dur_ns)
{
	sr_span_t s;
	uint64_t now = sr_now_ns();

	sr_span_start(&s, t, name, k);
	if (error)
		sr_span_set_status(&s, SR_STATUS_ERROR, "boom");
	sr_span_end_at(&s, now + dur_ns);
}

static void test_metrics_parse(void **state)
{
	static char buf[1 << 20];
	char path[] = "/tmp/sr_promXXXXXX", cmd[512];
	const sr_tracer_t *t;
	int fd, idle;
	FILE *f;
	char *body;

	(void)state;
	setenv("OTEL_METRICS_EXPORTER", "prometheus", 1);
	setenv("OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1", 1);
	setenv("OTEL_EXPORTER_PROMETHEUS_PORT", "0", 1);
	assert_int_equal(sr_test_init_memory(tweak), 0);
	assert_true(sr__metrics_prom_port() != 0);
	t = sr_tracer_get("test", "1");
	span(t, "GET /a", SR_KIND_SERVER, false, 1000000);
	span(t, "GET /a", SR_KIND_SERVER, false, 3000000);
	span(t, "GET /a", SR_KIND_SERVER, true, 3000000);
	span(t, "SELECT", SR_KIND_CLIENT, false, 500000);   /* le 2 ms  */
	span(t, "SELECT", SR_KIND_CLIENT, false, 20000000); /* le 50 ms */
	assert_int_equal(sr_flush(5000, NULL), 0);

	/* An idle client holds a slot, not the server. */
	idle = dial();
	ask("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(buf, "Content-Type: text/plain; version=0.0.4"));
	assert_non_null(body = strstr(buf, "\r\n\r\n"));
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_non_null(f = fdopen(fd, "w"));
	fputs(body + 4, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s %s", SR_PROM_CHECK, path);
	assert_int_equal(system(cmd), 0);
	if (getenv("SR_KEEP")) puts(path); else unlink(path);

	ask("GET /other HTTP/1.1\r\n\r\n", buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP/1.1 404 "));
	ask("POST /metrics HTTP/1.1\r\n\r\n", buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP/1.1 405 "));
	ask("hello there\r\n\r\n", buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP/1.1 400 "));
	ask("HEAD /metrics?x=1 HTTP/1.0\r\n\r\n", buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP/1.1 200 "));
	assert_null(strstr(buf, "# TYPE"));
	/* The idle one is answered 408 within the request timeout. */
	{
		size_t n = 0;
		ssize_t r;

		while ((r = recv(idle, buf + n, sizeof(buf) - n - 1, 0)) > 0)
			n += (size_t)r;
		buf[n] = '\0';
		assert_non_null(strstr(buf, "HTTP/1.1 408 "));
		close(idle);
	}
	assert_int_equal(sr_shutdown(5000, NULL), 0);
	assert_int_equal(sr__metrics_prom_port(), 0);
	sr_memory_clear();
}

static void test_bad_variables(void **state)
{
	(void)state;
	setenv("OTEL_METRICS_EXPORTER", "statsd", 1);
	assert_int_equal(sr_test_init_memory(tweak), SR_ENOTFOUND);
	assert_true(sr_is_running()); /* the traces still flow */
	assert_non_null(strstr(sr_last_error(), "OTEL_METRICS_EXPORTER='statsd'"));
	sr_shutdown(1000, NULL);
	setenv("OTEL_METRICS_EXPORTER", "prometheus", 1);
	setenv("OTEL_EXPORTER_PROMETHEUS_PORT", "99999", 1);
	assert_int_equal(sr_test_init_memory(tweak), SR_EINVAL);
	if (!strstr(sr_last_error(), "OTEL_EXPORTER_PROMETHEUS_PORT")) fail_msg("%s", sr_last_error());
	sr_shutdown(1000, NULL);
	unsetenv("OTEL_METRICS_EXPORTER");
	unsetenv("OTEL_EXPORTER_PROMETHEUS_PORT");
	unsetenv("OTEL_EXPORTER_PROMETHEUS_HOST");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_parse),
		cmocka_unit_test(test_bad_variables),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
