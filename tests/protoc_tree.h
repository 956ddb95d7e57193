/*
 * protoc_tree.h - protobuf bodies decoded by `protoc --decode_raw` (a real
 * decoder that knows nothing of our code), as a tree the OTLP tests walk
 * field by field.  cmocka tests only: failures are cmocka failures.
 */
#ifndef SR_PROTOC_TREE_H
#define SR_PROTOC_TREE_H

#include <stddef.h>
#include <stdint.h>

struct pbn {
	unsigned field;
	char kind;             /* 'S' bytes, 'I' varint, 'X' fixed hex, 'M' message */
	unsigned char *s;
	size_t slen;
	uint64_t u;
	int hexdigits;
	struct pbn *kids;
	size_t nkids, cap;
};

/* Parse protoc's text (modified in place) into root. */
void parse_decode_raw(char *text, struct pbn *root);
/* Run protoc --decode_raw on the body; its text, malloc'd. */
char *run_protoc(const char *body, size_t len);
void pbn_free(struct pbn *m);
/* Children numbered `field`. */
size_t nkid(const struct pbn *m, unsigned field);
/* idx-th child numbered `field`, or NULL. */
const struct pbn *kid(const struct pbn *m, unsigned field, size_t idx);
/* The same, which must be there and be a message. */
const struct pbn *msg(const struct pbn *m, unsigned field, size_t idx);

#endif /* SR_PROTOC_TREE_H */
