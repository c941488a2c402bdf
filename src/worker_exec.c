/*-------------------------------------------------------------------------
 *
 * worker_exec.c
 *		Run a no-transaction migration: each statement at top level, in a
 *		transaction of its own, recorded as it goes so that a job cut short
 *		goes on where it stopped.
 *
 * CREATE INDEX CONCURRENTLY, REINDEX CONCURRENTLY, VACUUM and the like
 * refuse to run inside a transaction block, and SPI always runs inside
 * one.  So the worker has a statement loop of its own, as postgres.c's
 * exec_simple_query and pg_cron's background mode have: parse, analyse,
 * plan, and run the statement in a portal as a top-level command, which
 * may then commit and start transactions of its own.
 *
 * Progress (dbops.migration_progress): before the first statement, the
 * migration's restore point.  A statement that can run in a transaction
 * is marked done in its own transaction, so it runs exactly once.  One
 * that cannot is marked "started" in a transaction committed before it,
 * and "done" after it; found "started" on resume, it is settled first: a
 * concurrent index build whose index is valid is done, one whose index is
 * invalid has it dropped concurrently and builds it again; the invalid
 * leftovers of a concurrent reindex are dropped and it runs again; a
 * concurrent drop of indexes that are gone is done; anything else runs
 * again.  Once every statement is done, the verify script runs and the
 * migration is recorded as applied, with its restore point, in one
 * transaction.
 *
 * The statements run as the submitter, with the job's lock timeout and
 * statement timeout, and the DDL they run is attributed to the migration,
 * also across the commits a concurrent index build makes itself.
 *
 * src/worker_exec.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "pgstat.h"
#include "tcop/pquery.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "ddl_log.h"
#include "identity.h"
#include "worker.h"

/* The migration whose statement runs at top level, in TopMemoryContext */
static char *exec_version = NULL;

/*
 * ddl_log.c forgets the migration DDL is attributed to at every commit;
 * a concurrent index build commits twice before its DDL is logged.  This
 * callback, registered before ddl_log.c's and so called after it, gives
 * the attribution back while a top-level statement runs.  An abort ends
 * the statement.
 */
static void
exec_xact_callback(XactEvent event, void *arg)
{
	if (exec_version == NULL)
		return;
	if (event == XACT_EVENT_COMMIT)
		ddl_log_set_migration(exec_version);
	else if (event == XACT_EVENT_ABORT)
	{
		pfree(exec_version);
		exec_version = NULL;
	}
}

/* From _PG_init, before ddl_log_init() (see exec_xact_callback) */
void
worker_exec_init(void)
{
	RegisterXactCallback(exec_xact_callback, NULL);
}

/*
 * Run sql, one statement, at top level in a transaction of its own, as the
 * submitter of job with its limits, with its DDL attributed to migration
 * m.  With statement > 0, that statement of m is marked done in the same
 * transaction.
 */
static void
run_top_level(WorkerJob *job, Migration *m, const char *sql, int statement)
{
	MemoryContext stmt_cxt = AllocSetContextCreate(CurrentMemoryContext,
												   "dbops statement",
												   ALLOCSET_DEFAULT_SIZES);
	MemoryContext oldcxt = CurrentMemoryContext;
	RawStmt    *raw;
	List	   *plans;
	Portal		portal;
	DestReceiver *receiver;
	QueryCompletion qc;
	int16		format = 0;
	IdentitySwitch sw;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	MemoryContextSwitchTo(stmt_cxt);
	debug_query_string = sql;
	pgstat_report_activity(STATE_RUNNING, sql);

	identity_become_supplier(job->submitter, &sw);
	exec_version = MemoryContextStrdup(TopMemoryContext, m->version);
	ddl_log_set_migration(m->version);
	if (job->limits.lock_timeout_ms > 0)
		(void) set_config_option("lock_timeout",
								 psprintf("%d", job->limits.lock_timeout_ms),
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SET,
								 true, 0, false);
	if (job->limits.statement_timeout_ms > 0)
		enable_timeout_after(STATEMENT_TIMEOUT, job->limits.statement_timeout_ms);

	/* exec_simple_query's steps, for one statement */
	raw = linitial_node(RawStmt, pg_parse_query(sql));
	if (analyze_requires_snapshot(raw))
		PushActiveSnapshot(GetTransactionSnapshot());
	plans = pg_plan_queries(pg_analyze_and_rewrite_fixedparams(raw, sql, NULL, 0, NULL),
							sql, CURSOR_OPT_PARALLEL_OK, NULL);
	if (analyze_requires_snapshot(raw))
		PopActiveSnapshot();
	portal = CreatePortal("", true, true);
	portal->visible = false;
	PortalDefineQuery(portal, NULL, sql, CreateCommandTag(raw->stmt), plans, NULL);
	PortalStart(portal, NULL, 0, InvalidSnapshot);
	PortalSetResultFormat(portal, 1, &format);
	receiver = CreateDestReceiver(DestNone);
	(void) PortalRun(portal, FETCH_ALL, true, true, receiver, receiver, &qc);
	receiver->rDestroy(receiver);
	PortalDrop(portal, false);

	disable_timeout(STATEMENT_TIMEOUT, false);
	pfree(exec_version);
	exec_version = NULL;
	identity_restore(&sw);
	MemoryContextSwitchTo(stmt_cxt);
	if (statement > 0)
	{
		SPI_connect();
		PushActiveSnapshot(GetTransactionSnapshot());
		worker_catalog_mark(job, m, statement, "done", NULL, InvalidXLogRecPtr);
		PopActiveSnapshot();
		SPI_finish();
	}
	CommitTransactionCommand();
	debug_query_string = NULL;
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(stmt_cxt);
}

