/*-------------------------------------------------------------------------
 *
 * metadata_rename.c
 *		A renamed column carried into the conditions dbops keeps as they
 *		were given: SQL filters and Hasura boolean expressions.
 *
 * PostgreSQL binds a policy to column numbers, so the policy of a
 * permission survives ALTER TABLE ... RENAME COLUMN; the condition dbops
 * keeps (and exports) names the column, so it must follow, or the next
 * import of the catalog would refuse it.  This is the one exception to
 * "kept as written" (DESIGN): in SQL text the new name, quoted as needed,
 * is spliced in at the parser's token locations, so nothing else of the
 * text changes; in a Hasura expression the keys and column comparisons
 * that name the column on the renamed table are renamed, following
 * relationships and _exists to know which table a key belongs to.
 *
 * A reference the splice cannot place with certainty (inside a subquery,
 * qualified by another name) is left as it is: the condition then no
 * longer checks, and dbops reports it and stops enforcing it (fail
 * closed), rather than guessing.
 *
 * src/metadata_rename.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "metadata.h"
#include "metadata_json.h"

PG_FUNCTION_INFO_V1(dbops_metadata_rename_sql);
PG_FUNCTION_INFO_V1(dbops_metadata_rename_boolexp);

/* What the walk of a SQL condition looks for */
typedef struct SqlRename
{
	const char *table;			/* the table's name, for "table.column" */
	const char *old;
	List	   *locations;		/* of the column's tokens (int) */
	const char *sql;
} SqlRename;

/* The end of the identifier token that starts at sql + loc */
static int
token_end(const char *sql, int loc)
{
	int			i = loc;

	if (sql[i] == '"')
	{
		for (i++; sql[i] != '\0'; i++)
		{
			if (sql[i] == '"')
			{
				if (sql[i + 1] != '"')
					return i + 1;
				i++;
			}
		}
		return i;
	}
	while (sql[i] != '\0' &&
		   (isalnum((unsigned char) sql[i]) || sql[i] == '_' || sql[i] == '$' ||
			IS_HIGHBIT_SET(sql[i])))
		i++;
	return i;
}

/* The start of the token after the "." that follows the token at loc, or -1 */
static int
after_dot(const char *sql, int loc)
{
	int			i = token_end(sql, loc);

	while (isspace((unsigned char) sql[i]))
		i++;
	if (sql[i] != '.')
		return -1;
	for (i++; isspace((unsigned char) sql[i]); i++)
		;
	return i;
}

static bool
sql_rename_walker(Node *node, SqlRename *r)
{
	if (node == NULL)
		return false;
	/* a subquery's names may be its own tables': left as they are */
	if (IsA(node, SubLink))
		return sql_rename_walker(((SubLink *) node)->testexpr, r);
	if (IsA(node, ColumnRef))
	{
		ColumnRef  *ref = (ColumnRef *) node;
		List	   *f = ref->fields;

		if (ref->location < 0)
			return false;
		if (list_length(f) == 1 && IsA(linitial(f), String) &&
			strcmp(strVal(linitial(f)), r->old) == 0)
			r->locations = lappend_int(r->locations, ref->location);
		else if (list_length(f) == 2 && IsA(linitial(f), String) &&
				 IsA(lsecond(f), String) &&
				 strcmp(strVal(linitial(f)), r->table) == 0 &&
				 strcmp(strVal(lsecond(f)), r->old) == 0)
		{
			int			loc = after_dot(r->sql, ref->location);

			if (loc >= 0)
				r->locations = lappend_int(r->locations, loc);
		}
		return false;
	}
	return raw_expression_tree_walker(node, sql_rename_walker, (void *) r);
}

static int
int_desc(const ListCell *a, const ListCell *b)
{
	return lfirst_int(b) - lfirst_int(a);
}

/*
 * dbops_internal.metadata_rename_sql(sql text, table_name name, old name,
 *		new name) returns text: SQL condition sql on table table_name with
 * its references to column old renamed to new.  A condition that does not
 * parse is an error (the caller keeps it as it was).
 */
