/*
 * test_null_args.c - the API's one rule for pointer arguments (spanring.h,
 * "Pointer arguments"), checked for every public call and every pointer
 * argument it takes.
 *
 * Off the hot path, a NULL pointer is SR_EINVAL (with sr_last_error()
 * naming the call and the argument) or, for a call that returns no code,
 * the documented no-op.  The fast paths' one precondition (a non-NULL
 * span) is an assert() in a build without NDEBUG, which this file is.
 * A NULL string value is the empty string everywhere, length 0 whatever
 * length came with it.
 *
 * Each row runs in a child process of its own, so a crash names its row
 * instead of ending the table; the suite runs it under ASan + UBSan too.
 */
#undef NDEBUG
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <fcntl.h>

#include "testutil.h"

/* What every row may use: a running pipeline (memory exporter) and one
 * recording span with its context. */
static sr_span_t span;
static sr_context_t ctx;
static sr_propagator_t *prop;
static char buf[256];
static size_t len;

static void fixture(void)
{
	if (sr_test_init_memory(NULL) != 0)
		_exit(90);
	sr_span_start(&span, NULL, "row", SR_KIND_INTERNAL);
	ctx = sr_span_context(&span);
	if (sr_propagator_create("tracecontext,baggage", &prop) != 0)
		_exit(91);
}

/* Error text of a rejected NULL: names the call and the argument. */
static bool says(const char *call, const char *arg)
{
	const char *e = sr_last_error();

	return strstr(e, call) && strstr(e, arg) && strstr(e, "NULL");
}

static const char *get_none(void *c, const char *k, size_t *l)
{
	(void)c;
	(void)k;
	(void)l;
	return NULL;
}
static void set_none(void *c, const char *k, const char *v, size_t l)
{
	(void)c;
	(void)k;
	(void)v;
	(void)l;
}
static int visit_none(void *ud, const sr_baggage_entry_t *e)
{
	(void)ud;
	(void)e;
	return 0;
}
static const sr_carrier_getter_t getter = { get_none, NULL };

/* An exporter that tries the batch calls with NULLs from export_batch. */
static int batch_rc_span = 1, batch_resource_null;
static int x_create(void *ud, const sr_config_t *c, void **st, char *e, size_t el)
{
	(void)ud; (void)c; (void)e; (void)el;
	*st = NULL;
	return 0;
}
static int x_export(void *st, const sr_batch_t *b, uint64_t *rej)
{
	uint32_t n = 7;

	(void)st; (void)rej;
	batch_rc_span = sr_batch_span(b, 0, NULL);
	sr_batch_report_error(b, 0, -1, NULL);
	batch_resource_null = sr_batch_resource(b, NULL) == NULL &&
			      sr_batch_resource(NULL, &n) == NULL && n == 0;
	return 0;
}
static void x_destroy(void *st, uint32_t t)
{
	(void)st; (void)t;
}

/* A processor that tries the processor calls with NULLs from process():
 * proc_ok counts the checks that held, proc_checks how many there are. */
static int proc_ok = -1;
#define PROC_CHECKS 21
static int p_init(void *ud, const sr_config_t *c, void **st, char *e, size_t el)
{
	(void)ud; (void)c; (void)e; (void)el;
	*st = NULL;
	return 0;
}
static void p_process(void *st, sr_proc_batch_t *pb)
{
	sr_span_data_t d = { .size = sizeof(d) };
	uint32_t n = 3;
	int ok = 0;

	(void)st;
	ok += sr_proc_count(NULL) == 0 && says("sr_proc_count", "pb");
	ok += sr_proc_span(NULL, 0, &d) == SR_EINVAL && says("sr_proc_span", "pb");
	ok += sr_proc_span(pb, 0, NULL) == SR_EINVAL && says("sr_proc_span", "out");
	ok += sr_proc_span_head(NULL, 0, &d) == SR_EINVAL && says("sr_proc_span_head", "pb");
	ok += sr_proc_span_head(pb, 0, NULL) == SR_EINVAL && says("sr_proc_span_head", "out");
	ok += sr_proc_span_set(NULL, 0, &d) == SR_EINVAL && says("sr_proc_span_set", "pb");
	ok += sr_proc_span_set(pb, 0, NULL) == SR_EINVAL && says("sr_proc_span_set", "span");
	ok += sr_proc_alloc(NULL, 8) == NULL && says("sr_proc_alloc", "pb");
	ok += sr_proc_drop(NULL, 0, "r") == SR_EINVAL && says("sr_proc_drop", "pb");
	ok += sr_proc_drop(pb, 0, NULL) == SR_EINVAL && says("sr_proc_drop", "rule");
	sr_proc_note(NULL, "r", 1);
	ok += says("sr_proc_note", "pb");
	sr_proc_note(pb, NULL, 1);
	ok += says("sr_proc_note", "rule");
	ok += sr_proc_resource(NULL, &n) == NULL && n == 0 && says("sr_proc_resource", "pb");
	ok += sr_proc_resource(pb, NULL) == NULL && says("sr_proc_resource", "count");
	ok += sr_proc_hold_size(NULL, 0) == 0 && says("sr_proc_hold_size", "pb");
	ok += sr_proc_hold(pb, 0, NULL, 64) == 0 && says("sr_proc_hold", "dst");
	ok += sr_proc_emit(NULL, &d) == SR_EINVAL && says("sr_proc_emit", "pb");
	ok += sr_proc_emit(pb, NULL) == SR_EINVAL && says("sr_proc_emit", "held");
	sr_proc_drop_held(pb, NULL, 1);
	ok += says("sr_proc_drop_held", "rule");
	ok += sr_proc_now(NULL) == 0 && says("sr_proc_now", "pb");
	/* nothing of the above touched the batch */
	ok += sr_proc_count(pb) == 1 && sr_proc_span(pb, 0, &d) == 0;
	if (proc_ok < 0)
		proc_ok = ok;
}
static void p_shutdown(void *st)
{
	(void)st;
}

