/*-------------------------------------------------------------------------
 *
 * cmd_backup_fetch.c
 *		dbops_archive backup-fetch NAME|LATEST PGDATA: restore a base
 *		backup, ready to recover to the end of the archive or a target.
 *
 * The restore itself, every part verified: backup_restore.h.
 *
 * Recovery settings: recovery_conf.h.  Targets: --target-time (with a
 * time zone), --target-lsn, --target-xid, --target-name,
 * --target-immediate, and --target-migration V, which resolves the LSN of
 * migration V's restore point from dbops.schema_migrations through
 * --dbname and stops just before it (recovery_target_inclusive = off);
 * without --dbname it falls back to the restore point's name.  With
 * LATEST and a time or LSN target, the newest backup that ends before the
 * target is chosen.
 *
 * archive_helper/cmd_backup_fetch.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <time.h>
#include <unistd.h>

#include "backup_catalog.h"
#include "backup_restore.h"
#include "cli.h"
#include "common/logging.h"
#include "pg_conn.h"
#include "recovery_conf.h"

const ArchOption cmd_backup_fetch_options[] = {
	{"target-time", true, "--target-time=TIME     recover to this time (with a time zone, e.g. '2026-12-04 08:15:00+00')"},
	{"target-lsn", true, "--target-lsn=LSN       recover to this WAL location"},
	{"target-xid", true, "--target-xid=XID       recover to the commit of this transaction"},
	{"target-name", true, "--target-name=NAME     recover to this restore point"},
	{"target-immediate", false, "--target-immediate     recover only until the backup is consistent"},
	{"target-migration", true, "--target-migration=V   recover to just before migration V (its dbops restore point)"},
	{"dbname", true, "--dbname=CONNINFO      with --target-migration: where to look up its LSN"},
	{"target-action", true, "--target-action=A      pause (default), promote or shutdown at the target"},
	{"target-timeline", true, "--target-timeline=T    latest (default), current or a timeline id"},
	{"delta", false, "--delta                restore into a stopped cluster's directory, rewriting what differs"},
	{"archive-mode", true, "--archive-mode=preserve  keep archive_mode (default: off in the restored cluster)"},
	{"tablespace-map", true, "--tablespace-map=OLD=NEW  restore the tablespace at OLD to NEW (repeatable)"},
	{"json", false, "--json                 print a summary as JSON"},
	{NULL}
};

void
cmd_backup_fetch_help(const char *progname)
{
	printf("%s backup-fetch restores a base backup into a data directory for recovery.\n\n", progname);
	printf("Usage:\n  %s backup-fetch [OPTION]... NAME|LATEST PGDATA\n", progname);
	cli_print_options(cmd_backup_fetch_options);
	printf("\nIt writes restore_command, the target and recovery.signal; start the server to\n"
		   "recover.  The restored cluster has archive_mode = off, so it never archives into\n"
		   "the repository of the cluster it was taken from.\n");
	printf("Exit status: 0 restored and verified, 2 usage or configuration, 3 storage\n"
		   "failure, 4 a missing or corrupt part (named).\n");
}

/* ---------------------------------------------------------------- targets */

/*
 * A time with an explicit zone, as PostgreSQL reads it: "YYYY-MM-DD
 * HH:MM:SS[.frac](Z|UTC|+HH[:MM]|-HH[:MM])"; seconds since the epoch.  A
 * time without a zone would depend on the restored server's TimeZone.
 */
static bool
parse_target_time(const char *text, double *t)
{
	struct tm	tm;
	const char *p;
	double		frac = 0;
	int			sign;
	int			hh = 0;
	int			mm = 0;
	int			n = 0;

	memset(&tm, 0, sizeof(tm));
	p = strptime(text, "%Y-%m-%d", &tm);
	if (p == NULL || (*p != ' ' && *p != 'T'))
		return false;
	p = strptime(p + 1, "%H:%M:%S", &tm);
	if (p == NULL)
		return false;
	if (*p == '.')
	{
		char	   *end;

		frac = strtod(p, &end);
		p = end;
	}
	while (*p == ' ')
		p++;
	if (strcmp(p, "Z") == 0 || strcmp(p, "UTC") == 0)
		sign = 0;
	else if ((*p == '+' || *p == '-') &&
			 (sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &n) == 2 ||
			  sscanf(p + 1, "%2d%n", &hh, &n) == 1) && p[1 + n] == '\0')
		sign = *p == '+' ? 1 : -1;
	else
		return false;
	*t = (double) timegm(&tm) + frac - sign * (hh * 3600 + mm * 60);
	return true;
}

/*
 * The name of migration V's restore point: "dbops:V", or, when that is
 * longer than PostgreSQL's 63 bytes, "dbops:" and the first 57 hex digits
 * of V's SHA-256.
 */
