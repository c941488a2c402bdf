/*-------------------------------------------------------------------------
 *
 * metadata_boolexp.c
 *		Compile a Hasura boolean expression into the raw parse tree of a
 *		policy expression.
 *
 * Expressions are built as parse trees, never as SQL text: a column is a
 * ColumnRef of its name, a value a typed constant, a session variable
 * ("X-Hasura-User-Id") current_setting('hasura.user_id', true) cast to the
 * column's type (to an array of it for _in and _nin, where Hasura passes
 * "{1,2,3}").  Operators are schema-qualified, so nothing in search_path
 * can stand in for them.
 *
 * Relationships mean what Hasura means: the related table is read as the
 * engine reads it, not as the role (whose own policies on it would hide
 * rows, and can recurse).  When a policy is created (BOOLEXP_ENFORCE), a
 * relationship, an _exists, and everything under them become a generated
 * function in dbops_internal: SQL-standard body (names bound when it is
 * created), STABLE, SECURITY DEFINER, owned by the related table's owner
 * (who bypasses that table's row-level security unless FORCE is set),
 * search_path pinned.  A relationship is then
 *     key IN (SELECT k FROM dbops_internal.f())
 * which PostgreSQL runs once per query, hashed; only a condition that
 * refers back to the permission's own row ("$" in a column comparison)
 * passes that row's columns in and runs per row.  When an expression is
 * only checked (BOOLEXP_CHECK), the same conditions are written as inline
 * subqueries, so that type-checking needs no function.
 *
 * Errors name the JSON path of the offending part ("filter._and[1].author.
 * id") through BoolexpCompiler.path; for errors that only parse analysis
 * finds (a value that is no integer), every node carries the index of its
 * path as its location, and the checker's source text is that many blanks.
 *
 * src/metadata_boolexp.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/alter.h"
#include "commands/defrem.h"
#include "common/md5.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_node.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/syscache.h"

#include "metadata.h"
#include "metadata_json.h"

/* Where an expression is compiled: over which table, written how */
typedef struct BoolexpScope
{
	Oid			relid;
	char	   *schema;
	char	   *table;
	char	   *alias;			/* NULL for the permission's own table */
	bool		nested;			/* inside a subquery or a function body */
	bool		in_function;	/* enforce: inside a generated function */
	List	   *params;			/* in_function: root columns passed in */
} BoolexpScope;

static Node *compile_expr(BoolexpCompiler *c, BoolexpScope *s, JsonbValue *e);

static void boolexp_error(BoolexpCompiler *c, const char *fmt,...) pg_attribute_printf(2, 3) pg_attribute_noreturn();

static void
boolexp_error(BoolexpCompiler *c, const char *fmt,...)
{
	char		buf[1024];
	va_list		args;

	va_start(args, fmt);
	vsnprintf(buf, sizeof(buf), fmt, args);
	va_end(args);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg_internal("%s", buf)));
}

/* Descend into key of the current path; returns the path to restore */
static char *
path_push(BoolexpCompiler *c, const char *fmt, const char *key, int index)
{
	char	   *saved = c->path;

	c->path = index >= 0 ? psprintf("%s[%d]", saved, index) :
		psprintf(fmt, saved, key);
	return saved;
}

/* The location that stands for the current path (see the header) */
static int
path_location(BoolexpCompiler *c)
{
	c->locations = lappend(c->locations, pstrdup(c->path));
	return list_length(c->locations) - 1;
}

/* Node builders */

static Node *
make_string_const(const char *s, int location)
{
	A_Const    *n = makeNode(A_Const);

	n->val.sval.type = T_String;
	n->val.sval.sval = pstrdup(s);
	n->location = location;
	return (Node *) n;
}

static Node *
make_null_const(int location)
{
	A_Const    *n = makeNode(A_Const);

	n->isnull = true;
	n->location = location;
	return (Node *) n;
}

static Node *
make_bool_const(bool b)
{
	A_Const    *n = makeNode(A_Const);

	n->val.boolval.type = T_Boolean;
	n->val.boolval.boolval = b;
	n->location = -1;
	return (Node *) n;
}

static Node *
make_cast(Node *arg, TypeName *type, int location)
{
	TypeCast   *n = makeNode(TypeCast);

	n->arg = arg;
	n->typeName = copyObject(type);
	n->location = location;
	return (Node *) n;
}