/* One row: the call with one NULL, and what must come of it. */
#define ROW(name, ...) static bool name(void) { __VA_ARGS__ }
#define EINVAL_(call) return (call) == SR_EINVAL;
#define EINVAL_SAYS(call, fn, arg) return (call) == SR_EINVAL && says(fn, arg);

ROW(config_init_cfg, sr_config_init(NULL); return true;)
ROW(config_from_env_cfg, EINVAL_SAYS(sr_config_from_env(NULL), "sr_config_from_env", "cfg"))
ROW(init_cfg, sr_shutdown(1000, NULL); EINVAL_SAYS(sr_init(NULL), "sr_init", "cfg"))
ROW(flush_pending, return sr_flush(1000, NULL) == 0;)
ROW(shutdown_lost, return sr_shutdown(1000, NULL) == 0;)
ROW(tracer_get_name, return sr_tracer_get(NULL, NULL) != NULL;)
ROW(context_is_valid_ctx, return !sr_context_is_valid(NULL);)
ROW(trace_id_hex_ctx, buf[0] = 'x'; sr_context_trace_id_hex(NULL, buf);
    return buf[0] == '\0' && says("sr_context_trace_id_hex", "ctx");)
ROW(trace_id_hex_out, sr_context_trace_id_hex(&ctx, NULL);
    return says("sr_context_trace_id_hex", "out");)
ROW(span_id_hex_ctx, buf[0] = 'x'; sr_context_span_id_hex(NULL, buf);
    return buf[0] == '\0' && says("sr_context_span_id_hex", "ctx");)
ROW(span_id_hex_out, sr_context_span_id_hex(&ctx, NULL);
    return says("sr_context_span_id_hex", "out");)
ROW(set_attrs_span, sr_attr_t a = SR_ATTR_INT_("k", 1);
    sr_span_set_attrs(NULL, &a, 1); return says("sr_span_set_attrs", "span");)
ROW(set_attrs_attrs, sr_span_set_attrs(&span, NULL, 5);
    return says("sr_span_set_attrs", "attrs");)
ROW(add_event_attrs, sr_span_add_event(&span, "e", 0, NULL, 5);
    return says("sr_span_add_event", "attrs");)
ROW(set_array_span, static const int64_t v[1] = { 1 };
    sr_array_t arr = { .type = SR_ATTR_INT, .count = 1, .v.i = v };
    sr_span_set_array(NULL, "k", &arr); return says("sr_span_set_array", "span");)
ROW(set_array_arr, sr_span_set_array(&span, "k", NULL);
    return says("sr_span_set_array", "arr");)
ROW(set_array_no_elements, sr_array_t arr = { .type = SR_ATTR_INT, .count = 3 };
    sr_span_set_array(&span, "k", &arr); sr_span_end(&span); return true;)
ROW(headers_init_h, sr_header_t f[1] = { { "a", 1, "b", 1 } };
    EINVAL_(sr_headers_init(NULL, f, 1)))
ROW(headers_init_fields, sr_headers_t h;
    EINVAL_(sr_headers_init(&h, NULL, 2)))
ROW(headers_init_empty, sr_headers_t h;
    return sr_headers_init(&h, NULL, 0) == 0;)
ROW(add_event_name, sr_span_add_event(&span, NULL, 0, NULL, 0); return true;)
ROW(add_link_span, sr_span_add_link(NULL, &ctx, NULL, 0);
    return says("sr_span_add_link", "span");)
