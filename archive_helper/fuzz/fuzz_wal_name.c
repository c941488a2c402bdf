/*-------------------------------------------------------------------------
 *
 * fuzz_wal_name.c
 *		libFuzzer harness: WAL and history file names, and the first page
 *		of a restored segment.
 *
 * The input is a file name, a NUL byte, then the bytes of the file's
 * start.  The name goes through arch_wal_parse and arch_wal_object_name;
 * name and bytes through wal_page_check.  A name that parses must map to
 * an object under "wal/" ending in the name itself.
 *
 * archive_helper/fuzz/fuzz_wal_name.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "fuzz.h"
#include "wal_name.h"
#include "wal_page.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text = fuzz_text(data, size);
	size_t		name_len = strlen(text);
	const uint8_t *page = data + Min(name_len + 1, size);
	size_t		page_len = size - Min(name_len + 1, size);
	ArchWalName wal;
	ArchError	err;

	if (arch_wal_parse(text, &wal))
	{
		char	   *object = arch_wal_object_name(text);

		FUZZ_ASSERT(object != NULL && strncmp(object, "wal/", 4) == 0 &&
					strcmp(object + strlen(object) - name_len, text) == 0);
		arch_free(object);
		for (uint64_t seg_size = 1 << 20; seg_size <= 1 << 30; seg_size <<= 1)
		{
			char		next[ARCH_WAL_SEGMENT_NAME_LEN + 1];

			arch_wal_segment_name(next, wal.timeline, arch_wal_segno(&wal, seg_size), seg_size);
			FUZZ_ASSERT(strlen(next) == ARCH_WAL_SEGMENT_NAME_LEN);
		}
	}
	else
		FUZZ_ASSERT(arch_wal_object_name(text) == NULL);

	if (wal_page_check(text, page, page_len, page_len, 0, 0, &err) != ARCH_OK)
		FUZZ_ASSERT(strstr(err.message, "is not WAL file") != NULL);
	arch_free(text);
	return 0;
}
