/*-------------------------------------------------------------------------
 *
 * parallel.h
 *		Run a batch of independent jobs on a few threads.
 *
 * wal-push and wal-fetch handle the segment PostgreSQL asked for and, with
 * a spool, the next few at the same time; each job is one segment, with
 * a repository handle of its worker (storage.h: one thread per handle),
 * so connections are reused from one segment to the next.
 *
 * archive_helper/parallel.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_PARALLEL_H
#define ARCH_PARALLEL_H

/*
 * Call fn(arg, job, worker) for every job in [0, njobs) on up to nthreads
 * threads, and wait; worker, in [0, nthreads), numbers the thread, so that
 * per-thread state (a repository handle) can live in arrays.
 */
extern void parallel_run(int nthreads, int njobs,
						 void (*fn) (void *arg, int job, int worker),
						 void *arg);

#endif							/* ARCH_PARALLEL_H */
