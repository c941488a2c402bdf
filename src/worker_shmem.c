/*-------------------------------------------------------------------------
 *
 * worker_shmem.c
 *		What the launcher, the workers and other backends share: one slot
 *		per database that dbops.databases names.
 *
 * The launcher publishes the databases it serves and its latch.  A worker
 * publishes its latch in its database's slot, so that a backend that
 * queued a job wakes it at commit instead of leaving it to its naptime.  A
 * backend about to drop, copy or rename a database pauses its slot: the
 * launcher stops that database's worker, starts none while the slot is
 * paused, and acknowledges once no worker of it is left; the backend waits
 * for that acknowledgement, runs its command, and resumes the slot.
 *
 * A spinlock guards the slots: every critical section copies a few fields.
 *
 * src/worker_shmem.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/timestamp.h"

#include "worker.h"

/* How long a backend waits for a worker to stop before going on anyway */
#define WORKER_PAUSE_WAIT_MS 30000

typedef struct WorkerSlot
{
	char		dbname[NAMEDATALEN];
	Oid			dboid;			/* of the running worker, or InvalidOid */
	Latch	   *latch;			/* of the running worker, or NULL */
	int			paused;			/* backends that asked the worker stopped */
	bool		pause_ack;		/* the launcher stopped it for them */
} WorkerSlot;

typedef struct WorkerShared
{
	slock_t		mutex;
	Latch	   *launcher_latch; /* NULL when no launcher runs */
	int			nslots;
	WorkerSlot	slots[WORKER_MAX_DATABASES];
} WorkerShared;

static WorkerShared *worker_shared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
worker_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(WorkerShared)));
}

static void
worker_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	worker_shared = ShmemInitStruct("dbops worker", sizeof(WorkerShared), &found);
	if (!found)
	{
		memset(worker_shared, 0, sizeof(WorkerShared));
		SpinLockInit(&worker_shared->mutex);
	}
	LWLockRelease(AddinShmemInitLock);
}

/* From _PG_init, while shared_preload_libraries loads */
void
worker_shmem_init(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = worker_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = worker_shmem_startup;
}

/* Is dbops preloaded, so that there is shared state and a launcher? */
bool
worker_shmem_ready(void)
{
	return worker_shared != NULL;
}

/* The slot of dbname, or NULL; the caller holds the mutex */
static WorkerSlot *
find_slot(const char *dbname)
{
	for (int i = 0; i < worker_shared->nslots; i++)
	{
		if (strcmp(worker_shared->slots[i].dbname, dbname) == 0)
			return &worker_shared->slots[i];
	}
	return NULL;
}

static void
launcher_detach(int code, Datum arg)
{
	SpinLockAcquire(&worker_shared->mutex);
	worker_shared->launcher_latch = NULL;
	SpinLockRelease(&worker_shared->mutex);
}

/* The launcher announces itself, until it exits */
void
worker_shmem_set_launcher(void)
{
	SpinLockAcquire(&worker_shared->mutex);
	worker_shared->launcher_latch = MyLatch;
	SpinLockRelease(&worker_shared->mutex);
	on_shmem_exit(launcher_detach, (Datum) 0);
}

/*
 * The launcher publishes the databases it serves (names, at most
 * WORKER_MAX_DATABASES); a database that stays keeps its slot's state.
 */
void
worker_shmem_set_databases(List *names)
{
	WorkerSlot	old[WORKER_MAX_DATABASES];
	int			nold;
	ListCell   *lc;

	SpinLockAcquire(&worker_shared->mutex);
	nold = worker_shared->nslots;
	memcpy(old, worker_shared->slots, sizeof(old));
	worker_shared->nslots = 0;
	foreach(lc, names)
	{
		WorkerSlot *slot = &worker_shared->slots[worker_shared->nslots++];
		int			i;

		for (i = 0; i < nold; i++)
			if (strcmp(old[i].dbname, lfirst(lc)) == 0)
				break;
		if (i < nold)
			*slot = old[i];
		else
		{
			memset(slot, 0, sizeof(WorkerSlot));
			strlcpy(slot->dbname, lfirst(lc), NAMEDATALEN);
		}
	}
	SpinLockRelease(&worker_shared->mutex);
}

/*
 * For the launcher: is dbname's worker to be stopped?  running says
 * whether one of its workers still runs; when none does, the pause is
 * acknowledged.
 */
bool
worker_shmem_paused(const char *dbname, bool running)
{
	WorkerSlot *slot;
	bool		paused = false;

	SpinLockAcquire(&worker_shared->mutex);
	slot = find_slot(dbname);
	if (slot != NULL)
	{
		paused = slot->paused > 0;
		slot->pause_ack = paused && !running;
	}
	SpinLockRelease(&worker_shared->mutex);
	return paused;
}

