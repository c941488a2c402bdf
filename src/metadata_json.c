/*-------------------------------------------------------------------------
 *
 * metadata_json.c
 *		Small helpers to read and build jsonb values (see metadata_json.h).
 *
 * src/metadata_json.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "metadata_json.h"

bool
mdjson_is_object(JsonbValue *v)
{
	return v != NULL && v->type == jbvBinary &&
		JsonContainerIsObject(v->val.binary.data);
}

bool
mdjson_is_array(JsonbValue *v)
{
	return v != NULL && v->type == jbvBinary &&
		JsonContainerIsArray(v->val.binary.data);
}

bool
mdjson_is_string(JsonbValue *v)
{
	return v != NULL && v->type == jbvString;
}

char *
mdjson_string(JsonbValue *v)
{
	return pnstrdup(v->val.string.val, v->val.string.len);
}

bool
mdjson_string_is(JsonbValue *v, const char *s)
{
	return mdjson_is_string(v) && v->val.string.len == (int) strlen(s) &&
		memcmp(v->val.string.val, s, v->val.string.len) == 0;
}

JsonbValue *
mdjson_get(JsonbValue *v, const char *key)
{
	JsonbValue	k;

	if (!mdjson_is_object(v))
		return NULL;
	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	return findJsonbValueFromContainer(v->val.binary.data, JB_FOBJECT, &k);
}

JsonbValue *
mdjson_root(Jsonb *jb)
{
	JsonbValue *v = palloc(sizeof(JsonbValue));

	if (JB_ROOT_IS_SCALAR(jb))
	{
		/* a scalar is stored as a one-element pseudo array */
		*v = *getIthJsonbValueFromContainer(&jb->root, 0);
		return v;
	}
	v->type = jbvBinary;
	v->val.binary.data = &jb->root;
	v->val.binary.len = VARSIZE(jb) - VARHDRSZ;
	return v;
}

void
mdjson_push_key(JsonbParseState **st, const char *key)
{
	mdjson_push_string(st, WJB_KEY, key);
}

void
mdjson_push_string(JsonbParseState **st, JsonbIteratorToken seq, const char *s)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) s;
	v.val.string.len = strlen(s);
	pushJsonbValue(st, seq, &v);
}

void
mdjson_push_strings(JsonbParseState **st, const char *key, List *strings)
{
	ListCell   *lc;

	mdjson_push_key(st, key);
	pushJsonbValue(st, WJB_BEGIN_ARRAY, NULL);
	foreach(lc, strings)
		mdjson_push_string(st, WJB_ELEM, lfirst(lc));
	pushJsonbValue(st, WJB_END_ARRAY, NULL);
}

void
mdjson_push_null(JsonbParseState **st, JsonbIteratorToken seq)
{
	JsonbValue	v;

	v.type = jbvNull;
	pushJsonbValue(st, seq, &v);
}

JsonbValue *
mdjson_built(JsonbValue *closed)
{
	JsonbValue *v = palloc(sizeof(JsonbValue));
	Jsonb	   *jb = JsonbValueToJsonb(closed);

	v->type = jbvBinary;
	v->val.binary.data = &jb->root;
	v->val.binary.len = VARSIZE(jb) - VARHDRSZ;
	return v;
}

bool
mdjson_list_has(List *strings, const char *s)
{
	ListCell   *lc;

	foreach(lc, strings)
		if (strcmp(lfirst(lc), s) == 0)
			return true;
	return false;
}
