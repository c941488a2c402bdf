/*-------------------------------------------------------------------------
 *
 * metadata_document.c
 *		Read a metadata document: check its shape completely and give it back
 *		in one normal form, before anything looks at the database.
 *
 * A document grants access, so it is read fail-closed: every object is
 * checked for the keys it must have and for keys it may not have, every
 * value for its JSON type, every name for its length; a permission whose
 * entry is malformed is reported with its JSON path and never reaches the
 * catalog (it is replaced by null in the normal form, and the import raises
 * before storing anything).  A permission must state its row filter (and
 * check) even when it is "no condition", written {} as in Hasura: a missing
 * key is an error, never "all rows".
 *
 * The normal form, which the SQL side (the catalog checks, the store and
 * the enforcement) relies on:
 *   {"version": 2,
 *    "tables": [ {"table": {"schema": s, "name": t},
 *                 "object_relationships" / "array_relationships":
 *                   [{"name": n, "using": <as given>,
 *                     "remote": {"schema": s, "name": t},
 *                     "columns": [c, ...]           (foreign key)
 *                     or "mapping": {c: c, ...}},   (manual)
 *                 "<action>_permissions":
 *                   [{"role": r (after role_map),
 *                     "permission": {"columns": "*" | [c, ...] sorted,
 *                                    "filter": ..., "check": ...}}]
 *               } | null, ... ],
 *    "problems": [{"path": p, "reason": r}, ...]}
 *
 * Each table entry is read in a memory context of its own, reset when it is
 * done, so that a large document costs about its own size.
 *
 * src/metadata_document.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "metadata.h"

PG_FUNCTION_INFO_V1(dbops_metadata_read_document);

/* The four kinds of permission, in the order documents list them */
static const char *const actions[] = {"select", "insert", "update", "delete"};

/*
 * Keys of a permission body, per action: all are required, since a missing
 * filter or check must not mean "no condition".
 */
static const char *const permission_keys[][4] = {
	{"columns", "filter", NULL},
	{"columns", "check", NULL},
	{"columns", "filter", "check", NULL},
	{"filter", NULL}
};

static const char *const document_keys[] = {"version", "tables", NULL};
static const char *const table_keys[] = {
	"table", "object_relationships", "array_relationships",
	"select_permissions", "insert_permissions", "update_permissions",
	"delete_permissions", NULL
};
static const char *const table_ref_keys[] = {"schema", "name", NULL};
static const char *const relationship_keys[] = {"name", "using", NULL};
static const char *const using_keys[] = {
	"foreign_key_constraint_on", "manual_configuration", NULL
};
static const char *const remote_fk_keys[] = {"table", "column", "columns", NULL};
static const char *const manual_keys[] = {"remote_table", "column_mapping", NULL};
static const char *const permission_entry_keys[] = {"role", "permission", NULL};

typedef struct DocReader
{
	MemoryContext result_cxt;	/* problems and the normal form live here */
	List	   *problems;		/* of DocProblem, in document order */
	JsonbContainer *role_map;	/* or NULL */
} DocReader;

typedef struct DocProblem
{
	char	   *path;
	char	   *reason;
} DocProblem;

/* A table named in the document, for the check that none is listed twice */
typedef struct DocTable
{
	char	   *schema;
	char	   *name;
} DocTable;

static void problem(DocReader *r, const char *path, const char *fmt,...) pg_attribute_printf(3, 4);

static void
problem(DocReader *r, const char *path, const char *fmt,...)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(r->result_cxt);
	DocProblem *p = palloc(sizeof(DocProblem));
	StringInfoData buf;

	initStringInfo(&buf);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&buf, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	p->path = pstrdup(path);
	p->reason = buf.data;
	r->problems = lappend(r->problems, p);
	MemoryContextSwitchTo(oldcxt);
}

static bool
is_object(JsonbValue *v)
{
	return v != NULL && v->type == jbvBinary &&
		JsonContainerIsObject(v->val.binary.data);
}