/* The database of this worker process, for worker_detach */
static char worker_dbname[NAMEDATALEN];

static void
worker_detach(int code, Datum arg)
{
	WorkerSlot *slot;

	SpinLockAcquire(&worker_shared->mutex);
	slot = find_slot(worker_dbname);
	if (slot != NULL && slot->latch == MyLatch)
	{
		slot->latch = NULL;
		slot->dboid = InvalidOid;
	}
	SpinLockRelease(&worker_shared->mutex);
}

/*
 * A worker, connected to dbname, announces itself until it exits; false
 * when another worker of dbname already runs.
 */
bool
worker_shmem_attach_worker(const char *dbname)
{
	WorkerSlot *slot;
	bool		alone = true;

	strlcpy(worker_dbname, dbname, NAMEDATALEN);
	SpinLockAcquire(&worker_shared->mutex);
	slot = find_slot(dbname);
	if (slot != NULL && slot->latch != NULL)
		alone = false;
	else if (slot != NULL)
	{
		slot->latch = MyLatch;
		slot->dboid = MyDatabaseId;
	}
	SpinLockRelease(&worker_shared->mutex);
	if (alone)
		on_shmem_exit(worker_detach, (Datum) 0);
	return alone;
}

/* Does a worker serve database dbname (whether it runs just now or not)? */
bool
worker_shmem_serves(const char *dbname)
{
	bool		found;

	if (worker_shared == NULL)
		return false;
	SpinLockAcquire(&worker_shared->mutex);
	found = find_slot(dbname) != NULL;
	SpinLockRelease(&worker_shared->mutex);
	return found;
}

/* Wake the worker of database dboid, if it runs */
void
worker_shmem_wake_worker(Oid dboid)
{
	Latch	   *latch = NULL;

	if (worker_shared == NULL)
		return;
	SpinLockAcquire(&worker_shared->mutex);
	for (int i = 0; i < worker_shared->nslots; i++)
		if (worker_shared->slots[i].dboid == dboid)
			latch = worker_shared->slots[i].latch;
	SpinLockRelease(&worker_shared->mutex);
	if (latch != NULL)
		SetLatch(latch);
}

static void
wake_launcher(void)
{
	Latch	   *latch;

	SpinLockAcquire(&worker_shared->mutex);
	latch = worker_shared->launcher_latch;
	SpinLockRelease(&worker_shared->mutex);
	if (latch != NULL)
		SetLatch(latch);
}

/*
 * Ask for the worker of dbname to be stopped.  Returns whether dbname is
 * served at all; if so, worker_shmem_resume() must follow, error or not.
 */
bool
worker_shmem_pause(const char *dbname)
{
	WorkerSlot *slot;

	if (worker_shared == NULL)
		return false;
	SpinLockAcquire(&worker_shared->mutex);
	slot = find_slot(dbname);
	if (slot != NULL)
	{
		slot->paused++;
		slot->pause_ack = false;
	}
	SpinLockRelease(&worker_shared->mutex);
	return slot != NULL;
}

/*
 * Wait until the launcher says no worker of paused dbname runs (without a
 * launcher, none does).  A launcher that does not answer within
 * WORKER_PAUSE_WAIT_MS is reported and the caller goes on: its command
 * fails on its own if the worker is still connected.
 */
void
worker_shmem_wait_stopped(const char *dbname)
{
	TimestampTz end = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
												  WORKER_PAUSE_WAIT_MS);

	for (;;)
	{
		WorkerSlot *slot;
		bool		done;
		long		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), end);

		SpinLockAcquire(&worker_shared->mutex);
		slot = find_slot(dbname);
		done = slot == NULL || slot->pause_ack ||
			worker_shared->launcher_latch == NULL;
		SpinLockRelease(&worker_shared->mutex);
		if (done)
			return;
		if (left <= 0)
		{
			ereport(WARNING,
					(errcode(ERRCODE_OBJECT_IN_USE),
					 errmsg("dbops worker for database \"%s\" did not stop within %d seconds",
							dbname, WORKER_PAUSE_WAIT_MS / 1000)));
			return;
		}
		wake_launcher();
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Min(left, 100), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/* The command that paused dbname's worker is over: it may run again */
void
worker_shmem_resume(const char *dbname)
{
	WorkerSlot *slot;

	SpinLockAcquire(&worker_shared->mutex);
	slot = find_slot(dbname);
	if (slot != NULL && slot->paused > 0)
		slot->paused--;
	SpinLockRelease(&worker_shared->mutex);
	wake_launcher();
}