/* Mark statement of m "started" or "done", in a transaction of its own */
static void
mark(WorkerJob *job, Migration *m, int statement, const char *state)
{
	worker_step_begin();
	worker_catalog_mark(job, m, statement, state, NULL, InvalidXLogRecPtr);
	worker_step_end();
}

/* Drop index name (schema-qualified, quoted) concurrently, for m */
static void
drop_leftover(WorkerJob *job, Migration *m, const char *name)
{
	ereport(LOG,
			(errmsg("dbops migration job %lld: dropping invalid index %s left by migration \"%s\"",
					(long long) job->id, name, m->label)));
	run_top_level(job, m, psprintf("DROP INDEX CONCURRENTLY IF EXISTS %s", name), 0);
}

/*
 * A concurrent index build found started: is its index there and valid?
 * An invalid one is dropped, to be built again.
 */
static bool
settle_index(WorkerJob *job, Migration *m, IndexStmt *stmt)
{
	Oid			relid;
	Oid			index = InvalidOid;
	char	   *name = NULL;
	bool		valid = false;
	MemoryContext cxt = CurrentMemoryContext;

	worker_step_begin();
	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	if (OidIsValid(relid))
		index = get_relname_relid(stmt->idxname, get_rel_namespace(relid));
	if (OidIsValid(index))
	{
		HeapTuple	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(index));

		if (HeapTupleIsValid(tup))
		{
			valid = ((Form_pg_index) GETSTRUCT(tup))->indisvalid;
			ReleaseSysCache(tup);
		}
		name = MemoryContextStrdup(cxt,
								   quote_qualified_identifier(get_namespace_name(get_rel_namespace(index)),
															  stmt->idxname));
	}
	worker_step_end();
	if (name != NULL && !valid)
		drop_leftover(job, m, name);
	return valid;
}

/*
 * A concurrent reindex found started: drop the invalid indexes it leaves
 * when cut short (named <index>_ccnew or _ccold, and a number) on what it
 * reindexes, and run it again.
 */
