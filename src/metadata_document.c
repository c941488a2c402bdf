/*-------------------------------------------------------------------------
 *
 * metadata_document.c
 *		Read a metadata document: check its shape completely and give it back
 *		in one normal form, before anything looks at the database.
 *
 * Documents are dbops's own exports and Hasura's, as they are: a version 2
 * document ({"version": 2, "tables": [...]}), or a version 3 one
 * ({"version": 3, "sources": [...]}) of which one source is read.  Every
 * key is classified by metadata_keys.c: core keys are read and checked,
 * inert ones kept as an overlay that the export puts back, restrictive ones
 * kept too but they stop their permission from being enforced (fail closed,
 * listed) unless the import accepts them; any other key is refused.
 *
 * A document grants access, so it is read fail-closed: every object is
 * checked for the keys it must have and for keys it may not have, every
 * value for its JSON type, every name for its length; a permission whose
 * entry is malformed is reported with its JSON path and never reaches the
 * catalog (it is replaced by null in the normal form, and the import raises
 * before storing anything).  A permission must state its row filter (and
 * the check of an insert) even when it is "no condition", written {} as
 * Hasura does: a missing key is an error, never "all rows".  An update's
 * check may be left out, or null, as Hasura allows: no check beyond the
 * filter's.
 *
 * The normal form, which the SQL side (the checks against the database,
 * the store and the enforcement) relies on:
 *   {"version": 2,
 *    "tables": [ {"table": {"schema": s, "name": t},
 *                 "extra": {inert keys of the entry},
 *                 "object_relationships" / "array_relationships":
 *                   [{"name": n, "using": <as given>,
 *                     "remote": {"schema": s, "name": t},
 *                     "columns": [c, ...]      (the foreign key's columns)
 *                     "remote_fk": true|false  (whose: the remote table's)
 *                     or "mapping": {c: c},    (manual)
 *                     "extra": {...}}],
 *                 "<action>_permissions":
 *                   [{"role": r (after role_map),
 *                     "permission": {"columns": "*" | [c, ...] sorted,
 *                                    "filter": "sql" | {expression},
 *                                    "check": ..., "set": {...}},
 *                     "extra": {"comment": ..., "permission": {...}}}]
 *               } | null, ... ],
 *    "extras": {inert keys of the document},
 *    "tables_path": "$.tables" (or "$.sources[i].tables"),
 *    "problems": [{"severity", "path", "reason",
 *                  "schema", "table", "role", "action"}, ...]}
 * Hasura expressions are in their normal form (metadata_boolexp_normal.c);
 * an update's check that was left out is absent, one written null is null.
 *
 * Each table entry is read in a memory context of its own, reset when it is
 * done, so that a large document costs about its own size.
 *
 * src/metadata_document.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "metadata.h"
#include "metadata_json.h"

PG_FUNCTION_INFO_V1(dbops_metadata_read_document);

/* The four kinds of permission, in the order documents list them */
static const char *const actions[] = {"select", "insert", "update", "delete"};

/* Keys of a permission body that must be there, per action */
static const char *const required_keys[][3] = {
	{"columns", "filter", NULL},
	{"columns", "check", NULL},
	{"columns", "filter", NULL},
	{"filter", NULL}
};

static const char *const table_ref_keys[] = {"schema", "name", NULL};
static const char *const using_keys[] = {
	"foreign_key_constraint_on", "manual_configuration", NULL
};
static const char *const remote_fk_keys[] = {"table", "column", "columns", NULL};
static const char *const manual_keys[] = {
	"remote_table", "column_mapping", "insertion_order", NULL
};

typedef struct DocReader
{
	MemoryContext result_cxt;	/* problems live here */
	List	   *problems;		/* of DocProblem, in document order */
	JsonbContainer *role_map;	/* or NULL */
	List	   *accepted;		/* restrictive keys accepted unenforced */
} DocReader;

/*
 * A problem.  Shape problems are "fatal"; a permission kept but not
 * enforced (a restrictive key) is "unenforced", one enforced without a key
 * the import accepted is a "warning"; those name the permission.
 */
typedef struct DocProblem
{
	const char *severity;
	char	   *path;
	char	   *reason;
	char	   *schema;
	char	   *table;
	char	   *role;
	const char *action;
} DocProblem;

/* A table named in the document */
typedef struct DocTable
{
	char	   *schema;
	char	   *name;
} DocTable;

/* The permission a restrictive key belongs to */
typedef struct DocPermission
{
	DocTable   *table;
	char	   *role;
	int			action;
} DocPermission;