Datum
dbops_metadata_rename_sql(PG_FUNCTION_ARGS)
{
	SqlRename	r;
	char	   *new_name;
	StringInfoData out;
	int			done;
	ListCell   *lc;

	r.sql = text_to_cstring(PG_GETARG_TEXT_PP(0));
	r.table = NameStr(*PG_GETARG_NAME(1));
	r.old = NameStr(*PG_GETARG_NAME(2));
	new_name = NameStr(*PG_GETARG_NAME(3));
	r.locations = NIL;
	(void) sql_rename_walker(metadata_parse_filter(r.sql, "condition"), &r);
	if (r.locations == NIL)
		PG_RETURN_TEXT_P(cstring_to_text(r.sql));

	/* spliced from the end, so earlier locations stay valid */
	list_sort(r.locations, int_desc);
	done = strlen(r.sql);
	initStringInfo(&out);
	foreach(lc, r.locations)
	{
		int			loc = lfirst_int(lc);
		int			end = token_end(r.sql, loc);
		char	   *tail = psprintf("%s%.*s%s", quote_identifier(new_name),
									done - end, r.sql + end, out.data);

		resetStringInfo(&out);
		appendStringInfoString(&out, tail);
		done = loc;
	}
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("%.*s%s", done, r.sql, out.data)));
}

/* A renamed column, and what a Hasura expression's walk needs to know */
typedef struct BoolexpRename
{
	JsonbValue *relationships;	/* metadata_relationship_map() */
	const char *root_schema;	/* the permission's table */
	const char *root_table;
	const char *schema;			/* the renamed column's table */
	const char *table;
	const char *old;
	const char *new;
} BoolexpRename;

static JsonbValue *rename_expr(BoolexpRename *r, JsonbValue *e, const char *schema,
							   const char *table);

static bool
is_renamed(BoolexpRename *r, const char *schema, const char *table, const char *col)
{
	return strcmp(schema, r->schema) == 0 && strcmp(table, r->table) == 0 &&
		strcmp(col, r->old) == 0;
}

/* The remote table of relationship name of schema.table, or NULL */
static JsonbValue *
relationship_remote(BoolexpRename *r, const char *schema, const char *table,
					const char *name)
{
	JsonbValue *v = r->relationships;

	v = v ? mdjson_get(v, schema) : NULL;
	v = v ? mdjson_get(v, table) : NULL;
	v = v ? mdjson_get(v, name) : NULL;
	return v ? mdjson_get(v, "remote") : NULL;
}

/*
 * The operators of a column of schema.table: a column comparison names a
 * column of the same table ("col") or of the permission's (["$", "col"]).
 */
static JsonbValue *
rename_operators(BoolexpRename *r, JsonbValue *ops, const char *schema,
				 const char *table)
{
	JsonbParseState *st = NULL;
	JsonbIterator *it = JsonbIteratorInit(ops->val.binary.data);
	JsonbIteratorToken tok;
	JsonbValue	k;
	JsonbValue	v;

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *op;

		if (tok != WJB_KEY)
			continue;
		(void) JsonbIteratorNext(&it, &v, true);
		op = mdjson_string(&k);
		pushJsonbValue(&st, WJB_KEY, &k);
		if (strncmp(op, "_c", 2) == 0 && mdjson_is_string(&v) &&
			is_renamed(r, schema, table, mdjson_string(&v)))
			mdjson_push_string(&st, WJB_VALUE, r->new);
		else if (strncmp(op, "_c", 2) == 0 && mdjson_is_array(&v) &&
				 JsonContainerSize(v.val.binary.data) == 2)
		{
			JsonbValue *dollar = getIthJsonbValueFromContainer(v.val.binary.data, 0);
			JsonbValue *col = getIthJsonbValueFromContainer(v.val.binary.data, 1);

			pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
			pushJsonbValue(&st, WJB_ELEM, dollar);
			if (mdjson_string_is(dollar, "$") && mdjson_is_string(col) &&
				is_renamed(r, r->root_schema, r->root_table, mdjson_string(col)))
				mdjson_push_string(&st, WJB_ELEM, r->new);
			else
				pushJsonbValue(&st, WJB_ELEM, col);
			pushJsonbValue(&st, WJB_END_ARRAY, NULL);
		}
		else
			pushJsonbValue(&st, WJB_VALUE, &v);
	}
	return mdjson_built(pushJsonbValue(&st, WJB_END_OBJECT, NULL));
}

