/*-------------------------------------------------------------------------
 *
 * spool.h
 *		The local spool that lets wal-push and wal-fetch work ahead.
 *
 * PostgreSQL runs archive_command and restore_command once per file, one
 * at a time.  With spool-path set, a call also pushes the next segments
 * already marked .ready (leaving a marker per segment, so the later call
 * for it returns at once), or prefetches the next segments into the spool
 * (so the later call only renames the verified file into place).  Each
 * repository has its own subdirectory, so a spool never serves files of
 * another repository.
 *
 * archive_helper/spool.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_SPOOL_H
#define ARCH_SPOOL_H

#include "cli.h"

/*
 * *dir = <spool-path>/<kind>-<hash of the repository URL>, created if need
 * be; NULL when spool-path is unset (or the directory cannot be made, which
 * is logged and only turns working ahead off).  ARCH_FATAL when spool-path
 * lies inside the data directory, where base backups would copy it.
 */
extern ArchStatus spool_dir(ArchCli *cli, const char *kind, char **dir,
							ArchError *err);

/* Remove every file in dir */
extern void spool_clear(const char *dir);

/*
 * Push markers: "<sha256> <size> <mtime>" of the WAL file as it was
 * pushed.  spool_push_done() consumes the marker of file_name when the file
 * at path still has that size and modification time.
 */
extern void spool_push_mark(const char *dir, const char *path,
							const char *file_name, const char *sha_hex);
extern bool spool_push_done(const char *dir, const char *path,
							const char *file_name);

/*
 * Move the prefetched file_name from dir to dest; false when there is none.
 * Only a regular file is ever handed on: a FIFO or link that took its
 * place would hang or mislead PostgreSQL.  Spool entries that are not
 * regular files are refused with a WARNING, and spool_clear removes them.
 */
extern bool spool_take(const char *dir, const char *file_name,
					   const char *dest);

#endif							/* ARCH_SPOOL_H */