static DocProblem *problem(DocReader *r, const char *path, const char *fmt,...) pg_attribute_printf(3, 4);

/* Record a fatal problem; returns it, so a caller can change its severity */
static DocProblem *
problem(DocReader *r, const char *path, const char *fmt,...)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(r->result_cxt);
	DocProblem *p = palloc0(sizeof(DocProblem));
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
	p->severity = "fatal";
	p->path = pstrdup(path);
	p->reason = buf.data;
	r->problems = lappend(r->problems, p);
	MemoryContextSwitchTo(oldcxt);
	return p;
}

/* Make p a problem of permission perm, of the given severity */
static void
problem_of_permission(DocReader *r, DocProblem *p, const char *severity,
					  DocPermission *perm)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(r->result_cxt);

	p->severity = severity;
	p->schema = pstrdup(perm->table->schema);
	p->table = pstrdup(perm->table->name);
	p->role = pstrdup(perm->role);
	p->action = actions[perm->action];
	MemoryContextSwitchTo(oldcxt);
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
			char	   *key = mdjson_string(&v);

			problem(r, psprintf("%s.%s", path, key),
					"key \"%s\" is not recognized here", key);
		}
	}
}

/*
 * Sort the keys of object by their class for objects of kind where: unknown
 * ones are reported, inert and restrictive ones are pushed, with their
 * values, into an object returned as the entry's overlay (NULL when there
 * is none); the restrictive ones also go to *restrictive (if not NULL).
 */
static JsonbValue *
classify_keys(DocReader *r, JsonbValue *object, const char *path,
			  const char *where, List **restrictive)
{
	JsonbIterator *it = JsonbIteratorInit(object->val.binary.data);
	JsonbIteratorToken tok;
	JsonbValue	k;
	JsonbValue	v;
	JsonbParseState *st = NULL;

	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		MetadataKeyClass cls;

		if (tok != WJB_KEY)
			continue;
		(void) JsonbIteratorNext(&it, &v, true);
		cls = metadata_key_class(where, k.val.string.val, k.val.string.len, &v);
		if (cls == MDKEY_CORE)
			continue;
		if (cls == MDKEY_UNKNOWN)
		{
			char	   *key = mdjson_string(&k);

			problem(r, psprintf("%s.%s", path, key),
					"key \"%s\" is not recognized here", key);
			continue;
		}
		if (st == NULL)
			pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
		pushJsonbValue(&st, WJB_KEY, &k);
		pushJsonbValue(&st, WJB_VALUE, &v);
		if (cls == MDKEY_RESTRICTIVE && restrictive != NULL)
			*restrictive = lappend(*restrictive, mdjson_string(&k));
	}
	return st ? pushJsonbValue(&st, WJB_END_OBJECT, NULL) : NULL;
}

/* The value of a required key, or NULL after reporting that it is missing */
static JsonbValue *
require_key(DocReader *r, JsonbValue *object, const char *path, const char *key)
{
	JsonbValue *v = mdjson_get(object, key);

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
	if (!mdjson_is_object(v))
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

/* {"schema": s, "name": t} under key */
static void
push_table_ref(JsonbParseState **st, const char *key, DocTable *t)
{
	mdjson_push_key(st, key);
	pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
	mdjson_push_key(st, "name");
	mdjson_push_string(st, WJB_VALUE, t->name);
	mdjson_push_key(st, "schema");
	mdjson_push_string(st, WJB_VALUE, t->schema);
	pushJsonbValue(st, WJB_END_OBJECT, NULL);
}

/* The overlay under key "extra", when there is one */
static void
push_extra(JsonbParseState **st, JsonbValue *extra)
{
	if (extra == NULL)
		return;
	mdjson_push_key(st, "extra");
	pushJsonbValue(st, WJB_VALUE, mdjson_built(extra));
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

	if (mdjson_is_string(v))
	{
		if (!check_name(r, v, path, "table"))
			return false;
		t->schema = "public";
		t->name = mdjson_string(v);
		return true;
	}
	if (!open_object(r, v, path, table_ref_keys,
					 "must be an object with string keys \"schema\" and \"name\"",
					 &schema, &name) ||
		!check_name(r, schema, psprintf("%s.schema", path), "schema") ||
		!check_name(r, name, psprintf("%s.name", path), "table"))
		return false;
	t->schema = mdjson_string(schema);
	t->name = mdjson_string(name);
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

	if (mdjson_is_string(v))
	{
		if (!check_name(r, v, path, "column"))
			return false;
		names = list_make1(mdjson_string(v));
	}
	else if (mdjson_is_array(v) && JsonContainerSize(v->val.binary.data) > 0)
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
				names = lappend(names, mdjson_string(&e));
			else
				ok = false;
		}
	}
	else
	{
		problem(r, path, "must be a column name or a non-empty array of column names");
		return false;
	}
	if (ok)
		mdjson_push_strings(st, "columns", names);
	return ok;
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
	if (!mdjson_is_object(mapping) || JsonContainerSize(mapping->val.binary.data) == 0)
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
		key_path = psprintf("%s.%s", path, mdjson_string(&k));
		(void) JsonbIteratorNext(&it, &v, true);
		if (!check_name(r, &k, path, "column") ||
			!check_name(r, &v, key_path, "column"))
			ok = false;
	}
	if (!ok)
		return false;
	push_table_ref(st, "remote", &t);
	mdjson_push_key(st, "mapping");
	pushJsonbValue(st, WJB_VALUE, mapping);
	return true;
}

