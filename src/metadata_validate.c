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
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parse_clause.h"
#include "parser/parse_collate.h"
#include "parser/parse_oper.h"
#include "parser/parse_relation.h"
#include "parser/parser.h"
#include "utils/builtins.h"
#include "utils/resowner.h"
#include "utils/syscache.h"

#include "metadata.h"

PG_FUNCTION_INFO_V1(dbops_metadata_filter_error);
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
 * Raise the error that CREATE POLICY would raise for this filter on this
 * table (unknown column or function, not boolean, aggregate...), or return.
 */
static void
metadata_check_filter(Oid relid, const char *filter, const char *what)
{
	Node	   *raw = metadata_parse_filter(filter, what);
	ParseState *pstate = make_parsestate(NULL);
	Relation	rel;
	ParseNamespaceItem *nsitem;
	Node	   *qual;

	/* the same range table and expression kind as CreatePolicy() */
	pstate->p_sourcetext = filter;
	rel = relation_open(relid, AccessShareLock);
	nsitem = addRangeTableEntryForRelation(pstate, rel, AccessShareLock,
										   NULL, false, false);
	addNSItemToQuery(pstate, nsitem, false, true, true);
	qual = transformWhereClause(pstate, raw, EXPR_KIND_POLICY, "POLICY");
	assign_expr_collations(pstate, qual);
	relation_close(rel, NoLock);
	free_parsestate(pstate);
}

/*
 * dbops.metadata_filter_error(rel regclass, filter text, what text): NULL
 * if the filter is fine on this table, else the error it raises, as text.
 * "what" names the filter in messages ("filter", "check").
 *
 * An import reports every problem at once, so the error is caught here, in
 * a subtransaction of its own (the way PL/pgSQL's EXCEPTION does), instead
 * of ending the import; a cancel request still ends it.
 */
Datum
dbops_metadata_filter_error(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	char	   *filter = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *what = text_to_cstring(PG_GETARG_TEXT_PP(2));
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	char	   *problem = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcontext);
	PG_TRY();
	{
		metadata_check_filter(relid, filter, what);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcontext);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
			ReThrowError(edata);

		/* "message. Detail" reads as one sentence in the report */
		problem = edata->message;
		if (edata->detail != NULL)
		{
			int			len = strlen(edata->detail);

			if (len > 0 && edata->detail[len - 1] == '.')
				edata->detail[len - 1] = '\0';
			problem = psprintf("%s. %s", edata->message, edata->detail);
		}
	}
	PG_END_TRY();

	if (problem == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(problem));
}

/*
 * dbops.metadata_types_comparable(a regtype, b regtype): whether a join
 * condition "x = y" between columns of these types would resolve, with the
 * implicit casts a query would use.
 */
Datum
dbops_metadata_types_comparable(PG_FUNCTION_ARGS)
{
	Operator	op = oper(NULL, list_make1(makeString("=")),
						  PG_GETARG_OID(0), PG_GETARG_OID(1), true, -1);

	if (op == NULL)
		PG_RETURN_BOOL(false);
	ReleaseSysCache(op);
	PG_RETURN_BOOL(true);
}
