/*-------------------------------------------------------------------------
 *
 * metadata_validate.c
 *		Checks of metadata that need the parser: row filters and the column
 *		types of manual relationships.
 *
 * A row filter is SQL text that becomes the USING or WITH CHECK expression
 * of a policy.  Pasting it into "CREATE POLICY ... USING (<filter>)" would
 * let a filter such as "true); DROP TABLE x; --" smuggle in a statement, so
 * the text is parsed on its own, in the grammar's expression mode, and must
 * be exactly one expression; the resulting tree is what the policy is made
 * from (metadata_materialise.c).  It is then type-checked against the table
 * the way CREATE POLICY will check it, so that an import can report a bad
 * filter before it changes anything.
 *
 * src/metadata_validate.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_ts_config.h"
#include "catalog/pg_ts_dict.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parse_clause.h"
#include "parser/parse_collate.h"
#include "parser/parse_oper.h"
#include "parser/parse_relation.h"
#include "parser/parser.h"
#include "utils/builtins.h"
#include "utils/resowner.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "metadata.h"
#include "metadata_json.h"

PG_FUNCTION_INFO_V1(dbops_metadata_condition_problems);
PG_FUNCTION_INFO_V1(dbops_metadata_types_comparable);

/*
 * Report filter text that parsed, but as more than one expression.
 */
static void
metadata_filter_not_single(const char *what, const char *found)
{
	ereport(ERROR,
			(errcode(ERRCODE_SYNTAX_ERROR),
			 errmsg("%s is not a single SQL expression", what),
			 errdetail("It contains %s.", found)));
}

/*
 * Parse a filter as exactly one SQL expression and return its raw tree.
 *
 * RAW_PARSE_PLPGSQL_EXPR is the grammar PL/pgSQL uses for "x := <expr>": a
 * SELECT without the keyword.  It accepts no semicolon, so a second
 * statement is a syntax error; what it does accept beyond one expression
 * (a FROM list, several targets, ...) is refused here.
 */
Node *
metadata_parse_filter(const char *filter, const char *what)
{
	List	   *parsetree = raw_parser(filter, RAW_PARSE_PLPGSQL_EXPR);
	SelectStmt *select;
	ResTarget  *target;

	if (list_length(parsetree) != 1)
		metadata_filter_not_single(what, "more than one statement");
	select = (SelectStmt *) linitial_node(RawStmt, parsetree)->stmt;
	if (!IsA(select, SelectStmt) || select->op != SETOP_NONE)
		metadata_filter_not_single(what, "a set operation");
	if (select->targetList == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("%s is empty", what)));
	if (list_length(select->targetList) > 1)
		metadata_filter_not_single(what, "a list of expressions");
	if (select->distinctClause != NIL)
		metadata_filter_not_single(what, "DISTINCT");
	if (select->fromClause != NIL)
		metadata_filter_not_single(what, "a FROM clause");
	if (select->whereClause != NULL)
		metadata_filter_not_single(what, "a WHERE clause");
	if (select->groupClause != NIL || select->havingClause != NULL)
		metadata_filter_not_single(what, "a GROUP BY or HAVING clause");
	if (select->windowClause != NIL)
		metadata_filter_not_single(what, "a WINDOW clause");
	if (select->sortClause != NIL)
		metadata_filter_not_single(what, "an ORDER BY clause");
	if (select->limitCount != NULL || select->limitOffset != NULL)
		metadata_filter_not_single(what, "a LIMIT or OFFSET clause");
	if (select->lockingClause != NIL)
		metadata_filter_not_single(what, "a locking clause");
	if (select->intoClause != NULL)
		metadata_filter_not_single(what, "an INTO clause");

	target = linitial_node(ResTarget, select->targetList);
	if (target->name != NULL)
		metadata_filter_not_single(what, "a column alias");
	return target->val;
}

/*
 * Refuse an object in a temporary schema: a policy depends on what its
 * expression names, so it would be dropped silently with the object at the
 * end of the session that created it.
 */
