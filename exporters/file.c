/*
 * file.c - the "file" exporter: OTLP/JSON lines in a local file, so a user
 * needs no collector to see traces (it is the demo's default sink).
 *
 * Each batch is encoded by the OTLP/JSON encoder (otlp_encode.c) into one
 * ExportTraceServiceRequest and appended as one line, so every line is a
 * complete JSON document an OTLP/JSON reader (or `jq`) takes as is, and
 * the OpenTelemetry Collector's otlpjsonfile receiver reads the same
 * format.
 *
 * Whole lines only.  A line goes out in one writev() of (body, "\n") at the
 * end of the file (O_APPEND).  If the write comes up short (disk full,
 * RLIMIT_FSIZE, quota) the file is truncated back to where the line began
 * and the batch fails (the core counts its spans as failed for this
 * exporter), so a reader never sees half a line.  SIGXFSZ, which the kernel
 * sends to a thread that writes past RLIMIT_FSIZE and whose default action
 * kills the process, is blocked on the exporter's worker thread (the core
 * starts its threads with every signal blocked); the pending one is
 * consumed, and the limit shows up as EFBIG: a failed batch, never a dead
 * process.  Should the truncate itself fail, the next line starts with a
 * newline so that only the broken line is lost.
 *
 * A process forked from one that created this exporter (the core restarts
 * the pipeline in a fork child) writes <name>-<pid>.<ext> instead, so
 * parent and child never rotate one file under each other.
 *
 * Rotation by size: before a line that would take the file past
 * SPANRING_FILE_MAX_BYTES (default 64 MiB), path.(N-2) is renamed to
 * path.(N-1), ..., path to path.1, and a new path is started, keeping at
 * most SPANRING_FILE_MAX_FILES files (default 5: path, path.1 .. path.4;
 * the oldest is overwritten by the rename).  With MAX_FILES=1 the file is
 * emptied instead.  A single line larger than the limit is still written
 * whole, into a fresh file.  So the disk used is bounded by MAX_FILES x
 * (MAX_BYTES + one batch).  Files that are not regular (a FIFO,
 * /dev/stdout) are never rotated or truncated.
 *
 * Durability, SPANRING_FILE_FSYNC:
 *   none    (default) no fsync: a process crash loses nothing already
 *           written (it is in the kernel), a machine crash may lose the
 *           last seconds;
 *   batch   fdatasync() after every batch and at sr_flush()/shutdown;
 *   always  the file is opened O_DSYNC (each write is durable when it
 *           returns) and the directory is fsynced after the file is
 *           created or rotated, so the names survive a crash too.
 *
 * Errors at create, each naming the variable and its value: a path that
 * cannot be opened for appending (missing directory, no permission, a
 * directory), a directory where rotation cannot rename files, malformed
 * numbers or an unknown fsync mode.  The pipeline then runs on with its
 * other exporters.
 *
 * Left out: several processes appending to one path (each would rotate on
 * its own view of the size: give each process its own path), compression,
 * time-based rotation.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "env_int.h"
#include "exp_util_int.h"
#include "exporter_int.h"
#include "otlp_int.h"

#define DEFAULT_PATH "spanring-traces.jsonl"
#define DEFAULT_MAX_BYTES (64u << 20)
#define DEFAULT_MAX_FILES 5u
#define MAX_FILES_LIMIT 1000u

enum fsync_mode { FSYNC_NONE, FSYNC_BATCH, FSYNC_ALWAYS };

/* Exporter instance; after create() only its worker thread touches it
 * (and destroy, after the worker stopped). */
struct file_exp {
	struct sr__otlp_enc enc;
	char *path;             /* malloc'd                                   */
	char *dir;              /* its directory, for rotation checks/fsync   */
	char *name_a, *name_b;  /* scratch for "path.N" names                 */
	int fd;
	bool regular;           /* rotation and truncation only then          */
	bool broken_line;       /* a truncate failed: start with a newline    */
	uint64_t max_bytes;
	uint32_t max_files;
	enum fsync_mode fsync;
};

/* ---- files ----------------------------------------------------------------- */

static int open_flags(const struct file_exp *f)
{
	return O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
	       (f->fsync == FSYNC_ALWAYS ? O_DSYNC : 0);
}

static void sync_dir(const struct file_exp *f)
{
	int dfd;

	if (f->fsync != FSYNC_ALWAYS)
		return;
	dfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
}

