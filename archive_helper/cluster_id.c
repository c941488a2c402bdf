/*-------------------------------------------------------------------------
 *
 * cluster_id.c
 *		The cluster a repository belongs to (see cluster_id.h).
 *
 * The record is a small object in the object format (so it is checked,
 * bound to its name and encrypted like everything else), holding one
 * line: "system-identifier N".
 *
 * archive_helper/cluster_id.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "cluster_id.h"
#include "object_io.h"

ArchStatus
cluster_id_read(ArchStorage *storage, const ArchDecodeOptions *dopts,
				uint64_t *sysid, ArchError *err)
{
	ArchBuf		text = {0};
	ArchStatus	st;
	unsigned long long v;
	int			end = 0;

	*sysid = 0;
	st = arch_object_get_buf(storage, ARCH_CLUSTER_OBJECT, dopts, &text, err);
	if (st == ARCH_OK &&
		(sscanf(text.data, "system-identifier %llu\n%n", &v, &end) != 1 ||
		 end != (int) text.len || v == 0))
		st = arch_error(err, ARCH_CORRUPT,
						"object \"%s\" of repository \"%s\" does not hold a system identifier",
						ARCH_CLUSTER_OBJECT, storage->url.text);
	if (st == ARCH_OK)
		*sysid = v;
	arch_buf_free(&text);
	return st;
}

ArchStatus
cluster_id_check(ArchStorage *storage, const ArchEncodeOptions *eopts,
				 const ArchDecodeOptions *dopts, uint64_t sysid,
				 ArchError *err)
{
	uint64_t	recorded;
	ArchStatus	st = cluster_id_read(storage, dopts, &recorded, err);

	if (st == ARCH_NOT_FOUND)
	{
		char	   *line = psprintf("system-identifier %llu\n", (unsigned long long) sysid);

		st = arch_object_put_buf(storage, ARCH_CLUSTER_OBJECT, eopts, true,
								 line, strlen(line), NULL, err);
		pg_free(line);
		if (st == ARCH_OK)
			return ARCH_OK;
		/* recorded meanwhile by another process: read what it wrote */
		if (st == ARCH_EXISTS)
			st = cluster_id_read(storage, dopts, &recorded, err);
	}
	if (st != ARCH_OK)
		return st;
	if (recorded != sysid)
	{
		arch_error(err, ARCH_FATAL,
				   "repository \"%s\" belongs to the cluster with system identifier %llu, not %llu",
				   storage->url.text, (unsigned long long) recorded,
				   (unsigned long long) sysid);
		return arch_error_detail(err, ARCH_FATAL,
								 "Each cluster needs a repository of its own (a new initdb or pg_upgrade makes a new cluster); their WAL files would have the same names.");
	}
	return ARCH_OK;
}
