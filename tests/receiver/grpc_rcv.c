/*
 * grpc_rcv.c - spawn and drive grpc_receiver.py (contract in grpc_rcv.h).
 * The interpreter and the script's path come from the build
 * (SR_GRPC_PYTHON, SR_GRPC_RECEIVER), found by tests/otlp_grpc.cmake.
 */
#include "grpc_rcv.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct sr_grcv {
	pid_t pid;
	int to_fd;              /* its stdin                                 */
	int from_fd;            /* its stdout                                */
	char buf[1024];         /* bytes read, not yet consumed              */
	size_t len;
	unsigned port;
	bool tls;
};

/* One line of its output (without the newline), waiting up to 20 s. */
static int read_line(struct sr_grcv *r, char *out, size_t cap)
{
	for (;;) {
		char *nl = memchr(r->buf, '\n', r->len);
		if (nl) {
			size_t n = (size_t)(nl - r->buf);
			size_t c = n < cap - 1 ? n : cap - 1;
			memcpy(out, r->buf, c);
			out[c] = '\0';
			memmove(r->buf, nl + 1, r->len - n - 1);
			r->len -= n + 1;
			return 0;
		}
		if (r->len == sizeof(r->buf))
			return -1;
		struct pollfd p = { .fd = r->from_fd, .events = POLLIN };
		int pr = poll(&p, 1, 20000);
		if (pr <= 0) {
			fprintf(stderr, "grpc receiver: no answer in 20 s\n");
			return -1;
		}
		ssize_t got = read(r->from_fd, r->buf + r->len, sizeof(r->buf) - r->len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		r->len += (size_t)got;
	}
}

static int command(struct sr_grcv *r, const char *cmd, char *ans, size_t cap)
{
	size_t n = strlen(cmd);

	if (write(r->to_fd, cmd, n) != (ssize_t)n || write(r->to_fd, "\n", 1) != 1)
		return -1;
	return read_line(r, ans, cap);
}

struct sr_grcv *sr_grcv_start_tls(const char *cert, const char *key)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	struct sr_grcv *r = calloc(1, sizeof(*r));
	char line[256];
	char *argv[] = { SR_GRPC_PYTHON, SR_GRPC_RECEIVER, "--cert", (char *)cert,
			 "--key", (char *)key, NULL };

	if (!r || pipe(in) || pipe(out))
		goto fail;
	if (!cert || !key)
		argv[2] = NULL;
	r->tls = cert && key;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_addclose(&fa, in[1]);
	posix_spawn_file_actions_addclose(&fa, out[0]);
	int rc = posix_spawn(&r->pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	in[0] = out[1] = -1;
	if (rc) {
		fprintf(stderr, "grpc receiver: spawn %s: %s\n", argv[0], strerror(rc));
		goto fail;
	}
	r->to_fd = in[1];
	r->from_fd = out[0];
	if (read_line(r, line, sizeof(line)) || sscanf(line, "PORT %u", &r->port) != 1) {
		fprintf(stderr, "grpc receiver did not start\n");
		close(r->to_fd);
		close(r->from_fd);
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
		free(r);
		return NULL;
	}
	return r;
fail:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	free(r);
	return NULL;
}

struct sr_grcv *sr_grcv_start(void)
{
	return sr_grcv_start_tls(NULL, NULL);
}

unsigned sr_grcv_port(const struct sr_grcv *r)
{
	return r->port;
}

void sr_grcv_url(const struct sr_grcv *r, char *buf, size_t len)
{
	snprintf(buf, len, "%s://127.0.0.1:%u", r->tls ? "https" : "http", r->port);
}

static int simple(struct sr_grcv *r, const char *verb, const char *arg)
{
	char cmd[512], ans[64];

	snprintf(cmd, sizeof(cmd), "%s %s", verb, arg);
	return command(r, cmd, ans, sizeof(ans)) == 0 && !strcmp(ans, "ok") ? 0 : -1;
}

int sr_grcv_script(struct sr_grcv *r, const char *replies)
{
	return simple(r, "script", replies);
}

int sr_grcv_reset(struct sr_grcv *r)
{
	return simple(r, "reset", "");
}

int sr_grcv_default(struct sr_grcv *r, const char *reply)
{
	return simple(r, "default", reply);
}

int sr_grcv_stats(struct sr_grcv *r, struct sr_grcv_stats *st)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
#define K(f) { #f, offsetof(struct sr_grcv_stats, f) }
		K(requests), K(ok_requests), K(ok_spans), K(all_spans), K(rejected),
		K(peers), K(bad), K(api_key), K(deadline), K(max_timeout_ms),
#undef K
	};
	char ans[512], *save = NULL;
	int found = 0;

	memset(st, 0, sizeof(*st));
	if (command(r, "stats", ans, sizeof(ans)) || strncmp(ans, "stats ", 6))
		return -1;
	for (char *w = strtok_r(ans + 6, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(w, '=');
		if (!eq)
			return -1;
		*eq = '\0';
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (!strcmp(w, keys[i].key)) {
				*(long *)(void *)((char *)st + keys[i].off) = atol(eq + 1);
				found++;
			}
	}
	return found == (int)(sizeof(keys) / sizeof(keys[0])) ? 0 : -1;
}

void sr_grcv_stop(struct sr_grcv *r)
{
	char ans[64];
	int status;

	if (!r)
		return;
	if (command(r, "quit", ans, sizeof(ans)) != 0)
		kill(r->pid, SIGKILL);
	close(r->to_fd);
	for (int i = 0; i < 500; i++) {
		if (waitpid(r->pid, &status, WNOHANG) == r->pid)
			goto reaped;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	kill(r->pid, SIGKILL);
	waitpid(r->pid, &status, 0);
reaped:
	close(r->from_fd);
	free(r);
}
