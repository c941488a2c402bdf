/*-------------------------------------------------------------------------
 *
 * metadata_materialise.c
 *		Turn a permission into what PostgreSQL enforces: column GRANTs made
 *		by dbops_grantor, and a row-level-security policy.
 *
 * Grants run as the role dbops_grantor (which holds the table's privileges
 * WITH GRANT OPTION from its owner, given when the table is tracked), so the
 * grantor field of each aclitem tells dbops's grants from anyone else's, and
 * a REVOKE issued as dbops_grantor removes exactly dbops's grants.  The
 * switch goes through identity.c like every other.
 *
 * Both statements are built as parse trees, never as SQL text: names are
 * names, and a filter is the tree metadata_parse_filter() accepted, so
 * nothing in the metadata can become a second statement.
 *
 * src/metadata_materialise.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/policy.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/jsonb.h"
#include "funcapi.h"

#include "identity.h"
#include "metadata.h"
#include "metadata_json.h"

PG_FUNCTION_INFO_V1(dbops_metadata_grant);
PG_FUNCTION_INFO_V1(dbops_metadata_create_policy);

/*
 * The table as a qualified RangeVar, which is what the utility commands
 * look up.
 */
static RangeVar *
metadata_rangevar(Oid relid)
{
	char	   *relname = get_rel_name(relid);

	if (relname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	return makeRangeVar(get_namespace_name(get_rel_namespace(relid)),
						relname, -1);
}

/*
 * Refuse a NULL among the arguments whose bits are set in required (bit i
 * for argument i): these functions are not STRICT because some arguments
 * may be NULL.
 */
static void
metadata_require_args(FunctionCallInfo fcinfo, const char *names,
					  unsigned required)
{
	for (int i = 0; i < PG_NARGS(); i++)
		if ((required & (1U << i)) && PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("arguments %s must not be null", names)));
}

static RoleSpec *
metadata_rolespec(const char *rolename)
{
	RoleSpec   *role = makeNode(RoleSpec);

	role->roletype = ROLESPEC_CSTRING;
	role->rolename = pstrdup(rolename);
	role->location = -1;
	return role;
}

/*
 * dbops.metadata_grant(rel regclass, privilege text, columns name[],
 *						grantee name, is_grant boolean)
 *
 * GRANT privilege [(columns)] ON rel TO grantee, or the REVOKE (always of
 * the whole privilege, which takes its column grants with it), as
 * dbops_grantor.  NULL columns means the table-level privilege.
 */
Datum
dbops_metadata_grant(PG_FUNCTION_ARGS)
{
	GrantStmt  *stmt = makeNode(GrantStmt);
	AccessPriv *priv = makeNode(AccessPriv);
	IdentitySwitch sw;

	metadata_require_args(fcinfo, "rel, privilege, grantee and is_grant", 0x1B);
	priv->priv_name = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (!PG_ARGISNULL(2))
	{
		Datum	   *cols;
		bool	   *nulls;
		int			ncols;
		int			i;

		deconstruct_array(PG_GETARG_ARRAYTYPE_P(2), NAMEOID, NAMEDATALEN,
						  false, TYPALIGN_CHAR, &cols, &nulls, &ncols);

		/* no column list in the statement would mean the whole table */
		if (ncols == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("column list of a grant must not be empty")));
		for (i = 0; i < ncols; i++)
		{
			if (nulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("column list of a grant must not hold nulls")));
			priv->cols = lappend(priv->cols,
								 makeString(pstrdup(NameStr(*DatumGetName(cols[i])))));
		}
	}

	stmt->is_grant = PG_GETARG_BOOL(4);
	stmt->targtype = ACL_TARGET_OBJECT;
	stmt->objtype = OBJECT_TABLE;
	stmt->objects = list_make1(metadata_rangevar(PG_GETARG_OID(0)));
	stmt->privileges = list_make1(priv);
	stmt->grantees = list_make1(metadata_rolespec(NameStr(*PG_GETARG_NAME(3))));
	stmt->grant_option = false;
	stmt->behavior = DROP_RESTRICT;

	identity_become_trusted(get_role_oid("dbops_grantor", false), &sw);
	ExecuteGrantStmt(stmt);
	identity_restore(&sw);

	CommandCounterIncrement();
	PG_RETURN_VOID();
}