ROW(add_link_ctx, sr_span_add_link(&span, NULL, NULL, 0);
    return says("sr_span_add_link", "ctx");)
ROW(add_link_attrs, sr_span_add_link(&span, &ctx, NULL, 5);
    return says("sr_span_add_link", "attrs");)
ROW(set_status_span, sr_span_set_status(NULL, SR_STATUS_ERROR, "m");
    return says("sr_span_set_status", "span");)
ROW(set_status_message, sr_span_set_status(&span, SR_STATUS_ERROR, NULL); return true;)
ROW(record_error_span, sr_span_record_error(NULL, "t", "m");
    return says("sr_span_record_error", "span");)
ROW(record_error_strings, sr_span_record_error(&span, NULL, NULL); return true;)
ROW(update_name_span, sr_span_update_name(NULL, "n");
    return says("sr_span_update_name", "span");)
ROW(update_name_name, sr_span_update_name(&span, NULL); return true;)
ROW(span_context_span, sr_context_t c = sr_span_context(NULL);
    return !sr_context_is_valid(&c) && says("sr_span_context", "span");)
ROW(is_recording_span, return !sr_span_is_recording(NULL) &&
    says("sr_span_is_recording", "span");)
ROW(span_start_tracer_name, sr_span_t s; sr_span_start(&s, NULL, NULL, SR_KIND_CLIENT);
    sr_span_end(&s); return true;)
ROW(span_start_ex_parent, sr_span_t s;
    sr_span_start_ex(&s, NULL, NULL, SR_KIND_CLIENT, NULL, 0, 0);
    sr_span_end(&s); return true;)
ROW(set_str_value, sr_span_set_str(&span, "k", NULL);
    sr_span_set_strn(&span, "k", NULL, 200);
    sr_span_set_str_static(&span, "k", NULL); return true;)
ROW(set_key, sr_span_set_int(&span, NULL, 1); return true;)
ROW(scope_enter_span, sr_scope_t sc = sr_scope_enter(NULL);
    return says("sr_scope_enter", "span") && sr_scope_exit(sc) == SR_ESCOPE;)
ROW(scope_enter_ctx_ctx, sr_scope_t sc = sr_scope_enter_ctx(NULL);
    return says("sr_scope_enter_ctx", "ctx") && sr_scope_exit(sc) == SR_ESCOPE;)
ROW(context_current_out, EINVAL_SAYS(sr_context_current(NULL), "sr_context_current", "out"))
ROW(scope_stack_save, sr_scope_stack_save(NULL); return says("sr_scope_stack_save", "saved");)
ROW(scope_stack_restore, sr_scope_stack_restore(NULL);
    return says("sr_scope_stack_restore", "saved");)
ROW(stats_get_out, EINVAL_(sr_stats_get(NULL)))
ROW(stats_foreach_ring_cb, EINVAL_(sr_stats_foreach_ring(NULL, NULL)))
ROW(stats_exporter_out, EINVAL_(sr_stats_exporter(0, NULL)))
ROW(stats_to_json_st, EINVAL_(sr_stats_to_json(NULL, buf, sizeof(buf))))
ROW(stats_to_json_buf, sr_stats_t st = { .size = sizeof(st) };
    sr_stats_get(&st);
    return sr_stats_to_json(&st, NULL, 0) > 0 &&
	   sr_stats_to_json(&st, NULL, 10) == SR_EINVAL;)
ROW(batch_count_batch, return sr_batch_count(NULL) == 0;)
ROW(batch_span_batch, sr_span_data_t d = { .size = sizeof(d) };
    EINVAL_(sr_batch_span(NULL, 0, &d)))
ROW(batch_resource_batch, uint32_t n = 3;
    return sr_batch_resource(NULL, &n) == NULL && n == 0;)
/* Never fails: a NULL batch is ignored, a NULL message is empty. */
ROW(batch_report_error_args,
    sr_batch_report_error(NULL, 500, -1, "x");
    sr_batch_report_error(NULL, 500, -1, NULL);
    return true;)
ROW(batch_calls_out,
    sr_exporter_ops_t ops = { .size = sizeof(ops), .abi_version = SR_EXPORTER_ABI_VERSION,
			      .name = "nullcheck", .create = x_create,
			      .export_batch = x_export, .destroy = x_destroy };
    sr_config_t cfg;
    sr_shutdown(1000, NULL);
    if (sr_exporter_register(&ops, NULL) != 0) return false;
    sr_config_init(&cfg); cfg.exporters = "nullcheck";
    if (sr_init(&cfg) != 0) return false;
    sr_span_t s; sr_span_start(&s, NULL, "b", SR_KIND_INTERNAL); sr_span_end(&s);
    sr_flush(5000, NULL);
    return batch_rc_span == SR_EINVAL && batch_resource_null;)
