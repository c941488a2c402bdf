/*-------------------------------------------------------------------------
 *
 * worker_catalog.c
 *		Every read and write of the migration queue
 *		(dbops.migration_jobs) and of the progress of no-transaction
 *		migrations (dbops.migration_progress).
 *
 * Like the migration catalog (migrate_catalog.c, whose way of running a
 * statement as the extension owner this file shares), these tables may
 * only be read by administrators: what a queued job runs cannot be changed
 * after it was checked.  A job keeps its migrations as a jsonb array,
 * which the worker turns back into a MigrationSource; each migration's
 * checksum is computed again from its up SQL and must match.
 *
 * The caller is connected to SPI.
 *
 * src/worker_catalog.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#include "worker.h"

/* The migrations' fields a job keeps, in the order of the arrays below */
#define JOB_FIELDS 10
static const char *const job_fields[JOB_FIELDS] = {
	"version", "name", "up", "down", "verify", "up_file", "down_file",
	"verify_file", "no_transaction", "checksum"
};

/* A text[] of n strings, some NULL */
static Datum
text_array(const char **strings, int n)
{
	Datum	   *elems = palloc0(Max(n, 1) * sizeof(Datum));
	bool	   *nulls = palloc0(Max(n, 1) * sizeof(bool));
	int			dims[1] = {n};
	int			lbs[1] = {1};

	for (int i = 0; i < n; i++)
	{
		nulls[i] = strings[i] == NULL;
		if (!nulls[i])
			elems[i] = CStringGetTextDatum(strings[i]);
	}
	return PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs, TEXTOID,
											  -1, false, TYPALIGN_INT));
}

static char *
get_text(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc,
								  col, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

static Datum
get_datum(int row, int col, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, isnull);
}

/*
 * Queue a job for the migrations of source, pending of which are due now,
 * to run as the current user with its search_path.  Returns its id.
 */
int64
worker_catalog_insert_job(MigrationSource *source, int pending, bool batch,
						  const char *target, bool allow_out_of_order,
						  const MigrationLimits *limits, const char *origin)
{
	static SPIPlanPtr plan;
	Oid			types[11 + JOB_FIELDS];
	Datum		values[11 + JOB_FIELDS];
	char		nulls[11 + JOB_FIELDS];
	const char **fields[JOB_FIELDS];
	bool		isnull;

	for (int f = 0; f < JOB_FIELDS; f++)
		fields[f] = palloc0(Max(source->count, 1) * sizeof(char *));
	for (int i = 0; i < source->count; i++)
	{
		Migration  *m = source->items[i];

		fields[0][i] = m->version;
		fields[1][i] = m->name;
		fields[2][i] = m->up_sql;
		fields[3][i] = m->down_sql;
		fields[4][i] = m->verify_sql;
		fields[5][i] = m->up_file;
		fields[6][i] = m->down_file;
		fields[7][i] = m->verify_file;
		fields[8][i] = m->no_transaction;
		fields[9][i] = m->checksum;
	}

	memset(nulls, ' ', sizeof(nulls));
	types[0] = TEXTOID;
	values[0] = CStringGetTextDatum(batch ? "batch" : "migration");
	types[1] = TEXTOID;
	values[1] = CStringGetTextDatum(origin);
	types[2] = OIDOID;
	values[2] = ObjectIdGetDatum(GetUserId());
	types[3] = TEXTOID;
	values[3] = CStringGetTextDatum(GetUserNameFromId(GetUserId(), false));
	types[4] = TEXTOID;
	values[4] = target ? CStringGetTextDatum(target) : (Datum) 0;
	nulls[4] = target ? ' ' : 'n';
	types[5] = BOOLOID;
	values[5] = BoolGetDatum(allow_out_of_order);
	types[6] = TEXTOID;
	values[6] = CStringGetTextDatum(GetConfigOption("search_path", false, false));
	types[7] = INT4OID;
	values[7] = Int32GetDatum(limits->lock_timeout_ms);
	types[8] = INT4OID;
	values[8] = Int32GetDatum(limits->lock_retries);
	types[9] = INT4OID;
	values[9] = Int32GetDatum(limits->statement_timeout_ms);
	types[10] = INT4OID;
	values[10] = Int32GetDatum(pending);
	for (int f = 0; f < JOB_FIELDS; f++)
	{
		types[11 + f] = TEXTARRAYOID;
		values[11 + f] = text_array(fields[f], source->count);
	}

	migrate_catalog_exec(&plan,
						 "INSERT INTO dbops.migration_jobs (commit_mode, origin, submitted_at, "
						 "submitter, submitted_by, target_version, allow_out_of_order, search_path, "
						 "lock_timeout_ms, lock_retries, statement_timeout_ms, pending, migrations) "
						 "SELECT $1, $2, pg_catalog.now(), $3, $4, $5, $6, $7, $8, $9, $10, $11, "
						 "coalesce((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object("
						 "'version', m.v, 'name', m.n, 'up', m.u, 'down', m.d, 'verify', m.f, "
						 "'up_file', m.uf, 'down_file', m.df, 'verify_file', m.ff, "
						 "'no_transaction', m.nt, 'checksum', m.c) ORDER BY m.i) "
						 "FROM ROWS FROM (pg_catalog.unnest($12), pg_catalog.unnest($13), pg_catalog.unnest($14), "
						 "pg_catalog.unnest($15), pg_catalog.unnest($16), pg_catalog.unnest($17), "
						 "pg_catalog.unnest($18), pg_catalog.unnest($19), pg_catalog.unnest($20), "
						 "pg_catalog.unnest($21)) "
						 "WITH ORDINALITY AS m(v, n, u, d, f, uf, df, ff, nt, c, i)), '[]') "
						 "RETURNING id",
						 11 + JOB_FIELDS, types, values, nulls);
	return DatumGetInt64(get_datum(0, 1, &isnull));
}