/*
 * A foreign key of another table that references this one, as the array
 * relationships (and Hasura's object relationships "by the remote table's
 * key") name it: {"table": ..., "column": c} or {..., "columns": [...]}.
 */
static bool
read_remote_fk(DocReader *r, JsonbValue *fk, const char *path,
			   JsonbParseState **st)
{
	JsonbValue *table = NULL;
	JsonbValue *column = NULL;
	JsonbValue *columns = NULL;
	DocTable	remote;

	if (mdjson_is_object(fk))
	{
		check_keys(r, fk, path, remote_fk_keys);
		table = mdjson_get(fk, "table");
		column = mdjson_get(fk, "column");
		columns = mdjson_get(fk, "columns");
	}
	if (table == NULL || (column == NULL) == (columns == NULL))
	{
		problem(r, path, "must be an object with a \"table\" and either a \"column\" or \"columns\"");
		return false;
	}
	if (!read_table_ref(r, table, psprintf("%s.table", path), &remote))
		return false;
	push_table_ref(st, "remote", &remote);
	mdjson_push_key(st, "remote_fk");
	pushJsonbValue(st, WJB_VALUE, &(JsonbValue) {.type = jbvBool,.val.boolean = true});
	return read_fk_columns(r, column ? column : columns,
						   psprintf("%s.%s", path, column ? "column" : "columns"),
						   st);
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
	JsonbValue *name = mdjson_get(rel, "name");
	JsonbValue *u = mdjson_get(rel, "using");
	JsonbValue *fk;
	JsonbValue *mc;
	JsonbValue *extra;
	JsonbParseState *out = NULL;
	int			before = list_length(r->problems);
	bool		ok;

	if (!mdjson_is_object(rel))
	{
		problem(r, path, "a relationship must be an object with a \"name\" and a \"using\"");
		return NULL;
	}
	extra = classify_keys(r, rel, path, "relationship", NULL);
	if (require_key(r, rel, path, "name") == NULL ||
		require_key(r, rel, path, "using") == NULL)
		return NULL;
	if (name->type != jbvString || name->val.string.len == 0)
	{
		problem(r, psprintf("%s.name", path), "must be a non-empty string");
		return NULL;
	}
	path = psprintf("%s.using", path);
	if (!mdjson_is_object(u))
	{
		problem(r, path, "must be an object");
		return NULL;
	}
	check_keys(r, u, path, using_keys);
	fk = mdjson_get(u, "foreign_key_constraint_on");
	mc = mdjson_get(u, "manual_configuration");
	if ((fk == NULL) == (mc == NULL))
	{
		problem(r, path, "must hold exactly one of \"foreign_key_constraint_on\" and \"manual_configuration\"");
		return NULL;
	}

	/* build the entry in a state of its own: pushed only when well formed */
	pushJsonbValue(&out, WJB_BEGIN_OBJECT, NULL);
	mdjson_push_key(&out, "name");
	pushJsonbValue(&out, WJB_VALUE, name);
	mdjson_push_key(&out, "using");
	pushJsonbValue(&out, WJB_VALUE, u);
	push_extra(&out, extra);
	if (mc != NULL)
		ok = read_manual(r, mc, psprintf("%s.manual_configuration", path), &out);
	else if (kind == 0 && !mdjson_is_object(fk))
	{
		/* a foreign key of this table, named by its columns */
		if (t->schema != NULL)
			push_table_ref(&out, "remote", t);
		ok = read_fk_columns(r, fk, psprintf("%s.foreign_key_constraint_on", path),
							 &out);
	}
	else
		ok = read_remote_fk(r, fk, psprintf("%s.foreign_key_constraint_on", path),
							&out);
	if (!ok || list_length(r->problems) != before)
		return NULL;
	pushJsonbValue(st, WJB_ELEM, mdjson_built(pushJsonbValue(&out, WJB_END_OBJECT, NULL)));
	return mdjson_string(name);
}