/* The array type of a column's type (built by makeTypeNameFromOid) */
static TypeName *
array_type_of(BoolexpCompiler *c, TypeName *elem)
{
	Oid			arr = get_array_type(elem->typeOid);

	if (!OidIsValid(arr))
		boolexp_error(c, "type %s has no array type", format_type_be(elem->typeOid));
	return makeTypeNameFromOid(arr, elem->typemod);
}

/* pg_catalog.<op>, the name of a schema-qualified operator */
static List *
catalog_name(const char *name)
{
	return list_make2(makeString("pg_catalog"), makeString(pstrdup(name)));
}

static Node *
make_op(A_Expr_Kind kind, const char *op, Node *l, Node *r, int location)
{
	return (Node *) makeA_Expr(kind, catalog_name(op), l, r, location);
}

static Node *
make_colref(List *fields, int location)
{
	ColumnRef  *n = makeNode(ColumnRef);

	n->fields = fields;
	n->location = location;
	return (Node *) n;
}

static Node *
make_and(List *args)
{
	if (args == NIL)
		return make_bool_const(true);
	if (list_length(args) == 1)
		return linitial(args);
	return (Node *) makeBoolExpr(AND_EXPR, args, -1);
}

static Node *
make_or(List *args)
{
	if (args == NIL)
		return make_bool_const(false);
	if (list_length(args) == 1)
		return linitial(args);
	return (Node *) makeBoolExpr(OR_EXPR, args, -1);
}

/* A column of the scope's table, as written where it is compiled */
static Node *
scope_column(BoolexpScope *s, const char *col, int location)
{
	if (s->alias != NULL)
		return make_colref(list_make2(makeString(s->alias), makeString(pstrdup(col))),
						   location);
	if (s->nested)
		return make_colref(list_make3(makeString(s->schema), makeString(s->table),
									  makeString(pstrdup(col))), location);
	return make_colref(list_make1(makeString(pstrdup(col))), location);
}

/* The attribute number and type of column col of relid, or 0 */
static AttrNumber
column_of(Oid relid, const char *col, TypeName **type)
{
	HeapTuple	tup = SearchSysCacheAttName(relid, col);
	AttrNumber	attnum = 0;

	if (HeapTupleIsValid(tup))
	{
		Form_pg_attribute att = (Form_pg_attribute) GETSTRUCT(tup);

		if (att->attnum > 0)
		{
			attnum = att->attnum;
			if (type)
				*type = makeTypeNameFromOid(att->atttypid, att->atttypmod);
		}
		ReleaseSysCache(tup);
	}
	return attnum;
}

static TypeName *
column_type(BoolexpCompiler *c, Oid relid, const char *col, const char *table)
{
	TypeName   *type;

	if (column_of(relid, col, &type) == 0)
		boolexp_error(c, "column \"%s\" does not exist on %s", col, table);
	return type;
}

/*
 * A reference to the permission's own table's column ("$" in Hasura), as
 * written in scope s: directly at the top, qualified inside a subquery, a
 * parameter of the generated function inside one.
 */
static Node *
root_column(BoolexpCompiler *c, BoolexpScope *s, const char *col, int location)
{
	(void) column_type(c, c->root_relid, col,
					   quote_qualified_identifier(c->root_schema, c->root_table));
	if (s->in_function)
	{
		ParamRef   *p = makeNode(ParamRef);
		int			n = 0;
		ListCell   *lc;

		foreach(lc, s->params)
		{
			n++;
			if (strcmp(lfirst(lc), col) == 0)
				break;
		}
		if (lc == NULL)
		{
			s->params = lappend(s->params, pstrdup(col));
			n = list_length(s->params);
		}
		p->number = n;
		p->location = location;
		return (Node *) p;
	}
	if (s->nested)
		return make_colref(list_make3(makeString(c->root_schema),
									  makeString(c->root_table),
									  makeString(pstrdup(col))), location);
	return make_colref(list_make1(makeString(pstrdup(col))), location);
}

/* Is v a Hasura session variable ("X-Hasura-..." in any case)? */
static bool
is_session_variable(JsonbValue *v)
{
	return mdjson_is_string(v) && v->val.string.len > 9 &&
		pg_strncasecmp(v->val.string.val, "x-hasura-", 9) == 0;
}