static void
settle_reindex(WorkerJob *job, Migration *m, ReindexStmt *stmt)
{
	static const char *const query =
		"SELECT pg_catalog.quote_ident(n.nspname) OPERATOR(pg_catalog.||) '.' "
		"OPERATOR(pg_catalog.||) pg_catalog.quote_ident(c.relname) "
		"FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.indexrelid "
		"JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace "
		"WHERE NOT i.indisvalid AND c.relname OPERATOR(pg_catalog.~) '_cc(new|old)[0-9]*$' "
		"AND ($1 OPERATOR(pg_catalog.=) 0 OR i.indrelid OPERATOR(pg_catalog.=) $1) "
		"AND ($2 IS NULL OR n.nspname OPERATOR(pg_catalog.=) $2)";
	Oid			types[2] = {OIDOID, TEXTOID};
	Datum		values[2] = {ObjectIdGetDatum(InvalidOid), (Datum) 0};
	char		nulls[2] = {' ', 'n'};
	MemoryContext cxt = CurrentMemoryContext;
	List	   *leftovers = NIL;
	ListCell   *lc;

	if (!migrate_reindex_concurrent(stmt))
		return;
	worker_step_begin();
	if (stmt->kind == REINDEX_OBJECT_INDEX || stmt->kind == REINDEX_OBJECT_TABLE)
	{
		Oid			relid = RangeVarGetRelid(stmt->relation, NoLock, true);

		if (OidIsValid(relid) && stmt->kind == REINDEX_OBJECT_INDEX)
			relid = IndexGetRelation(relid, true);
		values[0] = ObjectIdGetDatum(relid);
	}
	else if (stmt->kind == REINDEX_OBJECT_SCHEMA)
	{
		values[1] = CStringGetTextDatum(stmt->name);
		nulls[1] = ' ';
	}
	if (SPI_execute_with_args(query, 2, types, values, nulls, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not look for the leftovers of a concurrent reindex");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		MemoryContext oldcxt = MemoryContextSwitchTo(cxt);

		leftovers = lappend(leftovers, pstrdup(name));
		MemoryContextSwitchTo(oldcxt);
	}
	worker_step_end();
	foreach(lc, leftovers)
		drop_leftover(job, m, lfirst(lc));
}

/* A concurrent drop of indexes found started: are they all gone? */
static bool
settle_drop(DropStmt *stmt)
{
	bool		gone = true;
	ListCell   *lc;

	worker_step_begin();
	foreach(lc, stmt->objects)
	{
		if (OidIsValid(RangeVarGetRelid(makeRangeVarFromNameList(lfirst(lc)),
										NoLock, true)))
			gone = false;
	}
	worker_step_end();
	return gone;
}

/*
 * Settle statement stmt of m, found started but not done; true when it
 * turns out done, false when it is to run (again).
 */
static bool
settle(WorkerJob *job, Migration *m, Node *stmt)
{
	switch (nodeTag(stmt))
	{
		case T_IndexStmt:
			return settle_index(job, m, (IndexStmt *) stmt);
		case T_ReindexStmt:
			settle_reindex(job, m, (ReindexStmt *) stmt);
			return false;
		case T_DropStmt:
			return settle_drop((DropStmt *) stmt);
		default:
			return false;
	}
}

/*
 * Run no-transaction migration pa of job from where its progress says,
 * and record it as applied.
 */
void
worker_exec_migration(WorkerJob *job, PlannedApply *pa)
{
	Migration  *m = pa->m;
	MigrationScript *script = pa->up;
	WorkerProgress progress;
	MigrationErrorContext ctx;
	IdentitySwitch sw;
	MemoryContext cxt = CurrentMemoryContext;

	worker_step_begin();
	worker_catalog_progress(m, script->nstatements, &progress, cxt);
	if (progress.states[0] == '\0')
	{
		progress.restore_lsn = migrate_restore_point(m->version, &progress.restore_point);
		if (progress.restore_point != NULL)
			progress.restore_point = MemoryContextStrdup(cxt, progress.restore_point);
		progress.started_at = GetCurrentTimestamp();
		worker_catalog_mark(job, m, 0, "started", progress.restore_point,
							progress.restore_lsn);
	}
	worker_step_end();

	migrate_errcontext_push(&ctx, script->label, script->file, script->sql);
	for (int i = 0; i < script->nstatements; i++)
	{
		MigrationStatement *st = &script->statements[i];
		char	   *sql = pnstrdup(script->sql + st->offset, st->length);
		Node	   *stmt = linitial_node(RawStmt, raw_parser(sql, RAW_PARSE_DEFAULT))->stmt;
		bool		top = migrate_statement_top_level(stmt) != NULL;

		ctx.stmt_offset = st->offset;
		ctx.stmt_length = st->length;
		if (progress.states[i + 1] == 'd')
			continue;
		if (progress.states[i + 1] == 's' && settle(job, m, stmt))
		{
			mark(job, m, i + 1, "done");
			continue;
		}
		if (top)
			mark(job, m, i + 1, "started");
		run_top_level(job, m, sql, top ? 0 : i + 1);
		if (top)
			mark(job, m, i + 1, "done");
	}
	migrate_errcontext_pop(&ctx);

	/* verify, and record it as applied by the submitter */
	worker_step_begin();
	migrate_lock();
	identity_become_supplier(job->submitter, &sw);
	if (pa->verify != NULL)
		migrate_script_run_discarded(pa->verify, &job->limits);
	migrate_catalog_insert(m, progress.started_at,
						   GetCurrentTimestamp() - progress.started_at, false,
						   progress.restore_point, progress.restore_lsn);
	identity_restore(&sw);
	worker_catalog_forget(m->version);
	worker_catalog_job_progress(job, m->version, 1);
	worker_job_session(job);
	worker_step_end();
}