static int
cstring_cmp(const ListCell *a, const ListCell *b)
{
	return strcmp(lfirst(a), lfirst(b));
}

/*
 * "columns": "*" or an array of distinct column names, pushed sorted (byte
 * order), so that an export is stable.  An empty array is Hasura's "no
 * column" (an insert of presets and defaults only, or aggregates only):
 * dbops grants no column privilege for it, which PostgreSQL reads as no
 * access at all.
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

	if (mdjson_string_is(v, "*"))
	{
		mdjson_push_key(st, "columns");
		pushJsonbValue(st, WJB_VALUE, v);
		return true;
	}
	if (!mdjson_is_array(v))
	{
		problem(r, path, "must be \"*\" or an array of column names");
		return false;
	}
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		if (check_name(r, &e, psprintf("%s[%d]", path, i), "column"))
			names = lappend(names, mdjson_string(&e));
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
	if (ok)
		mdjson_push_strings(st, "columns", names);
	return ok;
}

/*
 * A filter or check: SQL text, or a Hasura expression (pushed in its
 * normal form).  null is the "no check" of an update, as in Hasura.
 */
static bool
read_condition(DocReader *r, JsonbValue *v, const char *key, const char *path,
			   bool null_ok, JsonbParseState **st)
{
	if (v->type == jbvNull && null_ok)
		pushJsonbValue(st, WJB_VALUE, v);
	else if (mdjson_is_string(v))
		pushJsonbValue(st, WJB_VALUE, v);
	else if (mdjson_is_object(v))
		pushJsonbValue(st, WJB_VALUE, metadata_boolexp_normalize(v));
	else
	{
		problem(r, path,
				"must be a Hasura boolean expression ({} for no condition) or a SQL boolean expression written as a string");
		return false;
	}
	return true;
}

/* An insert's or update's presets: {"column": value, ...} */
static bool
read_presets(DocReader *r, JsonbValue *v, const char *path,
			 JsonbParseState **st)
{
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	k;
	bool		ok = true;

	if (v->type == jbvNull)
		return true;
	if (!mdjson_is_object(v))
	{
		problem(r, path, "must be an object of column presets");
		return false;
	}
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
		if (tok == WJB_KEY && !check_name(r, &k, path, "column"))
			ok = false;
	if (ok && JsonContainerSize(v->val.binary.data) > 0)
	{
		mdjson_push_key(st, "set");
		pushJsonbValue(st, WJB_VALUE, v);
	}
	return ok;
}

/* The role a document's role is stored as: role_map's, else its own */
static char *
mapped_role(DocReader *r, JsonbValue *role)
{
	if (r->role_map != NULL)
	{
		JsonbValue *to = findJsonbValueFromContainer(r->role_map, JB_FOBJECT, role);

		if (to != NULL)
			return mdjson_string(to);
	}
	return mdjson_string(role);
}

/*
 * The role of a permission entry, after role_map; NULL (reported) when it
 * is malformed or reserved.
 */
static char *
read_role(DocReader *r, JsonbValue *role, const char *path)
{
	char	   *stored;

	if (role == NULL || !check_name(r, role, path, "role"))
		return NULL;
	stored = mapped_role(r, role);
	if (strlen(stored) == 0 || strlen(stored) >= NAMEDATALEN)
	{
		problem(r, path, "role_map maps role \"%s\" to an invalid role name",
				mdjson_string(role));
		return NULL;
	}
	if (strcmp(stored, "public") == 0 || strncmp(stored, "pg_", 3) == 0)
	{
		problem(r, path, "role name \"%s\" is reserved", stored);
		return NULL;
	}
	return stored;
}

/*
 * The restrictive keys of a permission: each is a problem of that
 * permission, "unenforced" (it is not enforced at all) unless the import
 * accepts the key, then a "warning" (enforced without it).
 */
