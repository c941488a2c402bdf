/*-------------------------------------------------------------------------
 *
 * worker_job.c
 *		Run one migration job of the queue.
 *
 * The job runs in units, each planned again under the migration lock
 * against the catalog as it is then, so that a job cut short, or queued
 * again, goes on where the catalog says it stopped: with commit =>
 * 'migration' a unit is one migration, with 'batch' the transactional
 * migrations up to the next no-transaction one.  A transactional unit runs
 * through the batch runner that apply_migrations uses (lock-safe retries,
 * restore points, verify scripts, DDL attributed to the migration) and
 * commits; a no-transaction migration is a unit of its own, run statement
 * by statement at top level (worker_exec.c).
 *
 * Migrations run as the role that submitted the job, through
 * SetUserIdAndSecContext with SECURITY_LOCAL_USERID_CHANGE (never SET
 * ROLE, which a script could undo), and only if that role still exists
 * under its name and may still migrate (has the privileges of
 * dbops_admin) when the job starts.  Its search_path is the submitter's
 * when it was queued.
 *
 * An error ends the job as "failed", with the error kept in the queue and
 * logged; what was committed stays, so submitting the migrations again
 * finishes the work.
 *
 * src/worker_job.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"

#include "dbops.h"
#include "identity.h"
#include "worker.h"

/* Who the worker is when it runs nothing: restored after every error */
static Oid	worker_userid = InvalidOid;

/* From the worker's start, once connected */
void
worker_job_init(void)
{
	worker_userid = GetUserId();
}

/* The memory context of the code around a step, given back at its end */
static MemoryContext step_cxt = NULL;

/*
 * Start a transaction for a step of the job, connected to SPI.  Inside it,
 * SPI's procedure context is current (and every SPI call makes it current
 * again): what must outlive the step is allocated in the context that was
 * current before the step, explicitly.
 */
void
worker_step_begin(void)
{
	step_cxt = CurrentMemoryContext;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
}

/* Commit the transaction of worker_step_begin() */
void
worker_step_end(void)
{
	PopActiveSnapshot();
	SPI_finish();
	CommitTransactionCommand();
	MemoryContextSwitchTo(step_cxt);
}

/*
 * The session settings a job's migrations start with: the defaults, and
 * the submitter's search_path.  A no-transaction migration's own SET lasts
 * until it ends.  The caller is in a transaction.
 */
void
worker_job_session(WorkerJob *job)
{
	ResetAllOptions();
	if (job != NULL)
		(void) set_config_option("search_path", job->search_path,
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SET,
								 true, 0, false);
}

/*
 * The submitter must still exist under the name it had and still have
 * the privileges of dbops_admin (what submitting needed): a job queued
 * before a role lost them does not run with them.
 */
static void
check_submitter(WorkerJob *job)
{
	char	   *name = GetUserNameFromId(job->submitter, true);
	Oid			admin = get_role_oid("dbops_admin", true);

	if (name == NULL || strcmp(name, job->submitter_name) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role \"%s\" that submitted migration job %lld no longer exists",
						job->submitter_name, (long long) job->id),
				 errdetail("Queued migrations run only as the role that submitted them; nothing was applied."),
				 errhint("Submit the migrations again as a role that may migrate.")));
	if (!OidIsValid(admin) || !has_privs_of_role(job->submitter, admin))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" that submitted migration job %lld may no longer migrate",
						job->submitter_name, (long long) job->id),
				 errdetail("It no longer has the privileges of role \"dbops_admin\"; nothing was applied."),
				 errhint("Submit the migrations again as a role that may migrate.")));
}

/*
 * The next unit of the job in the plan: the first migration, and with
 * commit => 'batch' the transactional ones that follow it up to the next
 * no-transaction migration.
 */
