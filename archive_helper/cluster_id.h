/*-------------------------------------------------------------------------
 *
 * cluster_id.h
 *		The cluster a repository belongs to.
 *
 * WAL of two clusters in one repository would be mixed up on restore:
 * their segments have the same names.  So the repository records the
 * system identifier of its cluster (object "cluster", written once, if
 * absent, by the first wal-push or backup-push), and both commands refuse
 * WAL or a data directory of another cluster.  A cluster made by
 * pg_upgrade or a new initdb needs a new repository.
 *
 * archive_helper/cluster_id.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_CLUSTER_ID_H
#define ARCH_CLUSTER_ID_H

#include "object.h"

#define ARCH_CLUSTER_OBJECT "cluster"

/*
 * ARCH_OK when the repository records sysid, recording it now if it
 * records none; ARCH_FATAL when it belongs to another cluster.
 */
extern ArchStatus cluster_id_check(ArchStorage *storage,
								   const ArchEncodeOptions *eopts,
								   const ArchDecodeOptions *dopts,
								   uint64_t sysid, ArchError *err);

/* The recorded identifier: ARCH_NOT_FOUND when none is recorded */
extern ArchStatus cluster_id_read(ArchStorage *storage,
								  const ArchDecodeOptions *dopts,
								  uint64_t *sysid, ArchError *err);

#endif							/* ARCH_CLUSTER_ID_H */
