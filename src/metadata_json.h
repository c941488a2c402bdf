/*-------------------------------------------------------------------------
 *
 * metadata_json.h
 *		Small helpers to read and build jsonb values, for the metadata
 *		document reader and the Hasura expression compiler.
 *
 * Containers read with JsonbIteratorNext(..., skipNested = true) arrive as
 * jbvBinary values; these helpers take such values.  Strings they return
 * are palloc'd copies; values they push are not copied until the parse
 * state is turned into a Jsonb.
 *
 * src/metadata_json.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DBOPS_METADATA_JSON_H
#define DBOPS_METADATA_JSON_H

#include "nodes/pg_list.h"
#include "utils/jsonb.h"

extern bool mdjson_is_object(JsonbValue *v);
extern bool mdjson_is_array(JsonbValue *v);
extern bool mdjson_is_string(JsonbValue *v);

/* The string of a jbvString, as a palloc'd C string */
extern char *mdjson_string(JsonbValue *v);

/* Is v the string s? */
extern bool mdjson_string_is(JsonbValue *v, const char *s);

/* The value of key in object v, or NULL */
extern JsonbValue *mdjson_get(JsonbValue *v, const char *key);

/* A Jsonb's root as a jbvBinary value */
extern JsonbValue *mdjson_root(Jsonb *jb);

/* Building */
extern void mdjson_push_key(JsonbParseState **st, const char *key);
extern void mdjson_push_string(JsonbParseState **st, JsonbIteratorToken seq,
							   const char *s);
extern void mdjson_push_strings(JsonbParseState **st, const char *key,
								List *strings);
extern void mdjson_push_null(JsonbParseState **st, JsonbIteratorToken seq);

/*
 * The container closed by a pushJsonbValue(..., WJB_END_...) that emptied
 * its own parse state, as a value that can be pushed into another.
 */
extern JsonbValue *mdjson_built(JsonbValue *closed);

extern bool mdjson_list_has(List *strings, const char *s);

#endif							/* DBOPS_METADATA_JSON_H */