static bool
is_array(JsonbValue *v)
{
	return v != NULL && v->type == jbvBinary &&
		JsonContainerIsArray(v->val.binary.data);
}

static char *
string_of(JsonbValue *v)
{
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* The value of key in object, or NULL */
static JsonbValue *
get_key(JsonbValue *object, const char *key)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	return findJsonbValueFromContainer(object->val.binary.data, JB_FOBJECT, &k);
}

static bool
in_list(const char *const *list, const char *s, int len)
{
	for (; *list != NULL; list++)
		if ((int) strlen(*list) == len && strncmp(*list, s, len) == 0)
			return true;
	return false;
}

/* Report every key of object that allowed does not list */
static void
check_keys(DocReader *r, JsonbValue *object, const char *path,
		   const char *const *allowed)
{
	JsonbIterator *it = JsonbIteratorInit(object->val.binary.data);
	JsonbIteratorToken tok;
	JsonbValue	v;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY && !in_list(allowed, v.val.string.val, v.val.string.len))
		{
			char	   *key = string_of(&v);

			problem(r, psprintf("%s.%s", path, key),
					"key \"%s\" is not recognized here", key);
		}
	}
}

/* The value of a required key, or NULL after reporting that it is missing */
static JsonbValue *
require_key(DocReader *r, JsonbValue *object, const char *path, const char *key)
{
	JsonbValue *v = get_key(object, key);

	if (v == NULL)
		problem(r, path, "key \"%s\" is missing", key);
	return v;
}

/*
 * v must be an object with the keys listed in keys, of which the first two
 * are required: they are returned in *first and *second.  Unknown keys are
 * reported; false when v is no object (shape says what it should be) or a
 * required key is missing.
 */
static bool
open_object(DocReader *r, JsonbValue *v, const char *path,
			const char *const *keys, const char *shape,
			JsonbValue **first, JsonbValue **second)
{
	if (!is_object(v))
	{
		problem(r, path, "%s", shape);
		return false;
	}
	check_keys(r, v, path, keys);
	*first = require_key(r, v, path, keys[0]);
	*second = require_key(r, v, path, keys[1]);
	return *first != NULL && *second != NULL;
}

/*
 * Is v a string that can be a name of kind what ("role", "column"...)?
 * PostgreSQL would silently truncate a longer one to another name.
 */
static bool
check_name(DocReader *r, JsonbValue *v, const char *path, const char *what)
{
	if (v == NULL || v->type != jbvString)
	{
		problem(r, path, "must be a %s name written as a string", what);
		return false;
	}
	if (v->val.string.len == 0)
	{
		problem(r, path, "%s name must not be empty", what);
		return false;
	}
	if (v->val.string.len >= NAMEDATALEN)
	{
		problem(r, path, "%s name is too long (%d bytes, at most %d)",
				what, v->val.string.len, NAMEDATALEN - 1);
		return false;
	}
	return true;
}

static void
push_key(JsonbParseState **st, const char *key)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	pushJsonbValue(st, WJB_KEY, &k);
}

static void
push_string(JsonbParseState **st, JsonbIteratorToken seq, const char *s)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) s;
	v.val.string.len = strlen(s);
	pushJsonbValue(st, seq, &v);
}

/* key: [s, ...] */
static void
push_string_array(JsonbParseState **st, const char *key, List *strings)
{
	ListCell   *lc;

	push_key(st, key);
	pushJsonbValue(st, WJB_BEGIN_ARRAY, NULL);
	foreach(lc, strings)
		push_string(st, WJB_ELEM, lfirst(lc));
	pushJsonbValue(st, WJB_END_ARRAY, NULL);
}

/*
 * A container built in its own parse state, as a value to push: closing
 * the outermost container returns it (and empties the state).
 */