ROW(exporter_register_ops, EINVAL_(sr_exporter_register(NULL, NULL)))
ROW(processor_register_ops, EINVAL_SAYS(sr_processor_register(NULL, NULL),
					"sr_processor_register", "ops"))
ROW(stats_processor_out, EINVAL_SAYS(sr_stats_processor(0, NULL),
				     "sr_stats_processor", "out"))
ROW(proc_calls,
    sr_processor_ops_t ops = { .size = sizeof(ops), .abi_version = SR_PROCESSOR_ABI_VERSION,
			       .name = "nullcheck_p", .init = p_init,
			       .process = p_process, .shutdown = p_shutdown };
    sr_config_t cfg;
    sr_shutdown(1000, NULL);
    if (sr_processor_register(&ops, NULL) != 0) return false;
    sr_config_init(&cfg); cfg.exporters = "memory"; cfg.processors = "nullcheck_p";
    if (sr_init(&cfg) != 0) return false;
    sr_span_t s; sr_span_start(&s, NULL, "p", SR_KIND_INTERNAL); sr_span_end(&s);
    sr_flush(5000, NULL);
    return proc_ok == PROC_CHECKS && sr_memory_count() == 1;)
ROW(memory_get, sr_flush(1000, NULL); return sr_memory_get(1u << 30) == NULL;)
ROW(otlp_stats_out, int rc = sr_otlp_stats_get(NULL);
    return rc == SR_EINVAL || rc == SR_ENOTFOUND;)
ROW(propagation_stats_out, EINVAL_(sr_propagation_stats_get(NULL)))
ROW(propagator_create_names, sr_propagator_t *p = NULL;
    EINVAL_(sr_propagator_create(NULL, &p)))
ROW(propagator_create_out, EINVAL_(sr_propagator_create("tracecontext", NULL)))
ROW(propagator_destroy, sr_propagator_destroy(NULL); return true;)
ROW(propagator_formats, return sr_propagator_formats(NULL) == 0;)
ROW(inject_p, sr_propagator_inject(NULL, &ctx, buf, set_none); return true;)
ROW(inject_ctx, sr_propagator_inject(prop, NULL, buf, set_none); return true;)
ROW(inject_set, sr_propagator_inject(prop, &ctx, buf, NULL); return true;)
ROW(extract_p, sr_context_t c; EINVAL_(sr_propagator_extract(NULL, buf, &getter, &c)))
ROW(extract_getter, sr_context_t c; EINVAL_(sr_propagator_extract(prop, buf, NULL, &c)))
ROW(extract_getter_get, sr_context_t c; sr_carrier_getter_t g = { NULL, NULL };
    EINVAL_(sr_propagator_extract(prop, buf, &g, &c)))
ROW(extract_out, EINVAL_(sr_propagator_extract(prop, buf, &getter, NULL)))
ROW(extract_ex_info, sr_context_t c;
    return sr_propagator_extract_ex(prop, buf, &getter, &c, NULL) == SR_ENOTFOUND;)
ROW(tracestate_ctx, EINVAL_(sr_context_tracestate(NULL, buf, sizeof(buf), &len)))
ROW(tracestate_buf_len, int rc = sr_context_tracestate(&ctx, NULL, 0, NULL);
    return rc == SR_ENOTFOUND;)
ROW(tracestate_get_ctx, EINVAL_(sr_context_tracestate_get(NULL, "k", buf, sizeof(buf), &len)))
ROW(tracestate_get_key, EINVAL_(sr_context_tracestate_get(&ctx, NULL, buf, sizeof(buf), &len)))
ROW(tracestate_set_in, sr_context_t o; EINVAL_(sr_context_tracestate_set(NULL, "k", "v", &o)))
ROW(tracestate_set_key, sr_context_t o; EINVAL_(sr_context_tracestate_set(&ctx, NULL, "v", &o)))
ROW(tracestate_set_value, sr_context_t o; EINVAL_(sr_context_tracestate_set(&ctx, "k", NULL, &o)))
ROW(tracestate_set_out, EINVAL_(sr_context_tracestate_set(&ctx, "k", "v", NULL)))
ROW(tracestate_delete_in, sr_context_t o; EINVAL_(sr_context_tracestate_delete(NULL, "k", &o)))
ROW(tracestate_delete_key, sr_context_t o; EINVAL_(sr_context_tracestate_delete(&ctx, NULL, &o)))
ROW(tracestate_delete_out, EINVAL_(sr_context_tracestate_delete(&ctx, "k", NULL)))
ROW(tracestate_parse_in, sr_context_t o; EINVAL_(sr_context_tracestate_parse(NULL, "k=v", 3, &o)))
ROW(tracestate_parse_header, sr_context_t o;
    EINVAL_(sr_context_tracestate_parse(&ctx, NULL, 3, &o)))
