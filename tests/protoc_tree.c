/*
 * protoc_tree.c - protoc --decode_raw output as a tree (protoc_tree.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "protoc_tree.h"

static struct pbn *pbn_add(struct pbn *m)
{
	if (m->nkids == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 8;
		m->kids = realloc(m->kids, m->cap * sizeof(*m->kids));
		assert_non_null(m->kids);
	}
	memset(&m->kids[m->nkids], 0, sizeof(*m->kids));
	return &m->kids[m->nkids++];
}

void pbn_free(struct pbn *m)
{
	for (size_t i = 0; i < m->nkids; i++)
		pbn_free(&m->kids[i]);
	free(m->kids);
	free(m->s);
}

/* Parse one C-escaped string body starting after the opening quote. */
static const char *unescape(const char *p, struct pbn *n)
{
	size_t cap = strlen(p) + 1, len = 0;
	unsigned char *o = malloc(cap);

	assert_non_null(o);
	while (*p && *p != '"') {
		if (*p != '\\') {
			o[len++] = (unsigned char)*p++;
			continue;
		}
		p++;
		if (*p >= '0' && *p <= '7') {
			int v = 0;
			for (int k = 0; k < 3 && *p >= '0' && *p <= '7'; k++)
				v = v * 8 + (*p++ - '0');
			o[len++] = (unsigned char)v;
			continue;
		}
		switch (*p) {
		case 'n': o[len++] = '\n'; break;
		case 't': o[len++] = '\t'; break;
		case 'r': o[len++] = '\r'; break;
		default: o[len++] = (unsigned char)*p; break; /* \" \' \\ */
		}
		p++;
	}
	assert_int_equal(*p, '"');
	n->s = o;
	n->slen = len;
	return p + 1;
}

void parse_decode_raw(char *text, struct pbn *root)
{
	struct pbn *stack[64];
	int depth = 0;

	memset(root, 0, sizeof(*root));
	root->kind = 'M';
	stack[0] = root;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		while (*line == ' ')
			line++;
		if (!*line)
			continue;
		if (*line == '}') {
			assert_true(depth > 0);
			depth--;
			continue;
		}
		char *end;
		unsigned long f = strtoul(line, &end, 10);
		struct pbn *n = pbn_add(stack[depth]);
		n->field = (unsigned)f;
		if (!strcmp(end, " {")) {
			n->kind = 'M';
			assert_true(depth < 63);
			stack[++depth] = n;
			continue;
		}
		assert_int_equal(end[0], ':');
		end += 2;
		if (*end == '"') {
			n->kind = 'S';
			unescape(end + 1, n);
		} else if (!strncmp(end, "0x", 2)) {
			n->kind = 'X';
			n->u = strtoull(end + 2, NULL, 16);
			n->hexdigits = (int)strlen(end + 2);
		} else {
			n->kind = 'I';
			n->u = strtoull(end, NULL, 10);
		}
	}
	assert_int_equal(depth, 0);
}

char *run_protoc(const char *body, size_t len)
{
	char path[256], cmd[512];
	const char *tmp = getenv("TMPDIR");
	snprintf(path, sizeof(path), "%s/sr-otlp-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, body, len), (ssize_t)len);
	close(fd);
	snprintf(cmd, sizeof(cmd), "%s --decode_raw < '%s'", SR_PROTOC, path);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	size_t cap = 1 << 16, n = 0;
	char *out = malloc(cap);
	size_t k;
	while ((k = fread(out + n, 1, cap - n - 1, f)) > 0) {
		n += k;
		if (cap - n < 4096)
			out = realloc(out, cap *= 2);
	}
	out[n] = '\0';
	int st = pclose(f);
	unlink(path);
	if (st != 0)
		fail_msg("protoc --decode_raw rejected the body (status %d)", st);
	return out;
}

size_t nkid(const struct pbn *m, unsigned field)
{
	size_t c = 0;
	for (size_t i = 0; i < m->nkids; i++)
		c += m->kids[i].field == field;
	return c;
}

/* idx-th child numbered `field`, or NULL. */
const struct pbn *kid(const struct pbn *m, unsigned field, size_t idx)
{
	for (size_t i = 0; i < m->nkids; i++)
		if (m->kids[i].field == field && idx-- == 0)
			return &m->kids[i];
	return NULL;
}

const struct pbn *msg(const struct pbn *m, unsigned field, size_t idx)
{
	const struct pbn *k = kid(m, field, idx);
	if (!k)
		fail_msg("field %u[%zu] missing", field, idx);
	if (k->kind == 'S' && k->slen == 0)
		return k; /* an empty message prints as "" */
	if (k->kind != 'M')
		fail_msg("field %u[%zu]: expected a message, got '%c'", field, idx,
			 k->kind);
	return k;
}
