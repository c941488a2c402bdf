/*-------------------------------------------------------------------------
 *
 * local_file.h
 *		The local files dbops_archive reads (config file, key file, spool
 *		markers) and the places it must not write to.
 *
 * Each of these files names a path that someone else may have turned into
 * a FIFO, a device or a directory.  Opening a FIFO for reading waits for a
 * writer, forever: PostgreSQL's archiver or startup process would hang
 * behind us.  So every such file is opened without blocking and refused
 * unless it is a regular file, before a single byte is read.
 *
 * archive_helper/common/local_file.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_LOCAL_FILE_H
#define ARCH_LOCAL_FILE_H

#include <sys/stat.h>

#include "status.h"

/*
 * Open the regular file at path for reading, without blocking on a FIFO;
 * *fd and *st on success.  ARCH_FATAL as arch_read_local_file says.
 */
extern ArchStatus arch_open_local_file(const char *path, const char *what,
									   int *fd, struct stat *st, bool *absent,
									   ArchError *err);

/*
 * Read the whole of the regular file at path, at most max bytes, into a
 * NUL-terminated *text (arch_free it; it may hold a secret: wipe it
 * first).  what names the file in messages ("key file").  ARCH_FATAL for a
 * file that cannot be opened (*absent then tells a missing one), is not a
 * regular file or is larger than max; ARCH_TRANSIENT for a read error.  st
 * gets the file's status (mode, size) when not NULL.
 */
extern ArchStatus arch_read_local_file(const char *path, const char *what,
									   size_t max, char **text, size_t *len,
									   struct stat *st, bool *absent,
									   ArchError *err);

/*
 * Is path dir itself or inside it, once symbolic links, "." and ".." are
 * resolved?  path need not exist yet: its longest existing ancestor is
 * resolved and the rest appended, so a directory about to be created can
 * be judged before it is.  A relative path is taken from the working
 * directory.  False when dir cannot be resolved.
 */
extern bool arch_path_is_under(const char *path, const char *dir);

#endif							/* ARCH_LOCAL_FILE_H */
