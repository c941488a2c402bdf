/*-------------------------------------------------------------------------
 *
 * wal_name.c
 *		WAL file names and segment arithmetic (see wal_name.h).
 *
 * archive_helper/common/wal_name.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "arch_shim.h"
#include "wal_name.h"

/* Are the n characters at s upper-case hex digits? (PostgreSQL writes %08X) */
static bool
arch_is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

static uint32_t
arch_hex32(const char *s)
{
	uint32_t	v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 4) | (uint32_t) (s[i] <= '9' ? s[i] - '0' : s[i] - 'A' + 10);
	return v;
}

bool
arch_wal_parse(const char *name, ArchWalName *wal)
{
	size_t		len = strlen(name);

	memset(wal, 0, sizeof(ArchWalName));

	/* TTTTTTTT.history; timeline 1 never has one, but that is not ours to judge */
	if (len == 16 && strcmp(name + 8, ".history") == 0 && arch_is_hex(name, 8))
	{
		wal->kind = ARCH_WAL_TIMELINE_HISTORY;
		wal->timeline = arch_hex32(name);
		return wal->timeline != 0;
	}

	if (len < ARCH_WAL_SEGMENT_NAME_LEN || !arch_is_hex(name, ARCH_WAL_SEGMENT_NAME_LEN))
		return false;
	wal->timeline = arch_hex32(name);
	wal->log = arch_hex32(name + 8);
	wal->seg = arch_hex32(name + 16);
	if (wal->timeline == 0)
		return false;

	name += ARCH_WAL_SEGMENT_NAME_LEN;
	len -= ARCH_WAL_SEGMENT_NAME_LEN;
	if (len == 0)
		wal->kind = ARCH_WAL_SEGMENT;
	else if (strcmp(name, ".partial") == 0)
		wal->kind = ARCH_WAL_PARTIAL;
	else if (len == 16 && name[0] == '.' && arch_is_hex(name + 1, 8) &&
			 strcmp(name + 9, ".backup") == 0)
		wal->kind = ARCH_WAL_BACKUP_HISTORY;
	else
		return false;
	return true;
}

char *
arch_wal_object_name(const char *name)
{
	ArchWalName wal;

	if (!arch_wal_parse(name, &wal))
		return NULL;
	if (wal.kind == ARCH_WAL_TIMELINE_HISTORY)
		return arch_psprintf("wal/%s", name);
	return arch_psprintf("wal/%.16s/%s", name, name);
}

bool
arch_wal_segment_size_valid(uint64_t seg_size)
{
	return seg_size >= (1 << 20) && seg_size <= (1 << 30) &&
		(seg_size & (seg_size - 1)) == 0;
}

/* Segments per "log" of 4 GiB, as XLogSegmentsPerXLogId */
static uint64_t
arch_segs_per_log(uint64_t seg_size)
{
	return UINT64_C(0x100000000) / seg_size;
}

uint64_t
arch_wal_segno(const ArchWalName *wal, uint64_t seg_size)
{
	return (uint64_t) wal->log * arch_segs_per_log(seg_size) + wal->seg;
}

void
arch_wal_segment_name(char *out, uint32_t timeline, uint64_t segno,
					  uint64_t seg_size)
{
	uint64_t	per = arch_segs_per_log(seg_size);

	snprintf(out, ARCH_WAL_SEGMENT_NAME_LEN + 1, "%08X%08X%08X", timeline,
			 (uint32_t) (segno / per), (uint32_t) (segno % per));
}
