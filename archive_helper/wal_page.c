/*-------------------------------------------------------------------------
 *
 * wal_page.c
 *		Check a restored WAL file's first page header against its name
 *		(see wal_page.h).
 *
 * archive_helper/wal_page.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "access/xlog_internal.h"
#include "wal_name.h"
#include "wal_page.h"

StaticAssertDecl(WAL_PAGE_CHECK_LEN >= sizeof(XLogLongPageHeaderData),
				 "wal_page_check must see the whole long page header");

/* "restored file X is not WAL file X: DETAIL", corrupt */
static ArchStatus
wal_page_mismatch(const char *file_name, ArchError *err, const char *fmt,...)
{
	char		detail[ARCH_ERROR_LEN];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	arch_error(err, ARCH_CORRUPT, "restored file is not WAL file \"%s\": %s",
			   file_name, detail);
	return arch_error_detail(err, ARCH_CORRUPT,
							 "Its first page header must name the segment it was asked for; another segment's content under this name would end recovery early.");
}

ArchStatus
wal_page_check(const char *file_name, const uint8_t *page, size_t len,
			   uint64_t file_size, uint64_t seg_size, uint64_t sysid,
			   ArchError *err)
{
	ArchWalName wal;
	XLogLongPageHeaderData hdr;
	XLogRecPtr	start;

	if (!arch_wal_parse(file_name, &wal) ||
		(wal.kind != ARCH_WAL_SEGMENT && wal.kind != ARCH_WAL_PARTIAL))
		return ARCH_OK;
	if (len < WAL_PAGE_CHECK_LEN)
		return wal_page_mismatch(file_name, err, "%zu bytes, shorter than a page header", len);
	/* the bytes may be unaligned */
	memcpy(&hdr, page, sizeof(hdr));

	if (hdr.std.xlp_magic != XLOG_PAGE_MAGIC)
		return wal_page_mismatch(file_name, err, "page magic %04X, not %04X",
								 hdr.std.xlp_magic, XLOG_PAGE_MAGIC);
	if ((hdr.std.xlp_info & XLP_LONG_HEADER) == 0)
		return wal_page_mismatch(file_name, err, "no long page header");
	if (hdr.std.xlp_tli == 0 || hdr.std.xlp_tli > wal.timeline)
		return wal_page_mismatch(file_name, err, "page of timeline %u",
								 hdr.std.xlp_tli);
	if (!IsValidWalSegSize(hdr.xlp_seg_size) ||
		(seg_size != 0 && hdr.xlp_seg_size != seg_size))
		return wal_page_mismatch(file_name, err, "segment size %u", hdr.xlp_seg_size);
	if (hdr.xlp_xlog_blcksz != XLOG_BLCKSZ)
		return wal_page_mismatch(file_name, err, "WAL block size %u", hdr.xlp_xlog_blcksz);
	XLogSegNoOffsetToRecPtr(arch_wal_segno(&wal, hdr.xlp_seg_size), 0,
							hdr.xlp_seg_size, start);
	if (hdr.std.xlp_pageaddr != start)
		return wal_page_mismatch(file_name, err, "page address %X/%X instead of %X/%X",
								 LSN_FORMAT_ARGS(hdr.std.xlp_pageaddr),
								 LSN_FORMAT_ARGS(start));
	if (wal.kind == ARCH_WAL_SEGMENT && file_size != hdr.xlp_seg_size)
		return wal_page_mismatch(file_name, err, "%llu bytes for a segment of %u",
								 (unsigned long long) file_size, hdr.xlp_seg_size);
	if (sysid != 0 && hdr.xlp_sysid != sysid)
		return wal_page_mismatch(file_name, err, "WAL of the cluster with system identifier %llu, not %llu",
								 (unsigned long long) hdr.xlp_sysid,
								 (unsigned long long) sysid);
	return ARCH_OK;
}

uint64_t
wal_page_sysid(const uint8_t *page, size_t len)
{
	XLogLongPageHeaderData hdr;

	if (len < sizeof(hdr))
		return 0;
	memcpy(&hdr, page, sizeof(hdr));
	if (hdr.std.xlp_magic != XLOG_PAGE_MAGIC || (hdr.std.xlp_info & XLP_LONG_HEADER) == 0)
		return 0;
	return hdr.xlp_sysid;
}