static void
report_restrictive(DocReader *r, List *keys, const char *path,
				   DocPermission *perm)
{
	ListCell   *lc;

	foreach(lc, keys)
	{
		char	   *key = lfirst(lc);
		bool		accepted = mdjson_list_has(r->accepted, key);
		DocProblem *p;

		p = problem(r, psprintf("%s.permission.%s", path, key),
					accepted ?
					"\"%s\" is kept but not enforced by PostgreSQL; the permission is enforced without it (accept_unenforced)" :
					"kept, not enforced: PostgreSQL cannot express \"%s\", so the whole permission is not enforced (fail closed); accept_unenforced lets it be enforced without it",
					key);
		problem_of_permission(r, p, accepted ? "warning" : "unenforced", perm);
	}
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
	const char *what = actions[action];
	JsonbValue *body;
	JsonbValue *entry_extra;
	JsonbValue *body_extra = NULL;
	JsonbParseState *out = NULL;
	List	   *restrictive = NIL;
	bool		no_columns = false;	/* "columns": [] */
	char	   *role;
	int			before = list_length(r->problems);
	char	   *body_path = psprintf("%s.permission", path);

	if (!mdjson_is_object(perm))
	{
		problem(r, path, "a permission must be an object with a \"role\" and a \"permission\"");
		mdjson_push_null(st, WJB_ELEM);
		return NULL;
	}
	entry_extra = classify_keys(r, perm, path, "permission", NULL);
	role = read_role(r, require_key(r, perm, path, "role"), psprintf("%s.role", path));
	body = require_key(r, perm, path, "permission");

	if (body != NULL && !mdjson_is_object(body))
		problem(r, body_path, "must be an object");
	else if (body != NULL)
	{
		body_extra = classify_keys(r, body, body_path, what, &restrictive);
		for (int k = 0; required_keys[action][k] != NULL; k++)
			(void) require_key(r, body, body_path, required_keys[action][k]);

		pushJsonbValue(&out, WJB_BEGIN_OBJECT, NULL);
		if (mdjson_get(body, "columns"))
		{
			JsonbValue *cols = mdjson_get(body, "columns");

			no_columns = mdjson_is_array(cols) &&
				JsonContainerSize(cols->val.binary.data) == 0;
			(void) read_columns(r, cols, psprintf("%s.columns", body_path), &out);
		}
		for (int c = 0; c < 2; c++)
		{
			const char *key = c == 0 ? "filter" : "check";
			JsonbValue *v = mdjson_get(body, key);

			if (v == NULL || metadata_key_class(what, key, strlen(key), v) != MDKEY_CORE)
				continue;
			mdjson_push_key(&out, key);
			(void) read_condition(r, v, key, psprintf("%s.%s", body_path, key),
								  action == 2 && c == 1, &out);
		}
		if (mdjson_get(body, "set") && action != 0 && action != 3)
			(void) read_presets(r, mdjson_get(body, "set"),
								psprintf("%s.set", body_path), &out);
	}

	if (list_length(r->problems) != before)
	{
		mdjson_push_null(st, WJB_ELEM);
		return NULL;
	}
	if (restrictive != NIL)
	{
		DocPermission p = {t, role, action};

		report_restrictive(r, restrictive, path, &p);
	}
	if (no_columns)
	{
		DocPermission p = {t, role, action};

		problem_of_permission(r, problem(r, psprintf("%s.columns", body_path),
										 "no column is granted, so PostgreSQL gives the role no access to the table (Hasura still allows aggregates, or inserts of presets and defaults); list the columns to allow them"),
							  "warning", &p);
	}

	pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
	mdjson_push_key(st, "permission");
	pushJsonbValue(st, WJB_VALUE, mdjson_built(pushJsonbValue(&out, WJB_END_OBJECT, NULL)));
	mdjson_push_key(st, "role");
	mdjson_push_string(st, WJB_VALUE, role);
	if (entry_extra != NULL || body_extra != NULL)
	{
		/* the overlay the export puts back: the entry's keys, the body's */
		mdjson_push_key(st, "extra");
		pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
		if (entry_extra != NULL)
		{
			JsonbIterator *it = JsonbIteratorInit(&JsonbValueToJsonb(entry_extra)->root);
			JsonbIteratorToken tok;
			JsonbValue	v;

			(void) JsonbIteratorNext(&it, &v, false);	/* the object itself */
			while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_END_OBJECT)
				pushJsonbValue(st, tok, &v);
		}
		if (body_extra != NULL)
		{
			mdjson_push_key(st, "permission");
			pushJsonbValue(st, WJB_VALUE, mdjson_built(body_extra));
		}
		pushJsonbValue(st, WJB_END_OBJECT, NULL);
	}
	pushJsonbValue(st, WJB_END_OBJECT, NULL);
	return role;
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
	JsonbValue *arr = mdjson_get(entry, key);
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	elem;
	bool		ok = true;
	int			i = 0;

	if (arr == NULL)
		return true;
	if (!mdjson_is_array(arr))
	{
		problem(r, psprintf("%s.%s", path, key), "must be an array");
		return false;
	}
	mdjson_push_key(st, key);
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
		else if (mdjson_list_has(*names, name))
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
 * malformed (a permission kept but not enforced is not malformed).
 * *t receives the table it names, if any.
 */
