/*-------------------------------------------------------------------------
 *
 * wal_page.h
 *		Does a restored WAL file hold what its name says?
 *
 * Every WAL segment starts with a long page header that names its
 * timeline, its start address, the segment size and the cluster.
 * wal-fetch checks it against the name PostgreSQL asked for (%f) before
 * the file reaches PostgreSQL.  The object format binds version 2 objects
 * to their names, but a plain version 1 object copied over another
 * segment's name would otherwise be replayed: PostgreSQL takes the wrong
 * page address for the end of WAL, ends recovery early and promotes a
 * server that misses data.
 *
 * A parser of untrusted bytes that neither prints nor exits, so that the
 * fuzzer can call it (fuzz/fuzz_wal_name.c).
 *
 * archive_helper/wal_page.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_WAL_PAGE_H
#define ARCH_WAL_PAGE_H

#include "status.h"

/* Bytes of a segment's start that wal_page_check reads */
#define WAL_PAGE_CHECK_LEN 40

/*
 * Check the first len bytes (at least WAL_PAGE_CHECK_LEN) of the restored
 * file file_name, file_size bytes in all, for segments and .partial files
 * (other kinds pass): the page magic of this PostgreSQL version, a long
 * header, a timeline no later than the name's (a new timeline's first
 * segment starts with pages copied from its parent), the segment's start
 * address, a valid segment size equal to the file's (segments) and to
 * seg_size, and the system identifier sysid.  seg_size and sysid come from
 * pg_control, 0 when unknown.  ARCH_OK or ARCH_CORRUPT.
 */
extern ArchStatus wal_page_check(const char *file_name, const uint8_t *page,
								 size_t len, uint64_t file_size,
								 uint64_t seg_size, uint64_t sysid,
								 ArchError *err);

/*
 * The system identifier in the long page header at the start of a segment
 * (len bytes of it), or 0 when those bytes hold no long page header of
 * this PostgreSQL version.
 */
extern uint64_t wal_page_sysid(const uint8_t *page, size_t len);

#endif							/* ARCH_WAL_PAGE_H */
