/*
 * spanring_recover.c - spanring-recover: a crash flight recording
 * (docs/flight-recorder.md) back into spans.
 *
 *   spanring-recover FILE [-o OUT.jsonl | -o -] [--endpoint URL]
 *
 * The recording is parsed and checked by the core's reader
 * (core/flight_read.c); its spans go out through the library's own
 * exporters, in batches like a live pipeline's: the `file` exporter
 * (OTLP/JSON lines, the same encoder and the same lines a live run
 * writes) to OUT or standard output, or the `otlp` exporter to URL
 * (OTEL_EXPORTER_OTLP_* variables still apply: protocol, headers,
 * timeout).  It says what it recovered, what it could not decode and why,
 * and how the crash's accounting adds up.
 *
 * Exit status: 0 all recovered and delivered (spans torn by the
 * application's threads running on during the dump are reported, not an
 * error); 1 spans recovered but the file was damaged (truncated, cut
 * short, malformed spans) or an export failed; 2 nothing to recover (not a recording, empty, unreadable) or bad
 * usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <spanring/spanring.h>

#include "exporter_table_int.h"
#include "flight_int.h"

#define BATCH_SPANS 512u

static void usage(FILE *f)
{
	fprintf(f,
"usage: spanring-recover FILE [-o OUT | -o -] [--endpoint URL]\n"
"\n"
"Turn a crash flight recording (SPANRING_FLIGHT_RECORDER) into spans.\n"
"  -o OUT          write OTLP/JSON lines to OUT (\"-\": standard output,\n"
"                  the default); OUT is replaced\n"
"  --endpoint URL  send them to an OTLP/HTTP endpoint instead\n"
"                  (OTEL_EXPORTER_OTLP_* variables apply)\n"
"  -h, --help      this text\n");
}

static char *read_all(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!fp)
		return NULL;
	for (;;) {
		size_t r;

		if (n == cap) {
			char *nb;

			cap = cap ? cap * 2 : 1 << 16;
			if (!(nb = realloc(buf, cap))) {
				free(buf);
				fclose(fp);
				errno = ENOMEM;
				return NULL;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n, fp);
		n += r;
		if (r == 0)
			break;
	}
	if (ferror(fp)) {
		int e = errno;

		free(buf);
		fclose(fp);
		errno = e;
		return NULL;
	}
	fclose(fp);
	*len = n;
	return buf ? buf : calloc(1, 1);
}

static const sr_exporter_ops_t *builtin(const char *name)
{
	for (size_t i = 0; sr__builtin_exporters[i]; i++)
		if (strcmp(sr__builtin_exporters[i]->name, name) == 0)
			return sr__builtin_exporters[i];
	return NULL;
}

static const char *signame(int sig)
{
	switch (sig) {
	case SIGSEGV: return "SIGSEGV";
	case SIGBUS: return "SIGBUS";
	case SIGILL: return "SIGILL";
	case SIGFPE: return "SIGFPE";
	case SIGABRT: return "SIGABRT";
	default: return "a signal";
	}
}

static sr_str_t service(const struct sr__flight *f)
{
	for (uint32_t i = 0; i < f->nres; i++)
		if (f->res[i].key.len == 12 &&
		    !memcmp(f->res[i].key.ptr, "service.name", 12) &&
		    f->res[i].type == SR_ATTR_STRING)
			return f->res[i].v.s;
	return (sr_str_t){ "?", 1 };
}

static void describe(FILE *out, const struct sr__flight *f)
{
	const struct sr__flight_header *h = &f->hdr;
	time_t secs = (time_t)(h->crash_ns / 1000000000u);
	struct tm tm;
	char when[32];
	sr_str_t svc = service(f);

	gmtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(out, "spanring-recover: pid %u (service \"%.*s\") died of %s "
		"(si_code %d, address %#" PRIx64 ", thread %" PRIu64 ") at %s\n",
		h->pid, (int)svc.len, svc.ptr, signame(h->signo), h->si_code,
		h->fault_addr, h->crash_tid, when);
}

static void summary(FILE *out, const struct sr__flight *f)
{
	const struct sr__flight_header *h = &f->hdr;
	uint64_t dropped = h->dropped_ring_full + h->dropped_limits +
			   h->dropped_queue_full + h->dropped_exporter +
			   h->dropped_shutdown + h->dropped_reentrant;
	int64_t rest = (int64_t)(h->sampled - h->exported - dropped - h->open -
				 f->nspans);

	fprintf(out, "recovered %u spans (%" PRIu64 " from rings, %" PRIu64
		" from batches not yet exported)\n", f->nspans, f->from_rings,
		f->from_batches);
	fprintf(out, "could not decode %" PRIu64 " spans (torn %" PRIu64
		", malformed %" PRIu64 ") and %" PRIu64 " ring records after a "
		"break; %" PRIu64 " written twice, kept once\n",
		f->torn + f->malformed, f->torn, f->malformed, f->records_lost,
		f->duplicates);
	if (f->have_end)
		fprintf(out, "the recorder wrote %" PRIu64 " spans (%" PRIu64
			" in rings, %" PRIu64 " in batches), %" PRIu64
			" strings (%" PRIu64 " unreadable, %" PRIu64
			" truncated, %" PRIu64 " past the table)\n",
			h->recorded_in_rings + h->recorded_in_batches,
			h->recorded_in_rings, h->recorded_in_batches,
			f->end.strings, f->end.strings_unreadable,
			f->end.strings_truncated, f->end.strings_dropped);
	fprintf(out, "accounting at the crash: sampled %" PRIu64 " = exported %"
		PRIu64 " + dropped %" PRIu64 " + open %" PRIu64
		" (started, not ended) + recovered %u %s %" PRId64
		" (%s)\n", h->sampled, h->exported, dropped, h->open, f->nspans,
		rest < 0 ? "-" : "+", rest < 0 ? -rest : rest,
		rest < 0 ? "ended while the dump ran"
			 : "in flight: not found in the recording");
	fprintf(out, "  dropped: ring_full %" PRIu64 "  limits %" PRIu64
		"  queue_full %" PRIu64 "  exporter %" PRIu64 "  shutdown %"
		PRIu64 "  reentrant %" PRIu64 "\n", h->dropped_ring_full,
		h->dropped_limits, h->dropped_queue_full, h->dropped_exporter,
		h->dropped_shutdown, h->dropped_reentrant);
	if (f->strings_missing)
		fprintf(out, "%" PRIu64 " strings had no copy: shown as "
			"\"(lost)\"\n", f->strings_missing);
}

int main(int argc, char **argv)
{
	const char *in = NULL, *out = "-", *endpoint = NULL;
	const sr_exporter_ops_t *ops;
	struct sr__flight f;
	struct sr__scratch scratch;
	sr_config_t cfg;
	void *state = NULL;
	char err[256] = "", *buf;
	size_t len = 0;
	uint64_t failed = 0, rejected = 0;
	FILE *info;
	int rc, status = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
			out = argv[++i];
		} else if (!strcmp(argv[i], "--endpoint") && i + 1 < argc) {
			endpoint = argv[++i];
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "spanring-recover: unknown or incomplete "
				"option '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		} else if (!in) {
			in = argv[i];
		} else {
			fprintf(stderr, "spanring-recover: one FILE only ('%s')\n",
				argv[i]);
			return 2;
		}
	}
	if (!in) {
		usage(stderr);
		return 2;
	}
	/* The spans go to stdout when no file is named: talk on stderr. */
	info = !endpoint && !strcmp(out, "-") ? stderr : stdout;

	if (!(buf = read_all(in, &len))) {
		fprintf(stderr, "spanring-recover: %s: %s\n", in, strerror(errno));
		return 2;
	}
	rc = sr__flight_parse(&f, buf, len);
	if (rc) {
		fprintf(stderr, "spanring-recover: %s: %s\n", in,
			rc == SR_ENOMEM ? "out of memory" : f.why);
		sr__flight_free(&f);
		free(buf);
		return 2;
	}
	describe(info, &f);
	if (f.why[0]) {
		fprintf(stderr, "spanring-recover: %s: %s\n", in, f.why);
		status = 1;
	}

	/* The exporter, configured through its own variables. */
	if (endpoint) {
		setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint, 1);
		ops = builtin("otlp");
	} else {
		if (strcmp(out, "-") != 0) {
			int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
				      0644);

			if (fd < 0) {
				fprintf(stderr, "spanring-recover: -o %s: %s\n", out,
					strerror(errno));
				sr__flight_free(&f);
				free(buf);
				return 2;
			}
			close(fd);
		}
		setenv("SPANRING_FILE_PATH", strcmp(out, "-") ? out : "/dev/stdout", 1);
		setenv("SPANRING_FILE_MAX_FILES", "1", 1);
		setenv("SPANRING_FILE_MAX_BYTES", "4294967295", 1);
		unsetenv("SPANRING_FILE_FSYNC");
		ops = builtin("file");
	}
	sr_config_init(&cfg);
	if (!ops || (rc = ops->create(NULL, &cfg, &state, err, sizeof(err))) != 0 ||
	    sr__flight_scratch_init(&scratch) != 0) {
		fprintf(stderr, "spanring-recover: cannot start the %s exporter: "
			"%s\n", endpoint ? "otlp" : "file",
			err[0] ? err : "out of memory");
		if (state)
			ops->destroy(state, 0);
		sr__flight_free(&f);
		free(buf);
		return 2;
	}
	for (uint32_t at = 0; at < f.nspans; at += BATCH_SPANS) {
		uint32_t n = f.nspans - at < BATCH_SPANS ? f.nspans - at : BATCH_SPANS;
		struct sr__batch b;
		struct sr_batch view;
		uint64_t rej = 0;

		sr__flight_view(&f, at, n, &b, &scratch, &view);
		if (ops->export_batch(state, &view, &rej) != 0)
			failed += n;
		else
			rejected += rej;
	}
	if (ops->flush)
		ops->flush(state, cfg.export_timeout_ms);
	ops->destroy(state, cfg.export_timeout_ms);
	sr__scratch_free(&scratch);

	summary(info, &f);
	if (failed || rejected) {
		fprintf(stderr, "spanring-recover: %" PRIu64 " spans failed to "
			"export, %" PRIu64 " rejected by the receiver\n", failed,
			rejected);
		status = 1;
	} else if (f.nspans) {
		fprintf(info, "%s %u spans to %s\n", endpoint ? "sent" : "wrote",
			f.nspans, endpoint ? endpoint : out);
	}
	if (f.malformed || f.records_lost) /* torn: the dump's race, not damage */
		status = 1;
	sr__flight_free(&f);
	free(buf);
	return status;
}
