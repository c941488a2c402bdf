/*-------------------------------------------------------------------------
 *
 * wal_chain.h
 *		The WAL a backup needs, followed through the archive: from the
 *		backup's first segment to the end, across timeline switches.
 *
 * Recovery reads each segment from the newest timeline that covers it: a
 * timeline's history file (wal/TTTTTTTT.history) names its ancestors and
 * where each was left, and from the segment holding that switch point on,
 * the child's segments are read.  backup-list uses the chain for the
 * recoverable window, wal-verify to say whether every backup restores to
 * the end of the archive and where it would stop.
 *
 * archive_helper/wal_chain.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_WAL_CHAIN_H
#define ARCH_WAL_CHAIN_H

#include "object.h"

typedef struct WalSegment
{
	uint32_t	tli;
	uint64_t	segno;
} WalSegment;

typedef struct WalHistory
{
	uint32_t	tli;			/* the timeline whose file this is */
	int			n;				/* its ancestors, oldest first */
	uint32_t   *parent;
	uint64_t   *switch_lsn;		/* where each parent was left */
} WalHistory;

typedef struct WalArchive
{
	int			nsegs;
	WalSegment *segs;			/* sorted */
	int			nhist;
	WalHistory *hist;
	int			nobjects;		/* every WAL object name, for --deep */
	char	  **objects;
} WalArchive;

/* List wal/ and read every history file; corrupt history is ARCH_CORRUPT */
extern ArchStatus wal_archive_load(ArchStorage *storage,
								   const ArchDecodeOptions *dopts,
								   WalArchive *w, ArchError *err);
extern void wal_archive_free(WalArchive *w);

/* How far the WAL of a backup reaches */
typedef struct WalReach
{
	uint32_t	end_tli;		/* the timeline recovery ends on */
	bool		any;			/* the first segment is there */
	WalSegment	last;			/* the last segment reached without a gap */
	bool		gap;			/* a segment missing before the end */
	WalSegment	missing;		/* the first one missing */
	WalSegment	end;			/* the last segment of the archive on the way */
} WalReach;

/*
 * Follow the archive from segment start_segno of timeline tli (segments
 * of seg_size bytes) to the end of the newest timeline that descends
 * from it.
 */
extern void wal_archive_reach(const WalArchive *w, uint32_t tli,
							  uint64_t start_segno, uint64_t seg_size,
							  WalReach *r);

/* The segment number of a WAL file name (any kind but history) */
extern uint64_t wal_name_segno(const char *name, uint64_t seg_size);

#endif							/* ARCH_WAL_CHAIN_H */
