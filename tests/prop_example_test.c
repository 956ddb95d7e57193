/*
 * prop_example_test.c - runs the two-process propagation example and
 * checks that one trace spans both processes with the right links.
 *
 *   prop_example_test PATH/prop-front PATH/prop-back
 *
 * Starts back, then front (each on an ephemeral loopback port published
 * in a file of a fresh temporary directory), sends front two requests:
 *   1. with a traceparent T/P and baggage user=alice: front's SERVER span
 *      must be a remote child of P in trace T, its CLIENT span a child of
 *      that, back's SERVER span a remote child of the CLIENT span, back's
 *      INTERNAL span a child of its SERVER span, all in trace T, and the
 *      baggage must reach back;
 *   2. with no context: front starts a new trace (root SERVER span) and
 *      back joins that trace.
 * Every wait is bounded; both processes are stopped (and reaped) at the
 * end whatever happens.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http_mini.h"

#define T "4bf92f3577b34da6a3ce929d0e0e4736"
#define P "00f067aa0ba902b7"
#define ZERO16 "0000000000000000"

static pid_t front_pid = -1, back_pid = -1;
static char dir[256];

static int failures;
#define CHECK(c)                                                            \
	do {                                                                \
		if (!(c)) {                                                 \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #c);                              \
			failures++;                                         \
		}                                                           \
	} while (0)

static pid_t spawn(char *const argv[])
{
	pid_t pid = fork();

	if (pid == 0) {
		execv(argv[0], argv);
		perror(argv[0]);
		_exit(127);
	}
	return pid;
}

/* Wait up to ms for a file to appear; its integer content. */
static int wait_port(const char *path, int ms)
{
	for (int waited = 0; waited < ms; waited += 10) {
		int port = hm_read_port(path);

		if (port > 0)
			return port;
		usleep(10000);
	}
	return -1;
}

/* Reap pid within ms, else kill it; returns the exit status or -1. */
static int reap(pid_t pid, int ms)
{
	int st;

	if (pid <= 0)
		return -1;
	for (int waited = 0; waited < ms; waited += 10) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static void cleanup(void)
{
	if (front_pid > 0)
		kill(front_pid, SIGTERM);
	if (back_pid > 0)
		kill(back_pid, SIGTERM);
	/* They flush their pipeline and write their spans on SIGTERM;
	 * a sanitizer build may take a few seconds for that. */
	reap(front_pid, 8000);
	reap(back_pid, 8000);
	front_pid = back_pid = -1;
}

/* One request to front; the status line and body. */
static int request(int port, const char *headers, char *body, size_t cap)
{
	static struct hm_msg resp;
	char req[1024];
	int fd = hm_connect(port), n;

	if (fd < 0)
		return -1;
	n = snprintf(req, sizeof(req),
		     "GET / HTTP/1.1\r\nHost: x\r\n%sConnection: close\r\n\r\n",
		     headers);
	if (hm_write_all(fd, req, (size_t)n) || hm_read(fd, &resp)) {
		close(fd);
		return -1;
	}
	snprintf(body, cap, "%s", hm_read_body(fd, &resp));
	close(fd);
	return strncmp(resp.line, "HTTP/1.1 200", 12) == 0 ? 0 : -1;
}

struct span {
	char name[64], trace[33], id[17], parent[17], user[64];
	int remote, kind;
};

static int load(const char *path, struct span *s, int max)
{
	FILE *f = fopen(path, "r");
	char line[512];
	int n = 0;

	if (!f)
		return -1;
	while (n < max && fgets(line, sizeof(line), f)) {
		/* The name has spaces: the last six fields are fixed. */
		char *fields[7];
		int k = 0;
		char *p = line + strlen(line);

		while (p > line && (p[-1] == '\n'))
			*--p = '\0';
		for (k = 6; k > 0; k--) {
			char *sp = strrchr(line, ' ');
			if (!sp)
				break;
			fields[k] = sp + 1;
			*sp = '\0';
		}
		if (k)
			continue;
		snprintf(s[n].name, sizeof(s[n].name), "%.63s", line);
		snprintf(s[n].trace, sizeof(s[n].trace), "%s", fields[1]);
		snprintf(s[n].id, sizeof(s[n].id), "%s", fields[2]);
		snprintf(s[n].parent, sizeof(s[n].parent), "%s", fields[3]);
		s[n].remote = atoi(fields[4]);
		s[n].kind = atoi(fields[5]);
		snprintf(s[n].user, sizeof(s[n].user), "%s", fields[6]);
		n++;
	}
	fclose(f);
	return n;
}

/* The k-th span (in export order) named `name` of a given trace. */
static const struct span *find(const struct span *s, int n, const char *name,
			       const char *trace)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(s[i].name, name) && (!trace || !strcmp(s[i].trace, trace)))
			return &s[i];
	return NULL;
}