/*
 * current_setting('hasura.<name>', true) for session variable v: the part
 * after "X-Hasura-", lower case, hyphens as underscores (DESIGN).
 */
static Node *
session_setting(JsonbValue *v, int location)
{
	char	   *name = pnstrdup(v->val.string.val + 9, v->val.string.len - 9);
	FuncCall   *f;

	for (char *p = name; *p; p++)
		*p = *p == '-' ? '_' : pg_tolower((unsigned char) *p);
	f = makeFuncCall(catalog_name("current_setting"),
					 list_make2(make_string_const(psprintf("hasura.%s", name), location),
								make_bool_const(true)),
					 COERCE_EXPLICIT_CALL, location);
	return (Node *) f;
}

/* The text of a JSON scalar or container, as Hasura would send it */
static char *
json_text(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvString:
			return mdjson_string(v);
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out,
													   NumericGetDatum(v->val.numeric)));
		case jbvBool:
			return v->val.boolean ? "true" : "false";
		case jbvBinary:
			return JsonbToCString(NULL, v->val.binary.data, v->val.binary.len);
		default:
			return NULL;
	}
}

/* Value v of a comparison, as type */
static Node *
typed_value(BoolexpCompiler *c, JsonbValue *v, TypeName *type)
{
	int			location = path_location(c);

	if (v->type == jbvNull)
		return make_cast(make_null_const(location), type, location);
	if (is_session_variable(v))
		return make_cast(session_setting(v, location), type, location);
	return make_cast(make_string_const(json_text(v), location), type, location);
}

/*
 * The list of _in, _nin, _has_keys_any and _has_keys_all, as an array of
 * elem_type: a JSON array of values, or a session variable holding a
 * PostgreSQL array literal.
 */
static Node *
array_value(BoolexpCompiler *c, JsonbValue *v, TypeName *elem_type)
{
	TypeName   *arr = array_type_of(c, elem_type);
	A_ArrayExpr *a;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	e;
	int			location = path_location(c);

	if (is_session_variable(v))
		return make_cast(session_setting(v, location), arr, location);
	if (!mdjson_is_array(v))
		boolexp_error(c, "must be an array of values or a session variable");
	a = makeNode(A_ArrayExpr);
	a->location = location;
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		if (e.type == jbvNull)
			a->elements = lappend(a->elements, make_null_const(location));
		else if (e.type == jbvBinary)
			boolexp_error(c, "an element of the list must be a scalar");
		else
			a->elements = lappend(a->elements,
								  make_string_const(json_text(&e), location));
	}
	return make_cast((Node *) a, arr, location);
}

/*
 * The column a column comparison (_ceq ...) names: "col" of the same
 * table, ["col"] likewise, ["$", "col"] of the permission's own table.
 */
static Node *
compared_column(BoolexpCompiler *c, BoolexpScope *s, JsonbValue *v)
{
	int			location = path_location(c);

	if (mdjson_is_string(v))
	{
		char	   *col = mdjson_string(v);

		(void) column_type(c, s->relid, col, quote_qualified_identifier(s->schema, s->table));
		return scope_column(s, col, location);
	}
	if (mdjson_is_array(v))
	{
		int			n = JsonContainerSize(v->val.binary.data);
		JsonbValue *first = n > 0 ? getIthJsonbValueFromContainer(v->val.binary.data, 0) : NULL;
		JsonbValue *second = n > 1 ? getIthJsonbValueFromContainer(v->val.binary.data, 1) : NULL;

		if (n == 1 && mdjson_is_string(first))
			return compared_column(c, s, first);
		if (n == 2 && mdjson_string_is(first, "$") && mdjson_is_string(second))
			return root_column(c, s, mdjson_string(second), location);
	}
	boolexp_error(c, "must name a column: \"col\", or [\"$\", \"col\"] for a column of the permission's table");
}

