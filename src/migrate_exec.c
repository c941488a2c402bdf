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
 * Two limits apply per statement when set (MigrationLimits): a lock
 * timeout, as PostgreSQL's lock_timeout set at a GUC nest level of its own
 * around the statement, so that a migration's own SET lock_timeout cannot
 * lift it; and a statement timeout, armed as PostgreSQL's statement
 * timeout for that statement only (the whole call's statement_timeout, if
 * sooner, still applies), so a statement that runs too long fails with
 * 57014 and the migration's file and line in the context.
 *
 * src/migrate_exec.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "utils/guc.h"
#include "utils/resowner.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "migrate.h"

/*
 * Arm the statement timeout for one statement of limit_ms, unless the
 * whole call's statement timeout comes sooner.  Returns whether it was
 * armed; *outer_fin is the call's own deadline, 0 when there is none.
 */
static bool
statement_timer_arm(int limit_ms, TimestampTz *fin, TimestampTz *outer_fin)
{
	*fin = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), limit_ms);
	*outer_fin = get_timeout_active(STATEMENT_TIMEOUT) ?
		get_timeout_finish_time(STATEMENT_TIMEOUT) : 0;
	if (*outer_fin != 0 && *outer_fin <= *fin)
		return false;
	enable_timeout_at(STATEMENT_TIMEOUT, *fin);
	return true;
}

/* Give the call its own statement timeout back */
static void
statement_timer_disarm(TimestampTz outer_fin)
{
	if (outer_fin != 0)
		enable_timeout_at(STATEMENT_TIMEOUT, outer_fin);
	else
		disable_timeout(STATEMENT_TIMEOUT, false);
}

/*
 * SPI_execute under dbops.statement_timeout.  The timer is given back on
 * error too: the error may be caught (a lock-safe retry, the caller's
 * EXCEPTION block), and a deadline left armed would cancel whatever runs
 * next.  A timeout that was ours says so in its detail.
 */
static int
execute_timed(const char *text, int limit_ms)
{
	TimestampTz fin;
	TimestampTz outer;
	volatile TimestampTz outer_fin;
	MemoryContext oldcxt = CurrentMemoryContext;
	volatile int rc = 0;

	if (!statement_timer_arm(limit_ms, &fin, &outer))
		return SPI_execute(text, false, 0);
	outer_fin = outer;
	PG_TRY();
	{
		rc = SPI_execute(text, false, 0);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		statement_timer_disarm(outer_fin);
		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED &&
			edata->detail == NULL && GetCurrentTimestamp() >= fin)
			edata->detail = psprintf("The statement ran longer than dbops.statement_timeout (%d ms).",
									 limit_ms);
		ReThrowError(edata);
	}
	PG_END_TRY();
	statement_timer_disarm(outer_fin);
	return rc;
}

/* Run one statement under the limits */
static void
run_statement(const char *text, const MigrationLimits *limits)
{
	int			nestlevel = -1;
	int			rc;

	if (limits->lock_timeout_ms > 0)
	{
		nestlevel = NewGUCNestLevel();
		(void) set_config_option("lock_timeout",
								 psprintf("%d", limits->lock_timeout_ms),
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
								 true, 0, false);
	}
	if (limits->statement_timeout_ms > 0)
		rc = execute_timed(text, limits->statement_timeout_ms);
	else
		rc = SPI_execute(text, false, 0);
	if (rc < 0)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(rc));
	SPI_freetuptable(SPI_tuptable);
	if (nestlevel >= 0)
		AtEOXact_GUC(true, nestlevel);
}

/*
 * Run every statement of script.  The caller is connected to SPI.
 */
void
migrate_script_run(MigrationScript *script, const MigrationLimits *limits)
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

		ctx.stmt_offset = st->offset;
		ctx.stmt_length = st->length;
		text = pnstrdup(script->sql + st->offset, st->length);
		run_statement(text, limits);
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
migrate_script_run_discarded(MigrationScript *script,
							 const MigrationLimits *limits)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);

	PG_TRY();
	{
		migrate_script_run(script, limits);
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