static void
metadata_refuse_temp(Oid classid, Oid objid, const char *what)
{
	ObjectAddress addr;
	Oid			nsp;
	List	   *names = NIL;
	List	   *args = NIL;

	if (!OidIsValid(objid))
		return;
	ObjectAddressSet(addr, classid, objid);
	nsp = classid == NamespaceRelationId ? objid : get_object_namespace(&addr);
	if (!OidIsValid(nsp) || !isAnyTempNamespace(nsp))
		return;

	/* the name without its schema, which differs from session to session */
	(void) getObjectIdentityParts(&addr, &names, &args, false);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
			 errmsg("%s refers to temporary %s \"%s\"", what,
					getObjectTypeDescription(&addr, false),
					names != NIL ? (char *) llast(names) : "?"),
			 errdetail("A policy that depends on a temporary object would vanish when the session that created it ends.")));
}

/* The object a constant of a reg* type names, if any */
static void
metadata_refuse_temp_const(Const *c, const char *what)
{
	Oid			classid;

	switch (c->consttype)
	{
		case REGCLASSOID:
			classid = RelationRelationId;
			break;
		case REGPROCOID:
		case REGPROCEDUREOID:
			classid = ProcedureRelationId;
			break;
		case REGOPEROID:
		case REGOPERATOROID:
			classid = OperatorRelationId;
			break;
		case REGTYPEOID:
			classid = TypeRelationId;
			break;
		case REGCOLLATIONOID:
			classid = CollationRelationId;
			break;
		case REGCONFIGOID:
			classid = TSConfigRelationId;
			break;
		case REGDICTIONARYOID:
			classid = TSDictionaryRelationId;
			break;
		case REGNAMESPACEOID:
			classid = NamespaceRelationId;
			break;
		default:
			return;
	}
	if (!c->constisnull)
		metadata_refuse_temp(classid, DatumGetObjectId(c->constvalue), what);
}

/*
 * Walk a transformed filter (and the queries of its sublinks) for the
 * functions, operators, types, collations and relations it names.
 */
static bool
metadata_temp_walker(Node *node, void *context)
{
	const char *what = context;

	if (node == NULL)
		return false;
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, metadata_temp_walker, context,
								 QTW_EXAMINE_RTES_BEFORE);
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;

		if (rte->rtekind == RTE_RELATION)
			metadata_refuse_temp(RelationRelationId, rte->relid, what);
		return false;
	}
	switch (nodeTag(node))
	{
		case T_Const:
			metadata_refuse_temp_const((Const *) node, what);
			break;
		case T_FuncExpr:
			metadata_refuse_temp(ProcedureRelationId, ((FuncExpr *) node)->funcid, what);
			break;
		case T_OpExpr:
		case T_DistinctExpr:
		case T_NullIfExpr:
			metadata_refuse_temp(OperatorRelationId, ((OpExpr *) node)->opno, what);
			break;
		case T_ScalarArrayOpExpr:
			metadata_refuse_temp(OperatorRelationId,
								 ((ScalarArrayOpExpr *) node)->opno, what);
			break;
		case T_RowCompareExpr:
			{
				ListCell   *lc;

				foreach(lc, ((RowCompareExpr *) node)->opnos)
					metadata_refuse_temp(OperatorRelationId, lfirst_oid(lc), what);
				break;
			}
		case T_CollateExpr:
			metadata_refuse_temp(CollationRelationId,
								 ((CollateExpr *) node)->collOid, what);
			break;
		default:
			break;
	}

	/* the type of every expression, e.g. a cast to a temporary domain */
	switch (nodeTag(node))
	{
		case T_Var:
		case T_Const:
		case T_FuncExpr:
		case T_OpExpr:
		case T_RelabelType:
		case T_CoerceViaIO:
		case T_ArrayCoerceExpr:
		case T_ConvertRowtypeExpr:
		case T_CoerceToDomain:
		case T_FieldSelect:
		case T_RowExpr:
		case T_ArrayExpr:
		case T_CaseExpr:
		case T_CoalesceExpr:
		case T_MinMaxExpr:
		case T_SubscriptingRef:
			metadata_refuse_temp(TypeRelationId, exprType(node), what);
			break;
		default:
			break;
	}
	return expression_tree_walker(node, metadata_temp_walker, context);
}