static JsonbValue *
built_value(JsonbValue *closed)
{
	JsonbValue *v = palloc(sizeof(JsonbValue));

	v->type = jbvBinary;
	v->val.binary.data = &JsonbValueToJsonb(closed)->root;
	v->val.binary.len = 0;
	return v;
}

/* Push any value: scalars as they are, containers through their contents */
static void
push_value(JsonbParseState **st, JsonbIteratorToken seq, JsonbValue *v)
{
	pushJsonbValue(st, seq, v);
}

static void
push_null(JsonbParseState **st)
{
	JsonbValue	v;

	v.type = jbvNull;
	pushJsonbValue(st, WJB_ELEM, &v);
}

/* {"schema": s, "name": t} */
static void
push_table_ref(JsonbParseState **st, const char *key, DocTable *t)
{
	push_key(st, key);
	pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
	push_key(st, "name");
	push_string(st, WJB_VALUE, t->name);
	push_key(st, "schema");
	push_string(st, WJB_VALUE, t->schema);
	pushJsonbValue(st, WJB_END_OBJECT, NULL);
}

/*
 * A table reference: {"schema": s, "name": t}, or Hasura's bare "t" for a
 * table of schema public.  Fills *t and returns true when well formed.
 */
static bool
read_table_ref(DocReader *r, JsonbValue *v, const char *path, DocTable *t)
{
	JsonbValue *schema;
	JsonbValue *name;

	if (v != NULL && v->type == jbvString)
	{
		if (!check_name(r, v, path, "table"))
			return false;
		t->schema = "public";
		t->name = string_of(v);
		return true;
	}
	if (!open_object(r, v, path, table_ref_keys,
					 "must be an object with string keys \"schema\" and \"name\"",
					 &schema, &name) ||
		!check_name(r, schema, psprintf("%s.schema", path), "schema") ||
		!check_name(r, name, psprintf("%s.name", path), "table"))
		return false;
	t->schema = string_of(schema);
	t->name = string_of(name);
	return true;
}

/*
 * A column list of a foreign key: "c" or a non-empty array of names.
 * Pushes it as an array under "columns" when well formed.
 */
static bool
read_fk_columns(DocReader *r, JsonbValue *v, const char *path,
				JsonbParseState **st)
{
	List	   *names = NIL;
	bool		ok = true;

	if (v != NULL && v->type == jbvString)
	{
		if (!check_name(r, v, path, "column"))
			return false;
		names = list_make1(string_of(v));
	}
	else if (is_array(v) && JsonContainerSize(v->val.binary.data) > 0)
	{
		JsonbIterator *it = JsonbIteratorInit(v->val.binary.data);
		JsonbIteratorToken tok;
		JsonbValue	e;
		int			i = 0;

		while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
		{
			if (tok != WJB_ELEM)
				continue;
			if (check_name(r, &e, psprintf("%s[%d]", path, i++), "column"))
				names = lappend(names, string_of(&e));
			else
				ok = false;
		}
	}
	else
	{
		problem(r, path, "must be a column name or a non-empty array of column names");
		return false;
	}
	if (!ok)
		return false;

	push_string_array(st, "columns", names);
	return true;
}

/* "manual_configuration": {"remote_table": ..., "column_mapping": {...}} */
static bool
read_manual(DocReader *r, JsonbValue *mc, const char *path,
			JsonbParseState **st)
{
	JsonbValue *remote;
	JsonbValue *mapping;
	DocTable	t;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	k;
	JsonbValue	v;
	bool		ok = true;

	if (!open_object(r, mc, path, manual_keys,
					 "must be an object with a \"remote_table\" and a \"column_mapping\"",
					 &remote, &mapping))
		return false;
	ok = read_table_ref(r, remote, psprintf("%s.remote_table", path), &t);
	path = psprintf("%s.column_mapping", path);
	if (!is_object(mapping) || JsonContainerSize(mapping->val.binary.data) == 0)
	{
		problem(r, path, "must be a non-empty object that maps column names to column names");
		return false;
	}
	it = JsonbIteratorInit(mapping->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *key_path;

		if (tok != WJB_KEY)
			continue;
		key_path = psprintf("%s.%s", path, string_of(&k));
		tok = JsonbIteratorNext(&it, &v, true);
		if (!check_name(r, &k, path, "column") ||
			!check_name(r, &v, key_path, "column"))
			ok = false;
	}
	if (!ok)
		return false;
	push_table_ref(st, "remote", &t);
	push_key(st, "mapping");
	push_value(st, WJB_VALUE, mapping);
	return true;
}

