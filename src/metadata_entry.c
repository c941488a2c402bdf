/*-------------------------------------------------------------------------
 *
 * metadata_entry.c
 *		Entry point of every metadata function that changes something.
 *
 * Administrators (members of dbops_admin) may change metadata, but must not
 * write dbops's catalog tables directly, and may only manage tables whose
 * owner's privileges they have.  So each changing SQL function dbops.X(args)
 * is this one C function: it notes who called (GetUserId() before any
 * switch), becomes the extension owner for the duration of the call
 * (identity.c: a security-restricted operation with search_path pinned),
 * and runs the internal function dbops_internal.X_impl(caller, args), which
 * checks the caller's rights on every table it touches and then writes the
 * catalog.  Schema dbops_internal is usable by the extension owner only.
 * Around every call, roles renamed since the last one are carried into the
 * catalog, and the bindings the DDL event triggers read are rebuilt
 * (sql/install/26_metadata_follow.sql).
 *
 * src/metadata_entry.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "identity.h"
#include "metadata.h"
#include "migrate.h"

PG_FUNCTION_INFO_V1(dbops_metadata_as_owner);
PG_FUNCTION_INFO_V1(dbops_import_metadata);

/*
 * Run dbops_internal.<name of the called function>_impl(caller, args) as
 * the extension owner, with args the SQL function's arguments as given in
 * values and nulls, and return its result.
 */
