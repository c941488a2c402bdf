/*-------------------------------------------------------------------------
 *
 * worker_launcher.c
 *		The dbops launcher: one per cluster, with dbops in
 *		shared_preload_libraries.  It keeps one worker running per
 *		database named in dbops.databases and watches WAL archiving.
 *
 * The launcher starts after recovery ends and is restarted by the
 * postmaster, after a crash too.  It registers the workers dynamically,
 * never to be restarted by the postmaster (after a crash the postmaster
 * forgets them, and the new launcher starts them afresh), as their
 * notify process: the postmaster wakes it whenever one starts or stops,
 * and it starts a stopped worker again, at most once per
 * WORKER_RESTART_MS.  A database that does not exist gets no worker (it
 * is logged once), nor does one whose worker a backend paused
 * (worker_shmem.c).  Like worker_spi's loop, each iteration reloads the
 * configuration after SIGHUP and works in a memory context reset at its
 * end; SIGTERM ends the launcher at the next CHECK_FOR_INTERRUPTS, so it
 * never delays shutdown.
 *
 * The launcher connects to no database: it reads pg_database (a shared
 * catalog) and the cumulative statistics, which is all it needs.
 *
 * src/worker_launcher.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "utils/fmgroids.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "archive_status.h"
#include "worker.h"

/* The launcher's own period, and the least time between starts of a worker */
#define LAUNCHER_NAPTIME_MS 1000
#define WORKER_RESTART_MS 5000

char	   *worker_databases = NULL;
int			worker_naptime = 10;
char	   *worker_migrations_dir = NULL;
bool		worker_auto_apply = false;
char	   *worker_auto_apply_role = NULL;

/* A database the launcher serves, and its worker (launcher-local) */
typedef struct LauncherEntry
{
	char		dbname[NAMEDATALEN];
	BackgroundWorkerHandle *handle; /* NULL when none was started */
	TimestampTz last_start;
	bool		reported;		/* that it cannot be started, until it can */
} LauncherEntry;

static LauncherEntry launcher_entries[WORKER_MAX_DATABASES];
static int	launcher_nentries = 0;

/* dbops.databases: a list of at most WORKER_MAX_DATABASES names */
static bool
check_databases(char **newval, void **extra, GucSource source)
{
	char	   *copy = pstrdup(*newval);
	List	   *names;
	bool		ok = SplitIdentifierString(copy, ',', &names);

	if (!ok)
		GUC_check_errdetail("List syntax is invalid.");
	else if (list_length(names) > WORKER_MAX_DATABASES)
	{
		GUC_check_errdetail("At most %d databases can be named.", WORKER_MAX_DATABASES);
		ok = false;
	}
	pfree(copy);
	list_free(names);
	return ok;
}

/*
 * The settings of the launcher and the workers, the utility hook, and,
 * while shared_preload_libraries loads, the shared memory and the
 * launcher itself.
 */
void
worker_init(void)
{
	BackgroundWorker bgw;

	DefineCustomStringVariable("dbops.databases",
							   "Databases that get a dbops worker.",
							   "A comma-separated list of database names; the worker of a database without the extension idles.",
							   &worker_databases,
							   "postgres",
							   PGC_SIGHUP, GUC_LIST_INPUT,
							   check_databases, NULL, NULL);
	DefineCustomIntVariable("dbops.worker_naptime",
							"Time between two looks of a dbops worker at its queue of migration jobs.",
							"A job queued with dbops.submit_migrations() wakes the worker at once; this bounds the wait otherwise.",
							&worker_naptime,
							10, 1, INT_MAX / 1000,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomStringVariable("dbops.migrations_dir",
							   "Server-side migrations directory that dbops.auto_apply applies when a worker starts.",
							   NULL,
							   &worker_migrations_dir,
							   "",
							   PGC_SIGHUP, 0,
							   NULL, NULL, NULL);
	DefineCustomBoolVariable("dbops.auto_apply",
							 "Apply the pending migrations of dbops.migrations_dir when a worker starts.",
							 "They run as dbops.auto_apply_role, which must be set.",
							 &worker_auto_apply,
							 false,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);
	DefineCustomStringVariable("dbops.auto_apply_role",
							   "Role that the migrations of dbops.auto_apply run as.",
							   NULL,
							   &worker_auto_apply_role,
							   "",
							   PGC_SIGHUP, 0,
							   NULL, NULL, NULL);
	worker_exec_init();
	worker_hook_init();

	if (!process_shared_preload_libraries_in_progress)
		return;
	worker_shmem_init();

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = WORKER_RESTART_MS / 1000;
	strlcpy(bgw.bgw_library_name, "dbops", BGW_MAXLEN);
	strlcpy(bgw.bgw_function_name, "dbops_launcher_main", BGW_MAXLEN);
	strlcpy(bgw.bgw_name, "dbops launcher", BGW_MAXLEN);
	strlcpy(bgw.bgw_type, "dbops launcher", BGW_MAXLEN);
	RegisterBackgroundWorker(&bgw);
}

/*
 * Does database dbname exist?  Without a database, only the shared
 * catalogs the relation cache builds itself can be read, and until a
 * backend wrote the shared cache file their indexes cannot: a heap scan
 * of pg_database, as the autovacuum launcher makes.
 */
static bool
database_exists(const char *dbname)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	bool		exists;

	StartTransactionCommand();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_database_datname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum(dbname));
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 1, &key);
	exists = HeapTupleIsValid(systable_getnext(scan));
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return exists;
}