/*
 * The migrations of job id, as a source, checked against the checksums
 * recorded when they were queued.
 */
static MigrationSource *
job_source(int64 id, MemoryContext cxt)
{
	static SPIPlanPtr plan;
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(id)};
	List	   *migrations = NIL;
	StringInfoData sql;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	for (int f = 0; f < JOB_FIELDS; f++)
		appendStringInfo(&sql, "%se.m OPERATOR(pg_catalog.->>) '%s'",
						 f > 0 ? ", " : "", job_fields[f]);
	appendStringInfoString(&sql, " FROM dbops.migration_jobs j, "
						   "pg_catalog.jsonb_array_elements(j.migrations) WITH ORDINALITY AS e(m, i) "
						   "WHERE j.id OPERATOR(pg_catalog.=) $1 ORDER BY e.i");
	migrate_catalog_exec(&plan, sql.data, 1, types, values, NULL);
	MemoryContextSwitchTo(cxt);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		char	   *version = get_text(r, 1);
		Migration  *m = migrate_source_new(version, get_text(r, 2), version,
										   get_text(r, 3), get_text(r, 6));

		m->down_sql = get_text(r, 4);
		m->verify_sql = get_text(r, 5);
		m->down_file = get_text(r, 7);
		m->verify_file = get_text(r, 8);
		m->no_transaction = get_text(r, 9);
		if (strcmp(m->checksum, get_text(r, 10)) != 0)
			elog(ERROR, "migration \"%s\" of job %lld does not match its checksum",
				 m->label, (long long) id);
		migrations = lappend(migrations, m);
	}
	return migrate_source_from_list(migrations);
}

/*
 * The next job to run, read into ctx: a job cut short first, then the
 * oldest queued.  A job cut short too often is failed instead.
 */
