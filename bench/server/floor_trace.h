/*
 * floor_trace.h - the bench server's floor build (-DSRB_FLOOR): the same
 * request's tracing written out by hand with the least each step needs,
 * so a server table can say how far the library is from the floor and
 * not only from no tracing at all.
 *
 * Per request, as the library build does it: the traceparent extracted
 * from the request (tracestate and baggage looked up in the same single
 * pass over the headers; the library's own SIMD parser and formatter,
 * the least parsing and writing 55 bytes takes that we know of), a SERVER span as its child, four INTERNAL
 * children, attributes in the core's record layout (strings copied), and
 * traceparent injected into the response.  Each span's id is drawn from a
 * per-thread generator; each span ends into floor/floor.h's ring, which
 * the drainer's own loop consumes on the library's CPUs.
 *
 * Left out: sampling, scopes (parents are passed by hand), the registry
 * and stats, the carrier callbacks and every check an API makes on its
 * arguments.  What the library costs beyond this is the price of those.
 */
#ifndef SRB_FLOOR_TRACE_H
#define SRB_FLOOR_TRACE_H

#include <string.h>
#include <strings.h>

#include "floor/floor.h"
#include "ids_int.h"
#include "prop_int.h"

struct fl_ctx {
	uint8_t trace_id[16], span_id[8];
	bool valid;
};

/* The request thread's id generator (a Weyl sequence through wymix, as
 * the library's). */
static __thread uint64_t fl_weyl;

static inline uint64_t fl_draw(void)
{
	uint64_t v = sr__wymix(fl_weyl += SR__WEYL);

	return v ? v : 1;
}

static inline struct sr__span_header *fl_hdr(struct srb_floor_span *s)
{
	return (struct sr__span_header *)(void *)s->rec[0].bytes;
}

/* The span's context, as a parent for children or for injection. */
static inline void fl_context(struct srb_floor_span *s, struct fl_ctx *c)
{
	memcpy(c->trace_id, fl_hdr(s)->trace_id, 16);
	memcpy(c->span_id, fl_hdr(s)->span_id, 8);
	c->valid = true;
}

static inline void fl_start(struct srb_floor_span *s, const char *name,
			    unsigned kind, const struct fl_ctx *parent)
{
	struct sr__span_header *h = fl_hdr(s);
	uint64_t id = fl_draw();

	h->start_ns = __rdtsc();
	h->name = name;
	h->tracer = 0;
	h->bits = (uint8_t)(kind | SR__HB_TSC);
	memcpy(h->span_id, &id, 8);
	if (parent && parent->valid) {
		memcpy(h->trace_id, parent->trace_id, 16);
		memcpy(h->parent_span_id, parent->span_id, 8);
	} else {
		uint64_t hi = fl_draw(), lo = fl_draw();

		memcpy(h->trace_id, &hi, 8);
		memcpy(h->trace_id + 8, &lo, 8);
		memset(h->parent_span_id, 0, 8);
	}
}

static inline struct sr__item *fl_slot(struct srb_floor_span *s, unsigned i)
{
	return (struct sr__item *)(void *)(s->rec[0].bytes + SR__HEADER_SIZE +
					   i * SR__SLOT_SIZE);
}

static inline void fl_attr_int(struct srb_floor_span *s, unsigned slot,
			       const char *key, int64_t v, unsigned vtype)
{
	struct sr__item *it = fl_slot(s, slot);

	it->kind = SR__ITEM_ATTR;
	it->vtype = (uint8_t)vtype;
	it->key = key;
	it->v.i = v;
}

/* A copied string: its first bytes in the item, the rest in the slots
 * after it.  Returns the slots it took. */
static inline unsigned fl_attr_str(struct srb_floor_span *s, unsigned slot,
				   const char *key, const char *v, size_t len)
{
	struct sr__item *it = fl_slot(s, slot);
	unsigned n = sr__str_slots((uint32_t)len);

	if (slot + n > (SRB_FLOOR_MAX_RECS - 1) * SR__RECORD_SLOTS)
		return 0; /* does not fit: the attribute is left out */
	it->kind = SR__ITEM_ATTR;
	it->vtype = SR_ATTR_STRING;
	it->len = (uint32_t)len;
	it->key = key;
	memcpy(it->inl, v, len);
	return n;
}

/* One pass over the request's headers for all three names. */
static inline void fl_extract(const struct request *rq, struct fl_ctx *c,
			      const struct header **tracestate,
			      const struct header **baggage)
{
	c->valid = false;
	*tracestate = *baggage = NULL;
	for (int i = 0; i < rq->nh; i++) {
		const struct header *h = &rq->h[i];

		/* All three names start with a letter whose case bit is
		 * 0x20: one compare rules most headers out. */
		if ((h->name[0] | 0x20) != 't' && (h->name[0] | 0x20) != 'b')
			continue;
		if (h->name_len == 11 && strncasecmp(h->name, "traceparent", 11) == 0) {
			struct sr__ids ids;

			c->valid = sr__traceparent_parse(h->value, h->value_len,
							 &ids) == SR__PR_OK;
			memcpy(c->trace_id, ids.trace_id, 16);
			memcpy(c->span_id, ids.span_id, 8);
		}
		else if (h->name_len == 10 && strncasecmp(h->name, "tracestate", 10) == 0)
			*tracestate = h;
		else if (h->name_len == 7 && strncasecmp(h->name, "baggage", 7) == 0)
			*baggage = h;
	}
}

/* "traceparent: 00-<trace id>-<span id>-01\r\n" into the response. */
static inline void fl_inject(struct conn *c, const struct fl_ctx *ctx)
{
	sr_context_t sc;
	char *p;

	if (c->out_len + 13 + 55 + 2 > OUT_CAP)
		return;
	memcpy(sc.trace_id, ctx->trace_id, 16);
	memcpy(sc.span_id, ctx->span_id, 8);
	sc.trace_flags = SR_TRACE_FLAG_SAMPLED;
	p = c->out + c->out_len;
	memcpy(p, "traceparent: ", 13);
	sr__traceparent_format(&sc, p + 13);
	memcpy(p + 13 + 55, "\r\n", 2);
	c->out_len += 13 + 55 + 2;
}

#endif /* SRB_FLOOR_TRACE_H */