/* One operator of a column: col <op> v */
static Node *
compile_operator(BoolexpCompiler *c, BoolexpScope *s, const char *col,
				 TypeName *type, const char *op, JsonbValue *v)
{
	static const struct
	{
		const char *hasura;
		const char *sql;
		A_Expr_Kind kind;
	}			comparisons[] = {
		{"_eq", "=", AEXPR_OP}, {"_neq", "<>", AEXPR_OP},
		{"_gt", ">", AEXPR_OP}, {"_lt", "<", AEXPR_OP},
		{"_gte", ">=", AEXPR_OP}, {"_lte", "<=", AEXPR_OP},
		{"_like", "~~", AEXPR_LIKE}, {"_nlike", "!~~", AEXPR_LIKE},
		{"_ilike", "~~*", AEXPR_ILIKE}, {"_nilike", "!~~*", AEXPR_ILIKE},
		{"_regex", "~", AEXPR_OP}, {"_nregex", "!~", AEXPR_OP},
		{"_iregex", "~*", AEXPR_OP}, {"_niregex", "!~*", AEXPR_OP},
		{"_contains", "@>", AEXPR_OP}, {"_contained_in", "<@", AEXPR_OP},
	};
	static const struct
	{
		const char *hasura;
		const char *sql;
	}			column_comparisons[] = {
		{"_ceq", "="}, {"_cne", "<>"}, {"_cgt", ">"}, {"_clt", "<"},
		{"_cgte", ">="}, {"_clte", "<="},
	};
	int			location = path_location(c);
	Node	   *colref = scope_column(s, col, location);
	TypeName   *text_type = makeTypeNameFromOid(TEXTOID, -1);

	for (int i = 0; i < lengthof(comparisons); i++)
		if (strcmp(op, comparisons[i].hasura) == 0)
			return make_op(comparisons[i].kind, comparisons[i].sql, colref,
						   typed_value(c, v, type), location);
	for (int i = 0; i < lengthof(column_comparisons); i++)
		if (strcmp(op, column_comparisons[i].hasura) == 0)
			return make_op(AEXPR_OP, column_comparisons[i].sql, colref,
						   compared_column(c, s, v), location);

	if (strcmp(op, "_in") == 0 || strcmp(op, "_nin") == 0)
		return make_op(op[1] == 'i' ? AEXPR_OP_ANY : AEXPR_OP_ALL,
					   op[1] == 'i' ? "=" : "<>", colref,
					   array_value(c, v, type), location);
	if (strcmp(op, "_similar") == 0 || strcmp(op, "_nsimilar") == 0)
		return make_op(AEXPR_SIMILAR, op[1] == 's' ? "~" : "!~", colref,
					   (Node *) makeFuncCall(catalog_name("similar_to_escape"),
											 list_make1(typed_value(c, v, text_type)),
											 COERCE_EXPLICIT_CALL, location),
					   location);
	if (strcmp(op, "_has_key") == 0)
		return make_op(AEXPR_OP, "?", colref, typed_value(c, v, text_type), location);
	if (strcmp(op, "_has_keys_any") == 0 || strcmp(op, "_has_keys_all") == 0)
		return make_op(AEXPR_OP, op[11] == 'n' ? "?|" : "?&", colref,
					   array_value(c, v, text_type), location);
	if (strcmp(op, "_is_null") == 0)
	{
		NullTest   *t = makeNode(NullTest);

		if (v->type != jbvBool)
			boolexp_error(c, "_is_null takes true or false");
		t->arg = (Expr *) colref;
		t->nulltesttype = v->val.boolean ? IS_NULL : IS_NOT_NULL;
		t->location = location;
		return (Node *) t;
	}
	boolexp_error(c, "operator \"%s\" is not supported", op);
}

/* The operators object of column col: their conjunction */
static Node *
compile_column(BoolexpCompiler *c, BoolexpScope *s, const char *col,
			   JsonbValue *ops)
{
	TypeName   *type = column_type(c, s->relid, col,
								   quote_qualified_identifier(s->schema, s->table));
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	k;
	JsonbValue	v;
	List	   *conds = NIL;

	if (!mdjson_is_object(ops))
		boolexp_error(c, "must be an object of operators, such as {\"_eq\": value}");
	it = JsonbIteratorInit(ops->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *op;
		char	   *saved;

		if (tok != WJB_KEY)
			continue;
		op = mdjson_string(&k);
		(void) JsonbIteratorNext(&it, &v, true);
		saved = path_push(c, "%s.%s", op, -1);
		conds = lappend(conds, compile_operator(c, s, col, type, op, &v));
		c->path = saved;
	}
	return make_and(conds);
}

/* The relationship named name of the scope's table, or NULL */
static JsonbValue *
find_relationship(BoolexpCompiler *c, BoolexpScope *s, const char *name)
{
	return mdjson_get(mdjson_get(mdjson_get(c->relationships, s->schema),
								 s->table), name);
}