int main(int argc, char **argv)
{
	char bport[300], fport[300], bout[300], fout[300], body[128];
	struct span fs[16], bs[16];
	int fp, bp, nf, nb;
	const char *tmpdir = getenv("TMPDIR");

	if (argc != 3) {
		fprintf(stderr, "usage: %s prop-front prop-back\n", argv[0]);
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s/sr-prop-XXXXXX",
		 tmpdir && *tmpdir ? tmpdir : P_tmpdir);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(bport, sizeof(bport), "%s/back.port", dir);
	snprintf(fport, sizeof(fport), "%s/front.port", dir);
	snprintf(bout, sizeof(bout), "%s/back.spans", dir);
	snprintf(fout, sizeof(fout), "%s/front.spans", dir);
	unsetenv("OTEL_PROPAGATORS");  /* the default: tracecontext,baggage */

	{
		char *a[] = { argv[2], "--port-file", bport, "--out", bout,
			      "--requests", "2", "--max-seconds", "30", NULL };
		back_pid = spawn(a);
	}
	bp = wait_port(bport, 10000);
	CHECK(bp > 0);
	if (bp > 0) {
		char *a[] = { argv[1], "--port-file", fport, "--back-port-file",
			      bport, "--out", fout, "--requests", "2",
			      "--max-seconds", "30", NULL };
		front_pid = spawn(a);
	}
	fp = bp > 0 ? wait_port(fport, 10000) : -1;
	CHECK(fp > 0);
	if (fp <= 0) {
		cleanup();
		return 1;
	}

	CHECK(request(fp, "traceparent: 00-" T "-" P "-01\r\n"
			  "baggage: user=alice\r\n", body, sizeof(body)) == 0);
	CHECK(strncmp(body, T, 32) == 0);  /* back answered in trace T */
	CHECK(request(fp, "", body, sizeof(body)) == 0);

	/* Both exit after two requests and write their spans. */
	CHECK(reap(front_pid, 10000) == 0);
	CHECK(reap(back_pid, 10000) == 0);
	front_pid = back_pid = -1;
	nf = load(fout, fs, 16);
	nb = load(bout, bs, 16);
	CHECK(nf == 4);  /* SERVER + CLIENT per request */
	CHECK(nb == 4);  /* SERVER + INTERNAL per request */
	if (nf == 4 && nb == 4) {
		const struct span *fsrv = find(fs, nf, "front GET /", T);
		const struct span *fcli = find(fs, nf, "front call back", T);
		const struct span *bsrv = find(bs, nb, "back GET /work", T);
		const struct span *bwrk = find(bs, nb, "back work", T);
		const struct span *f2, *c2, *b2, *w2;

		CHECK(fsrv && fcli && bsrv && bwrk);
		if (fsrv && fcli && bsrv && bwrk) {
			CHECK(!strcmp(fsrv->parent, P) && fsrv->remote == 1);
			CHECK(fsrv->kind == SR_KIND_SERVER);
			CHECK(!strcmp(fcli->parent, fsrv->id) && fcli->remote == 0);
			CHECK(fcli->kind == SR_KIND_CLIENT);
			CHECK(!strcmp(bsrv->parent, fcli->id) && bsrv->remote == 1);
			CHECK(bsrv->kind == SR_KIND_SERVER);
			CHECK(!strcmp(bwrk->parent, bsrv->id) && bwrk->remote == 0);
			CHECK(!strcmp(fsrv->user, "alice"));
			CHECK(!strcmp(bsrv->user, "alice"));  /* baggage crossed */
		}
		/* Request 2: a new trace, rooted at front, joined by back. */
		f2 = c2 = b2 = w2 = NULL;
		for (int i = 0; i < nf; i++)
			if (strcmp(fs[i].trace, T) && !strcmp(fs[i].name, "front GET /"))
				f2 = &fs[i];
		CHECK(f2 != NULL);
		if (f2) {
			c2 = find(fs, nf, "front call back", f2->trace);
			b2 = find(bs, nb, "back GET /work", f2->trace);
			w2 = find(bs, nb, "back work", f2->trace);
			CHECK(!strcmp(f2->parent, ZERO16) && f2->remote == 0);
			CHECK(c2 && b2 && w2);
			if (c2 && b2 && w2) {
				CHECK(!strcmp(c2->parent, f2->id));
				CHECK(!strcmp(b2->parent, c2->id) && b2->remote == 1);
				CHECK(!strcmp(w2->parent, b2->id));
				CHECK(!strcmp(b2->user, "-"));
			}
		}
	}
	cleanup();
	if (!failures) {
		unlink(bport);
		unlink(fport);
		unlink(bout);
		unlink(fout);
		rmdir(dir);
		printf("two-process trace: one trace id, links front -> back ok\n");
		return 0;
	}
	fprintf(stderr, "spans left in %s\n", dir);
	return 1;
}