/* Size of the open file, or -1. */
static off_t file_size(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? st.st_size : -1;
}

/* path.1 .. path.(max_files-1) shift up by one, path becomes path.1 and a
 * new path is opened.  0, or -errno (the old file stays open then). */
static int rotate(struct file_exp *f)
{
	size_t plen = strlen(f->path), cap = plen + 12;
	int fd;

	if (f->max_files == 1)
		return ftruncate(f->fd, 0) == 0 ? 0 : -errno;
	for (uint32_t k = f->max_files - 1; k >= 2; k--) {
		snprintf(f->name_a, cap, "%s.%u", f->path, k - 1);
		snprintf(f->name_b, cap, "%s.%u", f->path, k);
		if (rename(f->name_a, f->name_b) != 0 && errno != ENOENT)
			return -errno;
	}
	snprintf(f->name_b, cap, "%s.1", f->path);
	if (rename(f->path, f->name_b) != 0)
		return -errno;
	fd = open(f->path, open_flags(f), 0644);
	if (fd < 0) {
		/* Keep writing where we were rather than lose the path: put
		 * the old file back. */
		int e = errno;

		(void)rename(f->name_b, f->path);
		return -e;
	}
	close(f->fd);
	f->fd = fd;
	sync_dir(f);
	return 0;
}

/*
 * Append iov[0..n) as one line.  On a short write the file is cut back to
 * where the line began.  0 or -errno.
 */
