/*-------------------------------------------------------------------------
 *
 * migrate_batch.c
 *		Run a batch of migrations (apply, or rollback) in the caller's
 *		transaction, lock-safe when a lock timeout is set.
 *
 * A batch is one transaction, so every lock a migration takes is held
 * until the batch commits, and a statement that queues for a lock behind a
 * long transaction makes every later reader and writer of that table queue
 * behind it in turn.  Lock-safe apply bounds that wait: every statement
 * runs under a lock timeout (migrate_exec.c); when one expires, the whole
 * batch rolls back to a savepoint taken under the migration lock, so that
 * no earlier migration of the batch keeps its locks either.  dbops then
 * reports what it waited for and who holds it, waits with jittered
 * exponential backoff, and starts the batch again, up to lock_retries more
 * times.  Out of tries, the error is raised and the caller's transaction
 * has applied nothing.
 *
 * Which lock a statement waited for is gone by the time PostgreSQL raises
 * the lock timeout (it leaves the wait queue first), so a timer samples it
 * while the batch runs: its handler copies the lock that this backend is
 * waiting for, if any, from its PGPROC.  A wait that timed out lasted the
 * whole lock timeout, at least twice the sampling period, so the last
 * sample is of that wait.
 *
 * src/migrate_batch.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "dbops.h"
#include "migrate.h"

/* Backoff between tries: 100 ms doubling up to 10 s, each jittered down to half */
#define BACKOFF_BASE_MS		100
#define BACKOFF_CAP_MS		10000

/* The sampling of the awaited lock (see the file header) */
static bool probe_registered = false;
static TimeoutId probe_timeout;
static volatile sig_atomic_t probe_seen = false;
static LOCKTAG probe_tag;
static LOCKMODE probe_mode;

/* Called in the SIGALRM handler: copy, nothing else */
static void
lock_probe_handler(void)
{
	volatile PGPROC *proc = MyProc;
	LOCK	   *lock = proc->waitLock;

	if (lock != NULL)
	{
		probe_tag = lock->tag;
		probe_mode = proc->waitLockMode;
		probe_seen = true;
	}
}

static void
lock_probe_start(int lock_timeout_ms)
{
	int			period = Max(Min(lock_timeout_ms / 4, 1000), 5);

	if (!probe_registered)
	{
		probe_timeout = RegisterTimeout(USER_TIMEOUT, lock_probe_handler);
		probe_registered = true;
	}
	probe_seen = false;
	enable_timeout_every(probe_timeout,
						 TimestampTzPlusMilliseconds(GetCurrentTimestamp(), period),
						 period);
}

static void
lock_probe_stop(void)
{
	disable_timeout(probe_timeout, false);
}

/* "AccessExclusiveLock on relation "public"."t"", or as near as known */
static char *
describe_lock(void)
{
	const char *mode;

	if (!probe_seen)
		return pstrdup("a lock");
	mode = GetLockmodeName(probe_tag.locktag_lockmethodid, probe_mode);
	switch ((LockTagType) probe_tag.locktag_type)
	{
		case LOCKTAG_RELATION:
			{
				Oid			relid = probe_tag.locktag_field2;
				char	   *rel = get_rel_name(relid);

				if (rel == NULL)
					return psprintf("%s on relation %u", mode, relid);
				return psprintf("%s on relation \"%s.%s\"", mode,
								get_namespace_name(get_rel_namespace(relid)), rel);
			}
		case LOCKTAG_TRANSACTION:
			return psprintf("%s on transaction %u (a row lock)", mode,
							probe_tag.locktag_field1);
		default:
			return psprintf("%s on a lock of type %s", mode,
							LockTagTypeNames[probe_tag.locktag_type]);
	}
}

/*
 * Who holds a lock that conflicts with the one sampled: "process 123
 * (idle in transaction for 00:00:05, holds RowExclusiveLock): UPDATE ...",
 * one sentence per holder, from pg_locks and pg_stat_activity as the
 * caller sees them (other roles' queries only with pg_read_all_stats).
 * The caller is connected to SPI.
 */
