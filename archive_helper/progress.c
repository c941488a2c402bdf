/*-------------------------------------------------------------------------
 *
 * progress.c
 *		Progress on a terminal (see progress.h).
 *
 * archive_helper/progress.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <sys/time.h>
#include <unistd.h>

#include "progress.h"

double
progress_now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return tv.tv_sec + tv.tv_usec / 1e6;
}

void
progress_begin(Progress *p, const char *what, uint64_t total)
{
	memset(p, 0, sizeof(Progress));
	pthread_mutex_init(&p->lock, NULL);
	p->what = what;
	p->total = total;
	p->start = p->shown = progress_now();
	p->tty = isatty(fileno(stderr));
}

static void
progress_show(Progress *p, double now)
{
	double		secs = now - p->start;
	double		rate = secs > 0 ? p->done / secs : 0;
	double		eta = rate > 0 && p->total > p->done ? (p->total - p->done) / rate : 0;

	fprintf(stderr, "\r%s %llu of %llu MB (%d%%), %.1f MB/s, ETA %ds   ", p->what,
			(unsigned long long) (p->done >> 20), (unsigned long long) (p->total >> 20),
			p->total ? (int) (p->done * 100 / p->total) : 100, rate / (1 << 20), (int) eta);
}

void
progress_add(Progress *p, uint64_t bytes)
{
	double		now;

	pthread_mutex_lock(&p->lock);
	p->done += bytes;
	if (p->tty && (now = progress_now()) - p->shown >= 1.0)
	{
		p->shown = now;
		progress_show(p, now);
	}
	pthread_mutex_unlock(&p->lock);
}

double
progress_end(Progress *p)
{
	double		now = progress_now();

	if (p->tty)
	{
		progress_show(p, now);
		fputc('\n', stderr);
	}
	pthread_mutex_destroy(&p->lock);
	return now - p->start;
}