/*
 * A relationship of table t (kind 0: object, 1: array): check it and push
 * its normal form, or push nothing and report why.  Returns its name, or
 * NULL when it is malformed.
 */
static char *
read_relationship(DocReader *r, JsonbValue *rel, const char *path,
				  int kind, DocTable *t, JsonbParseState **st)
{
	bool		is_object_rel = kind == 0;
	JsonbValue *name;
	JsonbValue *u;
	JsonbValue *fk;
	JsonbValue *mc;
	JsonbParseState *out = NULL;
	bool		ok;

	if (!open_object(r, rel, path, relationship_keys,
					 "a relationship must be an object with a \"name\" and a \"using\"",
					 &name, &u))
		return NULL;
	if (name->type != jbvString || name->val.string.len == 0)
	{
		problem(r, psprintf("%s.name", path), "must be a non-empty string");
		return NULL;
	}
	path = psprintf("%s.using", path);
	if (!is_object(u))
	{
		problem(r, path, "must be an object");
		return NULL;
	}
	check_keys(r, u, path, using_keys);
	fk = get_key(u, "foreign_key_constraint_on");
	mc = get_key(u, "manual_configuration");
	if ((fk == NULL) == (mc == NULL))
	{
		problem(r, path, "must hold exactly one of \"foreign_key_constraint_on\" and \"manual_configuration\"");
		return NULL;
	}

	/* build the entry in a state of its own: pushed only when well formed */
	pushJsonbValue(&out, WJB_BEGIN_OBJECT, NULL);
	push_key(&out, "name");
	push_value(&out, WJB_VALUE, name);
	push_key(&out, "using");
	push_value(&out, WJB_VALUE, u);
	if (mc != NULL)
		ok = read_manual(r, mc, psprintf("%s.manual_configuration", path), &out);
	else if (is_object_rel)
	{
		/* a foreign key of this table, named by its columns */
		if (t->schema != NULL)
			push_table_ref(&out, "remote", t);
		ok = read_fk_columns(r, fk, psprintf("%s.foreign_key_constraint_on", path),
							 &out);
	}
	else
	{
		/* a foreign key of another table that references this one */
		char	   *fk_path = psprintf("%s.foreign_key_constraint_on", path);
		JsonbValue *table = NULL;
		JsonbValue *column = NULL;
		JsonbValue *columns = NULL;
		DocTable	remote;

		if (is_object(fk))
		{
			check_keys(r, fk, fk_path, remote_fk_keys);
			table = get_key(fk, "table");
			column = get_key(fk, "column");
			columns = get_key(fk, "columns");
		}
		if (table == NULL || (column == NULL) == (columns == NULL))
		{
			problem(r, fk_path, "must be an object with a \"table\" and either a \"column\" or \"columns\"");
			ok = false;
		}
		else
		{
			ok = read_table_ref(r, table, psprintf("%s.table", fk_path), &remote);
			if (ok)
				push_table_ref(&out, "remote", &remote);
			ok = ok && read_fk_columns(r, column ? column : columns,
									   psprintf("%s.%s", fk_path,
												column ? "column" : "columns"),
									   &out);
		}
	}
	if (!ok)
		return NULL;
	push_value(st, WJB_ELEM,
			   built_value(pushJsonbValue(&out, WJB_END_OBJECT, NULL)));
	return string_of(name);
}

