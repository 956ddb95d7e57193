/*
 * spanring.hpp - the C++17 API: RAII spans and scopes, typed attribute
 * setters, over the C API of <spanring/spanring.h>.  Header only: every
 * call here is an inline wrapper of a C call (with the C calls' inline
 * fast paths), so a span costs what it costs from C.
 *
 *     static const spanring::Tracer tracer("shop", "1.0");
 *
 *     void handle(const Request &rq)
 *     {
 *         spanring::Span span(tracer, "GET /cart", SR_KIND_SERVER);
 *         spanring::Scope scope(span);              // children nest under it
 *         span.set("http.request.method", rq.method);   // std::string: copied
 *         span.set("http.response.status_code", 200);
 *         span.set("shop.item_ids", rq.item_ids);       // std::vector<int64_t>
 *     }   // scope exits, span ends; an exception passing through is recorded
 *
 * Keys and span names are static, as in C: kept by pointer until
 * sr_shutdown().  spanring::StaticStr says so in the type: it is built
 * from a string literal, or from a pointer explicitly marked static with
 * spanring::static_str(p); a `const char *` such as std::string::c_str()
 * does not convert.  The <spanring/semconv.h> names are literals.
 *
 * Exceptions: a Span destroyed while an exception unwinds through it
 * records an "exception" event and sets status ERROR.  During unwinding
 * C++ gives no access to the exception in flight (std::current_exception()
 * is empty until a handler catches it), so the event says only that one
 * passed; spanring::in_span() and Span::record_exception() catch it and
 * record its type and what().  With -fno-exceptions all of that compiles
 * away.  Nothing here throws.
 */
#ifndef SPANRING_HPP
#define SPANRING_HPP

#if !defined(__cplusplus) || __cplusplus < 201703L
#error "<spanring/spanring.hpp> needs C++17"
#endif

#include <spanring/spanring.h>

#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
#define SPANRING_CXX_EXCEPTIONS 1
#include <exception>
#include <typeinfo>
#if __has_include(<cxxabi.h>)
#include <cxxabi.h>
#include <cstdlib>
#define SPANRING_CXX_DEMANGLE 1
#endif
#endif

