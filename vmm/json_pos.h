/*
 * json_pos.h — where a value sits in a JSON text, by its path (floor 1).
 *
 * jansson records positions only for syntax errors; a schema error found
 * later in the decoded tree is located again here, in the text, so that
 * it can be reported as "FILE:LINE:COLUMN:". Knows nothing of jansson.
 */
#ifndef BRISK_JSON_POS_H
#define BRISK_JSON_POS_H

#include <stdbool.h>
#include <stddef.h>

#define JSON_PATH_MAX 4

/* A path from the document's root: object keys and array indexes. */
struct json_path {
	unsigned int n;                  /* components used, <= JSON_PATH_MAX */
	struct {
		const char *key;         /* UTF-8, NUL-terminated; NULL: element @index */
		size_t index;
	} c[JSON_PATH_MAX];
	bool at_key;                     /* the last component's key, not its value */
};

/*
 * 1-based line and column (in characters, as jansson counts them) where
 * the value at @p starts in @text (@len bytes, need not be NUL-terminated),
 * or its key when @p->at_key. Meant for text jansson accepted; on any other
 * text, or a path that is not there, it gives the deepest part of the path
 * it could follow (the top-level value at worst). Escapes in keys
 * ("\u0064rives") are decoded before comparing; a repeated key resolves to
 * its last occurrence, as in jansson. Never reads outside @text.
 */
void json_pos_locate(const char *text, size_t len, const struct json_path *p,
		     unsigned int *line, unsigned int *col);

/* 1-based line and column of byte @off (<= length of @text) in @text. */
void json_pos_line_col(const char *text, size_t off, unsigned int *line, unsigned int *col);

#endif
