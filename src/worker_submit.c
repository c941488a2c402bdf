/*-------------------------------------------------------------------------
 *
 * worker_submit.c
 *		Queue a migration job for the dbops worker
 *		(dbops.submit_migrations(), and start-up apply).
 *
 * Everything apply_migrations would check before running anything is
 * checked here, as the caller, before the job is queued: the source is
 * read and parsed, applied migrations whose files changed, pending ones
 * older than the latest applied, schema drift and the hazard policy are
 * refused, and so is a no-transaction statement the worker could not
 * resume.  The job keeps the migrations themselves, so what runs is what
 * was checked.  The worker of the database is woken when the transaction
 * that queued the job commits.
 *
 * src/worker_submit.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "miscadmin.h"

#include "worker.h"

static bool wake_registered = false;
static bool wake_at_commit = false;

/* Wake this database's worker once the job is committed */
static void
wake_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT && wake_at_commit)
		worker_shmem_wake_worker(MyDatabaseId);
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT)
		wake_at_commit = false;
}

/*
 * Queue the pending migrations of source (up to target when given) for
 * the worker, to run as the current user; origin is "submit" or
 * "start-up".  Returns the job's id.
 */
int64
worker_submit(MigrationSource *source, bool batch, const char *target,
			  bool allow_out_of_order, int on_drift,
			  const MigrationLimits *limits, const char *origin)
{
	List	   *plan;
	ListCell   *lc;
	int64		id;

	SPI_connect();
	plan = migrate_plan(source, target, allow_out_of_order, on_drift, true, true);

	/* a no-transaction migration partly run from other SQL cannot go on */
	foreach(lc, plan)
	{
		PlannedApply *pa = lfirst(lc);

		if (pa->top_level)
			worker_catalog_progress(pa->m, pa->up->nstatements, NULL, NULL);
	}

	/* nothing would ever run the job */
	if (!IsBackgroundWorker &&
		!worker_shmem_serves(get_database_name(MyDatabaseId)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no dbops worker serves database \"%s\"",
						get_database_name(MyDatabaseId)),
				 errhint(worker_shmem_ready() ?
						 "Add the database to dbops.databases and reload the configuration." :
						 "Add dbops to shared_preload_libraries, and the database to dbops.databases, then restart the server.")));

	id = worker_catalog_insert_job(source, list_length(plan), batch, target,
								   allow_out_of_order, limits, origin);
	SPI_finish();

	if (!wake_registered)
	{
		RegisterXactCallback(wake_xact_callback, NULL);
		wake_registered = true;
	}
	wake_at_commit = true;
	return id;
}