WorkerJob *
worker_catalog_next_job(MemoryContext ctx)
{
	static SPIPlanPtr plan;
	static SPIPlanPtr fail_plan;
	MemoryContext oldcxt;
	WorkerJob  *job;
	bool		isnull;
	Oid			types[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(WORKER_JOB_MAX_ATTEMPTS)};

	migrate_catalog_exec(&fail_plan,
						 "UPDATE dbops.migration_jobs SET state = 'failed', "
						 "finished_at = pg_catalog.now(), error_code = '57P01', "
						 "error_message = pg_catalog.format('the job was cut short %s times', attempts), "
						 "error_hint = 'Look for what stopped the server or the worker in the server log; submit the migrations again to go on.' "
						 "WHERE state OPERATOR(pg_catalog.=) 'running' "
						 "AND attempts OPERATOR(pg_catalog.>=) $1",
						 1, types, values, NULL);
	migrate_catalog_exec(&plan,
						 "SELECT id, commit_mode OPERATOR(pg_catalog.=) 'batch', submitter, "
						 "submitted_by::pg_catalog.text, target_version, allow_out_of_order, search_path, "
						 "lock_timeout_ms, lock_retries, statement_timeout_ms "
						 "FROM dbops.migration_jobs "
						 "WHERE state OPERATOR(pg_catalog.=) ANY ('{running,queued}') "
						 "ORDER BY state OPERATOR(pg_catalog.=) 'queued', id LIMIT 1",
						 0, NULL, NULL, NULL);
	if (SPI_processed == 0)
		return NULL;

	oldcxt = MemoryContextSwitchTo(ctx);
	job = palloc0(sizeof(WorkerJob));
	job->id = DatumGetInt64(get_datum(0, 1, &isnull));
	job->batch = DatumGetBool(get_datum(0, 2, &isnull));
	job->submitter = DatumGetObjectId(get_datum(0, 3, &isnull));
	job->submitter_name = get_text(0, 4);
	job->target_version = get_text(0, 5);
	job->allow_out_of_order = DatumGetBool(get_datum(0, 6, &isnull));
	job->search_path = get_text(0, 7);
	job->limits.lock_timeout_ms = DatumGetInt32(get_datum(0, 8, &isnull));
	job->limits.lock_retries = DatumGetInt32(get_datum(0, 9, &isnull));
	job->limits.statement_timeout_ms = DatumGetInt32(get_datum(0, 10, &isnull));
	job->source = job_source(job->id, ctx);
	MemoryContextSwitchTo(oldcxt);
	return job;
}

/* The job starts (again): running, one attempt more, no error */
void
worker_catalog_job_started(WorkerJob *job)
{
	static SPIPlanPtr plan;
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(job->id)};

	migrate_catalog_exec(&plan,
						 "UPDATE dbops.migration_jobs SET state = 'running', "
						 "attempts = attempts OPERATOR(pg_catalog.+) 1, "
						 "started_at = coalesce(started_at, pg_catalog.now()), "
						 "error_code = NULL, error_message = NULL, error_detail = NULL, "
						 "error_hint = NULL, error_context = NULL "
						 "WHERE id OPERATOR(pg_catalog.=) $1",
						 1, types, values, NULL);
}

/*
 * Migration version of the job runs, or (applied > 0) that many more
 * migrations were applied, the last being version
 */
void
worker_catalog_job_progress(WorkerJob *job, const char *version, int applied)
{
	static SPIPlanPtr plan;
	Oid			types[3] = {INT8OID, TEXTOID, INT4OID};
	Datum		values[3];

	values[0] = Int64GetDatum(job->id);
	values[1] = CStringGetTextDatum(version);
	values[2] = Int32GetDatum(applied);
	migrate_catalog_exec(&plan,
						 "UPDATE dbops.migration_jobs SET current_version = $2, "
						 "applied = applied OPERATOR(pg_catalog.+) $3 "
						 "WHERE id OPERATOR(pg_catalog.=) $1",
						 3, types, values, NULL);
}

/* The job ended: state "done", or "failed" with the error edata */
void
worker_catalog_job_done(WorkerJob *job, const char *state, ErrorData *edata)
{
	static SPIPlanPtr plan;
	Oid			types[7] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[7];
	char		nulls[7] = {' ', ' ', 'n', 'n', 'n', 'n', 'n'};
	const char *fields[5] = {NULL, NULL, NULL, NULL, NULL};

	values[0] = Int64GetDatum(job->id);
	values[1] = CStringGetTextDatum(state);
	if (edata != NULL)
	{
		fields[0] = unpack_sql_state(edata->sqlerrcode);
		fields[1] = edata->message;
		fields[2] = edata->detail;
		fields[3] = edata->hint;
		fields[4] = edata->context;
	}
	for (int i = 0; i < 5; i++)
	{
		if (fields[i] != NULL)
		{
			values[2 + i] = CStringGetTextDatum(fields[i]);
			nulls[2 + i] = ' ';
		}
	}
	migrate_catalog_exec(&plan,
						 "UPDATE dbops.migration_jobs SET state = $2, finished_at = pg_catalog.now(), "
						 "error_code = $3, error_message = $4, error_detail = $5, "
						 "error_hint = $6, error_context = $7 "
						 "WHERE id OPERATOR(pg_catalog.=) $1",
						 7, types, values, nulls);
}