static bool
list_member_cstring(List *list, const char *s)
{
	ListCell   *lc;

	foreach(lc, list)
		if (strcmp(lfirst(lc), s) == 0)
			return true;
	return false;
}

static int
cstring_cmp(const ListCell *a, const ListCell *b)
{
	return strcmp(lfirst(a), lfirst(b));
}

/*
 * "columns": "*" or a non-empty array of distinct column names, pushed
 * sorted (byte order), so that an export is stable.
 */
static bool
read_columns(DocReader *r, JsonbValue *v, const char *path,
			 JsonbParseState **st)
{
	List	   *names = NIL;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	e;
	int			i = 0;
	bool		ok = true;

	if (v->type == jbvString && v->val.string.len == 1 && v->val.string.val[0] == '*')
	{
		push_key(st, "columns");
		push_value(st, WJB_VALUE, v);
		return true;
	}
	if (!is_array(v) || JsonContainerSize(v->val.binary.data) == 0)
	{
		problem(r, path, "must be \"*\" or a non-empty array of column names");
		return false;
	}
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		if (check_name(r, &e, psprintf("%s[%d]", path, i), "column"))
			names = lappend(names, string_of(&e));
		else
			ok = false;
		i++;
	}
	if (!ok)
		return false;
	list_sort(names, cstring_cmp);
	for (int j = 1; j < list_length(names); j++)
	{
		if (strcmp(list_nth(names, j - 1), list_nth(names, j)) == 0)
		{
			problem(r, path, "column \"%s\" is listed twice",
					(char *) list_nth(names, j));
			ok = false;
		}
	}
	if (!ok)
		return false;
	push_string_array(st, "columns", names);
	return true;
}

/* The role a document's role is stored as: role_map's, else its own */
static char *
mapped_role(DocReader *r, JsonbValue *role)
{
	if (r->role_map != NULL)
	{
		JsonbValue *to = findJsonbValueFromContainer(r->role_map, JB_FOBJECT, role);

		if (to != NULL)
			return string_of(to);
	}
	return string_of(role);
}

/*
 * A permission of one action (an index into actions): check it and push its
 * normal form, or push null and report why.  Returns the role it is stored
 * for, or NULL.
 */
static char *
read_permission(DocReader *r, JsonbValue *perm, const char *path, int action,
				DocTable *t, JsonbParseState **st)
{
	JsonbValue *role;
	JsonbValue *body;
	JsonbParseState *out = NULL;
	JsonbValue *body_value = NULL;
	char	   *stored_role = NULL;
	bool		ok = true;
	char		allowed_desc[64] = "";

	if (!is_object(perm))
	{
		problem(r, path, "a permission must be an object with a \"role\" and a \"permission\"");
		push_null(st);
		return NULL;
	}
	check_keys(r, perm, path, permission_entry_keys);
	role = require_key(r, perm, path, "role");
	body = require_key(r, perm, path, "permission");
	if (role != NULL && check_name(r, role, psprintf("%s.role", path), "role"))
	{
		stored_role = mapped_role(r, role);
		if (strlen(stored_role) == 0 || strlen(stored_role) >= NAMEDATALEN)
		{
			problem(r, psprintf("%s.role", path),
					"role_map maps role \"%s\" to an invalid role name",
					string_of(role));
			ok = false;
		}
		else if (strcmp(stored_role, "public") == 0 ||
				 strncmp(stored_role, "pg_", 3) == 0)
		{
			problem(r, psprintf("%s.role", path),
					"role name \"%s\" is reserved", stored_role);
			ok = false;
		}
	}
	else
		ok = false;

	if (body != NULL && !is_object(body))
	{
		for (const char *const *k = permission_keys[action]; *k != NULL; k++)
			snprintf(allowed_desc + strlen(allowed_desc),
					 sizeof(allowed_desc) - strlen(allowed_desc), "%s\"%s\"",
					 k == permission_keys[action] ? "" : ", ", *k);
		problem(r, psprintf("%s.permission", path),
				"must be an object with the keys %s", allowed_desc);
		ok = false;
	}
	else if (body != NULL)
	{
		char	   *body_path = psprintf("%s.permission", path);

		check_keys(r, body, body_path, permission_keys[action]);
		pushJsonbValue(&out, WJB_BEGIN_OBJECT, NULL);
		for (const char *const *k = permission_keys[action]; *k != NULL; k++)
		{
			JsonbValue *v = require_key(r, body, body_path, *k);
			char	   *key_path = psprintf("%s.%s", body_path, *k);

			if (v == NULL)
				ok = false;
			else if (strcmp(*k, "columns") == 0)
				ok = read_columns(r, v, key_path, &out) && ok;
			else if (v->type == jbvString || is_object(v))
			{
				push_key(&out, *k);
				push_value(&out, WJB_VALUE, v);
			}
			else
			{
				problem(r, key_path,
						"must be a SQL boolean expression written as a string, or a Hasura boolean expression ({} for no condition)");
				ok = false;
			}
		}
		if (ok)
			body_value = built_value(pushJsonbValue(&out, WJB_END_OBJECT, NULL));
	}
	else
		ok = false;

	if (!ok)
	{
		push_null(st);
		return NULL;
	}
	pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
	push_key(st, "permission");
	push_value(st, WJB_VALUE, body_value);
	push_key(st, "role");
	push_string(st, WJB_VALUE, stored_role);
	pushJsonbValue(st, WJB_END_OBJECT, NULL);
	return stored_role;
}

