/*-------------------------------------------------------------------------
 *
 * cmd_delete.c
 *		dbops_archive delete --retain N: expire old backups and the WAL no
 *		retained backup needs.
 *
 * Kept: the newest N full backups, every complete backup newer than the
 * oldest of them, every backup whose objects a kept one names (the
 * backups an incremental builds on), and every incomplete backup younger
 * than cleanup-grace (by its label, the time it started): it may still be
 * running.  With --retain-wal-days=D, also the newest complete backup that
 * ended D days ago or earlier: WAL of the last D days is worth keeping only
 * with a backup it can be replayed on, so the repository stays able to
 * restore to any moment of those days.  Removed: the other backups (the manifest first, so a backup is
 * never complete with a part missing), and WAL segments, .partial and
 * .backup files older than the oldest kept backup's first WAL file.
 * Timeline history files are kept.  --dry-run says what would go.
 *
 * archive_helper/cmd_delete.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <time.h>

#include "backup_catalog.h"
#include "cli.h"
#include "common/logging.h"
#include "wal_name.h"

const ArchOption cmd_delete_options[] = {
	{"retain", true, "--retain=N             full backups to keep (at least 1)"},
	{"retain-wal-days", true, "--retain-wal-days=D    also keep what restores to any moment of the last D days"},
	{"dry-run", false, "--dry-run              say what would be removed, remove nothing"},
	{NULL}
};

void
cmd_delete_help(const char *progname)
{
	printf("%s delete removes old backups and the WAL no kept backup needs.\n\n", progname);
	printf("Usage:\n  %s delete --retain=N [OPTION]...\n", progname);
	cli_print_options(cmd_delete_options);
	printf("\nIncomplete backups (killed, or in progress) go once older than cleanup-grace.\n");
	printf("Exit status: 0 done, 2 configuration, 3 storage failure, 4 a corrupt manifest.\n");
}

/*
 * --retain-wal-days: D days (a decimal number, at least 0) into *seconds;
 * -1 when not given
 */
static ArchStatus
parse_wal_days(const char *text, double *seconds, ArchError *err)
{
	char	   *end;
	double		days;

	*seconds = -1;
	if (text == NULL)
		return ARCH_OK;
	errno = 0;
	days = strtod(text, &end);
	if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 ||
		!(days >= 0 && days <= 36500))
		return arch_error(err, ARCH_FATAL,
						  "invalid value \"%s\" for --retain-wal-days: a number of days from 0 to 36500 is required",
						  text);
	*seconds = days * 86400;
	return ARCH_OK;
}

/* When a backup started, from its label (UTC) */
static time_t
label_time(const char *label)
{
	struct tm	tm;

	memset(&tm, 0, sizeof(tm));
	strptime(label, "%Y%m%dT%H%M%S", &tm);
	return timegm(&tm);
}

/*
 * Remove every object of backup label, its manifest first, and what its
 * interrupted writes left (temporary files, unfinished uploads): all of
 * it is older than the grace, or the backup would be kept.
 */
static ArchStatus
delete_backup(ArchStorage *storage, const char *label, bool dry_run,
			  ArchError *err)
{
	char	   *prefix = psprintf(BACKUP_PREFIX "%s/", label);
	char	   *manifest = backup_object(label, "manifest");
	ArchNameList objects = {0};
	int			swept;
	ArchStatus	st = arch_storage_list_names(storage, prefix, &objects, err);

	if (st == ARCH_OK && !dry_run)
		st = arch_storage_cleanup(storage, prefix, time(NULL), &swept, err);
	for (int i = 0; st == ARCH_OK && !dry_run && i < objects.n; i++)
		if (strcmp(objects.names[i], manifest) == 0)
			st = arch_storage_remove(storage, manifest, err);
	for (int i = 0; st == ARCH_OK && !dry_run && i < objects.n; i++)
		if (strcmp(objects.names[i], manifest) != 0)
		{
			st = arch_storage_remove(storage, objects.names[i], err);
			/* removed meanwhile by another delete */
			if (st == ARCH_NOT_FOUND)
				st = ARCH_OK;
		}
	arch_name_list_free(&objects);
	pg_free(manifest);
	pg_free(prefix);
	return st;
}

/* Is the WAL file object name older than first (a segment name)? */
static bool
wal_expired(const char *name, const char *first)
{
	const char *file = strrchr(name, '/');
	ArchWalName wal;

	if (file == NULL || !arch_wal_parse(file + 1, &wal) || wal.kind == ARCH_WAL_TIMELINE_HISTORY)
		return false;
	/* log and segment, whatever the timeline: characters 9 to 24 */
	return strncmp(file + 1 + 8, first + 8, 16) < 0;
}