ROW(tracestate_parse_out, EINVAL_(sr_context_tracestate_parse(&ctx, "k=v", 3, NULL)))
ROW(baggage_get_ctx, EINVAL_(sr_baggage_get(NULL, "k", buf, sizeof(buf), &len)))
ROW(baggage_get_key, EINVAL_(sr_baggage_get(&ctx, NULL, buf, sizeof(buf), &len)))
ROW(baggage_set_in, sr_context_t o; EINVAL_(sr_baggage_set(NULL, "k", "v", 1, NULL, &o)))
ROW(baggage_set_key, sr_context_t o; EINVAL_(sr_baggage_set(&ctx, NULL, "v", 1, NULL, &o)))
ROW(baggage_set_value, sr_context_t o; EINVAL_(sr_baggage_set(&ctx, "k", NULL, 1, NULL, &o)))
ROW(baggage_set_out, EINVAL_(sr_baggage_set(&ctx, "k", "v", 1, NULL, NULL)))
ROW(baggage_remove_in, sr_context_t o; EINVAL_(sr_baggage_remove(NULL, "k", &o)))
ROW(baggage_remove_key, sr_context_t o; EINVAL_(sr_baggage_remove(&ctx, NULL, &o)))
ROW(baggage_remove_out, EINVAL_(sr_baggage_remove(&ctx, "k", NULL)))
ROW(baggage_count_ctx, return sr_baggage_count(NULL) == 0;)
ROW(baggage_foreach_ctx, EINVAL_(sr_baggage_foreach(NULL, visit_none, NULL)))
ROW(baggage_foreach_cb, EINVAL_(sr_baggage_foreach(&ctx, NULL, NULL)))

/* The fast paths' precondition: an assert, so a debug build stops at
 * the call that broke it instead of somewhere later. */
static bool aborts(void (*call)(void))
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		dup2(devnull, 2); /* the assert's message is expected */
		call();
		_exit(0);
	}
	waitpid(pid, &st, 0);
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}
static void fp_start(void) { sr_span_start(NULL, NULL, "n", SR_KIND_INTERNAL); }
static void fp_start_ex(void) { sr_span_start_ex(NULL, NULL, "n", SR_KIND_INTERNAL, NULL, 0, 0); }
static void fp_bool(void) { sr_span_set_bool(NULL, "k", true); }
static void fp_int(void) { sr_span_set_int(NULL, "k", 1); }
static void fp_double(void) { sr_span_set_double(NULL, "k", 1.0); }
static void fp_str(void) { sr_span_set_str(NULL, "k", "v"); }
static void fp_strn(void) { sr_span_set_strn(NULL, "k", "v", 1); }
static void fp_str_static(void) { sr_span_set_str_static(NULL, "k", "v"); }
static void fp_event(void) { sr_span_add_event(NULL, "e", 0, NULL, 0); }
static void fp_end(void) { sr_span_end(NULL); }
static void fp_end_at(void) { sr_span_end_at(NULL, 0); }
static void fp_is_sampled(void) { (void)sr_context_is_sampled(NULL); }
ROW(fast_paths_assert_span,
    void (*fp[])(void) = { fp_start, fp_start_ex, fp_bool, fp_int, fp_double,
			   fp_str, fp_strn, fp_str_static, fp_event, fp_end,
			   fp_end_at, fp_is_sampled };
    for (size_t i = 0; i < sizeof(fp) / sizeof(fp[0]); i++)
	    if (!aborts(fp[i])) { fprintf(stderr, "fast path %zu did not assert\n", i); return false; }
    return true;)

