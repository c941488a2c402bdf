/*-------------------------------------------------------------------------
 *
 * cmd_check.c
 *		dbops_archive check: is the configuration complete and the
 *		repository usable?
 *
 * Run it before setting archive_command: it loads the settings and keys,
 * then writes, reads back (through the object format, so compression and
 * encryption are exercised too), lists and removes one object under
 * "check/".  Nothing under "wal/" is touched.
 *
 * archive_helper/cmd_check.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <unistd.h>
#include "cli.h"
#include "common/logging.h"
#include "object_io.h"

void
cmd_check_help(const char *progname)
{
	printf("%s check tests the configuration and the repository.\n\n", progname);
	printf("Usage:\n  %s check [OPTION]...\n\n", progname);
	printf("It writes, reads back, lists and removes one object under \"check/\".\n");
	printf("Exit status: 0 usable, 2 configuration, 3 storage failure.\n");
}

/* ArchListCallback: note that the name was listed */
static ArchStatus
check_list_cb(void *arg, const char *name, uint64_t size, ArchError *err)
{
	const char *wanted = ((const char **) arg)[0];

	if (strcmp(name, wanted) == 0)
		((const char **) arg)[1] = name;
	return ARCH_OK;
}

static ArchStatus
check_repo(ArchCli *cli, ArchStorage *storage, const ArchKeyring *ring,
		   ArchError *err)
{
	ArchEncodeOptions opts;
	ArchDecodeOptions dopts;
	char		host[256] = "localhost";
	char	   *name;
	char	   *plain;
	ArchBuf		back = {0};
	const char *listed[2];
	ArchStatus	st;

	st = cli_encode_options(cli, ring, &opts, err);
	if (st == ARCH_OK)
		st = cli_decode_options(cli, ring, &dopts, err);
	if (st != ARCH_OK)
		return st;
	gethostname(host, sizeof(host) - 1);
	name = psprintf("check/%s-%d", host, (int) getpid());
	plain = psprintf("dbops_archive check from %s, process %d", host, (int) getpid());

	st = arch_object_put_buf(storage, name, &opts, false, plain, strlen(plain), NULL, err);
	if (st == ARCH_OK)
		st = arch_object_get_buf(storage, name, &dopts, &back, err);
	if (st == ARCH_OK &&
		(back.len != strlen(plain) || memcmp(back.data, plain, back.len) != 0))
		st = arch_error(err, ARCH_CORRUPT, "object \"%s\" read back differs from what was written",
						name);
	if (st == ARCH_OK)
	{
		listed[0] = name;
		listed[1] = NULL;
		st = arch_storage_list(storage, "check/", check_list_cb, listed, err);
		if (st == ARCH_OK && listed[1] == NULL)
			st = arch_error(err, ARCH_FATAL, "object \"%s\" was written but is not listed", name);
	}
	if (st == ARCH_OK)
		st = arch_storage_remove(storage, name, err);

	arch_buf_free(&back);
	pg_free(name);
	pg_free(plain);
	return st;
}

int
cmd_check(ArchCli *cli)
{
	ArchKeyring ring;
	ArchStorage *storage = NULL;
	ArchError	err;
	ArchStatus	st;

	st = cli_begin(cli, &ring, &err);
	if (st == ARCH_OK)
		st = cli_open_repo(cli, &storage, &err);
	if (st == ARCH_OK)
		st = check_repo(cli, storage, &ring, &err);
	if (st == ARCH_OK)
		printf("repository \"%s\" is usable: an object was written, read back, listed and removed%s\n",
			   storage->url.text, ring.nkeys > 0 ? " (encrypted)" : "");
	else
		cli_log_error(&err);
	arch_storage_close(storage);
	arch_keyring_free(&ring);
	if (st == ARCH_OK)
		return ARCH_EXIT_OK;
	return st == ARCH_TRANSIENT ? ARCH_EXIT_TRANSIENT : ARCH_EXIT_CONFIG;
}