/* Expression e on schema.table, with the column renamed where it is named */
static JsonbValue *
rename_expr(BoolexpRename *r, JsonbValue *e, const char *schema, const char *table)
{
	JsonbParseState *st = NULL;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	k;
	JsonbValue	v;

	check_stack_depth();
	if (!mdjson_is_object(e))
		return e;
	it = JsonbIteratorInit(e->val.binary.data);
	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *key;
		JsonbValue *remote;

		if (tok != WJB_KEY)
			continue;
		(void) JsonbIteratorNext(&it, &v, true);
		key = mdjson_string(&k);
		if ((strcmp(key, "_and") == 0 || strcmp(key, "_or") == 0) && mdjson_is_array(&v))
		{
			JsonbIterator *ait = JsonbIteratorInit(v.val.binary.data);
			JsonbValue	elem;

			pushJsonbValue(&st, WJB_KEY, &k);
			pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
			while ((tok = JsonbIteratorNext(&ait, &elem, true)) != WJB_DONE)
				if (tok == WJB_ELEM)
					pushJsonbValue(&st, WJB_ELEM, rename_expr(r, &elem, schema, table));
			pushJsonbValue(&st, WJB_END_ARRAY, NULL);
		}
		else if (strcmp(key, "_not") == 0)
		{
			pushJsonbValue(&st, WJB_KEY, &k);
			pushJsonbValue(&st, WJB_VALUE, rename_expr(r, &v, schema, table));
		}
		else if (strcmp(key, "_exists") == 0 && mdjson_is_object(&v))
		{
			JsonbValue *t = mdjson_get(&v, "_table");
			JsonbValue *ts = t ? mdjson_get(t, "schema") : NULL;
			JsonbValue *tn = t ? mdjson_get(t, "name") : NULL;
			JsonbValue *where = mdjson_get(&v, "_where");

			pushJsonbValue(&st, WJB_KEY, &k);
			if (where == NULL || !mdjson_is_string(tn))
				pushJsonbValue(&st, WJB_VALUE, &v);
			else
			{
				pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
				mdjson_push_key(&st, "_table");
				pushJsonbValue(&st, WJB_VALUE, t);
				mdjson_push_key(&st, "_where");
				pushJsonbValue(&st, WJB_VALUE,
							   rename_expr(r, where,
										   mdjson_is_string(ts) ? mdjson_string(ts) : "public",
										   mdjson_string(tn)));
				pushJsonbValue(&st, WJB_END_OBJECT, NULL);
			}
		}
		else if ((remote = relationship_remote(r, schema, table, key)) != NULL)
		{
			pushJsonbValue(&st, WJB_KEY, &k);
			pushJsonbValue(&st, WJB_VALUE,
						   rename_expr(r, &v, mdjson_string(mdjson_get(remote, "schema")),
									   mdjson_string(mdjson_get(remote, "name"))));
		}
		else
		{
			/* a column of schema.table, and its operators */
			if (is_renamed(r, schema, table, key))
				mdjson_push_key(&st, r->new);
			else
				pushJsonbValue(&st, WJB_KEY, &k);
			pushJsonbValue(&st, WJB_VALUE, mdjson_is_object(&v) ?
						   rename_operators(r, &v, schema, table) : &v);
		}
	}
	return mdjson_built(pushJsonbValue(&st, WJB_END_OBJECT, NULL));
}

/*
 * dbops_internal.metadata_rename_boolexp(expr jsonb, schema name,
 *		table_name name, relationships jsonb, renamed_schema name,
 *		renamed_table name, old name, new name) returns jsonb: the Hasura
 * expression expr (in normal form) of a permission on schema.table_name,
 * with column old of renamed_schema.renamed_table renamed to new wherever
 * it names it.
 */
Datum
dbops_metadata_rename_boolexp(PG_FUNCTION_ARGS)
{
	BoolexpRename r;
	JsonbValue *renamed;

	r.root_schema = NameStr(*PG_GETARG_NAME(1));
	r.root_table = NameStr(*PG_GETARG_NAME(2));
	r.relationships = mdjson_root(PG_GETARG_JSONB_P(3));
	r.schema = NameStr(*PG_GETARG_NAME(4));
	r.table = NameStr(*PG_GETARG_NAME(5));
	r.old = NameStr(*PG_GETARG_NAME(6));
	r.new = NameStr(*PG_GETARG_NAME(7));
	renamed = rename_expr(&r, mdjson_root(PG_GETARG_JSONB_P(0)), r.root_schema, r.root_table);
	PG_RETURN_JSONB_P(JsonbValueToJsonb(renamed));
}
