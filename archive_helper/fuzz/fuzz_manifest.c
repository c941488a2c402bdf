/*-------------------------------------------------------------------------
 *
 * fuzz_manifest.c
 *		libFuzzer harness: backup manifests (backup_manifest.h).
 *
 * A manifest comes from the repository and tells a restore which paths
 * to write: the parser must refuse anything malformed without crashing,
 * and what it accepts must hold only relative paths without "..", and
 * write back to text that parses to the same text again.
 *
 * archive_helper/fuzz/fuzz_manifest.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "backup_manifest.h"
#include "fuzz.h"

static bool
path_ok(const char *path)
{
	return path[0] != '/' && strstr(path, "..") == NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	BackupManifest m;
	BackupManifest again;
	ArchBuf		text = {0};
	ArchBuf		text2 = {0};
	ArchError	err;

	if (backup_manifest_parse("20261204T081500F", (const char *) data, size, &m, &err) != ARCH_OK)
		return 0;
	for (int i = 0; i < m.nfiles; i++)
		FUZZ_ASSERT(path_ok(m.files[i].path));
	for (int i = 0; i < m.ndirs; i++)
		FUZZ_ASSERT(path_ok(m.dirs[i].path));
	backup_manifest_write(&m, &text);
	FUZZ_ASSERT(backup_manifest_parse(m.label, text.data, text.len, &again, &err) == ARCH_OK);
	backup_manifest_write(&again, &text2);
	FUZZ_ASSERT(text.len == text2.len && memcmp(text.data, text2.data, text.len) == 0);
	backup_manifest_free(&again);
	backup_manifest_free(&m);
	arch_buf_free(&text);
	arch_buf_free(&text2);
	return 0;
}