static char *
migration_point_name(const char *version)
{
	uint8_t		sha[32];
	char		hex[65];

	if (strlen("dbops:") + strlen(version) <= 63)
		return psprintf("dbops:%s", version);
	arch_sha256(version, strlen(version), sha);
	arch_hex(sha, 32, hex);
	return psprintf("dbops:%.57s", hex);
}

/* Where migration V's restore point is, from dbops.schema_migrations */
static ArchStatus
migration_lsn(const char *conninfo, const char *version, char **lsn,
			  ArchError *err)
{
	PGconn	   *conn;
	const char *params[1] = {version};
	ArchStatus	st = pg_conn_open(conninfo, &conn, err);

	*lsn = NULL;
	if (st != ARCH_OK)
		return st;
	*lsn = pg_conn_value(conn,
						 "SELECT restore_lsn::text FROM dbops.schema_migrations WHERE version = $1",
						 1, params, err);
	pg_conn_close(conn);
	if (*lsn == NULL)
	{
		arch_error_detail(err, ARCH_FATAL,
						  "Migration \"%s\" must be applied with its restore point recorded (dbops.schema_migrations.restore_lsn).",
						  version);
		return ARCH_FATAL;
	}
	return ARCH_OK;
}

/* The one target the options name; ARCH_FATAL for two or a bad value */
static ArchStatus
fetch_target(ArchCli *cli, RecoveryTarget *t, char **owned, ArchError *err)
{
	static const char *const kinds[] = {"time", "lsn", "xid", "name", "immediate", "migration"};
	const char *migration = NULL;
	const char *action = cli_option(cli, "target-action");
	const char *mode = cli_option(cli, "archive-mode");
	uint64_t	lsn;
	double		when;

	memset(t, 0, sizeof(RecoveryTarget));
	*owned = NULL;
	for (int i = 0; i < (int) lengthof(kinds); i++)
	{
		char		name[32];
		const char *v;

		snprintf(name, sizeof(name), "target-%s", kinds[i]);
		if ((v = cli_option(cli, name)) == NULL)
			continue;
		if (t->kind != NULL || migration != NULL)
			return arch_error(err, ARCH_FATAL, "give one recovery target at most");
		if (strcmp(kinds[i], "migration") == 0)
			migration = v;
		else
		{
			t->kind = kinds[i];
			t->value = v;
		}
	}
	if (action && strcmp(action, "pause") != 0 && strcmp(action, "promote") != 0 &&
		strcmp(action, "shutdown") != 0)
		return arch_error(err, ARCH_FATAL, "invalid --target-action \"%s\": pause, promote or shutdown", action);
	if (mode && strcmp(mode, "preserve") != 0)
		return arch_error(err, ARCH_FATAL, "invalid --archive-mode \"%s\": only preserve", mode);
	t->action = action;
	t->preserve_archive_mode = mode != NULL;
	t->timeline = cli_option(cli, "target-timeline");
	if (cli_option(cli, "dbname") && migration == NULL)
		return arch_error(err, ARCH_FATAL, "--dbname goes with --target-migration");

	if (migration != NULL)
	{
		ArchStatus	st;

		t->exclusive = true;
		if (cli_option(cli, "dbname") == NULL)
		{
			t->kind = "name";
			t->value = *owned = migration_point_name(migration);
			pg_log_warning("without --dbname, recovery stops at the first restore point named \"%s\"",
						   t->value);
			pg_log_warning_detail("A migration applied again after a rollback made another point of the same name; --dbname finds the LSN recorded for it.");
			return ARCH_OK;
		}
		st = migration_lsn(cli_option(cli, "dbname"), migration, owned, err);
		if (st != ARCH_OK)
			return st;
		t->kind = "lsn";
		t->value = *owned;
	}
	if (t->kind && strcmp(t->kind, "lsn") == 0 && !backup_parse_lsn(t->value, &lsn))
		return arch_error(err, ARCH_FATAL, "invalid LSN \"%s\"", t->value);
	if (t->kind && strcmp(t->kind, "time") == 0 && !parse_target_time(t->value, &when))
	{
		arch_error(err, ARCH_FATAL, "invalid target time \"%s\"", t->value);
		return arch_error_detail(err, ARCH_FATAL, "Give YYYY-MM-DD HH:MM:SS with a time zone (+00, Z, or +02:00).");
	}
	if (t->kind && strcmp(t->kind, "xid") == 0 && strspn(t->value, "0123456789") != strlen(t->value))
		return arch_error(err, ARCH_FATAL, "invalid transaction id \"%s\"", t->value);
	if (t->kind && strcmp(t->kind, "name") == 0 && strlen(t->value) > 63)
		return arch_error(err, ARCH_FATAL, "restore point name \"%s\" is longer than 63 bytes", t->value);
	return ARCH_OK;
}

