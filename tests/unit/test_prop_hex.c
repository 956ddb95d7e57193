/*
 * test_prop_hex.c - the word-at-a-time hex codec of the propagation
 * parsers against a byte-at-a-time model: every byte value at every
 * position of an 8-char group, and random round trips.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "testutil.h"
#include "prop_int.h"

static int model_val(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Every byte at every position, the other seven valid. */
static void test_decode_every_byte(void **state)
{
	static const char base[] = "0123abcd";

	(void)state;
	for (int pos = 0; pos < 8; pos++)
		for (int c = 0; c < 256; c++) {
			char s[8];
			uint8_t got[4], want[4];
			bool ok;

			memcpy(s, base, 8);
			s[pos] = (char)c;
			ok = sr__hex8_lc(s, got);
			assert_int_equal(ok, model_val((unsigned char)c) >= 0);
			if (!ok)
				continue;
			for (int i = 0; i < 4; i++)
				want[i] = (uint8_t)(model_val((unsigned char)s[2 * i]) << 4 |
						    model_val((unsigned char)s[2 * i + 1]));
			assert_memory_equal(got, want, 4);
		}
}

/* The same through sr__hex_decode_lc (the vector path where there is
 * one): 16 chars, every byte at every position; and the zero test. */
static void test_decode16_every_byte(void **state)
{
	static const char base[] = "0123456789abcdef";
	uint8_t got[8], got16[16];
	bool nz;

	(void)state;
	for (int pos = 0; pos < 16; pos++)
		for (int c = 0; c < 256; c++) {
			char s[16];
			bool ok;

			memcpy(s, base, 16);
			s[pos] = (char)c;
			ok = sr__hex_decode_lc(s, 8, got, &nz);
			assert_int_equal(ok, model_val((unsigned char)c) >= 0);
			if (!ok)
				continue;
			for (int i = 0; i < 8; i++)
				assert_int_equal(got[i],
						 model_val((unsigned char)s[2 * i]) << 4 |
							 model_val((unsigned char)s[2 * i + 1]));
			assert_true(nz);
		}
	assert_true(sr__hex_decode_lc("0000000000000000", 8, got, &nz));
	assert_false(nz);
	assert_true(sr__hex_decode_lc("00000000000000000000000000000000", 16,
				      got16, &nz));
	assert_false(nz);
	assert_true(sr__hex_decode_lc("0000000000000000000000000000001x", 8,
				      got, &nz));
	assert_false(nz);  /* only the first 16 chars count for 8 bytes */
	assert_true(sr__hex_decode_lc("00000000000000000000000000000010", 16,
				      got16, &nz));
	assert_true(nz);
}

static void test_roundtrip_random(void **state)
{
	uint64_t seed = sr_test_seed(6);

	(void)state;
	for (int i = 0; i < 100000; i++) {
		uint64_t r = sr_test_rand(&seed);
		uint8_t in[16], back[16];
		char hex[33], model[33];
		bool nz;

		memcpy(in, &r, 8);
		r = sr_test_rand(&seed);
		memcpy(in + 8, &r, 8);
		sr__hex_encode(in, 16, hex);
		for (int j = 0; j < 16; j++)
			snprintf(model + 2 * j, 3, "%02x", in[j]);
		assert_memory_equal(hex, model, 32);
		assert_true(sr__hex_decode_lc(hex, 16, back, &nz));
		assert_memory_equal(in, back, 16);
		/* 8 bytes (vector), 4 (word), 3 (byte at a time). */
		sr__hex_encode(in, 8, hex);
		assert_memory_equal(hex, model, 16);
		assert_true(sr__hex_decode_lc(hex, 8, back, &nz));
		assert_memory_equal(in, back, 8);
		sr__hex_encode(in, 4, hex);
		assert_memory_equal(hex, model, 8);
		assert_true(sr__hex_decode_lc(hex, 4, back, &nz));
		assert_memory_equal(in, back, 4);
		sr__hex_encode(in, 3, hex);
		assert_memory_equal(hex, model, 6);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_every_byte),
		cmocka_unit_test(test_decode16_every_byte),
		cmocka_unit_test(test_roundtrip_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