int
cmd_delete(ArchCli *cli)
{
	ArchKeyring ring;
	ArchDecodeOptions dopts;
	ArchStorage *storage = NULL;
	BackupCatalog cat = {0};
	BackupManifest *ms = NULL;
	bool	   *keep = NULL;
	const char *retain_text = cli_option(cli, "retain");
	bool		dry_run = cli_option(cli, "dry-run") != NULL;
	const char *verb = dry_run ? "would remove" : "removed";
	int			retain = 0;
	int			fulls = 0;
	int			removed = 0;
	const char *oldest_wal = NULL;
	int64_t		grace = -1;
	double		wal_seconds;
	ArchNameList wal = {0};
	int			wal_removed = 0;
	ArchError	err;
	ArchStatus	st;

	st = cli_begin_reading(cli, &ring, &dopts, &storage, &err);
	if (st == ARCH_OK && (retain_text == NULL || (retain = atoi(retain_text)) < 1 ||
						  strspn(retain_text, "0123456789") != strlen(retain_text)))
		st = arch_error(&err, ARCH_FATAL, "--retain=N with N at least 1 is required");
	if (st == ARCH_OK)
		st = parse_wal_days(cli_option(cli, "retain-wal-days"), &wal_seconds, &err);
	if (st == ARCH_OK)
		st = arch_config_get_duration(cli->cfg, "cleanup-grace", &grace, &err);
	if (st == ARCH_OK)
		st = backup_catalog_load(storage, &cat, &err);
	ms = pg_malloc0(sizeof(BackupManifest) * (cat.n + 1));
	keep = pg_malloc0(sizeof(bool) * (cat.n + 1));
	for (int i = 0; st == ARCH_OK && i < cat.n; i++)
		if (cat.entries[i].complete)
			st = backup_manifest_read(storage, &dopts, cat.entries[i].label, &ms[i], &err);

	/* newest first: the last N full backups and everything after them */
	for (int i = cat.n - 1; st == ARCH_OK && i >= 0; i--)
	{
		if (!cat.entries[i].complete)
			keep[i] = grace < 0 || label_time(cat.entries[i].label) > time(NULL) - grace;
		else if (fulls < retain)
		{
			keep[i] = true;
			fulls += !ms[i].incremental;
		}
	}
	/* the window: the newest backup that ended before it began */
	for (int i = cat.n - 1; st == ARCH_OK && wal_seconds >= 0 && i >= 0; i--)
	{
		if (cat.entries[i].complete &&
			(double) ms[i].stop_time <= (double) time(NULL) - wal_seconds)
		{
			keep[i] = true;
			break;
		}
	}
	/* and what a kept backup names: the backups it builds on */
	for (int i = cat.n - 1; st == ARCH_OK && i >= 0; i--)
	{
		if (!keep[i] || !cat.entries[i].complete)
			continue;
		for (int f = 0; f < ms[i].nfiles; f++)
			for (int p = 0; p < ms[i].files[f].nparts; p++)
				for (int j = 0; j < i; j++)
					if (!keep[j] && strncmp(ms[i].files[f].parts[p].object + strlen(BACKUP_PREFIX),
											cat.entries[j].label, strlen(cat.entries[j].label)) == 0)
						keep[j] = true;
	}
	for (int i = 0; st == ARCH_OK && i < cat.n; i++)
	{
		if (keep[i])
		{
			if (cat.entries[i].complete && oldest_wal == NULL)
				oldest_wal = ms[i].start_wal;
			continue;
		}
		st = delete_backup(storage, cat.entries[i].label, dry_run, &err);
		if (st == ARCH_OK)
		{
			printf("%s %sbackup \"%s\"\n", verb,
				   cat.entries[i].complete ? "" : "incomplete ", cat.entries[i].label);
			removed++;
		}
	}

	/* WAL older than the oldest kept backup's first file; none without a backup */
	if (st == ARCH_OK && oldest_wal != NULL)
		st = arch_storage_list_names(storage, "wal/", &wal, &err);
	for (int i = 0; st == ARCH_OK && i < wal.n; i++)
	{
		if (!wal_expired(wal.names[i], oldest_wal))
			continue;
		if (!dry_run)
			st = arch_storage_remove(storage, wal.names[i], &err);
		if (st == ARCH_NOT_FOUND)
			st = ARCH_OK;
		wal_removed += st == ARCH_OK;
	}
	if (st == ARCH_OK)
		printf("%s %d backup%s and %d WAL file%s older than %s from repository \"%s\"\n",
			   verb, removed, removed == 1 ? "" : "s", wal_removed, wal_removed == 1 ? "" : "s",
			   oldest_wal ? oldest_wal : "any kept backup", storage->url.text);
	else
		cli_log_error(&err);

	for (int i = 0; i < cat.n; i++)
		if (cat.entries[i].complete && ms[i].label[0])
			backup_manifest_free(&ms[i]);
	pg_free(ms);
	pg_free(keep);
	arch_name_list_free(&wal);
	backup_catalog_free(&cat);
	arch_storage_close(storage);
	arch_keyring_free(&ring);
	return cli_exit_code(st);
}