static List *
next_unit(WorkerJob *job, List *plan)
{
	PlannedApply *first = linitial(plan);
	List	   *unit = list_make1(first);
	ListCell   *lc;

	if (!job->batch || first->top_level)
		return unit;
	for_each_from(lc, plan, 1)
	{
		PlannedApply *pa = lfirst(lc);

		if (pa->top_level)
			break;
		unit = lappend(unit, pa);
	}
	return unit;
}

/*
 * Run the next unit of the job; false when nothing is pending any more.
 * Transactional migrations run here, as the submitter; a no-transaction
 * one in worker_exec.c.
 */
static bool
run_unit(WorkerJob *job)
{
	List	   *plan;
	List	   *unit;
	PlannedApply *last;
	IdentitySwitch sw;

	worker_step_begin();
	migrate_lock();
	plan = migrate_plan(job->source, job->target_version,
						job->allow_out_of_order, DBOPS_DRIFT_IGNORE, true, false);
	if (plan == NIL)
	{
		worker_step_end();
		return false;
	}
	unit = next_unit(job, plan);
	last = llast(unit);
	pgstat_report_activity(STATE_RUNNING,
						   psprintf("dbops migration job %lld: %s", (long long) job->id,
									((PlannedApply *) linitial(unit))->m->label));
	if (last->top_level)
	{
		Migration  *m = last->m;	/* of job->source, which outlives the step */

		worker_catalog_job_progress(job, m->version, 0);
		worker_step_end();

		/* the plan was made in the step's memory: parse it again in ours */
		last = palloc0(sizeof(PlannedApply));
		last->m = m;
		last->top_level = true;
		last->up = migrate_script_parse(m->label, m->up_file, m->up_sql,
										MIGRATE_SCRIPT_TOP_LEVEL);
		if (m->verify_sql != NULL)
			last->verify = migrate_script_parse(m->label, m->verify_file,
												m->verify_sql, MIGRATE_SCRIPT_VERIFY);
		worker_exec_migration(job, last);
		return true;
	}

	identity_become_supplier(job->submitter, &sw);
	(void) migrate_apply_planned(unit, &job->limits);
	identity_restore(&sw);
	worker_catalog_job_progress(job, last->m->version, list_length(unit));
	worker_step_end();
	return true;
}

/*
 * The job failed with edata: undo what the transaction in progress did,
 * become the worker again (an abort restores the identity of the
 * transaction's start, which may be the submitter's after a statement that
 * committed on its own), and record and log the failure.
 */
static void
job_failed(WorkerJob *job, ErrorData *edata, MemoryContext cxt)
{
	disable_timeout(STATEMENT_TIMEOUT, false);
	AbortCurrentTransaction();
	PortalErrorCleanup();
	SetUserIdAndSecContext(worker_userid, 0);
	MemoryContextSwitchTo(cxt);

	ereport(WARNING,
			(errcode(edata->sqlerrcode),
			 errmsg("dbops migration job %lld failed: %s", (long long) job->id,
					edata->message),
			 edata->detail ? errdetail_internal("%s", edata->detail) : 0,
			 edata->context ? errcontext("%s", edata->context) : 0));
	worker_step_begin();
	worker_job_session(NULL);
	worker_catalog_job_done(job, "failed", edata);
	worker_step_end();
}

/* Run job to its end; its outcome is recorded in the queue and logged */
void
worker_job_run(WorkerJob *job)
{
	MemoryContext job_cxt = CurrentMemoryContext;

	PG_TRY();
	{
		worker_step_begin();
		check_submitter(job);
		worker_catalog_job_started(job);
		worker_job_session(job);
		worker_step_end();

		while (run_unit(job))
			CHECK_FOR_INTERRUPTS();

		worker_step_begin();
		worker_job_session(NULL);
		worker_catalog_job_done(job, "done", NULL);
		worker_step_end();
		ereport(LOG,
				(errmsg("dbops migration job %lld done", (long long) job->id)));
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(job_cxt);
		edata = CopyErrorData();
		FlushErrorState();
		job_failed(job, edata, job_cxt);
	}
	PG_END_TRY();
	pgstat_report_activity(STATE_IDLE, NULL);
}