static char *
describe_holders(void)
{
	StringInfoData buf;
	Datum		modes[MaxLockMode];
	int			nmodes = 0;
	Oid			types[3] = {TEXTARRAYOID, OIDOID, OIDOID};
	Datum		values[3];
	const char *where;
	int			rc;

	if (!probe_seen || probe_tag.locktag_lockmethodid != DEFAULT_LOCKMETHOD)
		return NULL;
	if (probe_tag.locktag_type == LOCKTAG_RELATION)
		where = "l.locktype = 'relation' AND l.database = $2 AND l.relation = $3";
	else if (probe_tag.locktag_type == LOCKTAG_TRANSACTION)
		where = "l.locktype = 'transactionid' AND l.transactionid::pg_catalog.text = $2::pg_catalog.text";
	else
		return NULL;

	for (LOCKMODE m = 1; m <= MaxLockMode; m++)
	{
		if (DoLockModesConflict(m, probe_mode))
			modes[nmodes++] = CStringGetTextDatum(GetLockmodeName(DEFAULT_LOCKMETHOD, m));
	}
	values[0] = PointerGetDatum(construct_array(modes, nmodes, TEXTOID, -1,
												false, TYPALIGN_INT));
	values[1] = ObjectIdGetDatum(probe_tag.locktag_field1);
	values[2] = ObjectIdGetDatum(probe_tag.locktag_field2);

	rc = SPI_execute_with_args(psprintf("SELECT coalesce('Process ' OPERATOR(pg_catalog.||) l.pid, 'A prepared transaction'), "
										"a.state, pg_catalog.date_trunc('second', pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) a.xact_start)::pg_catalog.text, "
										"l.mode, pg_catalog.regexp_replace(pg_catalog.left(a.query, 120), '\\s+', ' ', 'g') "
										"FROM pg_catalog.pg_locks l LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid OPERATOR(pg_catalog.=) l.pid "
										"WHERE l.granted AND l.pid IS DISTINCT FROM pg_catalog.pg_backend_pid() "
										"AND l.mode OPERATOR(pg_catalog.=) ANY ($1) AND %s "
										"ORDER BY a.xact_start, l.pid", where),
							   3, types, values, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));

	initStringInfo(&buf);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *state = SPI_getvalue(tup, desc, 2);
		char	   *age = SPI_getvalue(tup, desc, 3);
		char	   *query = SPI_getvalue(tup, desc, 5);

		appendStringInfo(&buf, "%s%s holds %s", i > 0 ? " " : "",
						 SPI_getvalue(tup, desc, 1), SPI_getvalue(tup, desc, 4));
		if (state != NULL)
			appendStringInfo(&buf, " (%s%s%s)", state,
							 age != NULL ? ", transaction open for " : "",
							 age != NULL ? age : "");
		if (query != NULL && query[0] != '\0')
			appendStringInfo(&buf, ", last query: %s", query);
		appendStringInfoChar(&buf, '.');
	}
	SPI_freetuptable(SPI_tuptable);
	return buf.len > 0 ? buf.data : NULL;
}

/* The wait before try number next (2, 3, ...): jittered exponential backoff */
static int
backoff_ms(int next)
{
	double		cap = BACKOFF_BASE_MS;

	for (int i = 2; i < next && cap < BACKOFF_CAP_MS; i++)
		cap *= 2;
	cap = Min(cap, BACKOFF_CAP_MS);
	return (int) (cap / 2 + pg_prng_double(&pg_global_prng_state) * cap / 2);
}

/* Sleep ms, interruptibly: a cancel or a shutdown ends the wait */
static void
backoff_wait(int ms)
{
	TimestampTz end = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ms);
	long		left;

	while ((left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), end)) > 0)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 left, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/* How messages name step */
static char *
step_name(MigrationStep *step)
{
	return step->description ? pstrdup(step->description) :
		psprintf("migration \"%s\"", step->label);
}

/*
 * Run every step, each in a memory context that is reset when it ends, so
 * what running one costs is not kept for the rest of the batch.  *current
 * says which step runs, for the caller's error handling.
 */
static void
run_steps(List *steps, MigrationStepRun run, const char *verb,
		  const MigrationLimits *limits, MigrationStep *volatile *current)
{
	MemoryContext each_cxt = AllocSetContextCreate(CurrentMemoryContext,
												   "dbops migration",
												   ALLOCSET_DEFAULT_SIZES);
	ListCell   *lc;

	foreach(lc, steps)
	{
		MigrationStep *step = lfirst(lc);
		MemoryContext oldcxt = MemoryContextSwitchTo(each_cxt);

		*current = step;
		if (dbops_report_progress)
			ereport(NOTICE,
					(errmsg("%s %s (%d of %d)", verb, step_name(step),
							foreach_current_index(lc) + 1, list_length(steps))));
		run(step, limits);
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(each_cxt);
	}
	MemoryContextDelete(each_cxt);
}