namespace spanring {

/* ------------------------------------------------------------------ */
/* Static strings: keys, span and event names                          */
/* ------------------------------------------------------------------ */

struct static_tag {};

/*
 * A string that lives until sr_shutdown() returns.  Constructible from a
 * string literal (a const char array), or from any pointer through
 * static_str(p), which is the caller's promise.  Not from `const char *`,
 * `char *` arrays or std::string.  (C++ cannot tell a literal from another
 * const char array: a `const char k[]` on the stack converts too, and
 * must be static instead.)
 */
class StaticStr {
public:
	template <std::size_t N>
	constexpr StaticStr(const char (&lit)[N]) noexcept : p_(lit) {}
	/* A writable array is a buffer, not a literal. */
	template <std::size_t N> StaticStr(char (&)[N]) = delete;
	constexpr StaticStr(static_tag, const char *p) noexcept : p_(p) {}
	constexpr const char *c_str() const noexcept { return p_; }

private:
	const char *p_;
};

using Key = StaticStr;

/* Mark a pointer as static: it must stay valid until sr_shutdown(). */
constexpr StaticStr static_str(const char *p) noexcept
{
	return StaticStr(static_tag{}, p);
}

/* ------------------------------------------------------------------ */
/* Value traits                                                        */
/* ------------------------------------------------------------------ */

namespace detail {

template <class T> using bare = std::remove_cv_t<std::remove_reference_t<T>>;

template <class T>
inline constexpr bool is_int = std::is_integral_v<T> && !std::is_same_v<T, bool>;

template <class T>
inline constexpr bool is_str = std::is_same_v<T, const char *> ||
			       std::is_same_v<T, char *> ||
			       std::is_same_v<T, std::string> ||
			       std::is_same_v<T, std::string_view>;

/* Element type tag of a C++ element type. */
template <class T> constexpr sr_attr_type_t elem_type() noexcept
{
	if constexpr (std::is_same_v<T, bool>)
		return SR_ATTR_BOOL;
	else if constexpr (is_int<T>)
		return SR_ATTR_INT;
	else if constexpr (std::is_floating_point_v<T>)
		return SR_ATTR_DOUBLE;
	else
		return SR_ATTR_STRING;
}

template <class T>
inline constexpr bool is_elem = std::is_same_v<T, bool> || is_int<T> ||
				std::is_floating_point_v<T> || is_str<T>;

/* A container of attribute values: std::vector, std::array, a C array,
 * std::initializer_list...: anything with std::size() and operator[]. */
template <class C, class = void> struct container : std::false_type {};
template <class C>
struct container<C, std::void_t<decltype(std::size(std::declval<const C &>())),
				decltype(std::declval<const C &>()[0])>>
	: std::bool_constant<is_elem<bare<decltype(std::declval<const C &>()[0])>> &&
			     !is_str<bare<C>>> {};

template <class C> using elem_t = bare<decltype(std::declval<const C &>()[0])>;

/* An initializer list as a container (it has no operator[]). */
template <class T> struct list_view {
	const T *p;
	std::size_t n;
	constexpr const T *data() const noexcept { return p; }
	constexpr std::size_t size() const noexcept { return n; }
	constexpr const T &operator[](std::size_t i) const noexcept { return p[i]; }
};

/* Elements laid out as a C array (not std::vector<bool>, std::deque). */
template <class C, class = void> struct has_ptr_data : std::false_type {};
template <class C>
struct has_ptr_data<C, std::void_t<decltype(std::data(std::declval<const C &>()))>>
	: std::is_pointer<decltype(std::data(std::declval<const C &>()))> {};

/* Exactly bool: a pointer or a number never becomes one. */
template <class T> using if_bool = std::enable_if_t<std::is_same_v<T, bool>, int>;

/* sr_array_t::get for any container: element i into elem->v. */
template <class C> void get_elem(const void *ud, std::size_t i, sr_attr_t *e)
{
	const C &c = *static_cast<const C *>(ud);
	using T = elem_t<C>;

	if constexpr (std::is_same_v<T, bool>) {
		e->v.b = c[i];
	} else if constexpr (is_int<T>) {
		e->v.i = static_cast<int64_t>(c[i]);
	} else if constexpr (std::is_floating_point_v<T>) {
		e->v.d = static_cast<double>(c[i]);
	} else if constexpr (std::is_same_v<T, std::string> ||
			     std::is_same_v<T, std::string_view>) {
		e->v.s = c[i].data();
		e->len = static_cast<uint32_t>(c[i].size());
	} else {
		e->v.s = c[i];
		e->len = static_cast<uint32_t>(c[i] ? std::strlen(c[i]) : 0);
	}
}

/* The sr_array_t of a container: a direct pointer where the elements
 * are laid out as C values (int64_t, double, const char *), the element
 * callback otherwise. */
template <class C> sr_array_t make_array(const C &c) noexcept
{
	using T = elem_t<C>;
	sr_array_t a{};
	std::size_t n = std::size(c);

	a.type = elem_type<T>();
	a.count = n > SR_ARRAY_MAX_COUNT ? SR_ARRAY_MAX_COUNT + 1u
					 : static_cast<uint32_t>(n);
	constexpr bool direct = std::is_same_v<T, int64_t> ||
				std::is_same_v<T, double> ||
				std::is_same_v<T, const char *>;
	if constexpr (direct && has_ptr_data<C>::value) {
		if constexpr (std::is_same_v<T, int64_t>)
			a.v.i = std::data(c);
		else if constexpr (std::is_same_v<T, double>)
			a.v.d = std::data(c);
		else
			a.v.s = std::data(c);
	} else {
		a.get = &get_elem<C>;
		a.ud = &c;
	}
	return a;
}

#ifdef SPANRING_CXX_EXCEPTIONS
#ifdef SPANRING_CXX_DEMANGLE
/*
 * std::uncaught_exceptions() without its cost: it is a call into the C++
 * runtime and a general-dynamic TLS lookup (__tls_get_addr), some 25
 * instructions, twice per span.  The runtime's per-thread
 * __cxa_eh_globals is laid out by the Itanium C++ ABI (2.2.2: the caught
 * exceptions' stack, then the uncaught count; libstdc++ and libc++abi
 * alike), and its address never changes for a thread: it is looked up
 * once per thread and kept in a thread_local of the application, which
 * is then a load or two.
 *
 * Until the thread has looked it up, the thread_local points to a count
 * no thread can have (UINT_MAX), so the load is also the test: a span's
 * start looks up when it reads that, a span's end takes its cold path
 * (which looks up and compares again; a span can end on another thread
 * than the one it started on).
 */
struct eh_globals {
	void *caught;
	unsigned int uncaught;
};
inline constexpr unsigned int uncaught_unknown = UINT_MAX;
inline thread_local const unsigned int *tl_uncaught = &uncaught_unknown;

__attribute__((noinline, cold)) inline unsigned int uncaught_lookup() noexcept
{
	void *g = abi::__cxa_get_globals();

	tl_uncaught = &static_cast<eh_globals *>(g)->uncaught;
	return *tl_uncaught;
}

/* This thread's count of exceptions unwinding. */
inline unsigned int uncaught() noexcept
{
	unsigned int n = *tl_uncaught;

	if (__builtin_expect(n == uncaught_unknown, 0))
		n = uncaught_lookup();
	return n;
}

/* The same, or more than any count when the thread has not looked its
 * count up yet: for a test that takes a cold path when it is higher. */
inline unsigned int uncaught_or_more() noexcept
{
	return *tl_uncaught;
}
#else
inline unsigned int uncaught() noexcept
{
	return static_cast<unsigned int>(std::uncaught_exceptions());
}
inline unsigned int uncaught_or_more() noexcept
{
	return uncaught();
}
#endif
#endif

#ifndef SR_NO_INLINE
inline bool recording(const sr_span_t *s) noexcept { return sr__span_recording(s); }
#else
inline bool recording(const sr_span_t *s) noexcept { return sr_span_is_recording(s); }
#endif

} // namespace detail

/* ------------------------------------------------------------------ */
/* Attributes for events and links                                     */
/* ------------------------------------------------------------------ */

/*
 * One attribute of an event or a link, written {key, value} in an
 * initializer list: span.add_event("retry", {{"retry.count", 3},
 * {"net.peer", host}}).  Values are borrowed until the call returns (and
 * copied by it), so temporaries are fine; an array value refers to its
 * container, which must outlive the call.
 */
class Attr {
public:
	template <class B, detail::if_bool<B> = 0>
	Attr(Key k, B v) noexcept : a_(head(k, SR_ATTR_BOOL))
	{
		a_.v.b = v;
	}
	template <class T, std::enable_if_t<detail::is_int<T>, int> = 0>
	Attr(Key k, T v) noexcept : a_(head(k, SR_ATTR_INT))
	{
		a_.v.i = static_cast<int64_t>(v);
	}
	template <class T, std::enable_if_t<std::is_floating_point_v<T>, int> = 0>
	Attr(Key k, T v) noexcept : a_(head(k, SR_ATTR_DOUBLE))
	{
		a_.v.d = static_cast<double>(v);
	}
	Attr(Key k, const char *v) noexcept
		: Attr(k, v ? std::string_view(v) : std::string_view())
	{
	}
	Attr(Key k, std::string_view v) noexcept
		: a_(head(k, SR_ATTR_STRING, static_cast<uint32_t>(v.size())))
	{
		a_.v.s = v.data() ? v.data() : "";
	}
	Attr(Key k, const std::string &v) noexcept : Attr(k, std::string_view(v)) {}
	template <class C, std::enable_if_t<detail::container<C>::value, int> = 0>
	Attr(Key k, const C &c) noexcept
		: a_(head(k, SR_ATTR_ARRAY)), arr_(detail::make_array(c))
	{
		a_.v.a = &arr_;
	}
	Attr(const Attr &o) noexcept : a_(o.a_), arr_(o.arr_)
	{
		if (a_.type == SR_ATTR_ARRAY)
			a_.v.a = &arr_;
	}
	Attr &operator=(const Attr &) = delete;