/* A new scope over table relid, inside scope outer */
static BoolexpScope *
inner_scope(BoolexpCompiler *c, BoolexpScope *outer, Oid relid, bool function)
{
	BoolexpScope *s = palloc0(sizeof(BoolexpScope));

	s->relid = relid;
	s->schema = get_namespace_name(get_rel_namespace(relid));
	s->table = get_rel_name(relid);
	s->alias = psprintf("dbops_r%d", ++c->alias_count);
	s->nested = true;
	s->in_function = function || outer->in_function;
	return s;
}

/* The table named by ref, {"schema", "name"} or a bare name in public */
static Oid
table_of(BoolexpCompiler *c, JsonbValue *ref)
{
	char	   *schema = "public";
	char	   *name = NULL;
	Oid			nsp;
	Oid			relid = InvalidOid;

	if (mdjson_is_string(ref))
		name = mdjson_string(ref);
	else if (mdjson_is_string(mdjson_get(ref, "schema")) &&
			 mdjson_is_string(mdjson_get(ref, "name")))
	{
		schema = mdjson_string(mdjson_get(ref, "schema"));
		name = mdjson_string(mdjson_get(ref, "name"));
	}
	else
		boolexp_error(c, "must name a table: {\"schema\": ..., \"name\": ...}");
	nsp = get_namespace_oid(schema, true);
	if (OidIsValid(nsp))
		relid = get_relname_relid(name, nsp);
	if (!OidIsValid(relid))
		boolexp_error(c, "table %s does not exist", quote_qualified_identifier(schema, name));
	return relid;
}

/* SELECT <targets> FROM <schema.table AS alias> WHERE <where> */
static SelectStmt *
make_select(BoolexpScope *s, List *targets, Node *where)
{
	SelectStmt *sel = makeNode(SelectStmt);
	RangeVar   *rv = makeRangeVar(s->schema, s->table, -1);

	rv->alias = makeAlias(s->alias, NIL);
	sel->targetList = targets;
	sel->fromClause = list_make1(rv);
	sel->whereClause = where;
	return sel;
}

static ResTarget *
make_target(Node *val)
{
	ResTarget  *t = makeNode(ResTarget);

	t->val = val;
	t->location = -1;
	return t;
}

static Node *
make_sublink(SubLinkType kind, Node *testexpr, SelectStmt *sel, int location)
{
	SubLink    *l = makeNode(SubLink);

	l->subLinkType = kind;
	l->testexpr = testexpr;
	l->operName = kind == ANY_SUBLINK ? list_make1(makeString("=")) : NIL;
	l->subselect = (Node *) sel;
	l->location = location;
	return (Node *) l;
}

/*
 * Create dbops_internal.<name>(root columns in params) returning rettype
 * (or a table of outcols) with body sel, owned by owner; return the call
 * of it from scope s.
 */