/*
 * Where no-transaction migration m (of nstatements statements) got to:
 * out->states[i] is 's' (started) or 'd' (done) for statement i, 0 the
 * migration itself, and '\0' for statements not started.  Progress made
 * by other SQL under the same version is an error: it cannot be resumed.
 * out, allocated in cxt, may be NULL, for that check alone.
 */
void
worker_catalog_progress(Migration *m, int nstatements, WorkerProgress *out,
						MemoryContext cxt)
{
	static SPIPlanPtr plan;
	Oid			types[1] = {TEXTOID};
	Datum		values[1];

	values[0] = CStringGetTextDatum(m->version);
	migrate_catalog_exec(&plan,
						 "SELECT statement, state, checksum, restore_point, restore_lsn, started_at "
						 "FROM dbops.migration_progress WHERE version OPERATOR(pg_catalog.=) $1 "
						 "ORDER BY statement",
						 1, types, values, NULL);
	if (out != NULL)
	{
		out->states = MemoryContextAllocZero(cxt, nstatements + 2);
		out->restore_point = NULL;
		out->restore_lsn = InvalidXLogRecPtr;
		out->started_at = 0;
	}
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		int			statement = DatumGetInt32(get_datum(r, 1, &isnull));
		char	   *state = get_text(r, 2);
		Datum		lsn;

		if (strcmp(get_text(r, 3), m->checksum) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("migration \"%s\" was partly run from other SQL", m->label),
					 errdetail("Its up SQL now has checksum %s; statements of a version with checksum %s were run by a migration job.",
							   m->checksum, get_text(r, 3)),
					 errhint("Submit the SQL it was started with to finish it; or finish it by hand and record it with dbops.baseline().")));
		if (out == NULL || statement < 0 || statement > nstatements)
			continue;
		out->states[statement] = state[0] == 'd' ? 'd' : 's';
		if (statement == 0)
		{
			out->restore_point = get_text(r, 4);
			if (out->restore_point != NULL)
				out->restore_point = MemoryContextStrdup(cxt, out->restore_point);
			lsn = get_datum(r, 5, &isnull);
			if (!isnull)
				out->restore_lsn = DatumGetLSN(lsn);
			out->started_at = DatumGetTimestampTz(get_datum(r, 6, &isnull));
		}
	}
}

/*
 * Statement number statement of no-transaction migration m (0: the
 * migration itself, with its restore point) is now in state "started" or
 * "done"
 */
void
worker_catalog_mark(WorkerJob *job, Migration *m, int statement,
					const char *state, const char *restore_point,
					XLogRecPtr restore_lsn)
{
	static SPIPlanPtr plan;
	Oid			types[7] = {TEXTOID, TEXTOID, INT4OID, TEXTOID, INT8OID, TEXTOID, PG_LSNOID};
	Datum		values[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', 'n', 'n'};

	values[0] = CStringGetTextDatum(m->version);
	values[1] = CStringGetTextDatum(m->checksum);
	values[2] = Int32GetDatum(statement);
	values[3] = CStringGetTextDatum(state);
	values[4] = Int64GetDatum(job->id);
	if (restore_point != NULL)
	{
		values[5] = CStringGetTextDatum(restore_point);
		values[6] = LSNGetDatum(restore_lsn);
		nulls[5] = nulls[6] = ' ';
	}
	migrate_catalog_exec(&plan,
						 "INSERT INTO dbops.migration_progress AS p (version, checksum, statement, "
						 "state, job_id, started_at, finished_at, restore_point, restore_lsn) "
						 "VALUES ($1, $2, $3, $4, $5, pg_catalog.now(), "
						 "CASE WHEN $4 OPERATOR(pg_catalog.=) 'done' THEN pg_catalog.now() END, $6, $7) "
						 "ON CONFLICT (version, statement) DO UPDATE SET state = excluded.state, "
						 "job_id = excluded.job_id, finished_at = excluded.finished_at",
						 7, types, values, nulls);
}

/* Migration version was recorded as applied: its progress goes */
void
worker_catalog_forget(const char *version)
{
	static SPIPlanPtr plan;
	Oid			types[1] = {TEXTOID};
	Datum		values[1];

	values[0] = CStringGetTextDatum(version);
	migrate_catalog_exec(&plan,
						 "DELETE FROM dbops.migration_progress WHERE version OPERATOR(pg_catalog.=) $1",
						 1, types, values, NULL);
}
