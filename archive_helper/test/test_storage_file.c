/*-------------------------------------------------------------------------
 *
 * test_storage_file.c
 *		Unit tests: the file:// driver through the storage interface.
 *
 * archive_helper/test/test_storage_file.c
 *
 *-------------------------------------------------------------------------
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "tap.h"

static char tmpdir[] = "/tmp/dbops_test_file.XXXXXX";

static ArchStatus
count_cb(void *arg, const char *name, uint64_t size, ArchError *err)
{
	(*(int *) arg)++;
	return ARCH_OK;
}

/* Files in dir whose name contains ".dbops.tmp." */
static int
count_temp_files(const char *dir)
{
	DIR		   *d = opendir(dir);
	struct dirent *de;
	int			n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".dbops.tmp.") != NULL)
			n++;
	closedir(d);
	return n;
}

int
main(void)
{
	ArchStorage *s;
	ArchError	err;
	ArchBuf		got = {0};
	ArchObjectInfo info;
	ArchWriteOptions absent = {true, 5, NULL};
	ArchStorageWrite *w;
	char	   *url;
	char	   *dir;
	char		cmd[128];
	int			n;
	const char *name = "wal/0000000100000000/000000010000000000000001";

	if (mkdtemp(tmpdir) == NULL)
		return 1;
	url = arch_psprintf("file://%s/repo", tmpdir);

	tap_ok(arch_storage_open(url, NULL, &s, &err) == ARCH_OK, "open a file repository");
	tap_ok(arch_storage_put(s, name, &absent, "hello", 5, &err) == ARCH_FATAL,
		   "write into a missing repository root fails");
	tap_like(err.message, "does not exist", "... saying the directory does not exist");
	tap_ok(arch_storage_read(s, name, 0, arch_buf_sink, &got, &err) == ARCH_FATAL,
		   "read from a missing root is not \"not found\"");

	dir = arch_psprintf("%s/repo", tmpdir);
	mkdir(dir, 0700);
	tap_ok(arch_storage_read(s, name, 0, arch_buf_sink, &got, &err) == ARCH_NOT_FOUND,
		   "missing object is NOT_FOUND");
	tap_ok(arch_storage_info(s, name, &info, &err) == ARCH_NOT_FOUND, "info of a missing object");
	tap_ok(arch_storage_put(s, name, &absent, "hello", 5, &err) == ARCH_OK,
		   "if-absent write creates directories and the object");
	tap_ok(arch_storage_read(s, name, 0, arch_buf_sink, &got, &err) == ARCH_OK &&
		   got.len == 5 && memcmp(got.data, "hello", 5) == 0, "read it back");
	got.len = 0;
	tap_ok(arch_storage_read(s, name, 3, arch_buf_sink, &got, &err) == ARCH_OK &&
		   got.len == 3, "read with a limit");
	tap_ok(arch_storage_info(s, name, &info, &err) == ARCH_OK && info.size == 5,
		   "info: size");
	tap_ok(arch_storage_put(s, name, &absent, "hello", 5, &err) == ARCH_OK,
		   "identical if-absent write succeeds");
	tap_ok(arch_storage_put(s, name, &absent, "HELLO", 5, &err) == ARCH_EXISTS,
		   "different if-absent write is EXISTS");
	got.len = 0;
	arch_storage_read(s, name, 0, arch_buf_sink, &got, &err);
	tap_ok(got.len == 5 && memcmp(got.data, "hello", 5) == 0, "... and the object is unchanged");

	/* streaming writer, abort leaves nothing */
	tap_ok(arch_storage_write_begin(s, "check/aborted", &absent, &w, &err) == ARCH_OK &&
		   arch_storage_write(w, "abc", 3, &err) == ARCH_OK, "streaming write begun");
	arch_storage_write_abort(w);
	tap_ok(arch_storage_info(s, "check/aborted", &info, &err) == ARCH_NOT_FOUND,
		   "aborted write leaves no object");
	arch_free(dir);
	dir = arch_psprintf("%s/repo/wal/0000000100000000", tmpdir);
	tap_is_int(count_temp_files(dir), 0, "no temporary files left behind");

	arch_storage_put(s, "wal/00000002.history", &absent, "h", 1, &err);
	arch_storage_put(s, "wal/0000000100000000/000000010000000000000002", &absent, "x", 1, &err);
	n = 0;
	tap_ok(arch_storage_list(s, "wal/0000000100000000/", count_cb, &n, &err) == ARCH_OK && n == 2,
		   "list by directory prefix");
	n = 0;
	arch_storage_list(s, "wal/", count_cb, &n, &err);
	tap_is_int(n, 3, "list the whole wal/ tree");
	n = 0;
	arch_storage_list(s, "wal/0000000100000000/000000010000000000000002", count_cb, &n, &err);
	tap_is_int(n, 1, "list by a partial file name");
	n = 0;
	tap_ok(arch_storage_list(s, "nothing/here", count_cb, &n, &err) == ARCH_OK && n == 0,
		   "list of an absent prefix is empty");

	tap_ok(arch_storage_remove(s, name, &err) == ARCH_OK, "remove");
	tap_ok(arch_storage_remove(s, name, &err) == ARCH_NOT_FOUND, "remove again is NOT_FOUND");
	arch_storage_close(s);

	tap_ok(arch_storage_open("file://relative", NULL, &s, &err) == ARCH_FATAL,
		   "relative file URL refused at open");

	arch_buf_free(&got);
	arch_free(dir);
	arch_free(url);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmpdir);
	return tap_done();
}