/* Register the worker of entry's database; false when there is no room */
static bool
start_worker(LauncherEntry *entry)
{
	BackgroundWorker bgw;
	MemoryContext oldcxt;
	bool		ok;

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(bgw.bgw_library_name, "dbops", BGW_MAXLEN);
	strlcpy(bgw.bgw_function_name, "dbops_worker_main", BGW_MAXLEN);
	snprintf(bgw.bgw_name, BGW_MAXLEN, "dbops worker for database %s", entry->dbname);
	strlcpy(bgw.bgw_type, "dbops worker", BGW_MAXLEN);
	strlcpy(bgw.bgw_extra, entry->dbname, BGW_EXTRALEN);
	bgw.bgw_notify_pid = MyProcPid;

	/* the handle outlives the loop's memory context */
	oldcxt = MemoryContextSwitchTo(TopMemoryContext);
	ok = RegisterDynamicBackgroundWorker(&bgw, &entry->handle);
	MemoryContextSwitchTo(oldcxt);
	entry->last_start = GetCurrentTimestamp();
	if (!ok)
		entry->handle = NULL;
	return ok;
}

/* Stop the worker of entry, if any runs; stopping is asynchronous */
static void
stop_worker(LauncherEntry *entry)
{
	if (entry->handle != NULL)
		TerminateBackgroundWorker(entry->handle);
}

/* Has entry a worker that is starting or running? */
static bool
worker_running(LauncherEntry *entry)
{
	pid_t		pid;

	if (entry->handle == NULL)
		return false;
	if (GetBackgroundWorkerPid(entry->handle, &pid) != BGWH_STOPPED)
		return true;
	pfree(entry->handle);
	entry->handle = NULL;
	return false;
}

/* names without repeats: a database named twice gets one worker */
static List *
unique_names(List *names)
{
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, names)
	{
		ListCell   *rc;
		bool		seen = false;

		foreach(rc, result)
			seen = seen || strcmp(lfirst(rc), lfirst(lc)) == 0;
		if (!seen)
			result = lappend(result, lfirst(lc));
	}
	return result;
}

/*
 * Bring the workers in line with dbops.databases: stop those of databases
 * no longer named or paused, start those that should run and do not.
 */
static void
sync_workers(void)
{
	char	   *copy = pstrdup(worker_databases);
	List	   *names = NIL;
	LauncherEntry kept[WORKER_MAX_DATABASES];
	int			nkept = 0;
	ListCell   *lc;

	(void) SplitIdentifierString(copy, ',', &names);
	names = unique_names(names);
	worker_shmem_set_databases(names);

	/* entries in the order of the setting; the others are stopped */
	foreach(lc, names)
	{
		LauncherEntry *entry = &kept[nkept++];
		int			i;

		for (i = 0; i < launcher_nentries; i++)
			if (strcmp(launcher_entries[i].dbname, lfirst(lc)) == 0)
				break;
		if (i < launcher_nentries)
		{
			*entry = launcher_entries[i];
			launcher_entries[i].dbname[0] = '\0';
		}
		else
		{
			memset(entry, 0, sizeof(LauncherEntry));
			strlcpy(entry->dbname, lfirst(lc), NAMEDATALEN);
		}
	}
	for (int i = 0; i < launcher_nentries; i++)
		if (launcher_entries[i].dbname[0] != '\0')
			stop_worker(&launcher_entries[i]);
	memcpy(launcher_entries, kept, sizeof(LauncherEntry) * nkept);
	launcher_nentries = nkept;

	for (int i = 0; i < launcher_nentries; i++)
	{
		LauncherEntry *entry = &launcher_entries[i];
		bool		running = worker_running(entry);

		if (worker_shmem_paused(entry->dbname, running))
		{
			if (running)
				stop_worker(entry);
			continue;
		}
		if (running ||
			!TimestampDifferenceExceeds(entry->last_start, GetCurrentTimestamp(),
										WORKER_RESTART_MS))
			continue;
		if (!database_exists(entry->dbname))
		{
			if (!entry->reported)
				ereport(LOG,
						(errmsg("dbops launcher: database \"%s\" named in dbops.databases does not exist",
								entry->dbname)));
			entry->reported = true;
			entry->last_start = GetCurrentTimestamp();
			continue;
		}
		if (!start_worker(entry))
		{
			if (!entry->reported)
				ereport(WARNING,
						(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
						 errmsg("could not start the dbops worker for database \"%s\"",
								entry->dbname),
						 errhint("Raise max_worker_processes.")));
			entry->reported = true;
			continue;
		}
		entry->reported = false;
	}
}

/* On exit, the workers go too: a new launcher starts its own */
static void
launcher_exit(int code, Datum arg)
{
	for (int i = 0; i < launcher_nentries; i++)
		stop_worker(&launcher_entries[i]);
}

void
dbops_launcher_main(Datum arg)
{
	MemoryContext loop_cxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	worker_shmem_set_launcher();
	before_shmem_exit(launcher_exit, (Datum) 0);
	loop_cxt = AllocSetContextCreate(TopMemoryContext, "dbops launcher loop",
									 ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		MemoryContext oldcxt;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		oldcxt = MemoryContextSwitchTo(loop_cxt);
		sync_workers();
		archive_status_watch();
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(loop_cxt);

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 LAUNCHER_NAPTIME_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
