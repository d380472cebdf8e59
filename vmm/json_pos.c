/*
 * json_pos.c — find a JSON path again in a JSON text: a small scanner
 * that follows keys and indexes, skipping strings (with escapes) and
 * nested values without recursion, and bounds-checked at every byte.
 */
#include "vmm/json_pos.h"

#include <stdint.h>
#include <string.h>

struct scan {
	const char *s;
	size_t n, i;
};

static int peek(const struct scan *sc)
{
	return sc->i < sc->n ? (unsigned char)sc->s[sc->i] : -1;
}

static bool is_ws(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static void skip_ws(struct scan *sc)
{
	while (is_ws(peek(sc)))
		sc->i++;
}

static int hex_digit(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Up to 4 hex digits of a \u escape (fewer when the text ends). */
static unsigned int hex4(struct scan *sc)
{
	unsigned int v = 0, k;
	int d;

	for (k = 0; k < 4 && sc->i < sc->n && (d = hex_digit(sc->s[sc->i])) >= 0; k++, sc->i++)
		v = v << 4 | (unsigned int)d;
	return v;
}

/* The next character of a string (inside its quotes) as UTF-8; 0 at its end. */
static size_t string_char(struct scan *sc, unsigned char out[4])
{
	static const char esc[] = "b\bf\fn\nr\rt\t";
	unsigned int cp;
	const char *e;
	char ch;

	if (sc->i >= sc->n || sc->s[sc->i] == '"')
		return 0;
	ch = sc->s[sc->i++];
	if (ch != '\\') {
		out[0] = (unsigned char)ch;
		return 1;
	}
	if (sc->i >= sc->n)
		return 0;
	ch = sc->s[sc->i++];
	if (ch != 'u') {
		e = ch ? strchr(esc, ch) : NULL;
		out[0] = (unsigned char)(e && (e - esc) % 2 == 0 ? e[1] : ch);
		return 1;
	}
	cp = hex4(sc);
	if (cp >= 0xd800 && cp < 0xdc00 && sc->i + 1 < sc->n && sc->s[sc->i] == '\\' &&
	    sc->s[sc->i + 1] == 'u') {
		unsigned int lo;

		sc->i += 2;
		lo = hex4(sc);
		cp = 0x10000 + ((cp - 0xd800) << 10) + ((lo - 0xdc00) & 0x3ff);
	}
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | cp >> 6);
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | cp >> 12);
		out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | cp >> 18);
	out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Consume the string at sc->i (on its quote); true when it decodes to @key. */
static bool string_equals(struct scan *sc, const char *key)
{
	size_t j = 0, klen = strlen(key), n;
	unsigned char ch[4];
	bool eq = true;

	sc->i++;
	while ((n = string_char(sc, ch))) {
		eq = eq && j + n <= klen && !memcmp(key + j, ch, n);
		j += n;
	}
	if (peek(sc) == '"')
		sc->i++;
	return eq && j == klen;
}

/* Consume one value of any kind (no recursion: nesting is counted). */
static void skip_value(struct scan *sc)
{
	size_t depth = 0;
	int ch;

	while ((ch = peek(sc)) >= 0) {
		if (ch == '"') {
			string_equals(sc, "");
			if (!depth)
				return;
		} else if (ch == '{' || ch == '[') {
			depth++;
			sc->i++;
		} else if (ch == '}' || ch == ']') {
			if (!depth)
				return;
			sc->i++;
			if (!--depth)
				return;
		} else if (!depth && (ch == ',' || ch == ':' || is_ws(ch))) {
			return;
		} else {
			sc->i++;
		}
	}
}

/* Byte offset of json_pos_locate()'s answer. */
static size_t locate(const char *text, size_t len, const struct json_path *p)
{
	struct scan sc = { .s = text, .n = len };
	size_t best, key_at, val_at, idx, ks;
	unsigned int k;
	bool match;

	skip_ws(&sc);
	best = sc.i;
	for (k = 0; k < p->n; k++) {
		key_at = val_at = SIZE_MAX;
		if (p->c[k].key) {
			if (peek(&sc) != '{')
				break;
			sc.i++;
			/* Every member, so a repeated key resolves to the last, like jansson. */
			for (;;) {
				skip_ws(&sc);
				if (peek(&sc) != '"')
					break;
				ks = sc.i;
				match = string_equals(&sc, p->c[k].key);
				skip_ws(&sc);
				if (peek(&sc) != ':')
					break;
				sc.i++;
				skip_ws(&sc);
				if (match) {
					key_at = ks;
					val_at = sc.i;
				}
				skip_value(&sc);
				skip_ws(&sc);
				if (peek(&sc) != ',')
					break;
				sc.i++;
			}
		} else {
			if (peek(&sc) != '[')
				break;
			sc.i++;
			for (idx = 0;; idx++) {
				skip_ws(&sc);
				if (peek(&sc) < 0 || peek(&sc) == ']')
					break;
				if (idx == p->c[k].index) {
					val_at = sc.i;
					break;
				}
				skip_value(&sc);
				skip_ws(&sc);
				if (peek(&sc) != ',')
					break;
				sc.i++;
			}
		}
		if (val_at == SIZE_MAX)
			break;
		best = k + 1 == p->n && p->at_key && key_at != SIZE_MAX ? key_at : val_at;
		sc.i = val_at;
	}
	return best;
}

void json_pos_line_col(const char *text, size_t off, unsigned int *line, unsigned int *col)
{
	size_t i;

	*line = *col = 1;
	for (i = 0; i < off; i++) {
		if (text[i] == '\n') {
			++*line;
			*col = 1;
		} else if (((unsigned char)text[i] & 0xc0) != 0x80) {
			++*col;
		}
	}
}

void json_pos_locate(const char *text, size_t len, const struct json_path *p,
		     unsigned int *line, unsigned int *col)
{
	json_pos_line_col(text, locate(text, len, p), line, col);
}