static void
read_table_entry(DocReader *r, JsonbValue *entry, const char *path,
				 DocTable *t, JsonbParseState **st)
{
	JsonbValue *ref;
	JsonbValue *extra;
	JsonbParseState *out = NULL;
	List	   *rel_names = NIL;
	int			before = list_length(r->problems);

	t->schema = NULL;
	if (!mdjson_is_object(entry))
	{
		problem(r, path, "a table entry must be a JSON object");
		mdjson_push_null(st, WJB_ELEM);
		return;
	}
	extra = classify_keys(r, entry, path, "table", NULL);
	ref = require_key(r, entry, path, "table");
	if (ref == NULL || !read_table_ref(r, ref, psprintf("%s.table", path), t))
		t->schema = NULL;

	pushJsonbValue(&out, WJB_BEGIN_OBJECT, NULL);
	/* relationship names are shared by both kinds; roles are per action */
	for (int kind = 0; kind < 2; kind++)
		(void) read_entry_array(r, entry, path,
								kind == 0 ? "object_relationships" : "array_relationships",
								read_relationship, kind, t, &rel_names, path,
								"relationship name \"%s\" is used twice", &out);
	for (int action = 0; action < lengthof(actions); action++)
	{
		char	   *key = psprintf("%s_permissions", actions[action]);
		List	   *roles = NIL;

		(void) read_entry_array(r, entry, path, key, read_permission, action, t,
								&roles, psprintf("%s.%s", path, key),
								psprintf("role \"%%s\" has more than one %s permission",
										 actions[action]),
								&out);
	}

	/* only fatal problems make the entry malformed */
	for (int i = before; i < list_length(r->problems); i++)
	{
		if (strcmp(((DocProblem *) list_nth(r->problems, i))->severity, "fatal") == 0)
		{
			mdjson_push_null(st, WJB_ELEM);
			return;
		}
	}
	push_table_ref(&out, "table", t);
	push_extra(&out, extra);
	pushJsonbValue(st, WJB_ELEM, mdjson_built(pushJsonbValue(&out, WJB_END_OBJECT, NULL)));
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
read_role_map(DocReader *r, Jsonb *role_map)
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
		(void) JsonbIteratorNext(&it, &v, true);
		if (!check_name(r, &v, psprintf("role_map.%s", mdjson_string(&k)), "role"))
			return;
	}
	r->role_map = &role_map->root;
}

/* Is v the number n? */
static bool
is_number(JsonbValue *v, int n)
{
	return v != NULL && v->type == jbvNumeric &&
		DatumGetBool(DirectFunctionCall2(numeric_eq,
										 NumericGetDatum(v->val.numeric),
										 DirectFunctionCall1(int4_numeric,
															 Int32GetDatum(n))));
}

/*
 * The inert keys of the source read from a version 3 document, added to
 * doc_extra (the document's own; NULL when it has none): its "functions"
 * are what a version 2 document keeps at the top.  The others describe
 * Hasura's connection to that database (settings, customization, health
 * checks, native queries): dbops exports version 2 documents, which have
 * no place for them, so they are not kept, and a warning names each.
 */