static int append_whole(struct file_exp *f, struct iovec *iov, int n,
			off_t start, size_t total)
{
	size_t done = 0;
	int e = 0;

	while (done < total) {
		ssize_t w = writev(f->fd, iov, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			e = errno;
			break;
		}
		if (w == 0) {
			e = ENOSPC;
			break;
		}
		done += (size_t)w;
		/* Skip what was written. */
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	if (e == EFBIG)
		sr__exp_drain_xfsz();
	if (e && done > 0) {
		if (!f->regular || ftruncate(f->fd, start) != 0)
			f->broken_line = true;
	}
	return -e;
}

/* ---- configuration ----------------------------------------------------------- */

static int creator_pid; /* see sr__exp_owned_path() */

static int read_conf(struct file_exp *f, char *err, size_t err_len)
{
	static const char *const modes[] = { "none", "batch", "always", NULL };
	uint32_t max_bytes = DEFAULT_MAX_BYTES;
	unsigned mode = FSYNC_NONE;
	const char *v;
	size_t n;
	int rc;

	v = sr__env_get("SPANRING_FILE_PATH", &n);
	if (!v) {
		v = DEFAULT_PATH;
		n = strlen(v);
	}
	if (!(f->path = sr__exp_owned_path(v, n, &creator_pid)) ||
	    !(f->name_a = malloc(strlen(f->path) + 12)) ||
	    !(f->name_b = malloc(strlen(f->path) + 12))) {
		snprintf(err, err_len, "out of memory");
		return SR_ENOMEM;
	}
	f->max_files = DEFAULT_MAX_FILES;
	if ((rc = sr__exp_env_u32("SPANRING_FILE_MAX_BYTES", 1024, UINT32_MAX,
				  &max_bytes, err, err_len)) ||
	    (rc = sr__exp_env_u32("SPANRING_FILE_MAX_FILES", 1, MAX_FILES_LIMIT,
				  &f->max_files, err, err_len)) ||
	    (rc = sr__exp_env_choice("SPANRING_FILE_FSYNC", modes, &mode, err,
				     err_len)))
		return rc;
	f->max_bytes = max_bytes;
	f->fsync = (enum fsync_mode)mode;
	return 0;
}

/* ---- the exporter ------------------------------------------------------------- */

static void file_destroy(void *state, uint32_t timeout_ms)
{
	struct file_exp *f = state;

	(void)timeout_ms;
	if (!f)
		return;
	if (f->fd >= 0) {
		if (f->fsync != FSYNC_NONE)
			(void)fdatasync(f->fd);
		close(f->fd);
	}
	sr__otlp_enc_free(&f->enc);
	free(f->path);
	free(f->dir);
	free(f->name_a);
	free(f->name_b);
	free(f);
}

static int file_create(void *ud, const sr_config_t *cfg, void **state,
		       char *err, size_t err_len)
{
	struct file_exp *f = calloc(1, sizeof(*f));
	struct stat st;
	char *slash;
	int rc;

	*state = NULL;
	if (!f) {
		snprintf(err, err_len, "out of memory");
		return SR_ENOMEM;
	}
	f->fd = -1;
	sr__otlp_enc_init(&f->enc, SR__OTLP_JSON);
	if ((rc = read_conf(f, err, err_len)))
		goto fail;
	slash = strrchr(f->path, '/');
	f->dir = slash ? strndup(f->path, slash == f->path ? 1 : (size_t)(slash - f->path))
		       : strdup(".");
	if (!f->dir) {
		snprintf(err, err_len, "out of memory");
		rc = SR_ENOMEM;
		goto fail;
	}
	f->fd = open(f->path, open_flags(f), 0644);
	if (f->fd < 0 || fstat(f->fd, &st) != 0) {
		snprintf(err, err_len, "SPANRING_FILE_PATH='%s': cannot open for "
			 "appending: %s", f->path, strerror(errno));
		rc = SR_EIO;
		goto fail;
	}
	f->regular = S_ISREG(st.st_mode);
	if (f->regular && f->max_files > 1 && access(f->dir, W_OK | X_OK) != 0) {
		snprintf(err, err_len, "SPANRING_FILE_PATH='%s': rotation needs to "
			 "rename files in '%s': %s (or set "
			 "SPANRING_FILE_MAX_FILES=1)", f->path, f->dir,
			 strerror(errno));
		rc = SR_EIO;
		goto fail;
	}
	sync_dir(f);
	*state = f;
	return 0;
fail:
	file_destroy(f, 0);
	return rc;
}

/* A failed write, rotation or sync: say which file and why. */
static int io_failed(const sr_batch_t *batch, const struct file_exp *f,
		     const char *what)
{
	char msg[SR_EXPORTER_ERROR_MAX];

	snprintf(msg, sizeof(msg), "%s: %s: %s", f->path, what, strerror(errno));
	sr_batch_report_error(batch, 0, -1, msg);
	return SR_EIO;
}

static int file_export(void *state, const sr_batch_t *batch,
		       uint64_t *rejected)
{
	struct file_exp *f = state;
	size_t n = sr_batch_count(batch), len, total;
	const sr_attr_view_t *res;
	struct iovec iov[3];
	const char *body;
	uint32_t nres = 0;
	off_t start = 0;
	int rc, k = 0;

	if (n == 0)
		return 0;
	res = sr_batch_resource(batch, &nres);
	rc = sr__otlp_enc_begin(&f->enc, res, nres);
	for (size_t i = 0; !rc && i < n; i++) {
		sr_span_data_t sd = { .size = sizeof(sd) };

		if (sr_batch_span(batch, i, &sd) == 0)
			rc = sr__otlp_enc_add(&f->enc, &sd);
		else
			(*rejected)++;
	}
	if (rc || (rc = sr__otlp_enc_finish(&f->enc, &body, &len)))
		return rc;

	if (f->broken_line)
		iov[k++] = (struct iovec){ (void *)"\n", 1 };
	iov[k++] = (struct iovec){ (void *)body, len };
	iov[k++] = (struct iovec){ (void *)"\n", 1 };
	total = len + 1 + (f->broken_line ? 1 : 0);

	if (f->regular) {
		start = file_size(f->fd);
		if (start > 0 && (uint64_t)start + total > f->max_bytes) {
			if (rotate(f) != 0)
				return io_failed(batch, f, "rotation");
			start = file_size(f->fd);
		}
		if (start < 0)
			return io_failed(batch, f, "stat");
	}
	if (append_whole(f, iov, k, start, total) != 0)
		return io_failed(batch, f, "write");
	f->broken_line = false;
	if (f->fsync == FSYNC_BATCH && fdatasync(f->fd) != 0 && errno != EINVAL)
		return io_failed(batch, f, "fdatasync");
	return 0;
}

static int file_flush(void *state, uint32_t timeout_ms)
{
	struct file_exp *f = state;

	(void)timeout_ms;
	if (f->fsync != FSYNC_NONE && fdatasync(f->fd) != 0 && errno != EINVAL)
		return SR_EIO;
	return 0;
}

const sr_exporter_ops_t sr__exporter_file = {
	.size = sizeof(sr_exporter_ops_t),
	.abi_version = SR_EXPORTER_ABI_VERSION,
	.name = "file",
	.create = file_create,
	.export_batch = file_export,
	.flush = file_flush,
	.destroy = file_destroy,
	.cancel = NULL, /* a local write has no wait to cut short */
};
