/*-------------------------------------------------------------------------
 *
 * status_file.h
 *		The small status file dbops_archive keeps for monitoring.
 *
 * With the setting status-file, every successful wal-push, every segment
 * dropped by archive-push-queue-max and every completed backup-push
 * records when and what in that file, which the extension's
 * dbops.archive_status reads beside pg_stat_archiver.  Format (README,
 * "Status file"): a comment line, then "key = value" lines, keys
 *
 *	last-push-time, last-push-name		the last WAL file archived
 *	last-drop-time, last-drop-name		the last WAL file dropped
 *	last-backup-time, last-backup-name	the last base backup completed
 *	last-failure-time, last-failure-name	the last WAL file wal-push failed
 *	last-failure-message				why (one line, the error's message)
 *	drop-count							WAL files dropped so far
 *
 * times in UTC as 2026-12-04T08:15:00Z; a key missing means "never".
 * Writers take an exclusive lock on "<file>.lock", write "<file>.tmp" and
 * rename it over the file, so a reader sees the old or the new file whole.
 * base backups never copy the file.  Monitoring must not fail archiving:
 * a status file that cannot be written is a WARNING.
 *
 * archive_helper/status_file.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_STATUS_FILE_H
#define ARCH_STATUS_FILE_H

#include "cli.h"

/* Record event ("push", "drop", "backup") of name now, if status-file is set */
extern void status_file_note(ArchCli *cli, const char *event, const char *name);
/* Record that wal-push of name failed with message, if status-file is set */
extern void status_file_note_failure(ArchCli *cli, const char *name,
									 const char *message);

#endif							/* ARCH_STATUS_FILE_H */
