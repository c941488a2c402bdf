/*-------------------------------------------------------------------------
 *
 * worker.h
 *		The dbops background workers: one launcher per cluster and one
 *		worker per database named in dbops.databases, which runs the
 *		migration jobs queued with dbops.submit_migrations().
 *
 * The launcher starts, stops and restarts the workers (worker_launcher.c);
 * the state they share lives in shared memory (worker_shmem.c), where a
 * backend about to drop, copy or rename a database asks for its worker to
 * be stopped (worker_hook.c).  A worker (worker_main.c) runs jobs
 * (worker_job.c): transactional migrations through the batch runner,
 * no-transaction ones statement by statement at top level
 * (worker_exec.c).
 *
 * src/worker.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DBOPS_WORKER_H
#define DBOPS_WORKER_H

#include "datatype/timestamp.h"
#include "utils/jsonb.h"

#include "migrate.h"

/* The most databases dbops.databases may name */
#define WORKER_MAX_DATABASES 64

/* How many times a job cut short (crash, shutdown) is started again */
#define WORKER_JOB_MAX_ATTEMPTS 3

/* What a job asks of the worker; fixed at submit time */
typedef struct WorkerJob
{
	int64		id;
	bool		batch;			/* commit => 'batch' */
	Oid			submitter;
	char	   *submitter_name;
	char	   *target_version; /* NULL: every pending migration */
	bool		allow_out_of_order;
	char	   *search_path;	/* the submitter's, for the migrations */
	MigrationLimits limits;
	MigrationSource *source;
} WorkerJob;

/* Settings (worker_launcher.c) */
extern PGDLLIMPORT char *worker_databases;
extern PGDLLIMPORT int worker_naptime;
extern PGDLLIMPORT char *worker_migrations_dir;
extern PGDLLIMPORT bool worker_auto_apply;
extern PGDLLIMPORT char *worker_auto_apply_role;

/* worker_launcher.c */
extern void worker_init(void);
PGDLLEXPORT void dbops_launcher_main(Datum arg) pg_attribute_noreturn();

/* worker_main.c */
PGDLLEXPORT void dbops_worker_main(Datum arg) pg_attribute_noreturn();

/* worker_shmem.c */
extern void worker_shmem_init(void);
extern bool worker_shmem_ready(void);
extern void worker_shmem_set_launcher(void);
extern void worker_shmem_set_databases(List *names);
extern bool worker_shmem_paused(const char *dbname, bool running);
extern bool worker_shmem_attach_worker(const char *dbname);
extern bool worker_shmem_serves(const char *dbname);
extern void worker_shmem_wake_worker(Oid dboid);
extern bool worker_shmem_pause(const char *dbname);
extern void worker_shmem_wait_stopped(const char *dbname);
extern void worker_shmem_resume(const char *dbname);

/* worker_hook.c */
extern void worker_hook_init(void);

/* worker_submit.c */
extern int64 worker_submit(MigrationSource *source, bool batch,
						   const char *target, bool allow_out_of_order,
						   int on_drift, const MigrationLimits *limits,
						   const char *origin);

/* Where a no-transaction migration got to (worker_catalog_progress) */
typedef struct WorkerProgress
{
	char	   *states;			/* per statement, 0 the migration itself */
	char	   *restore_point;	/* written before its first statement */
	XLogRecPtr	restore_lsn;
	TimestampTz started_at;
} WorkerProgress;

/* worker_catalog.c: the job tables, as the extension owner */
extern int64 worker_catalog_insert_job(MigrationSource *source, int pending,
									   bool batch, const char *target,
									   bool allow_out_of_order,
									   const MigrationLimits *limits,
									   const char *origin);
extern WorkerJob *worker_catalog_next_job(MemoryContext ctx);
extern void worker_catalog_job_started(WorkerJob *job);
extern void worker_catalog_job_progress(WorkerJob *job, const char *version,
										int applied);
extern void worker_catalog_job_done(WorkerJob *job, const char *state,
									ErrorData *edata);
extern void worker_catalog_progress(Migration *m, int nstatements,
									WorkerProgress *out, MemoryContext cxt);
extern void worker_catalog_mark(WorkerJob *job, Migration *m, int statement,
								const char *state, const char *restore_point,
								XLogRecPtr restore_lsn);
extern void worker_catalog_forget(const char *version);

/* worker_job.c */
extern void worker_job_init(void);
extern void worker_job_run(WorkerJob *job);
extern void worker_job_session(WorkerJob *job);
extern void worker_step_begin(void);
extern void worker_step_end(void);

/* worker_exec.c */
extern void worker_exec_init(void);
extern void worker_exec_migration(WorkerJob *job, PlannedApply *pa);

/* worker_auto_apply.c */
extern void worker_auto_apply_run(void);

#endif							/* DBOPS_WORKER_H */
