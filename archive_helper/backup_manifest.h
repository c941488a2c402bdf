/*-------------------------------------------------------------------------
 *
 * backup_manifest.h
 *		What a base backup holds, and where: its manifest.
 *
 * A backup LABEL is a set of objects under backup/LABEL/ (repository
 * layout in the README): data/N.P, part P of the backup's file number N;
 * lease, written when the backup starts; and manifest, written last.  A
 * backup is complete exactly when its manifest exists: a killed backup-push
 * leaves a lease and data, never a manifest, and is never listed as a
 * backup.
 *
 * The manifest is text, one record per line, fields separated by a tab;
 * paths are escaped (%XX for bytes below 0x21, above 0x7e, and '%'):
 *
 *	dbops-backup 1						first line: format and its version
 *	label		20261204T081500F		header fields, each once, in this order
 *	type		full | incr
 *	base		LABEL | -				the backup an incremental one builds on
 *	start-time	2026-12-04T08:15:00Z	pg_backup_start, UTC
 *	stop-time	2026-12-04T08:15:42Z	pg_backup_stop, UTC
 *	start-lsn	0/2000028
 *	stop-lsn	0/2000138
 *	timeline	1
 *	start-wal	000000010000000000000002	the WAL range a restore needs
 *	stop-wal	000000010000000000000002
 *	wal-segment-size	16777216
 *	pg-version	150020
 *	system-identifier	7449...
 *	files		N						counts and bytes, checked on read
 *	size		BYTES					sum of the files' sizes
 *	tablespace	OID	PATH				one per tablespace (the link's target)
 *	dir			MODE	PATH			directories, parents first
 *	file		MODE	MTIME	SIZE	NPARTS	PATH
 *	part		OBJECT	OFFSET	SIZE	SHA256	each file's parts follow it
 *	end									last line: a cut manifest fails
 *
 * MODE is octal; MTIME seconds since the epoch.  A part names its object
 * in full: an incremental backup's unchanged files name the objects of
 * the backup that stored them.
 *
 * archive_helper/backup_manifest.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_BACKUP_MANIFEST_H
#define ARCH_BACKUP_MANIFEST_H

#include <sys/types.h>

#include "buf.h"

#define BACKUP_LABEL_LEN 32
#define BACKUP_PREFIX "backup/"

typedef struct BackupPart
{
	char	   *object;
	uint64_t	offset;
	uint64_t	size;
	uint8_t		sha256[32];
} BackupPart;

typedef struct BackupFile
{
	char	   *path;			/* relative to the data directory */
	mode_t		mode;
	int64_t		mtime;
	uint64_t	size;
	int			nparts;
	BackupPart *parts;
} BackupFile;

typedef struct BackupDir
{
	char	   *path;
	mode_t		mode;
} BackupDir;

typedef struct BackupTablespace
{
	char	   *oid;			/* the name of its link in pg_tblspc */
	char	   *path;			/* where it pointed */
} BackupTablespace;

typedef struct BackupManifest
{
	char		label[BACKUP_LABEL_LEN + 1];
	bool		incremental;
	char		base[BACKUP_LABEL_LEN + 1];	/* "" for a full backup */
	int64_t		start_time;
	int64_t		stop_time;
	uint64_t	start_lsn;
	uint64_t	stop_lsn;
	uint32_t	timeline;
	char		start_wal[25];
	char		stop_wal[25];
	uint64_t	wal_segment_size;
	int			pg_version;
	uint64_t	sysid;
	uint64_t	size;
	int			ntablespaces;
	BackupTablespace *tablespaces;
	int			ndirs;
	BackupDir  *dirs;
	int			nfiles;
	BackupFile *files;
} BackupManifest;

/* backup/LABEL/manifest and backup/LABEL/lease, palloc'd */
extern char *backup_object(const char *label, const char *what);

/* Is label the name of a backup: 16 characters of time, then F or I? */
extern bool backup_label_valid(const char *label);

/* The manifest as text */
extern void backup_manifest_write(const BackupManifest *m, ArchBuf *out);

/*
 * Parse the text of the manifest of label (what its object holds):
 * ARCH_OK, or ARCH_CORRUPT naming the line that is not as written above.
 */
extern ArchStatus backup_manifest_parse(const char *label, const char *text,
										size_t len, BackupManifest *m,
										ArchError *err);
extern void backup_manifest_free(BackupManifest *m);

/* Append a file (its parts added after) or a directory */
extern BackupFile *backup_manifest_add_file(BackupManifest *m, const char *path,
											mode_t mode, int64_t mtime,
											uint64_t size);
extern BackupPart *backup_file_add_part(BackupFile *f, const char *object,
										uint64_t offset, uint64_t size);
extern void backup_manifest_add_dir(BackupManifest *m, const char *path,
									mode_t mode);

/* Times and LSNs as the manifest writes them */
extern void backup_format_time(int64_t t, char *out, size_t size);
extern bool backup_parse_time(const char *text, int64_t *t);
extern bool backup_parse_lsn(const char *text, uint64_t *lsn);

#endif							/* ARCH_BACKUP_MANIFEST_H */
