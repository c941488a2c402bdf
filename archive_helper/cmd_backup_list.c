/*-------------------------------------------------------------------------
 *
 * cmd_backup_list.c
 *		dbops_archive backup-list: the backups of a repository and the
 *		window a restore can reach.
 *
 * Only complete backups (those with a manifest) are backups; those in
 * progress or killed are counted apart.  The recoverable window runs from
 * the end of the oldest backup to the last WAL file archived after the
 * newest one without a gap (wal-verify checks every backup's range).
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

/*
 * The names of the WAL segments of the repository, sorted, in place of
 * the listing of wal/
 */
static void
wal_segments(ArchNameList *w)
{
	int			n = 0;

	for (int i = 0; i < w->n; i++)
	{
		const char *file = strrchr(w->names[i], '/');
		ArchWalName wal;

		if (file && arch_wal_parse(file + 1, &wal) && wal.kind == ARCH_WAL_SEGMENT)
		{
			char	   *name = pg_strdup(file + 1);

			pg_free(w->names[i]);
			w->names[n++] = name;
		}
		else
			pg_free(w->names[i]);
	}
	w->n = n;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * The last segment reachable from start without a gap, on start's
 * timeline (16 MiB segments: the name's log/seg arithmetic), or NULL.
 */
static const char *
wal_reach(const ArchNameList *w, const char *start)
{
	const char *last = NULL;
	ArchWalName prev;

	for (int i = 0; i < w->n; i++)
	{
		ArchWalName cur;

		if (strncmp(w->names[i], start, 8) != 0 || strcmp(w->names[i], start) < 0)
			continue;
		arch_wal_parse(w->names[i], &cur);
		if (last != NULL && !(cur.log == prev.log && cur.seg == prev.seg + 1) &&
			!(cur.log == prev.log + 1 && cur.seg == 0 && prev.seg == 0xFF))
			break;
		if (last == NULL && strcmp(w->names[i], start) != 0)
			break;
		last = w->names[i];
		prev = cur;
	}
	return last;
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
	ArchNameList wal = {0};
	bool		json = cli_option(cli, "json") != NULL;
	const char *reach = NULL;
	ArchError	err;
	ArchStatus	st;

	st = cli_begin(cli, &ring, &err);
	if (st == ARCH_OK)
		st = cli_decode_options(cli, &ring, &dopts, &err);
	if (st == ARCH_OK)
		st = cli_open_repo(cli, &storage, &err);
	if (st == ARCH_OK)
		st = backup_catalog_load(storage, &cat, &err);
	if (st == ARCH_OK)
		st = arch_storage_list_names(storage, "wal/", &wal, &err);
	wal_segments(&wal);
	if (st == ARCH_OK && wal.n > 1)
		qsort(wal.names, wal.n, sizeof(char *), str_cmp);
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
	if (nm > 0)
		reach = wal_reach(&wal, ms[nm - 1].start_wal);

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
		if (nm > 0 && reach)
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
		else if (reach == NULL)
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
	arch_name_list_free(&wal);
	backup_catalog_free(&cat);
	arch_storage_close(storage);
	arch_keyring_free(&ring);
	return cli_exit_code(st);
}
