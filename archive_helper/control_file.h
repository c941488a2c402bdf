/*-------------------------------------------------------------------------
 *
 * control_file.h
 *		What pg_control says about a data directory.
 *
 * wal-fetch checks restored segments against the cluster's segment size
 * and system identifier, and backup-push checks that the directory it
 * copies belongs to the server it talks to.  Read by hand: the frontend
 * get_controlfile() exits on errors, and our exit codes are a contract.
 *
 * archive_helper/control_file.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_CONTROL_FILE_H
#define ARCH_CONTROL_FILE_H

#include <stdint.h>

typedef struct ControlInfo
{
	uint64_t	seg_size;		/* WAL segment size */
	uint64_t	sysid;			/* system identifier */
} ControlInfo;

/*
 * Read DATADIR/global/pg_control ("." for the working directory): true
 * when it exists, passes its CRC and has a valid segment size; else false
 * and zeros.
 */
extern bool control_file_read(const char *datadir, ControlInfo *info);

#endif							/* ARCH_CONTROL_FILE_H */
