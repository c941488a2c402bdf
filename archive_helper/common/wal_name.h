/*-------------------------------------------------------------------------
 *
 * wal_name.h
 *		WAL file names, segment arithmetic and where each WAL file lives in
 *		a repository.
 *
 * PostgreSQL hands the archive four kinds of file (names in upper-case
 * hex; TTTTTTTT timeline, LLLLLLLL log, SSSSSSSS segment within the log):
 *
 *	TTTTTTTTLLLLLLLLSSSSSSSS				a WAL segment
 *	TTTTTTTTLLLLLLLLSSSSSSSS.partial		the last, incomplete segment of a
 *											timeline, kept at promotion
 *	TTTTTTTTLLLLLLLLSSSSSSSS.OOOOOOOO.backup	backup history (OOOOOOOO the
 *											start offset)
 *	TTTTTTTT.history						timeline history
 *
 * Repository layout, version 1 (README, "Object format"):
 *
 *	wal/TTTTTTTT.history
 *	wal/TTTTTTTTLLLLLLLL/<file name>		the other three kinds
 *
 * Grouping by timeline and log keeps directory listings (and object store
 * list pages) short: at most 256 segments of 16 MiB per group.
 *
 * archive_helper/common/wal_name.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_WAL_NAME_H
#define ARCH_WAL_NAME_H

#include <stdbool.h>
#include <stdint.h>

#define ARCH_WAL_SEGMENT_NAME_LEN 24

typedef enum ArchWalKind
{
	ARCH_WAL_SEGMENT,
	ARCH_WAL_PARTIAL,
	ARCH_WAL_BACKUP_HISTORY,
	ARCH_WAL_TIMELINE_HISTORY
} ArchWalKind;

typedef struct ArchWalName
{
	ArchWalKind kind;
	uint32_t	timeline;
	uint32_t	log;			/* not for timeline history */
	uint32_t	seg;			/* not for timeline history */
} ArchWalName;

/*
 * Parse a WAL file name (the name only, no directory); false if it is none
 * of the four kinds.
 */
extern bool arch_wal_parse(const char *file_name, ArchWalName *wal);

/* Object name in the repository of a valid WAL file name (arch_alloc'ed) */
extern char *arch_wal_object_name(const char *file_name);

/*
 * Segment arithmetic for segments of seg_size bytes (a power of two from
 * 1 MiB to 1 GiB, as initdb --wal-segsize allows).
 */
extern bool arch_wal_segment_size_valid(uint64_t seg_size);
extern uint64_t arch_wal_segno(const ArchWalName *wal, uint64_t seg_size);
extern void arch_wal_segment_name(char *out, uint32_t timeline, uint64_t segno,
								  uint64_t seg_size);

#endif							/* ARCH_WAL_NAME_H */