/* Each row: the call it is for (the symbol list's name) and the row. */
static const struct row {
	const char *call;
	const char *name;
	bool (*run)(void);
} rows[] = {
	{ "sr_config_init", "config_init_cfg", config_init_cfg },
	{ "sr_config_from_env", "config_from_env_cfg", config_from_env_cfg },
	{ "sr_init", "init_cfg", init_cfg },
	{ "sr_flush", "flush_pending", flush_pending },
	{ "sr_shutdown", "shutdown_lost", shutdown_lost },
	{ "sr_tracer_get", "tracer_get_name", tracer_get_name },
	{ "sr_context_is_valid", "context_is_valid_ctx", context_is_valid_ctx },
	{ "sr_context_trace_id_hex", "trace_id_hex_ctx", trace_id_hex_ctx },
	{ "sr_context_trace_id_hex", "trace_id_hex_out", trace_id_hex_out },
	{ "sr_context_span_id_hex", "span_id_hex_ctx", span_id_hex_ctx },
	{ "sr_context_span_id_hex", "span_id_hex_out", span_id_hex_out },
	{ "sr_span_set_attrs", "set_attrs_span", set_attrs_span },
	{ "sr_span_set_attrs", "set_attrs_attrs", set_attrs_attrs },
	{ "sr_span_add_event", "add_event_attrs", add_event_attrs },
	{ "sr_span_add_event", "add_event_name", add_event_name },
	{ "sr_span_set_array", "set_array_span", set_array_span },
	{ "sr_span_set_array", "set_array_arr", set_array_arr },
	{ "sr_span_set_array", "set_array_no_elements", set_array_no_elements },
	{ "sr_headers_init", "headers_init_h", headers_init_h },
	{ "sr_headers_init", "headers_init_fields", headers_init_fields },
	{ "sr_headers_init", "headers_init_empty", headers_init_empty },
	{ "sr_span_add_link", "add_link_span", add_link_span },
	{ "sr_span_add_link", "add_link_ctx", add_link_ctx },
	{ "sr_span_add_link", "add_link_attrs", add_link_attrs },
	{ "sr_span_set_status", "set_status_span", set_status_span },
	{ "sr_span_set_status", "set_status_message", set_status_message },
	{ "sr_span_record_error", "record_error_span", record_error_span },
	{ "sr_span_record_error", "record_error_strings", record_error_strings },
	{ "sr_span_update_name", "update_name_span", update_name_span },
	{ "sr_span_update_name", "update_name_name", update_name_name },
	{ "sr_span_context", "span_context_span", span_context_span },
	{ "sr_span_is_recording", "is_recording_span", is_recording_span },
	{ "sr_span_start", "span_start_tracer_name", span_start_tracer_name },
	{ "sr_span_start_ex", "span_start_ex_parent", span_start_ex_parent },
	{ "sr_span_set_str", "set_str_value", set_str_value },
	{ "sr_span_set_strn", "set_str_value", set_str_value },
	{ "sr_span_set_str_static", "set_str_value", set_str_value },
	{ "sr_span_set_int", "set_key", set_key },
	{ "sr_scope_enter", "scope_enter_span", scope_enter_span },
	{ "sr_scope_enter_ctx", "scope_enter_ctx_ctx", scope_enter_ctx_ctx },
	{ "sr_scope_exit", "scope_enter_span", scope_enter_span },
	{ "sr_context_current", "context_current_out", context_current_out },
	{ "sr_scope_stack_save", "scope_stack_save", scope_stack_save },
	{ "sr_scope_stack_restore", "scope_stack_restore", scope_stack_restore },
	{ "sr_stats_get", "stats_get_out", stats_get_out },
	{ "sr_stats_foreach_ring", "stats_foreach_ring_cb", stats_foreach_ring_cb },
	{ "sr_stats_exporter", "stats_exporter_out", stats_exporter_out },
	{ "sr_stats_to_json", "stats_to_json_st", stats_to_json_st },
	{ "sr_stats_to_json", "stats_to_json_buf", stats_to_json_buf },
	{ "sr_batch_count", "batch_count_batch", batch_count_batch },
	{ "sr_batch_span", "batch_span_batch", batch_span_batch },
	{ "sr_batch_resource", "batch_resource_batch", batch_resource_batch },
	{ "sr_batch_report_error", "batch_report_error_args", batch_report_error_args },
	{ "sr_batch_span", "batch_calls_out", batch_calls_out },
	{ "sr_exporter_register", "exporter_register_ops", exporter_register_ops },
	{ "sr_processor_register", "processor_register_ops", processor_register_ops },
	{ "sr_stats_processor", "stats_processor_out", stats_processor_out },
	{ "sr_proc_count", "proc_calls", proc_calls },
	{ "sr_proc_span", "proc_calls", proc_calls },
	{ "sr_proc_span_head", "proc_calls", proc_calls },
	{ "sr_proc_span_set", "proc_calls", proc_calls },
	{ "sr_proc_alloc", "proc_calls", proc_calls },
	{ "sr_proc_drop", "proc_calls", proc_calls },
	{ "sr_proc_note", "proc_calls", proc_calls },
	{ "sr_proc_resource", "proc_calls", proc_calls },
	{ "sr_proc_hold_size", "proc_calls", proc_calls },
	{ "sr_proc_hold", "proc_calls", proc_calls },
	{ "sr_proc_emit", "proc_calls", proc_calls },
	{ "sr_proc_drop_held", "proc_calls", proc_calls },
	{ "sr_proc_now", "proc_calls", proc_calls },
	{ "sr_memory_get", "memory_get", memory_get },
	{ "sr_otlp_stats_get", "otlp_stats_out", otlp_stats_out },
	{ "sr_propagation_stats_get", "propagation_stats_out", propagation_stats_out },
	{ "sr_propagator_create", "propagator_create_names", propagator_create_names },
	{ "sr_propagator_create", "propagator_create_out", propagator_create_out },
	{ "sr_propagator_destroy", "propagator_destroy", propagator_destroy },
	{ "sr_propagator_formats", "propagator_formats", propagator_formats },
	{ "sr_propagator_inject", "inject_p", inject_p },
	{ "sr_propagator_inject", "inject_ctx", inject_ctx },
	{ "sr_propagator_inject", "inject_set", inject_set },
	{ "sr_propagator_extract", "extract_p", extract_p },
	{ "sr_propagator_extract", "extract_getter", extract_getter },
	{ "sr_propagator_extract", "extract_getter_get", extract_getter_get },
	{ "sr_propagator_extract", "extract_out", extract_out },
	{ "sr_propagator_extract_ex", "extract_ex_info", extract_ex_info },
	{ "sr_context_tracestate", "tracestate_ctx", tracestate_ctx },
	{ "sr_context_tracestate", "tracestate_buf_len", tracestate_buf_len },
	{ "sr_context_tracestate_get", "tracestate_get_ctx", tracestate_get_ctx },
	{ "sr_context_tracestate_get", "tracestate_get_key", tracestate_get_key },
	{ "sr_context_tracestate_set", "tracestate_set_in", tracestate_set_in },
	{ "sr_context_tracestate_set", "tracestate_set_key", tracestate_set_key },
	{ "sr_context_tracestate_set", "tracestate_set_value", tracestate_set_value },
	{ "sr_context_tracestate_set", "tracestate_set_out", tracestate_set_out },
	{ "sr_context_tracestate_delete", "tracestate_delete_in", tracestate_delete_in },
	{ "sr_context_tracestate_delete", "tracestate_delete_key", tracestate_delete_key },
	{ "sr_context_tracestate_delete", "tracestate_delete_out", tracestate_delete_out },
	{ "sr_context_tracestate_parse", "tracestate_parse_in", tracestate_parse_in },
	{ "sr_context_tracestate_parse", "tracestate_parse_header", tracestate_parse_header },
	{ "sr_context_tracestate_parse", "tracestate_parse_out", tracestate_parse_out },
	{ "sr_baggage_get", "baggage_get_ctx", baggage_get_ctx },
	{ "sr_baggage_get", "baggage_get_key", baggage_get_key },
	{ "sr_baggage_set", "baggage_set_in", baggage_set_in },
	{ "sr_baggage_set", "baggage_set_key", baggage_set_key },
	{ "sr_baggage_set", "baggage_set_value", baggage_set_value },
	{ "sr_baggage_set", "baggage_set_out", baggage_set_out },
	{ "sr_baggage_remove", "baggage_remove_in", baggage_remove_in },
	{ "sr_baggage_remove", "baggage_remove_key", baggage_remove_key },
	{ "sr_baggage_remove", "baggage_remove_out", baggage_remove_out },
	{ "sr_baggage_count", "baggage_count_ctx", baggage_count_ctx },
	{ "sr_baggage_foreach", "baggage_foreach_ctx", baggage_foreach_ctx },
	{ "sr_baggage_foreach", "baggage_foreach_cb", baggage_foreach_cb },
	{ "sr_span_set_bool", "fast_paths_assert_span", fast_paths_assert_span },
	{ "sr_span_set_double", "fast_paths_assert_span", fast_paths_assert_span },
	{ "sr_span_end", "fast_paths_assert_span", fast_paths_assert_span },
	{ "sr_span_end_at", "fast_paths_assert_span", fast_paths_assert_span },
};

