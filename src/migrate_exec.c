/*-------------------------------------------------------------------------
 *
 * migrate_exec.c
 *		Run the statements of a parsed migration script with SPI.
 *
 * Statements run one at a time, in the caller's transaction and as the
 * caller, so that an error can be traced to its statement and line (see
 * migrate_errcontext.c).  Verify scripts run in a subtransaction that is
 * always rolled back: a check must not change the database, and Sqitch's
 * verify scripts end in ROLLBACK for the same reason.
 *
 * Each statement's text is handed to SPI_execute, which parses it a second
 * time: SPI takes no raw parse trees, and running them without SPI would
 * mean copying its analyze/plan/execute loop.  Parsing is cheap next to
 * executing DDL: 2000 one-statement migrations apply in about the time
 * psql -1 needs for the same statements.
 *
 * src/migrate_exec.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "utils/resowner.h"

#include "migrate.h"

/*
 * Run every statement of script.  The caller is connected to SPI.
 */
void
migrate_script_run(MigrationScript *script)
{
	MigrationErrorContext ctx;

	if (script->dropped_transaction)
		ereport(NOTICE,
				(errmsg("transaction control in %s of migration \"%s\" ignored",
						script->file, script->label),
				 errdetail("The whole batch already runs in one transaction.")));

	migrate_errcontext_push(&ctx, script->label, script->file, script->sql);
	for (int i = 0; i < script->nstatements; i++)
	{
		MigrationStatement *st = &script->statements[i];
		char	   *text;
		int			rc;

		ctx.stmt_offset = st->offset;
		ctx.stmt_length = st->length;
		text = pnstrdup(script->sql + st->offset, st->length);

		rc = SPI_execute(text, false, 0);
		if (rc < 0)
			elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(rc));
		SPI_freetuptable(SPI_tuptable);
		pfree(text);
	}
	migrate_errcontext_pop(&ctx);
}

/*
 * Run script in a subtransaction and roll its effects back.  An error is
 * passed on after the subtransaction is closed, so that a caller that
 * catches it (a PL/pgSQL EXCEPTION block) finds its own subtransaction on
 * top, not ours.
 */
void
migrate_script_run_discarded(MigrationScript *script)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);

	PG_TRY();
	{
		migrate_script_run(script);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		ReThrowError(edata);
	}
	PG_END_TRY();

	RollbackAndReleaseCurrentSubTransaction();
	MemoryContextSwitchTo(oldcxt);
	CurrentResourceOwner = oldowner;
}