static Datum
metadata_run_impl(FunctionCallInfo fcinfo, Datum *args, bool *argnulls)
{
	Oid			fn_oid = fcinfo->flinfo->fn_oid;
	Oid			rettype = get_func_rettype(fn_oid);
	Oid		   *fn_argtypes;
	int			nargs;
	Oid		   *argtypes;
	Datum	   *values;
	char	   *nulls;
	StringInfoData sql;
	IdentitySwitch sw;
	Datum		result = (Datum) 0;
	bool		isnull = true;

	get_func_signature(fn_oid, &fn_argtypes, &nargs);

	/* the caller goes first, then the SQL function's own arguments */
	argtypes = palloc((nargs + 1) * sizeof(Oid));
	values = palloc((nargs + 1) * sizeof(Datum));
	nulls = palloc((nargs + 1) * sizeof(char));
	argtypes[0] = OIDOID;
	values[0] = ObjectIdGetDatum(GetUserId());
	nulls[0] = ' ';
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT dbops_internal.%s($1",
					 quote_identifier(psprintf("%s_impl", get_func_name(fn_oid))));
	for (int i = 0; i < nargs; i++)
	{
		argtypes[i + 1] = fn_argtypes[i];
		values[i + 1] = args[i];
		nulls[i + 1] = argnulls[i] ? 'n' : ' ';
		appendStringInfo(&sql, ", $%d", i + 2);
	}
	appendStringInfoChar(&sql, ')');

	/*
	 * An error restores the identity through transaction (or subtransaction)
	 * abort, so only the normal path switches back.
	 */
	identity_become_trusted(identity_extension_owner(), &sw);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* roles renamed since (no event trigger tells), then the call */
	if (SPI_execute("SELECT dbops_internal.metadata_follow_roles()", false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not follow renamed roles");
	if (SPI_execute_with_args(sql.data, nargs + 1, argtypes, values, nulls,
							  false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "internal metadata function %s did not return a row", sql.data);
	if (rettype != VOIDOID)
	{
		int16		typlen;
		bool		typbyval;

		result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		get_typlenbyval(rettype, &typlen, &typbyval);
		if (!isnull)
			result = SPI_datumTransfer(result, typbyval, typlen);
	}
	/* the names the DDL event triggers look for, as the catalog now has them */
	if (SPI_execute("SELECT dbops_internal.metadata_bind()", false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not bind the metadata catalog");
	SPI_finish();

	identity_restore(&sw);

	if (rettype == VOIDOID)
		PG_RETURN_VOID();
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(result);
}

/*
 * dbops.X(args): run dbops_internal.X_impl(caller, args) as the extension
 * owner and return its result.
 */
Datum
dbops_metadata_as_owner(PG_FUNCTION_ARGS)
{
	Datum	   *args = palloc(Max(PG_NARGS(), 1) * sizeof(Datum));
	bool	   *nulls = palloc(Max(PG_NARGS(), 1) * sizeof(bool));

	for (int i = 0; i < PG_NARGS(); i++)
	{
		args[i] = PG_GETARG_DATUM(i);
		nulls[i] = PG_ARGISNULL(i);
	}
	return metadata_run_impl(fcinfo, args, nulls);
}

/* An import as the one step of a batch (import_lock_safe) */
typedef struct ImportCall
{
	FunctionCallInfo fcinfo;
	Datum	   *args;
	bool	   *nulls;
	MemoryContext result_cxt;	/* where the result is copied */
	Datum		result;
} ImportCall;

static void
import_step(MigrationStep *step, const MigrationLimits *limits)
{
	ImportCall *call = step->item;
	int			nestlevel = NewGUCNestLevel();
	Datum		result;

	(void) set_config_option("lock_timeout", psprintf("%d", limits->lock_timeout_ms),
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	result = metadata_run_impl(call->fcinfo, call->args, call->nulls);
	AtEOXact_GUC(true, nestlevel);
	/* the step's memory goes when it ends; the result is a jsonb */
	call->result = PointerGetDatum(MemoryContextAlloc(call->result_cxt,
													  VARSIZE_ANY(DatumGetPointer(result))));
	memcpy(DatumGetPointer(call->result), DatumGetPointer(result),
		   VARSIZE_ANY(DatumGetPointer(result)));
}

/*
 * An import takes the locks a migration would (GRANT, CREATE POLICY and
 * ENABLE ROW LEVEL SECURITY on the tables that change), so it runs as one
 * migration does: lock-safe under dbops.lock_timeout, rolled back and
 * tried again up to dbops.lock_retries times (migrate_batch.c).  A dry run
 * changes nothing and runs as it is.
 */
static Datum
import_lock_safe(FunctionCallInfo fcinfo, Datum *args, bool *nulls)
{
	MigrationLimits limits;
	MigrationStep step = {.label = "metadata import",
	.description = "the metadata import"};
	ImportCall	call = {fcinfo, args, nulls, CurrentMemoryContext, (Datum) 0};

	migrate_limits_init(&limits, NULL, NULL);
	if (limits.lock_timeout_ms <= 0 || (!nulls[5] && DatumGetBool(args[5])))
		return metadata_run_impl(fcinfo, args, nulls);
	step.item = &call;
	step.duration_us = -1;
	/* the reports of lock waits query pg_locks through SPI */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	migrate_batch_run(list_make1(&step), import_step, "running", &limits);
	SPI_finish();
	PG_RETURN_DATUM(call.result);
}

/*
 * dbops.import_metadata(doc, allow_inconsistent, role_map, source_name,
 * accept_unenforced, dry_run): the document is read (metadata_document.c)
 * here, as the caller, from the argument as it came: its shape needs no
 * rights, and the owner's PL/pgSQL then works on the normal form only,
 * which holds nothing of a malformed entry, however large.  role_map and
 * source_name are applied by the reading and passed on as NULL.
 */
Datum
dbops_import_metadata(PG_FUNCTION_ARGS)
{
	Datum		args[6];
	bool		nulls[6];

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("metadata document must not be null")));

	for (int i = 0; i < 6; i++)
	{
		args[i] = PG_GETARG_DATUM(i);
		nulls[i] = PG_ARGISNULL(i);
	}
	args[0] = JsonbPGetDatum(metadata_read_document(PG_GETARG_JSONB_P(0),
													PG_ARGISNULL(2) ? NULL :
													PG_GETARG_JSONB_P(2),
													PG_ARGISNULL(4) ? NIL :
													metadata_text_array_list(PG_GETARG_ARRAYTYPE_P(4)),
													PG_ARGISNULL(3) ? NULL :
													text_to_cstring(PG_GETARG_TEXT_PP(3))));
	nulls[2] = nulls[3] = true;
	return import_lock_safe(fcinfo, args, nulls);
}