/* Text attribute name of composite t, or NULL */
static char *
text_attribute(HeapTupleHeader t, const char *name)
{
	bool		isnull;
	Datum		d = GetAttributeByName(t, name, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/* Name attribute name of composite t, or NULL */
static char *
name_attribute(HeapTupleHeader t, const char *name)
{
	bool		isnull;
	Datum		d = GetAttributeByName(t, name, &isnull);

	return isnull ? NULL : pstrdup(NameStr(*DatumGetName(d)));
}

/* jsonb attribute name of composite t, as a value, or NULL */
static JsonbValue *
jsonb_attribute(HeapTupleHeader t, const char *name)
{
	bool		isnull;
	Datum		d = GetAttributeByName(t, name, &isnull);

	return isnull ? NULL : mdjson_root(DatumGetJsonbP(d));
}

/*
 * One condition of a permission, compiled for enforcement: the functions
 * it generates are added to *functions.
 */
static Node *
enforced_condition(Oid relid, HeapTupleHeader perm, const char *which,
				   JsonbValue *relationships, List **functions)
{
	BoolexpCompiler *c = palloc0(sizeof(BoolexpCompiler));
	Node	   *cond;

	c->mode = BOOLEXP_ENFORCE;
	c->relationships = relationships;
	c->path = (char *) which;
	c->fn_stem = metadata_boolexp_stem(get_namespace_name(get_rel_namespace(relid)),
									   get_rel_name(relid),
									   name_attribute(perm, "role_name"),
									   text_attribute(perm, "action"), which);
	cond = metadata_condition(c, relid, text_attribute(perm, which),
							  jsonb_attribute(perm, psprintf("%s_hasura", which)),
							  strcmp(which, "check") == 0 ?
							  jsonb_attribute(perm, "presets") : NULL,
							  which);
	*functions = list_concat(*functions, c->functions);
	return cond;
}

/*
 * dbops_internal.metadata_create_policy(rel regclass, policy name,
 *		perm dbops.metadata_permissions, relationships jsonb) returns text[]
 *
 * CREATE POLICY policy ON rel FOR <action> TO <role> USING (<filter>) WITH
 * CHECK (<check>), from the permission's conditions (SQL text, or Hasura
 * expressions and presets), leaving out the clause its action has not.
 * Returns the signatures of the functions generated for its relationship
 * filters, which are dropped with it.
 */
Datum
dbops_metadata_create_policy(PG_FUNCTION_ARGS)
{
	CreatePolicyStmt *stmt = makeNode(CreatePolicyStmt);
	HeapTupleHeader perm;
	Oid			relid;
	JsonbValue *relationships;
	char	   *role;
	List	   *functions = NIL;
	Datum	   *elems;
	ListCell   *lc;
	int			i = 0;

	metadata_require_args(fcinfo, "rel, policy and perm", 0x07);
	relid = PG_GETARG_OID(0);
	perm = PG_GETARG_HEAPTUPLEHEADER(2);
	relationships = PG_ARGISNULL(3) ? NULL : mdjson_root(PG_GETARG_JSONB_P(3));
	stmt->cmd_name = text_attribute(perm, "action");
	role = name_attribute(perm, "role_name");
	if (stmt->cmd_name == NULL || role == NULL ||
		(strcmp(stmt->cmd_name, "select") != 0 && strcmp(stmt->cmd_name, "insert") != 0 &&
		 strcmp(stmt->cmd_name, "update") != 0 && strcmp(stmt->cmd_name, "delete") != 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a permission needs a role and an action of select, insert, update or delete")));

	stmt->policy_name = pstrdup(NameStr(*PG_GETARG_NAME(1)));
	stmt->table = metadata_rangevar(relid);
	stmt->permissive = true;
	stmt->roles = list_make1(metadata_rolespec(role));
	if (strcmp(stmt->cmd_name, "insert") != 0)
		stmt->qual = enforced_condition(relid, perm, "filter", relationships, &functions);
	if (strcmp(stmt->cmd_name, "insert") == 0 || strcmp(stmt->cmd_name, "update") == 0)
		stmt->with_check = enforced_condition(relid, perm, "check", relationships, &functions);
	CreatePolicy(stmt);
	CommandCounterIncrement();

	elems = palloc(Max(list_length(functions), 1) * sizeof(Datum));
	foreach(lc, functions)
		elems[i++] = CStringGetTextDatum(lfirst(lc));
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, i, TEXTOID, -1, false, TYPALIGN_INT));
}
