/*-------------------------------------------------------------------------
 *
 * worker_main.c
 *		The dbops worker of one database: it runs the migration jobs of
 *		the queue (dbops.migration_jobs) one at a time, in order.
 *
 * worker_spi's loop: SIGHUP reloads the configuration, SIGTERM ends the
 * worker at the next CHECK_FOR_INTERRUPTS (a statement it runs is
 * cancelled, so it never delays shutdown), and every iteration works in a
 * memory context that is reset at its end.  The worker sleeps until a
 * backend that queued a job wakes it at commit, or dbops.worker_naptime
 * passes.  A job it was running when it stopped (a crash, a shutdown, a
 * DROP DATABASE elsewhere) is still "running" in the queue and is resumed
 * first.  In a database without the extension, the worker idles.
 *
 * The worker connects as the bootstrap superuser; jobs run as the roles
 * that submitted them (worker_job.c).
 *
 * src/worker_main.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "worker.h"

/* Is the extension installed in this database? */
static bool
extension_installed(void)
{
	bool		installed;

	StartTransactionCommand();
	installed = OidIsValid(get_extension_oid("dbops", true));
	CommitTransactionCommand();
	return installed;
}

/* The next job of the queue, read in ctx, or NULL */
static WorkerJob *
next_job(MemoryContext ctx)
{
	WorkerJob  *job;

	worker_step_begin();
	job = worker_catalog_next_job(ctx);
	worker_step_end();
	return job;
}

/* One look at the queue: every job there, in order */
static void
run_queue(MemoryContext ctx)
{
	WorkerJob  *job;

	while ((job = next_job(ctx)) != NULL)
	{
		worker_job_run(job);
		MemoryContextReset(ctx);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
	}
}

void
dbops_worker_main(Datum arg)
{
	char		dbname[NAMEDATALEN];
	MemoryContext loop_cxt;
	bool		started = false;

	strlcpy(dbname, MyBgworkerEntry->bgw_extra, NAMEDATALEN);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(dbname, NULL, 0);

	/* a worker of a launcher that was terminated may still run: one only */
	if (!worker_shmem_attach_worker(dbname))
	{
		ereport(DEBUG1,
				(errmsg("dbops worker for database \"%s\" already runs", dbname)));
		proc_exit(0);
	}
	worker_job_init();
	loop_cxt = AllocSetContextCreate(TopMemoryContext, "dbops worker loop",
									 ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (extension_installed())
		{
			MemoryContext oldcxt = MemoryContextSwitchTo(loop_cxt);

			/* start-up apply, once per start, before the queue */
			if (!started)
				worker_auto_apply_run();
			started = true;
			run_queue(loop_cxt);
			MemoryContextSwitchTo(oldcxt);
			MemoryContextReset(loop_cxt);
		}
		pgstat_report_activity(STATE_IDLE, NULL);
		pgstat_report_stat(true);

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 worker_naptime * 1000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