	const sr_attr_t &c() const noexcept { return a_; }

private:
	static sr_attr_t head(Key k, sr_attr_type_t t, uint32_t len = 0) noexcept
	{
		sr_attr_t a;

		a.key = k.c_str();
		a.type = t;
		a.len = len;
		a.v.i = 0;
		return a;
	}

	sr_attr_t a_;
	sr_array_t arr_{};
};

namespace detail {

/* The list as one contiguous sr_attr_t array on the stack (the C calls
 * take one array), handed to fn(const sr_attr_t *, size_t): a fixed
 * buffer up to 16 attributes, a stack array sized at run time past
 * that; never the heap. */
template <class F>
inline void with_attrs(std::initializer_list<Attr> list, F &&fn) noexcept
{
	std::size_t n = list.size(), i = 0;

	if (n <= 16) {
		sr_attr_t buf[16];
		for (const Attr &a : list)
			buf[i++] = a.c();
		fn(buf, n);
		return;
	}
	auto *buf = static_cast<sr_attr_t *>(__builtin_alloca(n * sizeof(sr_attr_t)));
	for (const Attr &a : list)
		buf[i++] = a.c();
	fn(buf, n);
}

} // namespace detail

/* ------------------------------------------------------------------ */
/* Tracer                                                              */
/* ------------------------------------------------------------------ */

/* An instrumentation scope: sr_tracer_get() once (it takes a lock), then
 * a pointer copied into every span.  Keep it in a static. */
class Tracer {
public:
	explicit Tracer(const char *name, const char *version = "") noexcept
		: t_(sr_tracer_get(name, version))
	{
	}
	constexpr Tracer(const sr_tracer_t *t) noexcept : t_(t) {}
	constexpr const sr_tracer_t *get() const noexcept { return t_; }

private:
	const sr_tracer_t *t_;
};

/* ------------------------------------------------------------------ */
/* Span                                                                */
/* ------------------------------------------------------------------ */

/*
 * A span in progress, ended when it goes out of scope (or by end()).
 * Movable, not copyable: a moved-from Span is empty and ends nothing.
 * Holds the C sr_span_t (576 bytes) inline, so it lives on the stack or
 * in a request object as the C span does.  Move it only while no Scope
 * refers to it.
 */
class Span {
public:
	Span(Tracer tracer, StaticStr name, sr_span_kind_t kind = SR_KIND_INTERNAL) noexcept
	{
		sr_span_start(&s_, tracer.get(), name.c_str(), kind);
		arm();
	}
	/* Child of an explicit parent (another thread's, an extracted remote
	 * context); flags: SR_SPAN_ROOT. */
	Span(Tracer tracer, StaticStr name, sr_span_kind_t kind,
	     const sr_context_t &parent, unsigned flags = 0) noexcept
	{
		sr_span_start_ex(&s_, tracer.get(), name.c_str(), kind, &parent, 0,
				 flags);
		arm();
	}

