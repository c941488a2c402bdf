/*-------------------------------------------------------------------------
 *
 * status.h
 *		The outcome of every operation of dbops_archive's shared code, and
 *		the error text that goes with it.
 *
 * Commands turn an ArchStatus into an exit code (cli.h), and PostgreSQL
 * acts on that code: exit 1 from wal-fetch ends a recovery, exit 0 from
 * wal-push lets a WAL file be recycled.  So each value has exactly one
 * meaning, and no function returns a value for anything but that meaning.
 * (A parser that needs more input says so through its own out-parameter,
 * never through one of these.)
 *
 * archive_helper/common/status.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_STATUS_H
#define ARCH_STATUS_H

#include "arch_shim.h"

typedef enum ArchStatus
{
	/* the operation did what it was asked */
	ARCH_OK = 0,

	/*
	 * The store answered that the object does not exist (S3 NoSuchKey,
	 * Azure BlobNotFound, a missing file under an existing repository
	 * directory), and nothing else: not a missing bucket, container or
	 * repository root, not an unreachable store.  wal-fetch turns it into
	 * exit 1, which can end a recovery.
	 */
	ARCH_NOT_FOUND,

	/* an if-absent write found the name taken by other bytes */
	ARCH_EXISTS,

	/* a network, store or local I/O failure, after the bounded retries */
	ARCH_TRANSIENT,

	/*
	 * Retrying will not help: usage, configuration, credentials, keys, a
	 * missing bucket, container or repository root, a protocol violation.
	 */
	ARCH_FATAL,

	/*
	 * Stored bytes fail verification: checksum, authentication tag,
	 * format, or an object bound to another name.
	 */
	ARCH_CORRUPT
} ArchStatus;

/*
 * Error buffer filled by the operation that failed, for the caller to log.
 * One primary message, lower case and without a final period; an optional
 * detail, a full sentence.  Never a secret.
 */
#define ARCH_ERROR_LEN 1024

typedef struct ArchError
{
	char		message[ARCH_ERROR_LEN];
	char		detail[ARCH_ERROR_LEN];
} ArchError;

/* Set the message (detail cleared) and return status, for "return arch_error(...)" */
extern ArchStatus arch_error(ArchError *err, ArchStatus status,
							 const char *fmt,...) ARCH_PRINTF(3, 4);
/* Set the detail of an error already set; returns the status given */
extern ArchStatus arch_error_detail(ArchError *err, ArchStatus status,
									const char *fmt,...) ARCH_PRINTF(3, 4);

#endif							/* ARCH_STATUS_H */