static FuncCall *
create_function(BoolexpCompiler *c, BoolexpScope *s, BoolexpScope *inner,
				SelectStmt *sel, List *outcols, TypeName *rettype, Oid owner)
{
	CreateFunctionStmt *stmt = makeNode(CreateFunctionStmt);
	VariableSetStmt *set = makeNode(VariableSetStmt);
	ParseState *pstate = make_parsestate(NULL);
	char	   *name = psprintf("%s_%d", c->fn_stem, ++c->fn_count);
	List	   *args = NIL;
	List	   *argtypes = NIL;
	ListCell   *lc;
	ObjectAddress addr;
	AlterOwnerStmt *own = makeNode(AlterOwnerStmt);
	ObjectWithArgs *obj = makeNode(ObjectWithArgs);
	RoleSpec   *newowner = makeNode(RoleSpec);

	/* the root columns the body refers to become parameters, passed on */
	foreach(lc, inner->params)
	{
		FunctionParameter *p = makeNode(FunctionParameter);

		p->argType = column_type(c, c->root_relid, lfirst(lc), c->root_table);
		p->mode = FUNC_PARAM_DEFAULT;
		stmt->parameters = lappend(stmt->parameters, p);
		argtypes = lappend(argtypes, p->argType);
		args = lappend(args, root_column(c, s, lfirst(lc), -1));
	}
	foreach(lc, outcols)
		stmt->parameters = lappend(stmt->parameters, lfirst(lc));

	stmt->funcname = list_make2(makeString("dbops_internal"), makeString(name));
	stmt->returnType = rettype;
	set->kind = VAR_SET_VALUE;
	set->name = "search_path";
	set->args = list_make2(make_string_const("pg_catalog", -1),
						   make_string_const("pg_temp", -1));
	stmt->options = list_make4(makeDefElem("language", (Node *) makeString("sql"), -1),
							   makeDefElem("volatility", (Node *) makeString("stable"), -1),
							   makeDefElem("security", (Node *) makeBoolean(true), -1),
							   makeDefElem("set", (Node *) set, -1));
	/* BEGIN ATOMIC ... END: a list holding the list of statements */
	stmt->sql_body = (Node *) list_make1(list_make1(sel));
	pstate->p_sourcetext = "";
	addr = CreateFunction(pstate, stmt);
	CommandCounterIncrement();

	/* the related table's owner reads it as the engine does */
	obj->objname = stmt->funcname;
	obj->objargs = argtypes;
	newowner->roletype = ROLESPEC_CSTRING;
	newowner->rolename = GetUserNameFromId(owner, false);
	newowner->location = -1;
	own->objectType = OBJECT_FUNCTION;
	own->object = (Node *) obj;
	own->newowner = newowner;
	ExecAlterOwnerStmt(own);
	CommandCounterIncrement();

	c->functions = lappend(c->functions, format_procedure_qualified(addr.objectId));
	return makeFuncCall(stmt->funcname, args, COERCE_EXPLICIT_CALL, -1);
}

/* The owner of relid, after checking that it does not force RLS on itself */
static Oid
reading_owner(BoolexpCompiler *c, Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Form_pg_class cls;
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	cls = (Form_pg_class) GETSTRUCT(tup);
	owner = cls->relowner;
	if (cls->relforcerowsecurity)
		c->forced = lappend_oid(c->forced, relid);
	ReleaseSysCache(tup);
	return owner;
}

/*
 * A relationship of the scope's table to remote, through mapping (this
 * table's columns to the remote's), holding where e is true.
 */
static Node *
compile_relationship(BoolexpCompiler *c, BoolexpScope *s, JsonbValue *rel,
					 JsonbValue *e)
{
	Oid			relid = table_of(c, mdjson_get(rel, "remote"));
	Oid			owner = reading_owner(c, relid);
	JsonbValue *mapping = mdjson_get(rel, "mapping");
	BoolexpScope *inner = inner_scope(c, s, relid, c->mode == BOOLEXP_ENFORCE);
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	k;
	JsonbValue	v;
	List	   *locals = NIL;
	List	   *remotes = NIL;
	Node	   *cond = compile_expr(c, inner, e);
	int			location = path_location(c);
	ListCell   *lc1;
	ListCell   *lc2;

	it = JsonbIteratorInit(mapping->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		if (tok != WJB_KEY)
			continue;
		(void) JsonbIteratorNext(&it, &v, true);
		locals = lappend(locals, mdjson_string(&k));
		remotes = lappend(remotes, mdjson_string(&v));
	}

	if (c->mode == BOOLEXP_CHECK)
	{
		/* EXISTS (SELECT 1 FROM remote WHERE remote.r = this.l AND cond) */
		List	   *conds = NIL;

		forboth(lc1, locals, lc2, remotes)
			conds = lappend(conds, make_op(AEXPR_OP, "=",
										   scope_column(inner, lfirst(lc2), location),
										   s->nested ? scope_column(s, lfirst(lc1), location) :
										   root_column(c, inner, lfirst(lc1), location),
										   location));
		conds = lappend(conds, cond);
		return make_sublink(EXISTS_SUBLINK, NULL,
							make_select(inner, list_make1(make_target(make_bool_const(true))),
										make_and(conds)),
							location);
	}
	else
	{
		/*
		 * coalesce((this.l, ...) IN (SELECT * FROM f(...)), false), f listing
		 * the remote keys, none null: as true or false as the EXISTS Hasura
		 * writes, also for a null key and under _not.
		 */
		List	   *targets = NIL;
		List	   *outcols = NIL;
		List	   *testcols = NIL;
		List	   *where = list_make1(cond);
		TypeName   *rettype;
		SelectStmt *call = makeNode(SelectStmt);
		RangeFunction *rf = makeNode(RangeFunction);
		ColumnRef  *star = makeNode(ColumnRef);
		CoalesceExpr *found = makeNode(CoalesceExpr);
		Node	   *in;
		int			i = 0;

		forboth(lc1, locals, lc2, remotes)
		{
			FunctionParameter *out = makeNode(FunctionParameter);
			NullTest   *notnull = makeNode(NullTest);

			targets = lappend(targets, make_target(scope_column(inner, lfirst(lc2), -1)));
			notnull->arg = (Expr *) scope_column(inner, lfirst(lc2), -1);
			notnull->nulltesttype = IS_NOT_NULL;
			notnull->location = -1;
			where = lappend(where, notnull);
			out->name = psprintf("dbops_k%d", ++i);
			out->argType = column_type(c, relid, lfirst(lc2), inner->table);
			out->mode = FUNC_PARAM_TABLE;
			outcols = lappend(outcols, out);
			testcols = lappend(testcols, scope_column(s, lfirst(lc1), location));
		}
		rettype = list_length(outcols) == 1 ?
			copyObject(((FunctionParameter *) linitial(outcols))->argType) :
			makeTypeNameFromOid(RECORDOID, -1);
		rettype->setof = true;

		star->fields = list_make1(makeNode(A_Star));
		star->location = -1;
		rf->functions = list_make1(list_make2(create_function(c, s, inner,
															  make_select(inner, targets, make_and(where)),
															  outcols, rettype, owner),
											  NIL));
		call->targetList = list_make1(make_target((Node *) star));
		call->fromClause = list_make1(rf);
		if (list_length(testcols) == 1)
			in = make_sublink(ANY_SUBLINK, linitial(testcols), call, location);
		else
		{
			RowExpr    *row = makeNode(RowExpr);

			row->args = testcols;
			row->row_format = COERCE_IMPLICIT_CAST;
			row->location = location;
			in = make_sublink(ANY_SUBLINK, (Node *) row, call, location);
		}
		found->args = list_make2(in, make_bool_const(false));
		found->location = location;
		return (Node *) found;
	}
}

