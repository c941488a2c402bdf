/*-------------------------------------------------------------------------
 *
 * progress.h
 *		Progress of a long command on a terminal: bytes, rate, ETA.
 *
 * backup-push and backup-fetch run for minutes.  On a terminal (stderr is
 * a tty) they show one line, rewritten at most once a second; otherwise,
 * under cron or a script, they say nothing until the end.  Workers on
 * several threads report into one Progress.
 *
 * archive_helper/progress.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_PROGRESS_H
#define ARCH_PROGRESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct Progress
{
	pthread_mutex_t lock;
	const char *what;			/* "backed up", "restored" */
	uint64_t	total;
	uint64_t	done;
	double		start;
	double		shown;			/* when the line was last written */
	bool		tty;
} Progress;

extern void progress_begin(Progress *p, const char *what, uint64_t total);
extern void progress_add(Progress *p, uint64_t bytes);
/* Seconds since progress_begin; ends the line on a terminal */
extern double progress_end(Progress *p);

/* Seconds since the epoch, with fractions */
extern double progress_now(void);

#endif							/* ARCH_PROGRESS_H */