/* Each row in its own process: exit 0 if the row held, and the span,
 * ended afterwards, still exports cleanly. */
static int run_row(const struct row *r)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		alarm(60);
		fixture();
		if (!r->run())
			_exit(1);
		sr_span_end(&span);
		sr_propagator_destroy(prop);
		int rc = sr_shutdown(5000, NULL);

		_exit(rc == 0 || rc == SR_ESTATE ? 0 : 2);
	}
	waitpid(pid, &st, 0);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFSIGNALED(st))
		fprintf(stderr, "row %s: killed by signal %d\n", r->name, WTERMSIG(st));
	else
		fprintf(stderr, "row %s: exit %d (1: the rule did not hold)\n", r->name,
			WEXITSTATUS(st));
	return 1;
}

static void test_every_call_with_each_pointer_null(void **state)
{
	int failed = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		bool ran = false;

		for (size_t j = 0; j < i; j++)
			ran |= rows[j].run == rows[i].run; /* one row, several calls */
		if (!ran)
			failed += run_row(&rows[i]);
	}
	assert_int_equal(failed, 0);
}

/* Every exported name of the API is in the table above: a call added to
 * core/spanring.sym without a row here fails this. */
static void test_table_covers_the_symbol_list(void **state)
{
	static const char *not_pointer_calls[] = {
		"sr_init_from_env", "sr_is_running", "sr_last_error",
		"sr_headers_getter", "sr_memory_clear", "sr_memory_count", "sr_memory_overflow",
		"sr_now_ns", "sr_otlp_fail_name", "sr_propagator_from_env",
		"sr_strerror", "sr_thread_register", "sr_version", NULL
	};
	FILE *f = fopen(SR_SYMBOL_LIST, "r");
	char line[128];
	int missing = 0;

	(void)state;
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		bool found = false;

		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "sr_", 3) != 0 || line[3] == '_')
			continue; /* comments; the sr__ entry points are the fast
				     paths' (their row: fast_paths_assert_span) */
		for (const char **n = not_pointer_calls; *n; n++)
			found |= !strcmp(*n, line);
		for (size_t i = 0; !found && i < sizeof(rows) / sizeof(rows[0]); i++)
			found = !strcmp(rows[i].call, line);
		if (!found) {
			fprintf(stderr, "no NULL row for %s\n", line);
			missing++;
		}
	}
	fclose(f);
	assert_int_equal(missing, 0);
}

