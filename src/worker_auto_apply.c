/*-------------------------------------------------------------------------
 *
 * worker_auto_apply.c
 *		Start-up apply: with dbops.auto_apply on, a worker that starts
 *		queues the pending migrations of dbops.migrations_dir, to run as
 *		dbops.auto_apply_role, before the rest of its queue.
 *
 * The directory is read by the worker, a superuser, but its migrations run
 * as the role, never with more rights.  Whoever can write a file the
 * server applies at start-up could run SQL as that role, so the directory,
 * everything in it and the directories above it must be writable by
 * nobody but the server's operating-system user and root (a sticky
 * directory such as /tmp may be writable by all above it: nobody else can
 * rename what is in it).  The outcome is logged, and is in
 * dbops.migration_jobs like any job's: a start-up apply that is refused
 * (unsafe directory, missing role, a migration that does not parse) is a
 * failed job there too.
 *
 * src/worker_auto_apply.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "access/xact.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/acl.h"
#include "utils/memutils.h"

#include "dbops.h"
#include "identity.h"
#include "worker.h"

/*
 * Refuse path (described by st) unless only the server's user or root may
 * write it; above the directory (ancestor), a sticky directory may be
 * writable by all.
 */
static void
check_writers(const char *path, struct stat *st, bool ancestor)
{
	bool		sticky_ok = ancestor && S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX);

	if (st->st_uid != geteuid() && st->st_uid != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("start-up apply refused: \"%s\" is owned by another user", path),
				 errdetail("Files that start-up apply runs must be writable only by the server's operating-system user or root."),
				 errhint("Give \"%s\" to the server's user or root.", path)));
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !sticky_ok)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("start-up apply refused: \"%s\" is writable by %s", path,
						(st->st_mode & S_IWOTH) ? "anyone" : "its group"),
				 errdetail("Files that start-up apply runs must be writable only by the server's operating-system user or root."),
				 errhint("Remove the write permission with chmod go-w.")));
}

static void
stat_checked(const char *path, struct stat *st)
{
	if (stat(path, st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat \"%s\": %m", path)));
}

/* Check path and, for a directory, everything below it */
static void
check_tree(const char *path)
{
	struct stat st;
	DIR		   *dir;
	struct dirent *de;

	stat_checked(path, &st);
	check_writers(path, &st, false);
	if (!S_ISDIR(st.st_mode))
		return;
	dir = AllocateDir(path);
	while ((de = ReadDir(dir, path)) != NULL)
	{
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		check_tree(psprintf("%s/%s", path, de->d_name));
	}
	FreeDir(dir);
}

/* The directories above path, up to the root */
static void
check_ancestors(const char *path)
{
	char	   *dir = pstrdup(path);
	char	   *slash;

	while ((slash = strrchr(dir, '/')) != NULL)
	{
		struct stat st;

		*(slash == dir ? slash + 1 : slash) = '\0';
		stat_checked(dir, &st);
		check_writers(dir, &st, true);
		if (slash == dir)
			break;
	}
}

/* Read and queue dbops.migrations_dir as the role; the job's id */
static int64
queue_startup_apply(Oid role)
{
	MigrationSource *source;
	MigrationLimits limits;
	IdentitySwitch sw;
	int64		id;

	if (!is_absolute_path(worker_migrations_dir))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("start-up apply refused: dbops.migrations_dir must be an absolute path")));
	check_ancestors(worker_migrations_dir);
	check_tree(worker_migrations_dir);
	source = migrate_source_read_dir(worker_migrations_dir);
	migrate_limits_init(&limits, NULL, NULL);
	identity_become_supplier(role, &sw);
	id = worker_submit(source, false, NULL, false, dbops_on_drift, &limits, "start-up");
	identity_restore(&sw);
	return id;
}

/*
 * Start-up apply, if dbops.auto_apply is on: queue the job, or record
 * why it was refused.  The queue runs it next.
 */
void
worker_auto_apply_run(void)
{
	MemoryContext cxt = CurrentMemoryContext;
	Oid			role = InvalidOid;

	if (!worker_auto_apply)
		return;
	PG_TRY();
	{
		int64		id;

		worker_step_begin();
		if (worker_migrations_dir[0] == '\0' || worker_auto_apply_role[0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("start-up apply needs dbops.migrations_dir and dbops.auto_apply_role")));
		role = get_role_oid(worker_auto_apply_role, false);
		id = queue_startup_apply(role);
		worker_step_end();
		ereport(LOG,
				(errmsg("dbops start-up apply: queued migration job %lld for \"%s\"",
						(long long) id, worker_migrations_dir)));
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		WorkerJob	job;
		MigrationSource none = {0, NULL};
		MigrationLimits limits = {0, 0, 0};
		IdentitySwitch sw;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		MemoryContextSwitchTo(cxt);
		ereport(WARNING,
				(errcode(edata->sqlerrcode),
				 errmsg("dbops start-up apply failed: %s", edata->message),
				 edata->detail ? errdetail_internal("%s", edata->detail) : 0,
				 edata->hint ? errhint("%s", edata->hint) : 0));

		/* a failed job in the queue says so too, as the role if it exists */
		worker_step_begin();
		if (OidIsValid(role))
			identity_become_supplier(role, &sw);
		memset(&job, 0, sizeof(job));
		job.id = worker_catalog_insert_job(&none, 0, false, NULL, false, &limits,
										   "start-up");
		if (OidIsValid(role))
			identity_restore(&sw);
		worker_catalog_job_done(&job, "failed", edata);
		worker_step_end();
	}
	PG_END_TRY();
}