/*
 * The condition of a policy as a raw expression: SQL text (parsed as one
 * expression), or a Hasura expression compiled by c; no condition (NULL,
 * {} or null) is true.  For a check, presets (insert and update "set")
 * are added: the written row must hold them.
 */
Node *
metadata_condition(BoolexpCompiler *c, Oid relid, const char *sql,
				   JsonbValue *hasura, JsonbValue *presets, const char *what)
{
	Node	   *cond = NULL;

	if (sql != NULL)
		cond = metadata_parse_filter(sql, what);
	else if (hasura != NULL && hasura->type == jbvBinary &&
			 JsonContainerSize(hasura->val.binary.data) > 0)
		cond = metadata_boolexp_compile(c, relid, hasura);
	if (presets != NULL && presets->type == jbvBinary &&
		JsonContainerSize(presets->val.binary.data) > 0)
	{
		char	   *saved = c->path;
		Node	   *held;

		c->path = "set";
		held = metadata_boolexp_presets(c, relid, presets);
		c->path = saved;
		cond = cond ? (Node *) makeBoolExpr(AND_EXPR, list_make2(cond, held), -1) : held;
	}
	if (cond == NULL)
	{
		A_Const    *t = makeNode(A_Const);

		t->val.boolval.type = T_Boolean;
		t->val.boolval.boolval = true;
		t->location = -1;
		cond = (Node *) t;
	}
	return cond;
}

/*
 * Keep the position an error of parse analysis points at: when the check
 * runs inside a query of the caller's (SPI), SPI's own callback, called
 * after this one, moves it to the "internal" position of that query.
 */
static void
condition_error_position(void *arg)
{
	int		   *position = (int *) arg;

	*position = geterrposition();
}

/*
 * Check a condition (see metadata_condition) on table relid as CREATE
 * POLICY will: unknown column, function, relationship or operator, not
 * boolean, a value that is no value of its column's type...  Raises the
 * error, with c->path (or the path of the node an error points at, see
 * metadata_boolexp.c) naming the part of a Hasura expression it is about.
 * A condition that names a temporary object is refused too.
 */
static void
metadata_check_condition(BoolexpCompiler *c, Oid relid, const char *sql,
						 JsonbValue *hasura, JsonbValue *presets,
						 const char *what)
{
	Node	   *raw = metadata_condition(c, relid, sql, hasura, presets, what);
	ParseState *pstate = make_parsestate(NULL);
	Relation	rel;
	ParseNamespaceItem *nsitem;
	Node	   *qual;
	ErrorContextCallback position_cb;

	/*
	 * The same range table and expression kind as CreatePolicy().  A SQL
	 * filter's positions are in its text; a compiled expression's
	 * locations are indexes of paths, so its "text" is that many blanks.
	 */
	if (sql != NULL)
		pstate->p_sourcetext = sql;
	else
	{
		int			n = list_length(c->locations) + 1;
		char	   *blanks = palloc(n + 1);

		memset(blanks, ' ', n);
		blanks[n] = '\0';
		pstate->p_sourcetext = blanks;
	}
	rel = relation_open(relid, AccessShareLock);
	nsitem = addRangeTableEntryForRelation(pstate, rel, AccessShareLock,
										   NULL, false, false);
	addNSItemToQuery(pstate, nsitem, false, true, true);
	position_cb.callback = condition_error_position;
	position_cb.arg = &c->error_position;
	position_cb.previous = error_context_stack;
	error_context_stack = &position_cb;
	qual = transformWhereClause(pstate, raw, EXPR_KIND_POLICY, "POLICY");
	assign_expr_collations(pstate, qual);
	error_context_stack = position_cb.previous;
	(void) metadata_temp_walker(qual, (void *) what);
	relation_close(rel, NoLock);
	free_parsestate(pstate);
}