static JsonbValue *
source_extras(DocReader *r, JsonbValue *source, const char *path, JsonbValue *doc_extra)
{
	JsonbValue *kept = classify_keys(r, source, path, "source", NULL);
	JsonbParseState *st = NULL;
	bool		top_functions = false;

	if (kept == NULL)
		return doc_extra;
	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; doc_extra != NULL && i < doc_extra->val.object.nPairs; i++)
	{
		JsonbPair  *pair = &doc_extra->val.object.pairs[i];

		top_functions |= mdjson_string_is(&pair->key, "functions");
		pushJsonbValue(&st, WJB_KEY, &pair->key);
		pushJsonbValue(&st, WJB_VALUE, &pair->value);
	}
	for (int i = 0; i < kept->val.object.nPairs; i++)
	{
		JsonbPair  *pair = &kept->val.object.pairs[i];
		char	   *key = mdjson_string(&pair->key);

		if (strcmp(key, "functions") == 0 && top_functions)
			problem(r, psprintf("%s.%s", path, key),
					"functions are listed both here and at the top of the document");
		else if (strcmp(key, "functions") == 0)
		{
			pushJsonbValue(&st, WJB_KEY, &pair->key);
			pushJsonbValue(&st, WJB_VALUE, &pair->value);
		}
		else
			problem(r, psprintf("%s.%s", path, key),
					"the source's \"%s\" is Hasura's own and is not kept (dbops exports version 2 documents)",
					key)->severity = "warning";
	}
	return pushJsonbValue(&st, WJB_END_OBJECT, NULL);
}

/*
 * The source of a version 3 document to read: the one named source_name,
 * or, with none named, the only PostgreSQL source.  NULL (reported) when
 * there is no such source.  *path receives its path.
 */
static JsonbValue *
choose_source(DocReader *r, JsonbValue *sources, const char *source_name,
			  char **path)
{
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	src;
	JsonbValue *found = NULL;
	List	   *names = NIL;
	int			i = 0;

	if (!mdjson_is_array(sources))
	{
		problem(r, "$.sources", "must be an array");
		return NULL;
	}
	it = JsonbIteratorInit(sources->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &src, true)) != WJB_DONE)
	{
		JsonbValue *name;
		JsonbValue *kind;
		char	   *src_path;

		if (tok != WJB_ELEM)
			continue;
		src_path = psprintf("$.sources[%d]", i++);
		name = mdjson_get(&src, "name");
		kind = mdjson_get(&src, "kind");
		if (!mdjson_is_string(name) || !mdjson_is_string(kind))
		{
			problem(r, src_path, "a source must be an object with string keys \"name\" and \"kind\"");
			continue;
		}
		if (source_name != NULL ? !mdjson_string_is(name, source_name) :
			!mdjson_string_is(kind, "postgres"))
			continue;
		names = lappend(names, mdjson_string(name));
		found = palloc(sizeof(JsonbValue));
		*found = src;
		*path = src_path;
	}
	if (source_name != NULL && found != NULL && !mdjson_string_is(mdjson_get(found, "kind"), "postgres"))
	{
		problem(r, *path, "source \"%s\" is of kind \"%s\", not \"postgres\"",
				source_name, mdjson_string(mdjson_get(found, "kind")));
		return NULL;
	}
	if (found == NULL)
		problem(r, "$.sources", "%s", source_name ?
				psprintf("there is no source named \"%s\"", source_name) :
				"there is no source of kind \"postgres\"");
	else if (list_length(names) > 1)
	{
		problem(r, "$.sources", "there are %d PostgreSQL sources; name the one to import with source_name",
				list_length(names));
		return NULL;
	}
	return found;
}

/*
 * Read doc (role_map and accepted may be NULL, source_name too): the normal
 * form described at the top, with every problem under "problems".
 */