/*
 * Reads one element of a table entry's array: pushes its normal form (or
 * null, or nothing) and returns the name no other element may share, or
 * NULL when the element is malformed.  kind tells which array it is in.
 */
typedef char *(*DocElementReader) (DocReader *r, JsonbValue *elem,
								   const char *path, int kind, DocTable *t,
								   JsonbParseState **st);

/*
 * The array at key of entry, which may be absent: push it under key with
 * each element read by reader, and report an element whose name is in
 * *names already (dup_fmt, at dup_path).  Returns false when anything in
 * it is malformed.
 */
static bool
read_entry_array(DocReader *r, JsonbValue *entry, const char *path,
				 const char *key, DocElementReader reader, int kind,
				 DocTable *t, List **names, const char *dup_path,
				 const char *dup_fmt, JsonbParseState **st)
{
	JsonbValue *arr = get_key(entry, key);
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	elem;
	bool		ok = true;
	int			i = 0;

	if (arr == NULL)
		return true;
	if (!is_array(arr))
	{
		problem(r, psprintf("%s.%s", path, key), "must be an array");
		return false;
	}
	push_key(st, key);
	pushJsonbValue(st, WJB_BEGIN_ARRAY, NULL);
	it = JsonbIteratorInit(arr->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &elem, true)) != WJB_DONE)
	{
		char	   *name;

		if (tok != WJB_ELEM)
			continue;
		name = reader(r, &elem, psprintf("%s.%s[%d]", path, key, i++), kind, t, st);
		if (name == NULL)
			ok = false;
		else if (list_member_cstring(*names, name))
		{
			problem(r, dup_path, dup_fmt, name);
			ok = false;
		}
		else
			*names = lappend(*names, name);
	}
	pushJsonbValue(st, WJB_END_ARRAY, NULL);
	return ok;
}

/*
 * One table entry at path: push its normal form, or null when it is
 * malformed.  *t receives the table it names, if any.
 */
