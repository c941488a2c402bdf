/*-------------------------------------------------------------------------
 *
 * test_wal_name.c
 *		Unit tests: WAL file names, repository names, segment arithmetic.
 *
 * archive_helper/test/test_wal_name.c
 *
 *-------------------------------------------------------------------------
 */

#include "arch_shim.h"
#include "tap.h"
#include "wal_name.h"

static void
test_parse(void)
{
	ArchWalName w;

	tap_ok(arch_wal_parse("0000000100000002000000FE", &w) &&
		   w.kind == ARCH_WAL_SEGMENT && w.timeline == 1 && w.log == 2 && w.seg == 0xFE,
		   "segment name parsed");
	tap_ok(arch_wal_parse("0000000A0000000000000003.partial", &w) &&
		   w.kind == ARCH_WAL_PARTIAL && w.timeline == 10 && w.seg == 3,
		   ".partial parsed");
	tap_ok(arch_wal_parse("000000010000000000000002.00000028.backup", &w) &&
		   w.kind == ARCH_WAL_BACKUP_HISTORY && w.seg == 2,
		   "backup history parsed");
	tap_ok(arch_wal_parse("00000002.history", &w) &&
		   w.kind == ARCH_WAL_TIMELINE_HISTORY && w.timeline == 2,
		   "timeline history parsed");
	tap_ok(!arch_wal_parse("000000010000000000000003x", &w), "trailing junk refused");
	tap_ok(!arch_wal_parse("00000001000000000000000", &w), "short name refused");
	tap_ok(!arch_wal_parse("0000000100000000000000ab", &w), "lower-case hex refused");
	tap_ok(!arch_wal_parse("000000000000000000000001", &w), "timeline 0 refused");
	tap_ok(!arch_wal_parse("00000000.history", &w), "history of timeline 0 refused");
	tap_ok(!arch_wal_parse("RECOVERYXLOG", &w), "RECOVERYXLOG is no WAL file name");
	tap_ok(!arch_wal_parse("../00000002.history", &w), "a path is no WAL file name");
	tap_ok(!arch_wal_parse("000000010000000000000002.0000002.backup", &w),
		   "short backup offset refused");
}

static void
test_object_names(void)
{
	char	   *n;

	n = arch_wal_object_name("000000010000000200000003");
	tap_is_str(n, "wal/0000000100000002/000000010000000200000003", "segment object name");
	arch_free(n);
	n = arch_wal_object_name("000000010000000200000003.partial");
	tap_is_str(n, "wal/0000000100000002/000000010000000200000003.partial", "partial object name");
	arch_free(n);
	n = arch_wal_object_name("00000003.history");
	tap_is_str(n, "wal/00000003.history", "history object name");
	arch_free(n);
	tap_ok(arch_wal_object_name("pg_wal/x") == NULL, "no object name for a non-WAL name");
}

static void
test_segments(void)
{
	ArchWalName w;
	char		name[ARCH_WAL_SEGMENT_NAME_LEN + 1];
	uint64_t	mb16 = 16 * 1024 * 1024;
	uint64_t	gb1 = 1024 * 1024 * 1024;

	tap_ok(arch_wal_segment_size_valid(mb16) && arch_wal_segment_size_valid(gb1) &&
		   arch_wal_segment_size_valid(1024 * 1024), "valid segment sizes");
	tap_ok(!arch_wal_segment_size_valid(3 * 1024 * 1024) &&
		   !arch_wal_segment_size_valid(512 * 1024) &&
		   !arch_wal_segment_size_valid(2 * gb1), "invalid segment sizes");

	arch_wal_parse("0000000100000002000000FF", &w);
	tap_is_int((long long) arch_wal_segno(&w, mb16), 2 * 256 + 255, "segno with 16 MiB segments");
	arch_wal_segment_name(name, 1, arch_wal_segno(&w, mb16) + 1, mb16);
	tap_is_str(name, "000000010000000300000000", "next segment crosses the log boundary");

	arch_wal_parse("000000020000000500000003", &w);
	tap_is_int((long long) arch_wal_segno(&w, gb1), 5 * 4 + 3, "segno with 1 GiB segments");
	arch_wal_segment_name(name, 2, arch_wal_segno(&w, gb1) + 1, gb1);
	tap_is_str(name, "000000020000000600000000", "1 GiB segments: 4 per log");
}

int
main(void)
{
	test_parse();
	test_object_names();
	test_segments();
	return tap_done();
}