/*
 * One try of the batch under a savepoint.  Returns NULL when it ran; the
 * error of a lock timeout, with the savepoint rolled back and the step that
 * waited in *failed; any other error is raised.
 */
static ErrorData *
try_batch(List *steps, MigrationStepRun run, const char *verb,
		  const MigrationLimits *limits, MigrationStep **failed)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	MigrationStep *volatile current = NULL;
	ErrorData  *volatile edata = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		run_steps(steps, run, verb, limits, &current);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcxt);
	CurrentResourceOwner = oldowner;

	if (edata != NULL && edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE)
		ReThrowError(edata);
	*failed = current;
	return edata;
}

/*
 * Run the steps of a batch in order; verb ("applying", "rolling back")
 * names what they do in progress reports.  Without a lock timeout, an
 * error simply ends the batch; with one, see the file header.
 */
void
migrate_batch_run(List *steps, MigrationStepRun run, const char *verb,
				  const MigrationLimits *limits)
{
	MigrationStep *volatile current = NULL;

	if (limits->lock_timeout_ms <= 0)
	{
		run_steps(steps, run, verb, limits, &current);
		return;
	}

	lock_probe_start(limits->lock_timeout_ms);
	PG_TRY();
	{
		for (int try = 1;; try++)
		{
			MigrationStep *failed;
			ErrorData  *edata = try_batch(steps, run, verb, limits, &failed);
			char	   *lock;
			char	   *holders;
			int			wait;

			if (edata == NULL)
				break;
			Assert(failed != NULL);
			lock = describe_lock();
			holders = describe_holders();
			if (try > limits->lock_retries)
			{
				edata->message = psprintf("could not take the locks of %s in %d %s",
										  step_name(failed), try,
										  try == 1 ? "try" : "tries");
				edata->detail = psprintf("Each try waited %d ms for %s.%s%s The whole batch was rolled back.",
										 limits->lock_timeout_ms, lock,
										 holders ? " " : "", holders ? holders : "");
				edata->hint = pstrdup("End the transactions that hold the lock, or try again later; dbops.lock_timeout and dbops.lock_retries (or the arguments lock_timeout and lock_retries) set how long each try waits and how many are made.");
				ReThrowError(edata);
			}
			wait = backoff_ms(try + 1);
			ereport(NOTICE,
					(errmsg("%s waited %d ms for %s",
							step_name(failed), limits->lock_timeout_ms, lock),
					 errdetail("%s%sThe batch was rolled back; try %d of %d starts in %d ms.",
							   holders ? holders : "", holders ? " " : "",
							   try + 1, limits->lock_retries + 1, wait)));
			FreeErrorData(edata);
			backoff_wait(wait);
			probe_seen = false;
		}
	}
	PG_FINALLY();
	{
		lock_probe_stop();
	}
	PG_END_TRY();
}

/*
 * The limits of a batch: the settings dbops.lock_timeout, dbops.lock_retries
 * and dbops.statement_timeout, where the call's own arguments (NULL when
 * not given) override the first two.
 */
void
migrate_limits_init(MigrationLimits *limits, const Interval *lock_timeout,
					const int *lock_retries)
{
	limits->lock_timeout_ms = dbops_lock_timeout;
	limits->lock_retries = dbops_lock_retries;
	limits->statement_timeout_ms = dbops_statement_timeout;

	if (lock_timeout != NULL)
	{
		double		ms = (lock_timeout->time +
						  (lock_timeout->day +
						   (double) lock_timeout->month * DAYS_PER_MONTH) *
						  (double) USECS_PER_DAY) / 1000.0;

		if (ms < 0 || ms > INT_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("lock_timeout must be between 0 and %d milliseconds",
							INT_MAX)));
		/* a positive timeout of less than a millisecond is not "off" */
		limits->lock_timeout_ms = ms > 0 && ms < 1 ? 1 : (int) ms;
	}
	if (lock_retries != NULL)
	{
		if (*lock_retries < 0 || *lock_retries > DBOPS_MAX_LOCK_RETRIES)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("lock_retries must be between 0 and %d, not %d",
							DBOPS_MAX_LOCK_RETRIES, *lock_retries)));
		limits->lock_retries = *lock_retries;
	}
}
