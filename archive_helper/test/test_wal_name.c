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
#include "wal_page.h"

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

/* A long page header as PostgreSQL 15 writes it (little-endian here) */
static void
make_page(uint8_t *p, uint16_t magic, uint16_t info, uint32_t tli,
		  uint64_t pageaddr, uint64_t sysid, uint32_t seg_size)
{
	memset(p, 0, WAL_PAGE_CHECK_LEN);
	memcpy(p, &magic, 2);
	memcpy(p + 2, &info, 2);
	memcpy(p + 4, &tli, 4);
	memcpy(p + 8, &pageaddr, 8);
	memcpy(p + 24, &sysid, 8);
	memcpy(p + 32, &seg_size, 4);
	p[36 + 1] = 0x20;			/* XLOG_BLCKSZ 8192, little-endian */
}

static void
test_page_check(void)
{
	const uint32_t mb16 = 16 * 1024 * 1024;
	const uint64_t start = (uint64_t) 5 * mb16;	/* of 000000020000000000000005 */
	const char *seg = "000000020000000000000005";
	static const struct
	{
		uint16_t	magic;
		uint16_t	info;
		uint32_t	tli;
		int			page_seg;	/* segment number of the page's address */
		uint32_t	seg_size;	/* in the page header */
		uint64_t	file_size;
		uint64_t	control_seg_size;	/* pg_control's, 0 unknown */
		uint64_t	sysid;		/* pg_control's (the page says 42), 0 unknown */
		ArchStatus	want;
		const char *label;
	}			cases[] = {
		{0xD110, 2, 2, 5, 16 << 20, 16 << 20, 16 << 20, 42, ARCH_OK,
		"page check: the segment's own first page passes"},
		{0xD110, 2, 1, 5, 16 << 20, 16 << 20, 0, 0, ARCH_OK,
		"a first page of the parent timeline passes (a new timeline's first segment)"},
		{0xD110, 2, 3, 5, 16 << 20, 16 << 20, 0, 0, ARCH_CORRUPT,
		"a later timeline's page is refused"},
		{0xD110, 2, 2, 4, 16 << 20, 16 << 20, 0, 0, ARCH_CORRUPT,
		"another segment's content is refused"},
		{0xD110, 0, 2, 5, 16 << 20, 16 << 20, 0, 0, ARCH_CORRUPT,
		"a page without a long header is refused"},
		{0xD106, 2, 2, 5, 16 << 20, 16 << 20, 0, 0, ARCH_CORRUPT,
		"another PostgreSQL version's page magic is refused"},
		{0xD110, 2, 2, 5, 3 << 20, 16 << 20, 0, 0, ARCH_CORRUPT,
		"an invalid segment size is refused"},
		{0xD110, 2, 2, 5, 16 << 20, (16 << 20) - 1, 0, 0, ARCH_CORRUPT,
		"a segment of the wrong size is refused"},
		{0xD110, 2, 2, 5, 16 << 20, 16 << 20, 32 << 20, 0, ARCH_CORRUPT,
		"a segment size other than pg_control's is refused"},
		{0xD110, 2, 2, 5, 16 << 20, 16 << 20, 0, 43, ARCH_CORRUPT,
		"another cluster's WAL is refused"},
	};
	uint8_t		p[WAL_PAGE_CHECK_LEN];
	ArchError	err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		make_page(p, cases[i].magic, cases[i].info, cases[i].tli,
				  (uint64_t) cases[i].page_seg * mb16, 42, cases[i].seg_size);
		tap_ok(wal_page_check(seg, p, sizeof(p), cases[i].file_size,
							  cases[i].control_seg_size, cases[i].sysid, &err) == cases[i].want,
			   cases[i].label);
	}
	make_page(p, 0xD110, 2, 2, start - mb16, 42, mb16);
	wal_page_check(seg, p, sizeof(p), mb16, 0, 0, &err);
	tap_like(err.message, "page address 0/4000000 instead of 0/5000000", "the error names both addresses");
	tap_like(err.message, seg, "... and the file");
	tap_ok(wal_page_check(seg, p, 20, mb16, 0, 0, &err) == ARCH_CORRUPT,
		   "a file shorter than a page header is refused");
	make_page(p, 0xD110, 2, 2, start, 42, mb16);
	tap_ok(wal_page_check("000000020000000000000005.partial", p, sizeof(p), 4096, 0, 0, &err) == ARCH_OK,
		   "a .partial file's first page is checked, not its size");
	tap_ok(wal_page_check("00000002.history", (const uint8_t *) "1\t0/5000000\n", 12, 12, 0, 0, &err) == ARCH_OK,
		   "a history file is not a segment: not checked");
}

int
main(void)
{
	test_parse();
	test_object_names();
	test_segments();
	test_page_check();
	return tap_done();
}
