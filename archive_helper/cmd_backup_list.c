/*-------------------------------------------------------------------------
 *
 * cmd_backup_list.c
 *		dbops_archive backup-list: the backups of a repository and the
 *		window a restore can reach.
 *
 * Only complete backups (those with a manifest) are backups; those in
 * progress or killed are counted apart.  The recoverable window runs from
 * the end of the oldest backup to the last WAL file the newest one reaches
 * without a gap, across timeline switches (wal_chain.h; wal-verify checks
 * every backup).
 *
 * archive_helper/cmd_backup_list.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "access/xlogdefs.h"

#include "backup_catalog.h"
#include "cli.h"
#include "common/logging.h"
#include "wal_chain.h"
#include "wal_name.h"

const ArchOption cmd_backup_list_options[] = {
	{"json", false, "--json                 print the list as JSON"},
	{NULL}
};

void
cmd_backup_list_help(const char *progname)
{
	printf("%s backup-list lists the backups of the repository.\n\n", progname);
	printf("Usage:\n  %s backup-list [OPTION]...\n", progname);
	cli_print_options(cmd_backup_list_options);
	printf("\nExit status: 0 listed, 2 configuration, 3 storage failure, 4 a corrupt manifest.\n");
}

static void
human(uint64_t bytes, char *out, size_t size)
{
	if (bytes >= (uint64_t) 1 << 30)
		snprintf(out, size, "%.1f GB", bytes / (double) ((uint64_t) 1 << 30));
	else
		snprintf(out, size, "%.1f MB", bytes / (double) (1 << 20));
}

int
cmd_backup_list(ArchCli *cli)
{
	ArchKeyring ring;
	ArchDecodeOptions dopts;
	ArchStorage *storage = NULL;
	BackupCatalog cat = {0};
	BackupManifest *ms = NULL;
	int			nm = 0;
	int			incomplete = 0;
	WalArchive	wal = {0};
	WalReach	reach_info;
	char		reach[ARCH_WAL_SEGMENT_NAME_LEN + 1] = "";
	bool		json = cli_option(cli, "json") != NULL;
	ArchError	err;
	ArchStatus	st;

	st = cli_begin_reading(cli, &ring, &dopts, &storage, &err);
	if (st == ARCH_OK)
		st = backup_catalog_load(storage, &cat, &err);
	if (st == ARCH_OK)
		st = wal_archive_load(storage, &dopts, &wal, &err);
	ms = pg_malloc0(sizeof(BackupManifest) * (cat.n + 1));
	for (int i = 0; i < cat.n && st == ARCH_OK; i++)
	{
		if (!cat.entries[i].complete)
		{
			incomplete++;
			continue;
		}
		st = backup_manifest_read(storage, &dopts, cat.entries[i].label, &ms[nm], &err);
		if (st == ARCH_OK)
			nm++;
	}
	if (st != ARCH_OK)
	{
		cli_log_error(&err);
		goto done;
	}
	/* the newest backup's WAL, as far as it goes without a gap */
	if (nm > 0)
	{
		const BackupManifest *last = &ms[nm - 1];

		wal_archive_reach(&wal, last->timeline,
						  wal_name_segno(last->start_wal, last->wal_segment_size),
						  last->wal_segment_size, &reach_info);
		if (reach_info.any)
			arch_wal_segment_name(reach, reach_info.last.tli, reach_info.last.segno,
								  last->wal_segment_size);
	}

	if (json)
		printf("{\"backups\": [");
	else if (nm > 0)
		printf("%-17s %-4s %-17s %-20s %-20s %-49s %9s %9s %8s\n", "label", "type", "base",
			   "start (UTC)", "stop (UTC)", "WAL", "size", "stored", "duration");
	for (int i = 0, j = 0; i < cat.n; i++)
	{
		const BackupManifest *m;
		char		start[32];
		char		stop[32];
		char		size[32];
		char		stored[32];

		if (!cat.entries[i].complete)
			continue;
		m = &ms[j++];
		backup_format_time(m->start_time, start, sizeof(start));
		backup_format_time(m->stop_time, stop, sizeof(stop));
		if (json)
			printf("%s\n  {\"label\": \"%s\", \"type\": \"%s\", \"base\": %s%s%s, "
				   "\"start_time\": \"%s\", \"stop_time\": \"%s\", "
				   "\"start_lsn\": \"%X/%X\", \"stop_lsn\": \"%X/%X\", \"timeline\": %u, "
				   "\"start_wal\": \"%s\", \"stop_wal\": \"%s\", \"files\": %d, "
				   "\"size\": %llu, \"stored\": %llu, \"duration\": %lld}",
				   j > 1 ? "," : "", m->label, m->incremental ? "incr" : "full",
				   m->base[0] ? "\"" : "", m->base[0] ? m->base : "null", m->base[0] ? "\"" : "",
				   start, stop, LSN_FORMAT_ARGS(m->start_lsn), LSN_FORMAT_ARGS(m->stop_lsn),
				   m->timeline, m->start_wal, m->stop_wal, m->nfiles,
				   (unsigned long long) m->size, (unsigned long long) cat.entries[i].stored,
				   (long long) (m->stop_time - m->start_time));
		else
		{
			human(m->size, size, sizeof(size));
			human(cat.entries[i].stored, stored, sizeof(stored));
			printf("%-17s %-4s %-17s %-20s %-20s %s-%s %9s %9s %7llds\n", m->label,
				   m->incremental ? "incr" : "full", m->base[0] ? m->base : "-", start, stop,
				   m->start_wal, m->stop_wal, size, stored,
				   (long long) (m->stop_time - m->start_time));
		}
	}
	if (json)
	{
		char		earliest[32] = "";

		if (nm > 0)
			backup_format_time(ms[0].stop_time, earliest, sizeof(earliest));
		printf("%s],\n \"incomplete\": %d,\n \"window\": ", nm ? "\n" : "", incomplete);
		if (nm > 0 && reach[0])
			printf("{\"earliest_time\": \"%s\", \"earliest_lsn\": \"%X/%X\", \"latest_wal\": \"%s\"}}\n",
				   earliest, LSN_FORMAT_ARGS(ms[0].stop_lsn), reach);
		else
			printf("null}\n");
	}
	else
	{
		char		earliest[32];

		if (nm == 0)
			printf("no complete backup in repository \"%s\"\n", storage->url.text);
		else if (reach[0] == '\0')
			printf("\nrecoverable window: none: the WAL of the newest backup (from %s) is not in the archive\n",
				   ms[nm - 1].start_wal);
		else
		{
			backup_format_time(ms[0].stop_time, earliest, sizeof(earliest));
			printf("\nrecoverable window: from %s (LSN %X/%X) to the end of WAL file %s\n",
				   earliest, LSN_FORMAT_ARGS(ms[0].stop_lsn), reach);
		}
		if (incomplete > 0)
			printf("%d incomplete backup%s (in progress, or interrupted) not listed\n",
				   incomplete, incomplete == 1 ? "" : "s");
	}

done:
	for (int i = 0; i < nm; i++)
		backup_manifest_free(&ms[i]);
	pg_free(ms);
	wal_archive_free(&wal);
	backup_catalog_free(&cat);
	arch_storage_close(storage);
	arch_keyring_free(&ring);
	return cli_exit_code(st);
}