	~Span() { finish(); }

	Span(Span &&o) noexcept
	{
		take(o);
	}
	Span &operator=(Span &&o) noexcept
	{
		if (this != &o) {
			finish();
			take(o);
		}
		return *this;
	}
	Span(const Span &) = delete;
	Span &operator=(const Span &) = delete;

	/* ---- attributes: the right C setter for each type -------------- */

	/* Exactly bool (a template, so no pointer or number converts). */
	template <class B, detail::if_bool<B> = 0>
	Span &set(Key k, B v) noexcept
	{
		sr_span_set_bool(&s_, k.c_str(), v);
		return *this;
	}
	/* Every integer width; unsigned values past INT64_MAX wrap, as
	 * OpenTelemetry has no unsigned type. */
	template <class T, std::enable_if_t<detail::is_int<T>, int> = 0>
	Span &set(Key k, T v) noexcept
	{
		sr_span_set_int(&s_, k.c_str(), static_cast<int64_t>(v));
		return *this;
	}
	template <class T, std::enable_if_t<std::is_floating_point_v<T>, int> = 0>
	Span &set(Key k, T v) noexcept
	{
		sr_span_set_double(&s_, k.c_str(), static_cast<double>(v));
		return *this;
	}
	/* Strings are copied (a string literal picks this one, not bool). */
	Span &set(Key k, const char *v) noexcept
	{
		sr_span_set_str(&s_, k.c_str(), v);
		return *this;
	}
	Span &set(Key k, char *v) noexcept { return set(k, static_cast<const char *>(v)); }
	Span &set(Key k, std::string_view v) noexcept
	{
		sr_span_set_strn(&s_, k.c_str(), v.data(), v.size());
		return *this;
	}
	Span &set(Key k, const std::string &v) noexcept
	{
		sr_span_set_strn(&s_, k.c_str(), v.data(), v.size());
		return *this;
	}
	/* A static string value, kept by pointer. */
	Span &set(Key k, StaticStr v) noexcept
	{
		sr_span_set_str_static(&s_, k.c_str(), v.c_str());
		return *this;
	}
	/* Arrays: std::vector, std::array, C arrays, initializer lists of
	 * any of the types above (elements copied). */
	template <class C, std::enable_if_t<detail::container<C>::value, int> = 0>
	Span &set(Key k, const C &c) noexcept
	{
		if (detail::recording(&s_)) {
			sr_array_t a = detail::make_array(c);
			sr_span_set_array(&s_, k.c_str(), &a);
		}
		return *this;
	}
	template <class T, std::enable_if_t<detail::is_elem<T>, int> = 0>
	Span &set(Key k, std::initializer_list<T> list) noexcept
	{
		return set(k, detail::list_view<T>{ list.begin(), list.size() });
	}

