/*-------------------------------------------------------------------------
 *
 * backup_scan.c
 *		Walk a data directory for a base backup (see backup_scan.h).
 *
 * archive_helper/backup_scan.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup_scan.h"
#include "common/logging.h"

/* Directories whose contents PostgreSQL does not need (basebackup.c) */
static const char *const empty_dirs[] = {
	"pg_wal", "pg_stat_tmp", "pg_replslot", "pg_dynshmem", "pg_notify",
	"pg_serial", "pg_snapshots", "pg_subtrans", NULL
};

/* Files never copied, at the top of the data directory */
static const char *const top_files[] = {
	"postmaster.pid", "postmaster.opts", "backup_label", "tablespace_map",
	"backup_manifest", "backup_label.old", "postgresql.auto.conf.tmp",
	"current_logfiles.tmp", "recovery.signal", "standby.signal", NULL
};

static bool
in_list(const char *name, const char *const *list)
{
	for (int i = 0; list[i]; i++)
		if (strcmp(name, list[i]) == 0)
			return true;
	return false;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The names in dir, sorted; NULL-terminated */
static char **
read_names(const char *dir, int *count)
{
	DIR		   *d = opendir(dir);
	struct dirent *de;
	char	  **names = NULL;
	int			n = 0;

	if (d == NULL)
	{
		*count = -1;
		return NULL;
	}
	while ((de = readdir(d)) != NULL)
	{
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		names = pg_realloc(names, sizeof(char *) * (n + 2));
		names[n++] = pg_strdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(char *), name_cmp);
	*count = n;
	return names;
}

/*
 * Is name a relation file (NNN, NNN.N, NNN_fsm...) of an unlogged relation,
 * whose init fork NNN_init is among names?  Those are reset from the init
 * fork at the end of recovery, so only the init fork is copied.
 */
static bool
unlogged_fork(const char *name, char **names, int n)
{
	size_t		digits = strspn(name, "0123456789");
	char		init[64];

	if (digits == 0 || digits > 20 || strcmp(name + digits, "_init") == 0)
		return false;
	snprintf(init, sizeof(init), "%.*s_init", (int) digits, name);
	return bsearch(&(const char *) {init}, names, n, sizeof(char *), name_cmp) != NULL;
}

/* Temporary relations (tBBB_NNN) and temporary files (pgsql_tmp*) */
static bool
temporary(const char *name)
{
	if (strncmp(name, "pgsql_tmp", 9) == 0)
		return true;
	return name[0] == 't' && isdigit((unsigned char) name[1]) &&
		strchr(name, '_') != NULL &&
		strspn(name + 1, "0123456789") == (size_t) (strchr(name, '_') - name - 1);
}

typedef struct Scan
{
	const char *skip;
	BackupManifest *m;
	ArchError  *err;
} Scan;

static ArchStatus scan_dir(Scan *s, const char *abs, const char *rel, bool empty);

/* One entry of a directory: a file, a directory or a tablespace link */
static ArchStatus
scan_entry(Scan *s, const char *abs, const char *rel, const char *name,
		   bool top, bool in_tblspc)
{
	struct stat st;

	if (lstat(abs, &st) != 0)
	{
		/* dropped while we looked: PostgreSQL replays its removal */
		if (errno == ENOENT)
			return ARCH_OK;
		return arch_error(s->err, ARCH_TRANSIENT, "could not stat file \"%s\": %m", abs);
	}
	/* the status file, and its lock and temporary file */
	if (s->skip && strncmp(abs, s->skip, strlen(s->skip)) == 0 &&
		(abs[strlen(s->skip)] == '\0' || strcmp(abs + strlen(s->skip), ".lock") == 0 ||
		 strcmp(abs + strlen(s->skip), ".tmp") == 0))
		return ARCH_OK;
	if (S_ISLNK(st.st_mode) && in_tblspc)
	{
		char		target[MAXPGPATH];
		ssize_t		len = readlink(abs, target, sizeof(target) - 1);
		BackupManifest *m = s->m;

		if (len <= 0)
			return arch_error(s->err, ARCH_TRANSIENT, "could not read link \"%s\": %m", abs);
		target[len] = '\0';
		m->tablespaces = pg_realloc(m->tablespaces,
									sizeof(BackupTablespace) * (m->ntablespaces + 1));
		m->tablespaces[m->ntablespaces].oid = pg_strdup(name);
		m->tablespaces[m->ntablespaces++].path = pg_strdup(target);
		if (stat(abs, &st) != 0 || !S_ISDIR(st.st_mode))
			return arch_error(s->err, ARCH_FATAL, "tablespace link \"%s\" does not lead to a directory", abs);
		backup_manifest_add_dir(m, rel, st.st_mode & 07777);
		return scan_dir(s, abs, rel, false);
	}
	/* pg_wal may be a link elsewhere: its contents are not copied anyway */
	if (S_ISLNK(st.st_mode) && top && strcmp(name, "pg_wal") == 0 && stat(abs, &st) != 0)
		return arch_error(s->err, ARCH_TRANSIENT, "could not stat directory \"%s\": %m", abs);
	if (S_ISDIR(st.st_mode))
	{
		backup_manifest_add_dir(s->m, rel, st.st_mode & 07777);
		return scan_dir(s, abs, rel, (top && in_list(name, empty_dirs)) ||
						strcmp(rel, "pg_wal/archive_status") == 0);
	}
	if (S_ISREG(st.st_mode))
		backup_manifest_add_file(s->m, rel, st.st_mode & 07777, (int64_t) st.st_mtime,
								 (uint64_t) st.st_size);
	else
		pg_log_warning("skipped \"%s\": not a regular file or directory", abs);
	return ARCH_OK;
}

/*
 * Walk abs (rel below the data directory, "" at the top).  empty: only
 * its subdirectories that PostgreSQL needs (pg_wal/archive_status).
 */
static ArchStatus
scan_dir(Scan *s, const char *abs, const char *rel, bool empty)
{
	int			n;
	char	  **names = read_names(abs, &n);
	bool		top = rel[0] == '\0';
	bool		tblspc = strcmp(rel, "pg_tblspc") == 0;
	ArchStatus	st = ARCH_OK;

	if (names == NULL && n < 0)
		return arch_error(s->err, ARCH_TRANSIENT, "could not open directory \"%s\": %m", abs);
	for (int i = 0; i < n && st == ARCH_OK; i++)
	{
		char	   *child_abs = psprintf("%s/%s", abs, names[i]);
		char	   *child_rel = top ? pg_strdup(names[i]) : psprintf("%s/%s", rel, names[i]);
		bool		skip = temporary(names[i]) || strcmp(names[i], "pg_internal.init") == 0 ||
			(top && in_list(names[i], top_files)) || unlogged_fork(names[i], names, n);

		if (empty)
			skip = strcmp(rel, "pg_wal") != 0 || strcmp(names[i], "archive_status") != 0;
		if (!skip)
			st = scan_entry(s, child_abs, child_rel, names[i], top, tblspc);
		pg_free(child_abs);
		pg_free(child_rel);
	}
	for (int i = 0; i < n; i++)
		pg_free(names[i]);
	pg_free(names);
	return st;
}

ArchStatus
backup_scan(const char *pgdata, const char *skip, BackupManifest *m,
			ArchError *err)
{
	Scan		s = {skip, m, err};

	return scan_dir(&s, pgdata, "", false);
}
