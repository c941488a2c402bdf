/*-------------------------------------------------------------------------
 *
 * backup_scan.h
 *		Which files of a data directory a base backup copies.
 *
 * The same files PostgreSQL's own BASE_BACKUP sends (basebackup.c): not
 * the contents of pg_wal (archived WAL makes the backup consistent), of
 * the directories PostgreSQL empties at start-up (pg_stat_tmp,
 * pg_replslot, pg_dynshmem, pg_notify, pg_serial, pg_snapshots,
 * pg_subtrans), temporary files and relations, the files of unlogged
 * relations but their init forks, postmaster.pid and .opts, an old
 * backup_label or tablespace_map, pg_internal.init; and not our own status
 * file, wherever it lies.  Tablespaces (links in pg_tblspc) are followed
 * and recorded with their targets.  Sockets, FIFOs and other special files
 * are skipped.
 *
 * archive_helper/backup_scan.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_BACKUP_SCAN_H
#define ARCH_BACKUP_SCAN_H

#include "backup_manifest.h"

/*
 * Add the directories, files (without parts) and tablespaces of pgdata to
 * m.  skip, when not NULL, is an absolute path never copied (the status
 * file), nor its ".lock" and ".tmp" companions.
 */
extern ArchStatus backup_scan(const char *pgdata, const char *skip,
							  BackupManifest *m, ArchError *err);

#endif							/* ARCH_BACKUP_SCAN_H */
