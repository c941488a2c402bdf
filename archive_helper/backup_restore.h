/*-------------------------------------------------------------------------
 *
 * backup_restore.h
 *		Restore a base backup into a data directory: backup-fetch, and the
 *		restore drill of restore-check.
 *
 * Without delta the data directory (and each tablespace's target) must be
 * new or empty.  With delta it must be a stopped cluster's: files whose
 * parts hash as in the manifest are kept, the others rewritten, and files
 * not in the backup removed.  Tablespaces go to their old paths, or where
 * --tablespace-map sends them, or, with tablespace_root, to
 * tablespace_root/OID.
 *
 * archive_helper/backup_restore.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_BACKUP_RESTORE_H
#define ARCH_BACKUP_RESTORE_H

#include "backup_manifest.h"
#include "cli.h"

typedef struct RestoreRequest
{
	const char *pgdata;			/* absolute */
	bool		delta;
	const char *tablespace_root;	/* or NULL */
} RestoreRequest;

/*
 * Restore m from the repository into req->pgdata, every part verified,
 * then append settings to postgresql.auto.conf, write recovery.signal and
 * put pg_control in place last.  secs gets the time the parts took.  A
 * missing or corrupt part is ARCH_CORRUPT naming the part and its file.
 */
extern ArchStatus backup_restore(ArchCli *cli, const ArchDecodeOptions *dopts,
								 const BackupManifest *m,
								 const RestoreRequest *req,
								 const ArchBuf *settings, double *secs,
								 ArchError *err);

/* Does the backup hold pg_control, without which nothing restores? */
extern bool backup_has_control_file(const BackupManifest *m);

#endif							/* ARCH_BACKUP_RESTORE_H */