/* Does backup m end before the target, so recovery can reach it? */
static bool
reaches(const BackupManifest *m, const RecoveryTarget *t)
{
	uint64_t	lsn;
	double		when;

	if (t->kind && strcmp(t->kind, "lsn") == 0 && backup_parse_lsn(t->value, &lsn))
		return m->stop_lsn <= lsn;
	if (t->kind && strcmp(t->kind, "time") == 0 && parse_target_time(t->value, &when))
		return (double) m->stop_time <= when;
	return true;
}

/* The backup to restore: NAME, or the newest that can reach the target */
static ArchStatus
fetch_choose(ArchStorage *storage, const ArchDecodeOptions *dopts,
			 const char *name, const RecoveryTarget *t, BackupManifest *m,
			 ArchError *err)
{
	BackupCatalog cat;
	ArchStatus	st = backup_catalog_load(storage, &cat, err);
	bool		latest = strcmp(name, "LATEST") == 0;

	if (st != ARCH_OK)
		return st;
	st = ARCH_NOT_FOUND;
	for (int i = cat.n - 1; i >= 0 && st == ARCH_NOT_FOUND; i--)
	{
		if (!cat.entries[i].complete || (!latest && strcmp(cat.entries[i].label, name) != 0))
			continue;
		st = backup_manifest_read(storage, dopts, cat.entries[i].label, m, err);
		if (st == ARCH_OK && !reaches(m, t))
		{
			backup_manifest_free(m);
			st = latest ? ARCH_NOT_FOUND :
				arch_error(err, ARCH_FATAL, "backup \"%s\" ends after the recovery target", name);
		}
	}
	backup_catalog_free(&cat);
	if (st == ARCH_NOT_FOUND)
	{
		if (latest)
			arch_error(err, ARCH_FATAL, "no complete backup in repository \"%s\" ends before the recovery target",
					   storage->url.text);
		else
			arch_error(err, ARCH_FATAL, "backup \"%s\" is not a complete backup of repository \"%s\"",
					   name, storage->url.text);
		st = ARCH_FATAL;
	}
	return st;
}

int
cmd_backup_fetch(ArchCli *cli)
{
	const char *name = cli->argv[0];
	ArchKeyring ring;
	ArchDecodeOptions dopts;
	ArchStorage *storage = NULL;
	RecoveryTarget target;
	RestoreRequest req = {0};
	char	   *owned = NULL;
	BackupManifest m = {0};
	ArchBuf		settings = {0};
	double		secs = 0;
	bool		have_manifest = false;
	ArchError	err;
	ArchStatus	st;

	req.pgdata = cli->argv[1];
	req.delta = cli_option(cli, "delta") != NULL;
	st = cli_begin_reading(cli, &ring, &dopts, &storage, &err);
	if (st == ARCH_OK && req.pgdata[0] != '/')
		st = arch_error(&err, ARCH_FATAL, "data directory \"%s\" is not an absolute path", req.pgdata);
	if (st == ARCH_OK)
		st = fetch_target(cli, &target, &owned, &err);
	if (st == ARCH_OK)
		st = fetch_choose(storage, &dopts, name, &target, &m, &err);
	have_manifest = st == ARCH_OK;
	if (st == ARCH_OK && !backup_has_control_file(&m))
		st = arch_error(&err, ARCH_CORRUPT, "backup \"%s\" holds no global/pg_control", m.label);
	/* before a byte is written: a restore_command without a secret */
	if (st == ARCH_OK)
		st = recovery_conf_build(cli, &target, m.label, &settings, &err);
	if (st == ARCH_OK)
		st = backup_restore(cli, &dopts, &m, &req, &settings, &secs, &err);

	if (st == ARCH_OK && cli_option(cli, "json"))
		printf("{\"label\": \"%s\", \"pgdata\": \"%s\", \"files\": %d, \"size\": %llu, "
			   "\"target\": %s%s%s, \"duration\": %.3f}\n",
			   m.label, req.pgdata, m.nfiles, (unsigned long long) m.size,
			   target.kind ? "\"" : "", target.kind ? target.kind : "null",
			   target.kind ? "\"" : "", secs);
	else if (st == ARCH_OK && isatty(fileno(stderr)))
		pg_log_info("restored backup \"%s\" into \"%s\" (%d files, %llu MB, every part verified) in %.1f s; start the server to recover",
					m.label, req.pgdata, m.nfiles, (unsigned long long) (m.size >> 20), secs);
	else if (st != ARCH_OK)
	{
		cli_log_error(&err);
		if (have_manifest)
			pg_log_error_hint("\"%s\" is not a usable data directory: its pg_control was not restored.",
							  req.pgdata);
	}

	pg_free(owned);
	arch_buf_free(&settings);
	if (have_manifest)
		backup_manifest_free(&m);
	arch_storage_close(storage);
	arch_keyring_free(&ring);
	return cli_exit_code(st);
}
