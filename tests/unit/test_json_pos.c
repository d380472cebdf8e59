/*
 * test_json_pos.c — finding a JSON path again in the text (vmm/json_pos.c),
 * which turns a schema error in a decoded config into LINE:COL: escaped
 * keys, strings full of brackets, repeated keys, paths that are not there,
 * and text that is not JSON at all (never a read outside the buffer).
 */
#include "tests/unit/testlib.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "vmm/json_pos.h"
#include "vmm/util.h"

#define IDX(n) ((const char *)(uintptr_t)((n) + 1))  /* an array index among keys */

/*
 * "LINE:COL" of the path given as keys and IDX(n), NULL-terminated, in
 * @text, read from an exact-size copy so ASan sees any overread.
 */
static const char *pos(const char *text, int at_key, ...)
{
	static char out[32];
	struct json_path p = { .at_key = at_key != 0 };
	size_t len = strlen(text);
	char *copy = malloc(len ? len : 1);
	unsigned int line, col;
	const char *c;
	va_list ap;

	assert_non_null(copy);
	memcpy(copy, text, len);
	va_start(ap, at_key);
	while ((c = va_arg(ap, const char *))) {
		assert_true(p.n < JSON_PATH_MAX);
		if ((uintptr_t)c < 4096) {
			p.c[p.n].key = NULL;
			p.c[p.n++].index = (uintptr_t)c - 1;
		} else {
			p.c[p.n].key = c;
			p.c[p.n++].index = 0;
		}
	}
	va_end(ap);
	json_pos_locate(copy, len, &p, &line, &col);
	free(copy);
	snprintf(out, sizeof(out), "%u:%u", line, col);
	return out;
}

static void values_and_keys(void **state)
{
	const char *t = "\n  {\"a\": 1,\n   \"b\" :\t[true, {\"c\": \"x\"}, 3]}";

	(void)state;
	assert_string_equal(pos(t, false, NULL), "2:3");
	assert_string_equal(pos(t, false, "a", NULL), "2:9");
	assert_string_equal(pos(t, true, "a", NULL), "2:4");
	assert_string_equal(pos(t, false, "b", NULL), "3:10");
	assert_string_equal(pos(t, false, "b", IDX(0), NULL), "3:11");
	assert_string_equal(pos(t, false, "b", IDX(1), NULL), "3:17");
	assert_string_equal(pos(t, false, "b", IDX(2), NULL), "3:29");
	assert_string_equal(pos(t, false, "b", IDX(1), "c", NULL), "3:23");
	assert_string_equal(pos(t, true, "b", IDX(1), "c", NULL), "3:18");
}

static void escapes_in_keys_and_strings(void **state)
{
		const char *t = "{\"s\": \"}]\\\"{[,:\\\\\", \"\\u0064rives\": 1, \"q\\\"k\": 2,"
			" \"b\\\\s\": 3, \"\\/x\": 4, \"\\ud83d\\ude00\": 5, \"\\u00e9t\\u00E9\": 6,"
			" \"t\\tn\\n\": 7}";

	(void)state;
	assert_string_equal(pos(t, false, "drives", NULL), "1:36");
	assert_string_equal(pos(t, false, "q\"k", NULL), "1:47");
	assert_string_equal(pos(t, false, "b\\s", NULL), "1:58");
	assert_string_equal(pos(t, false, "/x", NULL), "1:68");
	assert_string_equal(pos(t, false, "\xf0\x9f\x98\x80", NULL), "1:87");
	assert_string_equal(pos(t, false, "\u00e9t\u00e9", NULL), "1:107");
	assert_string_equal(pos(t, false, "t\tn\n", NULL), "1:120");
	/* prefixes and extensions of a key do not match */
	assert_string_equal(pos(t, false, "drive", NULL), "1:1");
	assert_string_equal(pos(t, false, "drivesX", NULL), "1:1");
}

static void columns_count_characters(void **state)
{
	unsigned int line, col;
	const char *t = "{\"\u00e9\u2603\": [\r\n\"\xf0\x9f\x98\x80\", 2]}";

	(void)state;
	assert_string_equal(pos(t, false, "\u00e9\u2603", IDX(1), NULL), "2:6");
	json_pos_line_col(t, strlen(t), &line, &col);
	assert_int_equal(line, 2);
	assert_int_equal(col, 9);
	json_pos_line_col(t, 0, &line, &col);
	assert_int_equal(line * 100 + col, 101);
}

static void repeated_key_is_the_last(void **state)
{
	(void)state;
	assert_string_equal(pos("{\"a\": 1, \"a\": 2}", false, "a", NULL), "1:15");
	assert_string_equal(pos("{\"a\": 1, \"a\": 2}", true, "a", NULL), "1:10");
}

/* As far as the path goes: the object for a missing key, and so on. */
static void missing_paths(void **state)
{
	const char *t = "{\"d\": [{\"x\": 1}], \"o\": {}}";

	(void)state;
	assert_string_equal(pos(t, false, "nope", NULL), "1:1");
	assert_string_equal(pos(t, false, "d", IDX(5), NULL), "1:7");
	assert_string_equal(pos(t, false, "d", IDX(0), "y", NULL), "1:8");
	assert_string_equal(pos(t, false, "d", "x", NULL), "1:7");       /* key into an array */
	assert_string_equal(pos(t, false, "o", IDX(0), NULL), "1:24");   /* index into an object */
	assert_string_equal(pos(t, false, "d", IDX(0), "x", "deeper", NULL), "1:14");
	assert_string_equal(pos("[]", false, IDX(0), NULL), "1:1");
	assert_string_equal(pos("{}", false, "a", NULL), "1:1");
}

/* Not JSON, cut short, empty: an answer inside the text, no overread. */
static void hostile_text(void **state)
{
	static const char *const texts[] = {
		"{\"d\": [{\"x\": \"\\u12", "{\"d\": [{\"x\": \"\\", "{\"d\"", "{\"d\":", "{\"d\": [",
		"{\"d\": [1,", "{\"d\" 1}", "{,,,}", "{\"d\": ]]]]}", "]]]", "\"\\ud800\\u",
		"{\"\\ud800\": 1}", "{\"d\": {\"x\": [[[[[[[[[[", "   ", "", "{\"d\": [\"}\"",
	};
	const char *full = "{\"d\": [{\"x\": \"a\\\"b\\u0041\"}, {\"x\": [1, {\"y\": null}]}]}";
	char buf[128];
	size_t i, n;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(texts); i++) {
		pos(texts[i], false, "d", IDX(1), "x", NULL);
		pos(texts[i], true, "d", IDX(0), "x", NULL);
	}
	/* Every prefix of a real document. */
	for (n = 0; n <= strlen(full); n++) {
		memcpy(buf, full, n);
		buf[n] = '\0';
		pos(buf, false, "d", IDX(1), "x", NULL);
		pos(buf, true, "d", IDX(1), "x", NULL);
	}
	assert_string_equal(pos(full, false, "d", IDX(1), "x", NULL), "1:35");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(values_and_keys),
		cmocka_unit_test(escapes_in_keys_and_strings),
		cmocka_unit_test(columns_count_characters),
		cmocka_unit_test(repeated_key_is_the_last),
		cmocka_unit_test(missing_paths),
		cmocka_unit_test(hostile_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