/* {"_exists": {"_table": t, "_where": e}}: a row of t where e holds */
static Node *
compile_exists(BoolexpCompiler *c, BoolexpScope *s, JsonbValue *v)
{
	char	   *saved = path_push(c, "%s.%s", "_table", -1);
	Oid			relid = table_of(c, mdjson_get(v, "_table"));
	Oid			owner = reading_owner(c, relid);
	BoolexpScope *inner;
	JsonbValue *where = mdjson_get(v, "_where");
	Node	   *cond;
	SelectStmt *sel;
	int			location;

	c->path = saved;
	if (!mdjson_is_object(v) || where == NULL)
		boolexp_error(c, "_exists must be an object with a \"_table\" and a \"_where\"");
	inner = inner_scope(c, s, relid, c->mode == BOOLEXP_ENFORCE);
	saved = path_push(c, "%s.%s", "_where", -1);
	cond = compile_expr(c, inner, where);
	c->path = saved;
	location = path_location(c);
	sel = make_select(inner, list_make1(make_target(make_bool_const(true))), cond);
	if (c->mode == BOOLEXP_CHECK)
		return make_sublink(EXISTS_SUBLINK, NULL, sel, location);
	else
	{
		/* f() = EXISTS (SELECT 1 FROM t WHERE e), read as t's owner */
		SelectStmt *body = makeNode(SelectStmt);

		body->targetList = list_make1(make_target(make_sublink(EXISTS_SUBLINK, NULL, sel, -1)));
		return (Node *) create_function(c, s, inner, body, NIL,
										makeTypeNameFromOid(BOOLOID, -1), owner);
	}
}

/* The elements of array v (_and, _or), compiled */
static List *
compile_list(BoolexpCompiler *c, BoolexpScope *s, JsonbValue *v)
{
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	e;
	List	   *args = NIL;
	int			i = 0;

	if (!mdjson_is_array(v))
		boolexp_error(c, "must be an array of boolean expressions");
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
	{
		char	   *saved;

		if (tok != WJB_ELEM)
			continue;
		saved = path_push(c, NULL, NULL, i++);
		args = lappend(args, compile_expr(c, s, &e));
		c->path = saved;
	}
	return args;
}