	/* ---- events, links, status ------------------------------------ */

	Span &add_event(StaticStr name, std::initializer_list<Attr> attrs = {},
			uint64_t ts_ns = 0) noexcept
	{
		if (!detail::recording(&s_))
			return *this;
		detail::with_attrs(attrs, [&](const sr_attr_t *a, std::size_t n) {
			sr_span_add_event(&s_, name.c_str(), ts_ns, a, n);
		});
		return *this;
	}
	Span &add_link(const sr_context_t &ctx,
		       std::initializer_list<Attr> attrs = {}) noexcept
	{
		if (!detail::recording(&s_))
			return *this;
		detail::with_attrs(attrs, [&](const sr_attr_t *a, std::size_t n) {
			sr_span_add_link(&s_, &ctx, a, n);
		});
		return *this;
	}
	Span &set_status(sr_status_code_t code, const char *message = nullptr) noexcept
	{
		sr_span_set_status(&s_, code, message);
		return *this;
	}
	Span &set_status(sr_status_code_t code, const std::string &message) noexcept
	{
		return set_status(code, message.c_str());
	}
	/* An "exception" event (type and message copied) and status ERROR. */
	Span &record_error(const char *type, const char *message) noexcept
	{
		sr_span_record_error(&s_, type, message);
		return *this;
	}
#ifdef SPANRING_CXX_EXCEPTIONS
	/* The exception `e` (its dynamic type and what()). */
	Span &record_exception(const std::exception &e) noexcept
	{
		record_type(typeid(e), e.what());
		return *this;
	}
	/* (Either form counts as the record of the exception in flight: the
	 * destructor adds no second one while it unwinds.) */
	/* Whatever `ep` holds: std::exception's type and what(), else the
	 * thrown type's name. */
	Span &record_exception(std::exception_ptr ep) noexcept
	{
		if (!ep)
			return *this;
		try {
			std::rethrow_exception(ep);
		} catch (const std::exception &e) {
			record_exception(e);
		} catch (...) {
			record_thrown_type();
		}
		return *this;
	}
#endif
	/* Replace the name (copied). */
	Span &update_name(const char *name) noexcept
	{
		sr_span_update_name(&s_, name);
		return *this;
	}
	Span &update_name(const std::string &name) noexcept
	{
		return update_name(name.c_str());
	}

	/* ---- ending and identity -------------------------------------- */

	/* End now (or at end_ns); the destructor then ends nothing. */
	void end() noexcept { finish(); }
	void end_at(uint64_t end_ns) noexcept
	{
		if (armed()) {
			disarm_no_inline();
			sr_span_end_at(&s_, end_ns);
		}
	}
	sr_context_t context() const noexcept { return sr_span_context(&s_); }
	bool is_recording() const noexcept { return armed() && detail::recording(&s_); }
	/* The C span, for calls this class does not wrap. */
	sr_span_t *native() noexcept { return &s_; }
	const sr_span_t *native() const noexcept { return &s_; }

private:
	/*
	 * Whether this object still owns a span to end.  With the inline
	 * fast paths the span's own state says it (a moved-from span is
	 * turned off, an ended one ignores a second end), so an extra flag
	 * would only cost a store and a test per span; with SR_NO_INLINE the
	 * state is opaque and a flag keeps it.
	 */
#ifndef SR_NO_INLINE
	bool armed() const noexcept { return true; }
	void disarm() noexcept { sr__span_off(&s_); }
	void disarm_no_inline() noexcept {}
#else
	bool armed() const noexcept { return live_; }
	void disarm() noexcept { live_ = false; }
	void disarm_no_inline() noexcept { live_ = false; }
#endif