Jsonb *
metadata_read_document(Jsonb *doc, Jsonb *role_map, List *accepted,
					   const char *source_name)
{
	DocReader	r = {CurrentMemoryContext, NIL, NULL, accepted};
	MemoryContext entry_cxt;
	JsonbValue *root = mdjson_root(doc);
	JsonbValue *version;
	JsonbValue *tables = NULL;
	JsonbValue *doc_extra = NULL;
	JsonbValue	two;
	JsonbParseState *st = NULL;
	const char *tables_path = "$.tables";
	List	   *entries = NIL;
	List	   *named = NIL;
	ListCell   *lc;

	if (role_map != NULL)
		read_role_map(&r, role_map);

	if (!mdjson_is_object(root))
		problem(&r, "$", "a metadata document must be a JSON object");
	else
	{
		version = mdjson_get(root, "version");
		doc_extra = classify_keys(&r, root, "$", "document", NULL);
		if (is_number(version, 2))
		{
			if (mdjson_get(root, "sources"))
				problem(&r, "$.sources", "a version 2 document has no sources");
			tables = mdjson_get(root, "tables");
		}
		else if (is_number(version, 3))
		{
			char	   *src_path = NULL;
			JsonbValue *source = choose_source(&r, mdjson_get(root, "sources"),
											   source_name, &src_path);

			if (mdjson_get(root, "tables"))
				problem(&r, "$.tables", "a version 3 document keeps its tables in its sources");
			if (source != NULL)
			{
				doc_extra = source_extras(&r, source, src_path, doc_extra);
				tables = mdjson_get(source, "tables");
				tables_path = psprintf("%s.tables", src_path);
			}
		}
		else
			problem(&r, "$.version",
					"version %s is not supported (only 2 and 3, the versions of Hasura's metadata)",
					version == NULL ? "missing" :
					JsonbToCString(NULL, version->type == jbvBinary ?
								   version->val.binary.data :
								   &JsonbValueToJsonb(version)->root, 0));
		if (tables != NULL && !mdjson_is_array(tables))
		{
			problem(&r, tables_path, "must be an array");
			tables = NULL;
		}
	}
	if (source_name != NULL && (root == NULL || !is_number(mdjson_get(root, "version"), 3)))
		problem(&r, "$.version", "source_name applies to version 3 documents only");

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
			read_table_entry(&r, &entry, psprintf("%s[%d]", tables_path, i++), &t, &one);
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

		if (table_cmp(list_nth_cell(named, j - 1), list_nth_cell(named, j)) == 0 &&
			(j == 1 || table_cmp(list_nth_cell(named, j - 2), list_nth_cell(named, j - 1)) != 0))
			problem(&r, tables_path, "table %s is listed twice",
					quote_qualified_identifier(a->schema, a->name));
	}

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	if (doc_extra != NULL)
	{
		mdjson_push_key(&st, "extras");
		pushJsonbValue(&st, WJB_VALUE, mdjson_built(doc_extra));
	}
	mdjson_push_key(&st, "problems");
	pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
	foreach(lc, r.problems)
	{
		DocProblem *p = lfirst(lc);

		pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
		mdjson_push_key(&st, "severity");
		mdjson_push_string(&st, WJB_VALUE, p->severity);
		mdjson_push_key(&st, "path");
		mdjson_push_string(&st, WJB_VALUE, p->path);
		mdjson_push_key(&st, "reason");
		mdjson_push_string(&st, WJB_VALUE, p->reason);
		if (p->table != NULL)
		{
			mdjson_push_key(&st, "schema");
			mdjson_push_string(&st, WJB_VALUE, p->schema);
			mdjson_push_key(&st, "table");
			mdjson_push_string(&st, WJB_VALUE, p->table);
			mdjson_push_key(&st, "role");
			mdjson_push_string(&st, WJB_VALUE, p->role);
			mdjson_push_key(&st, "action");
			mdjson_push_string(&st, WJB_VALUE, p->action);
		}
		pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	}
	pushJsonbValue(&st, WJB_END_ARRAY, NULL);
	mdjson_push_key(&st, "tables");
	pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
	foreach(lc, entries)
	{
		/* each entry was built as a one-element array */
		Jsonb	   *e = lfirst(lc);

		pushJsonbValue(&st, WJB_ELEM, getIthJsonbValueFromContainer(&e->root, 0));
	}
	pushJsonbValue(&st, WJB_END_ARRAY, NULL);
	/* where the tables were, for the paths of later problems */
	mdjson_push_key(&st, "tables_path");
	mdjson_push_string(&st, WJB_VALUE, tables_path);
	mdjson_push_key(&st, "version");
	two.type = jbvNumeric;
	two.val.numeric = DatumGetNumeric(DirectFunctionCall1(int4_numeric,
														  Int32GetDatum(2)));
	pushJsonbValue(&st, WJB_VALUE, &two);
	return JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, NULL));
}

/* The elements of a text[] argument as a List of C strings */
List *
metadata_text_array_list(ArrayType *arr)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	List	   *result = NIL;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("accept_unenforced must not hold nulls")));
		result = lappend(result, TextDatumGetCString(elems[i]));
	}
	return result;
}

/*
 * dbops_internal.metadata_read_document(doc jsonb, role_map jsonb,
 * accept_unenforced text[], source_name text) returns jsonb: see
 * metadata_read_document.
 */
Datum
dbops_metadata_read_document(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("metadata document must not be null")));
	PG_RETURN_JSONB_P(metadata_read_document(PG_GETARG_JSONB_P(0),
											 PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1),
											 PG_ARGISNULL(2) ? NIL :
											 metadata_text_array_list(PG_GETARG_ARRAYTYPE_P(2)),
											 PG_ARGISNULL(3) ? NULL :
											 text_to_cstring(PG_GETARG_TEXT_PP(3))));
}
