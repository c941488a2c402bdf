/*-------------------------------------------------------------------------
 *
 * metadata_boolexp_normal.c
 *		The normal form of a Hasura boolean expression, as dbops stores and
 *		exports it.
 *
 * A permission keeps its filter as given (DESIGN, Hasura metadata): a
 * Hasura expression is stored as jsonb beside the policy compiled from it,
 * and exported back in the form Hasura itself normalises to: keys sorted
 * (jsonb does that), "_ne" written "_neq", and the old "$eq" spelling of
 * operators written "_eq".  Only operator keys are renamed: a value (say a
 * jsonb object compared with _contains) is kept byte for byte.
 *
 * src/metadata_boolexp_normal.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "metadata.h"
#include "metadata_json.h"

/* The connectives: every other "_" key of an expression is an operator */
static bool
is_connective(const char *key, int len)
{
	return (len == 4 && (strncmp(key, "_and", 4) == 0 || strncmp(key, "_not", 4) == 0)) ||
		(len == 3 && strncmp(key, "_or", 3) == 0) ||
		(len == 7 && strncmp(key, "_exists", 7) == 0);
}

/*
 * Is v the operators of one column ({"_eq": 1, "_gt": 0}) rather than an
 * expression over a related table?  An operator key starts with "_" (or the
 * old "$") and is no connective.
 */
bool
metadata_boolexp_is_operators(JsonbValue *v)
{
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	k;

	if (!mdjson_is_object(v))
		return false;
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY && k.val.string.len > 0 &&
			(k.val.string.val[0] == '_' || k.val.string.val[0] == '$') &&
			!is_connective(k.val.string.val, k.val.string.len))
			return true;
	}
	return false;
}

/* An operator's name in normal form */
static char *
normal_operator(JsonbValue *k)
{
	char	   *name = mdjson_string(k);

	if (name[0] == '$')
		name[0] = '_';
	if (strcmp(name, "_ne") == 0)
		return "_neq";
	return name;
}

static void normalize_into(JsonbValue *e, JsonbParseState **st,
						   JsonbIteratorToken seq);

/*
 * Object v in normal form: an operators object has its keys renamed and
 * its values kept; an expression has its sub-expressions normalised.
 */
static JsonbValue *
normalize_object(JsonbValue *v, bool operators)
{
	JsonbParseState *st = NULL;
	JsonbIterator *it = JsonbIteratorInit(v->val.binary.data);
	JsonbIteratorToken tok;
	JsonbValue	k;
	JsonbValue	val;

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *key;

		if (tok != WJB_KEY)
			continue;
		key = operators ? normal_operator(&k) : mdjson_string(&k);
		(void) JsonbIteratorNext(&it, &val, true);
		mdjson_push_key(&st, key);
		if (operators)
			pushJsonbValue(&st, WJB_VALUE, &val);	/* a value: as it is */
		else if ((strcmp(key, "_and") == 0 || strcmp(key, "_or") == 0) &&
				 mdjson_is_array(&val))
		{
			JsonbIterator *ait = JsonbIteratorInit(val.val.binary.data);
			JsonbValue	elem;

			pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
			while ((tok = JsonbIteratorNext(&ait, &elem, true)) != WJB_DONE)
				if (tok == WJB_ELEM)
					normalize_into(&elem, &st, WJB_ELEM);
			pushJsonbValue(&st, WJB_END_ARRAY, NULL);
		}
		else if (strcmp(key, "_exists") == 0 && mdjson_is_object(&val))
		{
			JsonbValue *table = mdjson_get(&val, "_table");
			JsonbValue *where = mdjson_get(&val, "_where");

			pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
			if (table)
			{
				mdjson_push_key(&st, "_table");
				pushJsonbValue(&st, WJB_VALUE, table);
			}
			if (where)
			{
				mdjson_push_key(&st, "_where");
				normalize_into(where, &st, WJB_VALUE);
			}
			pushJsonbValue(&st, WJB_END_OBJECT, NULL);
		}
		else
			normalize_into(&val, &st, WJB_VALUE);
	}
	return pushJsonbValue(&st, WJB_END_OBJECT, NULL);
}

/* Push e in normal form into st as seq */
static void
normalize_into(JsonbValue *e, JsonbParseState **st, JsonbIteratorToken seq)
{
	if (!mdjson_is_object(e))
		pushJsonbValue(st, seq, e);
	else
		pushJsonbValue(st, seq,
					   mdjson_built(normalize_object(e, metadata_boolexp_is_operators(e))));
}

/* The normal form of expression e */
JsonbValue *
metadata_boolexp_normalize(JsonbValue *e)
{
	if (!mdjson_is_object(e))
		return e;
	return mdjson_built(normalize_object(e, metadata_boolexp_is_operators(e)));
}