	/* Take o's span over, leaving o empty. */
	void take(Span &o) noexcept
	{
		std::memcpy(static_cast<void *>(&s_), &o.s_, sizeof(s_));
#ifdef SR_NO_INLINE
		live_ = o.live_;
#endif
#ifdef SPANRING_CXX_EXCEPTIONS
		if (detail::recording(&s_))
			uncaught_ = o.uncaught_;
#endif
		o.disarm();
	}

	void arm() noexcept
	{
#ifdef SPANRING_CXX_EXCEPTIONS
		/* Only a recording span can record an exception: an unsampled
		 * one pays nothing for it (uncaught_ is read only while the
		 * span records, so it is left unset otherwise). */
		if (detail::recording(&s_))
			uncaught_ = detail::uncaught();
#endif
	}

	void finish() noexcept
	{
		if (!armed())
			return;
		disarm_no_inline();
#ifdef SPANRING_CXX_EXCEPTIONS
		if (detail::recording(&s_) &&
		    __builtin_expect(detail::uncaught_or_more() > uncaught_, 0))
			unwinding();
#endif
		sr_span_end(&s_);
	}

#ifdef SPANRING_CXX_EXCEPTIONS
	/* Ended by a destructor while an exception unwinds: what is known of
	 * it.  Out of line in spirit (cold), inline for header-only use. */
	__attribute__((noinline, cold)) void unwinding() noexcept
	{
		if (detail::uncaught() <= uncaught_)
			return;
		if (std::exception_ptr ep = std::current_exception())
			record_exception(ep);
		else
			sr_span_record_error(&s_, nullptr,
					     "an exception unwound through the span");
	}

	void record_type(const std::type_info &ti, const char *what) noexcept
	{
		uncaught_ = UINT_MAX;
		const char *name = ti.name();
#ifdef SPANRING_CXX_DEMANGLE
		int st = 0;
		char *dem = abi::__cxa_demangle(name, nullptr, nullptr, &st);
		sr_span_record_error(&s_, dem && st == 0 ? dem : name, what);
		std::free(dem);
#else
		sr_span_record_error(&s_, name, what);
#endif
	}

	void record_thrown_type() noexcept
	{
#ifdef SPANRING_CXX_DEMANGLE
		if (const std::type_info *ti = abi::__cxa_current_exception_type()) {
			record_type(*ti, nullptr);
			return;
		}
#endif
		uncaught_ = UINT_MAX;
		sr_span_record_error(&s_, "unknown", nullptr);
	}
#endif

	sr_span_t s_;
#ifdef SR_NO_INLINE
	bool live_ = true;
#endif
#ifdef SPANRING_CXX_EXCEPTIONS
	/* This thread's uncaught-exception count when the span started
	 * (set by arm(); UINT_MAX once an exception is recorded, so that
	 * unwinding adds no second record). */
	unsigned int uncaught_;
#endif
};

/* ------------------------------------------------------------------ */
/* Scope                                                               */
/* ------------------------------------------------------------------ */

/* Makes a span (or a context) current on this thread until it goes out
 * of scope; spans started meanwhile are its children.  Neither copyable
 * nor movable: scopes close in the order they opened. */
class Scope {
public:
	explicit Scope(const Span &span) noexcept : sc_(sr_scope_enter(span.native())) {}
	explicit Scope(const sr_span_t &span) noexcept : sc_(sr_scope_enter(&span)) {}
	explicit Scope(const sr_context_t &ctx) noexcept : sc_(sr_scope_enter_ctx(&ctx)) {}
	~Scope() { sr_scope_exit(sc_); }
	Scope(const Scope &) = delete;
	Scope &operator=(const Scope &) = delete;

private:
	sr_scope_t sc_;
};

/* ------------------------------------------------------------------ */
/* in_span: a span around a callable                                   */
/* ------------------------------------------------------------------ */

/*
 * Run fn(span) inside a current span named `name`.  An exception leaving
 * fn is recorded with its type and what() (a catch sees it, which a
 * destructor cannot) and rethrown.  Returns what fn returns.
 */
template <class F>
decltype(auto) in_span(Tracer tracer, StaticStr name, sr_span_kind_t kind, F &&fn)
{
	Span span(tracer, name, kind);
	Scope scope(span);
#ifdef SPANRING_CXX_EXCEPTIONS
	try {
		return std::forward<F>(fn)(span);
	} catch (...) {
		span.record_exception(std::current_exception());
		throw;
	}
#else
	return std::forward<F>(fn)(span);
#endif
}

} // namespace spanring

#endif /* SPANRING_HPP */