/* A NULL string value is "" with length 0 in every form that takes a
 * length (the length must not be read from wherever "" lives). */
static void check_empty(const sr_attr_view_t *a, uint32_t n, const char *key)
{
	for (uint32_t i = 0; i < n; i++)
		if (!strncmp(a[i].key.ptr, key, a[i].key.len) &&
		    strlen(key) == a[i].key.len) {
			assert_int_equal(a[i].type, SR_ATTR_STRING);
			assert_int_equal(a[i].v.s.len, 0);
			return;
		}
	fail_msg("attribute %s missing", key);
}

static void test_null_string_value_is_empty(void **state)
{
	sr_attr_t a[] = { SR_ATTR_STRN_("copied", NULL, 200),
			  SR_ATTR_STR_STATIC_("kept", NULL) };
	sr_span_t s;
	sr_context_t c;
	const sr_span_data_t *d;

	(void)state;
	a[1].len = 200; /* a caller that filled the struct by hand */
	assert_int_equal(sr_test_init_memory(NULL), 0);
	sr_span_start(&s, NULL, "nullstr", SR_KIND_INTERNAL);
	c = sr_span_context(&s);
	sr_span_set_attrs(&s, a, 2);
	sr_span_add_event(&s, "ev", 0, a, 2);
	sr_span_add_link(&s, &c, a, 2);
	sr_span_set_strn(&s, "strn", NULL, 200);
	sr_span_end(&s);
	assert_int_equal(sr_flush(5000, NULL), 0);
	assert_non_null(d = sr_test_find_span("nullstr"));
	check_empty(d->attrs, d->attr_count, "copied");
	check_empty(d->attrs, d->attr_count, "kept");
	check_empty(d->attrs, d->attr_count, "strn");
	assert_int_equal(d->event_count, 1);
	check_empty(d->events[0].attrs, d->events[0].attr_count, "copied");
	check_empty(d->events[0].attrs, d->events[0].attr_count, "kept");
	assert_int_equal(d->link_count, 1);
	check_empty(d->links[0].attrs, d->links[0].attr_count, "copied");
	check_empty(d->links[0].attrs, d->links[0].attr_count, "kept");
	assert_int_equal(sr_shutdown(5000, NULL), 0);
}

/* An attribute whose type is no sr_attr_type_t is dropped and counted,
 * never written half-initialised. */
static void test_unknown_attr_type_is_dropped(void **state)
{
	sr_attr_t a[] = { SR_ATTR_INT_("good", 1), SR_ATTR_INT_("bad", 2) };
	sr_stats_t st = { .size = sizeof(st) };
	sr_span_t s;
	const sr_span_data_t *d;

	(void)state;
	a[1].type = (sr_attr_type_t)99;
	assert_int_equal(sr_test_init_memory(NULL), 0);
	sr_span_start(&s, NULL, "badtype", SR_KIND_INTERNAL);
	sr_span_set_attrs(&s, a, 2);
	sr_span_end(&s);
	assert_int_equal(sr_flush(5000, NULL), 0);
	assert_non_null(d = sr_test_find_span("badtype"));
	assert_int_equal(d->attr_count, 1);
	assert_int_equal(d->dropped_attr_count, 1);
	sr_stats_get(&st);
	assert_int_equal(st.attrs_dropped, 1);
	assert_int_equal(sr_shutdown(5000, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_null_string_value_is_empty),
		cmocka_unit_test(test_unknown_attr_type_is_dropped),
		cmocka_unit_test(test_every_call_with_each_pointer_null),
		cmocka_unit_test(test_table_covers_the_symbol_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