static void
read_table_entry(DocReader *r, JsonbValue *entry, const char *path,
				 DocTable *t, JsonbParseState **st)
{
	JsonbValue *ref;
	JsonbParseState *out = NULL;
	List	   *rel_names = NIL;
	bool		ok = true;

	t->schema = NULL;
	if (!is_object(entry))
	{
		problem(r, path, "a table entry must be a JSON object");
		push_null(st);
		return;
	}
	check_keys(r, entry, path, table_keys);
	ref = require_key(r, entry, path, "table");
	if (ref == NULL || !read_table_ref(r, ref, psprintf("%s.table", path), t))
	{
		t->schema = NULL;
		ok = false;
	}

	pushJsonbValue(&out, WJB_BEGIN_OBJECT, NULL);
	/* relationship names are shared by both kinds; roles are per action */
	for (int kind = 0; kind < 2; kind++)
		ok = read_entry_array(r, entry, path,
							  kind == 0 ? "object_relationships" : "array_relationships",
							  read_relationship, kind, t, &rel_names, path,
							  "relationship name \"%s\" is used twice", &out) && ok;
	for (int action = 0; action < lengthof(actions); action++)
	{
		char	   *key = psprintf("%s_permissions", actions[action]);
		List	   *roles = NIL;

		ok = read_entry_array(r, entry, path, key, read_permission, action, t,
							  &roles, psprintf("%s.%s", path, key),
							  psprintf("role \"%%s\" has more than one %s permission",
									   actions[action]),
							  &out) && ok;
	}
	if (!ok)
	{
		push_null(st);
		return;
	}
	push_table_ref(&out, "table", t);
	push_value(st, WJB_ELEM,
			   built_value(pushJsonbValue(&out, WJB_END_OBJECT, NULL)));
}

static int
table_cmp(const ListCell *a, const ListCell *b)
{
	const DocTable *ta = lfirst(a);
	const DocTable *tb = lfirst(b);
	int			c = strcmp(ta->schema, tb->schema);

	return c != 0 ? c : strcmp(ta->name, tb->name);
}

/* role_map: an object whose values are role names */
static void
check_role_map(DocReader *r, Jsonb *role_map)
{
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	k;
	JsonbValue	v;

	if (!JB_ROOT_IS_OBJECT(role_map))
	{
		problem(r, "role_map", "must be a JSON object mapping role names to role names");
		return;
	}
	it = JsonbIteratorInit(&role_map->root);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		if (tok != WJB_KEY)
			continue;
		tok = JsonbIteratorNext(&it, &v, true);
		if (!check_name(r, &v, psprintf("role_map.%s", string_of(&k)), "role"))
			return;
	}
	r->role_map = &role_map->root;
}

static JsonbValue *
document_root(Jsonb *doc)
{
	JsonbValue *v = palloc(sizeof(JsonbValue));

	v->type = jbvBinary;
	v->val.binary.data = &doc->root;
	v->val.binary.len = VARSIZE(doc) - VARHDRSZ;
	return v;
}

/*
 * Read doc (role_map may be NULL): the normal form described at the top,
 * with every shape problem listed under "problems".
 */