/* Expression e over the scope's table: the conjunction of its keys */
static Node *
compile_expr(BoolexpCompiler *c, BoolexpScope *s, JsonbValue *e)
{
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	k;
	JsonbValue	v;
	List	   *conds = NIL;

	if (!mdjson_is_object(e))
		boolexp_error(c, "must be a boolean expression (a JSON object)");
	check_stack_depth();
	it = JsonbIteratorInit(e->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *key;
		char	   *saved;
		JsonbValue *rel;

		if (tok != WJB_KEY)
			continue;
		key = mdjson_string(&k);
		(void) JsonbIteratorNext(&it, &v, true);
		saved = path_push(c, "%s.%s", key, -1);
		if (strcmp(key, "_and") == 0)
			conds = lappend(conds, make_and(compile_list(c, s, &v)));
		else if (strcmp(key, "_or") == 0)
			conds = lappend(conds, make_or(compile_list(c, s, &v)));
		else if (strcmp(key, "_not") == 0)
			conds = lappend(conds, makeBoolExpr(NOT_EXPR, list_make1(compile_expr(c, s, &v)), -1));
		else if (strcmp(key, "_exists") == 0)
			conds = lappend(conds, compile_exists(c, s, &v));
		else if (column_of(s->relid, key, NULL) != 0)
			conds = lappend(conds, compile_column(c, s, key, &v));
		else if ((rel = find_relationship(c, s, key)) != NULL)
			conds = lappend(conds, compile_relationship(c, s, rel, &v));
		else if (key[0] == '_')
			boolexp_error(c, "operator \"%s\" is not supported here", key);
		else
			boolexp_error(c, "there is no column or relationship \"%s\" on %s",
						  key, quote_qualified_identifier(s->schema, s->table));
		c->path = saved;
	}
	return make_and(conds);
}

/*
 * Compile expression e (a jbvBinary object, in normal form) over table
 * relid.  c is set up by the caller: mode, relationships, path, and in
 * enforce mode fn_stem.
 */
Node *
metadata_boolexp_compile(BoolexpCompiler *c, Oid relid, JsonbValue *e)
{
	BoolexpScope root = {0};

	c->root_relid = relid;
	c->root_schema = get_namespace_name(get_rel_namespace(relid));
	c->root_table = get_rel_name(relid);
	root.relid = relid;
	root.schema = c->root_schema;
	root.table = c->root_table;
	return compile_expr(c, &root, e);
}

/*
 * Presets of an insert or update ({"column": value}): the check that the
 * written row holds them, column by column (DESIGN: a check only, never a
 * column default).
 */
Node *
metadata_boolexp_presets(BoolexpCompiler *c, Oid relid, JsonbValue *presets)
{
	JsonbIterator *it = JsonbIteratorInit(presets->val.binary.data);
	JsonbIteratorToken tok;
	JsonbValue	k;
	JsonbValue	v;
	List	   *conds = NIL;
	BoolexpScope root = {0};

	root.relid = relid;
	root.schema = get_namespace_name(get_rel_namespace(relid));
	root.table = get_rel_name(relid);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *col;
		char	   *saved;
		TypeName   *type;

		if (tok != WJB_KEY)
			continue;
		col = mdjson_string(&k);
		(void) JsonbIteratorNext(&it, &v, true);
		saved = path_push(c, "%s.%s", col, -1);
		type = column_type(c, relid, col, quote_qualified_identifier(root.schema, root.table));
		conds = lappend(conds, make_op(AEXPR_OP, "=", scope_column(&root, col, -1),
									   typed_value(c, &v, type), -1));
		c->path = saved;
	}
	return make_and(conds);
}

/*
 * The stem of the names of the functions generated for one condition of a
 * permission: "dbops_" and a digest of what names the condition, so that
 * it is the same every time the same permission is enforced.
 */
char *
metadata_boolexp_stem(const char *schema, const char *table, const char *role,
					  const char *action, const char *which)
{
	char		hex[2 * MD5_DIGEST_LENGTH + 1];
	const char *errstr = NULL;
	char	   *key = psprintf("%s\x1f%s\x1f%s\x1f%s\x1f%s", schema, table, role,
							   action, which);

	if (!pg_md5_hash(key, strlen(key), hex, &errstr))
		elog(ERROR, "could not compute MD5: %s", errstr);
	hex[24] = '\0';
	return psprintf("dbops_%s", hex);
}
