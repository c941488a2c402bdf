/*-------------------------------------------------------------------------
 *
 * cmd_cleanup.c
 *		dbops_archive cleanup: remove what interrupted writes left in the
 *		repository.
 *
 * A push or backup killed mid-write leaves a temporary file (file://) or
 * an unfinished multipart upload (s3://) that no later run finishes, and
 * that takes room or is billed until removed.  wal-push sweeps the
 * directory it writes to now and then (cmd_wal_push.c); this command
 * sweeps the whole repository, for a cron job or after an incident.  Only
 * leftovers older than cleanup-grace go, so that writes still in progress,
 * here or on another host, are never touched.
 *
 * archive_helper/cmd_cleanup.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <time.h>

#include "cli.h"
#include "common/logging.h"

void
cmd_cleanup_help(const char *progname)
{
	printf("%s cleanup removes leftovers of interrupted writes from the repository.\n\n", progname);
	printf("Usage:\n  %s cleanup [OPTION]...\n\n", progname);
	printf("Temporary files (file://) and unfinished multipart uploads (s3://) older than\n"
		   "cleanup-grace are removed; on S3 this needs s3:ListBucketMultipartUploads and\n"
		   "s3:AbortMultipartUpload.\n");
	printf("Exit status: 0 done, 2 configuration, 3 storage failure.\n");
}

int
cmd_cleanup(ArchCli *cli)
{
	ArchStorage *storage = NULL;
	int64_t		grace = -1;
	int			removed = 0;
	ArchError	err;
	ArchStatus	st;

	st = cli_load_config(cli, &err);
	if (st == ARCH_OK)
		st = arch_config_get_duration(cli->cfg, "cleanup-grace", &grace, &err);
	if (st == ARCH_OK && grace < 0)
	{
		st = arch_error(&err, ARCH_FATAL, "setting \"cleanup-grace\" is off");
		arch_error_detail(&err, ARCH_FATAL,
						  "Give the age of the leftovers to remove, as in --cleanup-grace=24h.");
	}
	if (st == ARCH_OK)
		st = cli_open_repo(cli, &storage, &err);
	if (st == ARCH_OK)
		st = arch_storage_cleanup(storage, "", time(NULL) - grace, &removed, &err);
	if (st == ARCH_OK)
		printf("removed %d leftover%s of interrupted writes older than %s from repository \"%s\"\n",
			   removed, removed == 1 ? "" : "s",
			   arch_config_get(cli->cfg, "cleanup-grace"), storage->url.text);
	else
		cli_log_error(&err);
	arch_storage_close(storage);
	if (st == ARCH_OK)
		return ARCH_EXIT_OK;
	return st == ARCH_TRANSIENT ? ARCH_EXIT_TRANSIENT : ARCH_EXIT_CONFIG;
}