Jsonb *
metadata_read_document(Jsonb *doc, Jsonb *role_map)
{
	DocReader	r = {CurrentMemoryContext, NIL, NULL};
	MemoryContext entry_cxt;
	JsonbValue *root = document_root(doc);
	JsonbValue *version;
	JsonbValue *tables = NULL;
	JsonbValue	two;
	JsonbParseState *st = NULL;
	List	   *entries = NIL;
	List	   *named = NIL;
	ListCell   *lc;

	if (role_map != NULL)
		check_role_map(&r, role_map);

	if (!JB_ROOT_IS_OBJECT(doc))
		problem(&r, "$", "a metadata document must be a JSON object");
	else
	{
		check_keys(&r, root, "$", document_keys);
		version = get_key(root, "version");
		if (version == NULL || version->type != jbvNumeric ||
			!DatumGetBool(DirectFunctionCall2(numeric_eq,
											  NumericGetDatum(version->val.numeric),
											  DirectFunctionCall1(int4_numeric,
																  Int32GetDatum(2)))))
			problem(&r, "$.version",
					"version %s is not supported (only 2, the layout of Hasura's metadata version 2)",
					version == NULL ? "missing" :
					JsonbToCString(NULL, version->type == jbvBinary ?
								   version->val.binary.data :
								   &JsonbValueToJsonb(version)->root, 0));
		tables = get_key(root, "tables");
		if (tables != NULL && !is_array(tables))
		{
			problem(&r, "$.tables", "must be an array");
			tables = NULL;
		}
	}

	/* each table entry in a context of its own; what survives is copied */
	entry_cxt = AllocSetContextCreate(CurrentMemoryContext,
									  "dbops metadata entry",
									  ALLOCSET_DEFAULT_SIZES);
	if (tables != NULL)
	{
		JsonbIterator *it = JsonbIteratorInit(tables->val.binary.data);
		JsonbIteratorToken tok;
		JsonbValue	entry;
		int			i = 0;

		while ((tok = JsonbIteratorNext(&it, &entry, true)) != WJB_DONE)
		{
			MemoryContext oldcxt;
			JsonbParseState *one = NULL;
			DocTable	t;
			Jsonb	   *normal;

			if (tok != WJB_ELEM)
				continue;
			oldcxt = MemoryContextSwitchTo(entry_cxt);
			pushJsonbValue(&one, WJB_BEGIN_ARRAY, NULL);
			read_table_entry(&r, &entry, psprintf("$.tables[%d]", i++), &t, &one);
			normal = JsonbValueToJsonb(pushJsonbValue(&one, WJB_END_ARRAY, NULL));
			MemoryContextSwitchTo(oldcxt);

			entries = lappend(entries, memcpy(palloc(VARSIZE(normal)), normal,
											  VARSIZE(normal)));
			if (t.schema != NULL)
			{
				DocTable   *kept = palloc(sizeof(DocTable));

				kept->schema = pstrdup(t.schema);
				kept->name = pstrdup(t.name);
				named = lappend(named, kept);
			}
			MemoryContextReset(entry_cxt);
		}
	}
	MemoryContextDelete(entry_cxt);

	list_sort(named, table_cmp);
	for (int j = 1; j < list_length(named); j++)
	{
		DocTable   *a = list_nth(named, j - 1);
		DocTable   *b = list_nth(named, j);

		if (table_cmp(list_nth_cell(named, j - 1), list_nth_cell(named, j)) == 0 &&
			(j == 1 || table_cmp(list_nth_cell(named, j - 2), list_nth_cell(named, j - 1)) != 0))
			problem(&r, "$.tables", "table %s is listed twice",
					quote_qualified_identifier(a->schema, b->name));
	}

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	push_key(&st, "problems");
	pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
	foreach(lc, r.problems)
	{
		DocProblem *p = lfirst(lc);

		pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
		push_key(&st, "path");
		push_string(&st, WJB_VALUE, p->path);
		push_key(&st, "reason");
		push_string(&st, WJB_VALUE, p->reason);
		pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	}
	pushJsonbValue(&st, WJB_END_ARRAY, NULL);
	push_key(&st, "tables");
	pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
	foreach(lc, entries)
	{
		/* each entry was built as a one-element array */
		Jsonb	   *e = lfirst(lc);

		push_value(&st, WJB_ELEM, getIthJsonbValueFromContainer(&e->root, 0));
	}
	pushJsonbValue(&st, WJB_END_ARRAY, NULL);
	push_key(&st, "version");
	two.type = jbvNumeric;
	two.val.numeric = DatumGetNumeric(DirectFunctionCall1(int4_numeric,
														  Int32GetDatum(2)));
	pushJsonbValue(&st, WJB_VALUE, &two);
	return JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, NULL));
}

/*
 * dbops_internal.metadata_read_document(doc jsonb, role_map jsonb) returns
 * jsonb: see metadata_read_document.
 */
Datum
dbops_metadata_read_document(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("metadata document must not be null")));
	PG_RETURN_JSONB_P(metadata_read_document(PG_GETARG_JSONB_P(0),
											 PG_ARGISNULL(1) ? NULL :
											 PG_GETARG_JSONB_P(1)));
}
