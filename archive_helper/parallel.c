/*-------------------------------------------------------------------------
 *
 * parallel.c
 *		Run a batch of independent jobs on a few threads (see parallel.h).
 *
 * Jobs are taken in order, so job 0 (the segment PostgreSQL waits for)
 * always starts first.  If a thread cannot be started, the calling thread
 * does the remaining work itself.
 *
 * archive_helper/parallel.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <pthread.h>

#include "parallel.h"

typedef struct ParallelBatch
{
	pthread_mutex_t lock;
	int			next;
	int			njobs;
	void		(*fn) (void *arg, int job, int worker);
	void	   *arg;
} ParallelBatch;

typedef struct ParallelWorker
{
	ParallelBatch *batch;
	int			worker;
} ParallelWorker;

static void *
parallel_worker(void *p)
{
	ParallelBatch *b = ((ParallelWorker *) p)->batch;
	int			worker = ((ParallelWorker *) p)->worker;

	for (;;)
	{
		int			job;

		pthread_mutex_lock(&b->lock);
		job = b->next < b->njobs ? b->next++ : -1;
		pthread_mutex_unlock(&b->lock);
		if (job < 0)
			return NULL;
		b->fn(b->arg, job, worker);
	}
}

void
parallel_run(int nthreads, int njobs, void (*fn) (void *arg, int job, int worker),
			 void *arg)
{
	ParallelBatch b = {.next = 0,.njobs = njobs,.fn = fn,.arg = arg};
	pthread_t  *threads;
	ParallelWorker *workers;
	int			started = 0;

	pthread_mutex_init(&b.lock, NULL);
	if (nthreads > njobs)
		nthreads = njobs;
	nthreads = Max(nthreads, 1);
	threads = pg_malloc(sizeof(pthread_t) * nthreads);
	workers = pg_malloc(sizeof(ParallelWorker) * nthreads);
	for (int i = 0; i < nthreads; i++)
	{
		workers[i].batch = &b;
		workers[i].worker = i;
	}
	/* the calling thread is worker 0 */
	for (int i = 1; i < nthreads; i++)
		if (pthread_create(&threads[started], NULL, parallel_worker, &workers[i]) == 0)
			started++;
	parallel_worker(&workers[0]);
	for (int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	pg_free(threads);
	pg_free(workers);
	pthread_mutex_destroy(&b.lock);
}