/* {"severity": s, "path": p, "reason": r} pushed as an array element */
static void
push_problem(JsonbParseState **st, const char *severity, const char *path,
			 const char *reason)
{
	pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
	mdjson_push_key(st, "path");
	mdjson_push_string(st, WJB_VALUE, path);
	mdjson_push_key(st, "reason");
	mdjson_push_string(st, WJB_VALUE, reason);
	mdjson_push_key(st, "severity");
	mdjson_push_string(st, WJB_VALUE, severity);
	pushJsonbValue(st, WJB_END_OBJECT, NULL);
}

/*
 * dbops_internal.metadata_condition_problems(rel regclass, what text,
 *		sql text, hasura jsonb, presets jsonb, relationships jsonb)
 *
 * The problems of a filter or check ("what") on a table, as a jsonb array
 * of {severity, path, reason} with paths relative to the permission body
 * ("filter._and[1].author.id"), or NULL when there is none.  An error is
 * caught in a subtransaction of its own (the way PL/pgSQL's EXCEPTION
 * does), so that an import can report every problem at once; a cancel
 * request still ends it.
 */
Datum
dbops_metadata_condition_problems(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *what;
	char	   *sql;
	JsonbValue *hasura;
	JsonbValue *presets;
	BoolexpCompiler *c = palloc0(sizeof(BoolexpCompiler));
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	JsonbParseState *st = NULL;
	bool		any = false;
	ListCell   *lc;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table and name of a condition must not be null")));
	relid = PG_GETARG_OID(0);
	what = text_to_cstring(PG_GETARG_TEXT_PP(1));
	sql = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	hasura = PG_ARGISNULL(3) ? NULL : mdjson_root(PG_GETARG_JSONB_P(3));
	presets = PG_ARGISNULL(4) ? NULL : mdjson_root(PG_GETARG_JSONB_P(4));
	c->mode = BOOLEXP_CHECK;
	c->relationships = PG_ARGISNULL(5) ? NULL : mdjson_root(PG_GETARG_JSONB_P(5));
	c->path = what;
	if (get_rel_name(relid) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));

	pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcontext);
	PG_TRY();
	{
		metadata_check_condition(c, relid, sql, hasura, presets, what);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		char	   *problem;
		const char *path = c->path;

		MemoryContextSwitchTo(oldcontext);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
			ReThrowError(edata);

		/* an error parse analysis found points at a node: its path */
		if (sql == NULL && c->error_position > 0 &&
			c->error_position <= list_length(c->locations))
			path = list_nth(c->locations, c->error_position - 1);

		/* "message. Detail" reads as one sentence in the report */
		problem = edata->message;
		if (edata->detail != NULL)
		{
			int			len = strlen(edata->detail);

			if (len > 0 && edata->detail[len - 1] == '.')
				edata->detail[len - 1] = '\0';
			problem = psprintf("%s. %s", edata->message, edata->detail);
		}
		push_problem(&st, "error", path, problem);
		any = true;
	}
	PG_END_TRY();

	foreach(lc, c->forced)
	{
		Oid			forced = lfirst_oid(lc);

		push_problem(&st, "warning", what,
					 psprintf("%s reads table %s, which has FORCE ROW LEVEL SECURITY: its own policies apply to the reading and may hide rows Hasura would see",
							  what, quote_qualified_identifier(get_namespace_name(get_rel_namespace(forced)),
															   get_rel_name(forced))));
		any = true;
	}

	if (!any)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_ARRAY, NULL)));
}

/*
 * dbops.metadata_types_comparable(a regtype, b regtype): whether a join
 * condition "x = y" between columns of these types would resolve, with the
 * implicit casts a query would use.
 */
Datum
dbops_metadata_types_comparable(PG_FUNCTION_ARGS)
{
	Operator	op;

	for (int i = 0; i < 2; i++)
		if (!SearchSysCacheExists1(TYPEOID, PG_GETARG_DATUM(i)))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("type with OID %u does not exist", PG_GETARG_OID(i))));
	op = oper(NULL, list_make1(makeString("=")),
			  PG_GETARG_OID(0), PG_GETARG_OID(1), true, -1);

	if (op == NULL)
		PG_RETURN_BOOL(false);
	ReleaseSysCache(op);
	PG_RETURN_BOOL(true);
}
