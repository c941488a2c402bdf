/*-------------------------------------------------------------------------
 *
 * parallel.h
 *		Run a batch of independent jobs on a few threads.
 *
 * wal-push and wal-fetch handle the segment PostgreSQL asked for and, with
 * a spool, the next few at the same time; each job is one segment, with
 * its own repository handle (storage.h: one thread per handle).
 *
 * archive_helper/parallel.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_PARALLEL_H
#define ARCH_PARALLEL_H

/* Call fn(arg, i) for i in [0, njobs) on up to nthreads threads; wait */
extern void parallel_run(int nthreads, int njobs,
						 void (*fn) (void *arg, int job), void *arg);

#endif							/* ARCH_PARALLEL_H */
