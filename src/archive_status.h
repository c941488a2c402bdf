/*-------------------------------------------------------------------------
 *
 * archive_status.h
 *		Health of WAL archiving (archive_status.c): dbops.archive_status()
 *		and the launcher's WARNING when archiving keeps failing.
 *
 * src/archive_status.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DBOPS_ARCHIVE_STATUS_H
#define DBOPS_ARCHIVE_STATUS_H

/* Settings; from _PG_init */
extern void archive_status_init(void);

/* The launcher, every loop: WARNING once when archiving fails too long */
extern void archive_status_watch(void);

#endif							/* DBOPS_ARCHIVE_STATUS_H */
