/*-------------------------------------------------------------------------
 *
 * backup_restore.c
 *		Restore a base backup into a data directory (see backup_restore.h).
 *
 * Every part of every file is decoded, hashed and compared with the
 * manifest (size and SHA-256) as it is written; a missing or corrupt part
 * stops the restore, naming the part and its file.  pg_control is
 * restored last, under a temporary name renamed into place once all else
 * was verified and synced, so an interrupted or refused restore leaves a
 * directory PostgreSQL will not start.
 *
 * archive_helper/backup_restore.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "backup_restore.h"
#include "common/logging.h"
#include "object_io.h"
#include "parallel.h"
#include "progress.h"

#define CONTROL_FILE "global/pg_control"
#define CONTROL_TMP "global/pg_control.dbops-restore"

typedef struct FetchRun
{
	ArchCli    *cli;
	char	  **ts_targets;		/* per tablespace of the manifest */
	const ArchDecodeOptions *dopts;
	const char *pgdata;
	const BackupManifest *m;
	bool		delta;
	bool	   *existed;		/* per file: delta found it in place */
	int			njobs;
	int		   *job_file;
	int		   *job_part;
	ArchStorage **repos;		/* one per worker */
	ArchStatus *status;
	ArchError  *errors;
	Progress	progress;
} FetchRun;

/* Where file f of the backup goes: pg_control under a temporary name */
static char *
fetch_path(const FetchRun *r, const BackupFile *f)
{
	return psprintf("%s/%s", r->pgdata,
					strcmp(f->path, CONTROL_FILE) == 0 ? CONTROL_TMP : f->path);
}

/* What a part's decoder writes to: its file at its offset, hashed */
typedef struct PartSink
{
	int			fd;
	const char *path;
	uint64_t	offset;
	uint64_t	written;
	EVP_MD_CTX *md;
} PartSink;

static ArchStatus
part_sink(void *arg, const void *data, size_t len, ArchError *err)
{
	PartSink   *ps = arg;
	const char *p = data;

	EVP_DigestUpdate(ps->md, data, len);
	while (len > 0)
	{
		ssize_t		n = pwrite(ps->fd, p, len, (off_t) (ps->offset + ps->written));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return arch_error(err, ARCH_TRANSIENT, "could not write file \"%s\": %m", ps->path);
		p += n;
		len -= n;
		ps->written += n;
	}
	return ARCH_OK;
}

/* With --delta: do the bytes in place already hash as the part says? */
static bool
part_in_place(int fd, const char *path, const BackupPart *p)
{
	uint8_t		sha[32];
	uint64_t	size;
	ArchError	err;

	return arch_file_sha256(fd, path, p->offset, (int64_t) p->size, sha, &size, &err) == ARCH_OK &&
		size == p->size && memcmp(sha, p->sha256, 32) == 0;
}

/*
 * Restore one part: decode its object into the file, then compare what
 * was written with the manifest.  The error names the part and the file.
 */
static ArchStatus
fetch_part(FetchRun *r, const BackupFile *f, const BackupPart *p,
		   ArchStorage *storage, ArchError *err)
{
	char	   *path = fetch_path(r, f);
	PartSink	ps = {-1, path, p->offset, 0, NULL};
	uint8_t		sha[32];
	unsigned int sha_len = 32;
	ArchDecoder *decoder;
	ArchStatus	st = ARCH_OK;

	ps.fd = open(path, O_RDWR | PG_BINARY, 0);
	if (ps.fd < 0)
		st = arch_error(err, ARCH_TRANSIENT, "could not open file \"%s\": %m", path);
	if (st == ARCH_OK && r->delta && r->existed[f - r->m->files] && part_in_place(ps.fd, path, p))
	{
		close(ps.fd);
		pg_free(path);
		return ARCH_OK;
	}
	if (st == ARCH_OK)
	{
		ps.md = EVP_MD_CTX_new();
		EVP_DigestInit_ex(ps.md, EVP_sha256(), NULL);
		decoder = arch_decoder_begin(p->object, r->dopts, part_sink, &ps);
		st = arch_storage_read(storage, p->object, 0, arch_decoder_sink, decoder, err);
		if (st == ARCH_OK)
			st = arch_decoder_end(decoder, NULL, err);
		else
			arch_decoder_free(decoder);
		EVP_DigestFinal_ex(ps.md, sha, &sha_len);
		EVP_MD_CTX_free(ps.md);
		if (st == ARCH_OK && (ps.written != p->size || memcmp(sha, p->sha256, 32) != 0))
			st = arch_error(err, ARCH_CORRUPT, "object \"%s\" does not hold what the manifest says (size or SHA-256)",
							p->object);
		if (st == ARCH_OK && fsync(ps.fd) != 0)
			st = arch_error(err, ARCH_TRANSIENT, "could not fsync file \"%s\": %m", path);
	}
	if (ps.fd >= 0)
		close(ps.fd);
	if (st == ARCH_NOT_FOUND || st == ARCH_CORRUPT)
	{
		char		why[ARCH_ERROR_LEN];

		snprintf(why, sizeof(why), "%s", err->message);
		arch_error(err, ARCH_CORRUPT, "backup \"%s\": part \"%s\" of file \"%s\" is %s",
				   r->m->label, p->object, f->path, st == ARCH_NOT_FOUND ? "missing" : "corrupt");
		arch_error_detail(err, ARCH_CORRUPT, "%s", why);
		st = ARCH_CORRUPT;
	}
	pg_free(path);
	return st;
}

static void
fetch_job(void *arg, int job, int worker)
{
	FetchRun   *r = arg;
	const BackupFile *f = &r->m->files[r->job_file[job]];
	const BackupPart *p = &f->parts[r->job_part[job]];
	ArchStatus	st;

	st = r->repos[worker] ? ARCH_OK : cli_open_repo(r->cli, &r->repos[worker], &r->errors[job]);
	if (st == ARCH_OK)
		st = fetch_part(r, f, p, r->repos[worker], &r->errors[job]);
	r->status[job] = st;
	progress_add(&r->progress, p->size);
}

/* Is dir missing or empty?  (It is then ours to fill.) */
static bool
dir_unused(const char *dir)
{
	DIR		   *d = opendir(dir);
	struct dirent *de;
	bool		empty = true;

	if (d == NULL)
		return errno == ENOENT;
	while (empty && (de = readdir(d)) != NULL)
		empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
	closedir(d);
	return empty;
}

/* Does dir hold only PG_<version>_<catalog> directories, as a tablespace? */
static bool
dir_is_tablespace(const char *dir)
{
	DIR		   *d = opendir(dir);
	struct dirent *de;
	bool		ok = d != NULL;

	while (ok && (de = readdir(d)) != NULL)
		ok = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
			strncmp(de->d_name, "PG_", 3) == 0;
	if (d)
		closedir(d);
	return ok;
}

/* Create dir (mode) if missing; ARCH_OK when it is a directory then */
static ArchStatus
make_dir(const char *dir, mode_t mode, ArchError *err)
{
	struct stat st;

	if (mkdir(dir, mode) == 0 || (errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode)))
		return ARCH_OK;
	return arch_error(err, ARCH_FATAL, "could not create directory \"%s\": %m", dir);
}

/* Where tablespace ts goes: its --tablespace-map target, or where it was */
static const char *
tablespace_mapped(ArchCli *cli, const BackupTablespace *ts)
{
	const char *target = ts->path;

	for (int i = 0; i < cli->ncmdopts; i++)
	{
		const char *v = cli->cmdopt_values[i];
		size_t		len = strlen(ts->path);

		if (strcmp(cli->cmdopt_names[i], "tablespace-map") == 0 &&
			strncmp(v, ts->path, len) == 0 && v[len] == '=')
			target = v + len + 1;
	}
	return target;
}

/* Every --tablespace-map must name a tablespace of the backup */
static ArchStatus
check_tablespace_map(ArchCli *cli, const BackupManifest *m, ArchError *err)
{
	for (int i = 0; i < cli->ncmdopts; i++)
	{
		const char *v = cli->cmdopt_values[i];
		bool		known = false;

		if (strcmp(cli->cmdopt_names[i], "tablespace-map") != 0)
			continue;
		for (int j = 0; j < m->ntablespaces; j++)
			known |= strncmp(v, m->tablespaces[j].path, strlen(m->tablespaces[j].path)) == 0 &&
				v[strlen(m->tablespaces[j].path)] == '=' && v[strlen(m->tablespaces[j].path) + 1] == '/';
		if (!known)
			return arch_error(err, ARCH_FATAL,
							  "--tablespace-map \"%s\" names no tablespace of backup \"%s\" (OLD=NEW, both absolute)",
							  v, m->label);
	}
	return ARCH_OK;
}

/* Is the tablespace link pg_tblspc/OID of the backup? */
static const BackupTablespace *
tablespace_of(const BackupManifest *m, const char *rel)
{
	for (int i = 0; i < m->ntablespaces; i++)
		if (strncmp(rel, "pg_tblspc/", 10) == 0 && strcmp(rel + 10, m->tablespaces[i].oid) == 0)
			return &m->tablespaces[i];
	return NULL;
}

static bool
in_manifest(const BackupManifest *m, const char *rel, bool dir)
{
	if (dir)
	{
		for (int i = 0; i < m->ndirs; i++)
			if (strcmp(m->dirs[i].path, rel) == 0)
				return true;
		return false;
	}
	for (int i = 0; i < m->nfiles; i++)
		if (strcmp(m->files[i].path, rel) == 0)
			return true;
	return false;
}

/* rm -r of what a delta restore finds that the backup does not hold */
static ArchStatus
remove_tree(const char *path, ArchError *err)
{
	struct stat st;
	DIR		   *d;
	struct dirent *de;
	ArchStatus	s = ARCH_OK;

	if (lstat(path, &st) != 0)
		return ARCH_OK;
	if (S_ISDIR(st.st_mode) && (d = opendir(path)) != NULL)
	{
		while (s == ARCH_OK && (de = readdir(d)) != NULL)
		{
			char	   *child;

			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			child = psprintf("%s/%s", path, de->d_name);
			s = remove_tree(child, err);
			pg_free(child);
		}
		closedir(d);
		if (s == ARCH_OK && rmdir(path) != 0)
			s = arch_error(err, ARCH_TRANSIENT, "could not remove directory \"%s\": %m", path);
		return s;
	}
	if (unlink(path) != 0)
		return arch_error(err, ARCH_TRANSIENT, "could not remove file \"%s\": %m", path);
	return ARCH_OK;
}

/* --delta: remove what is under rel (abs) and not in the backup */
static ArchStatus
delta_sweep(const BackupManifest *m, const char *abs, const char *rel, ArchError *err)
{
	DIR		   *d = opendir(abs);
	struct dirent *de;
	ArchStatus	st = ARCH_OK;

	if (d == NULL)
		return ARCH_OK;
	while (st == ARCH_OK && (de = readdir(d)) != NULL)
	{
		char	   *child_abs;
		char	   *child_rel;
		struct stat sb;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		child_abs = psprintf("%s/%s", abs, de->d_name);
		child_rel = rel[0] ? psprintf("%s/%s", rel, de->d_name) : pg_strdup(de->d_name);
		if (lstat(child_abs, &sb) == 0)
		{
			bool		link_kept = S_ISLNK(sb.st_mode) && tablespace_of(m, child_rel);

			if (S_ISDIR(sb.st_mode) && in_manifest(m, child_rel, true))
				st = delta_sweep(m, child_abs, child_rel, err);
			else if (link_kept)
				st = delta_sweep(m, child_abs, child_rel, err);
			else if (!(S_ISREG(sb.st_mode) && in_manifest(m, child_rel, false)))
				st = remove_tree(child_abs, err);
		}
		pg_free(child_abs);
		pg_free(child_rel);
	}
	closedir(d);
	return st;
}

/*
 * Make the data directory ready: new or empty (or, with --delta, a
 * stopped cluster's, swept of what the backup does not hold), the
 * tablespaces at their targets, the directories of the backup.
 */
static ArchStatus
fetch_prepare(FetchRun *r, ArchError *err)
{
	const BackupManifest *m = r->m;
	char	   *pid = psprintf("%s/postmaster.pid", r->pgdata);
	ArchStatus	st = check_tablespace_map(r->cli, m, err);

	if (st == ARCH_OK && r->delta && access(pid, F_OK) == 0)
	{
		arch_error(err, ARCH_FATAL, "data directory \"%s\" holds postmaster.pid", r->pgdata);
		st = arch_error_detail(err, ARCH_FATAL,
							   "--delta never writes into a running cluster: stop it first (if it is not running, remove postmaster.pid).");
	}
	pg_free(pid);
	if (st == ARCH_OK && !r->delta && !dir_unused(r->pgdata))
	{
		arch_error(err, ARCH_FATAL, "data directory \"%s\" exists and is not empty", r->pgdata);
		st = arch_error_detail(err, ARCH_FATAL, "Restore into a new directory, or use --delta on a stopped cluster's.");
	}
	for (int i = 0; st == ARCH_OK && i < m->ntablespaces; i++)
	{
		const char *target = r->ts_targets[i];
		char	   *link = psprintf("%s/pg_tblspc/%s", r->pgdata, m->tablespaces[i].oid);
		char		old[MAXPGPATH];
		ssize_t		len = readlink(link, old, sizeof(old) - 1);

		/* a delta keeps a link only where it leads to the target */
		if (len > 0 && r->delta && (old[len] = '\0', strcmp(old, target) != 0))
			unlink(link);
		/*
		 * A delta writes into a tablespace that is there: but only one that
		 * looks like a tablespace (PG_* directories only), so that a
		 * manifest naming another directory cannot have files written there.
		 */
		if (r->delta && !dir_unused(target) && !dir_is_tablespace(target))
		{
			arch_error(err, ARCH_FATAL, "tablespace directory \"%s\" holds something other than a tablespace", target);
			st = arch_error_detail(err, ARCH_FATAL,
								   "Map it elsewhere with --tablespace-map=%s=NEWDIR.",
								   m->tablespaces[i].path);
		}
		else if (!r->delta && !dir_unused(target))
		{
			arch_error(err, ARCH_FATAL, "tablespace directory \"%s\" exists and is not empty", target);
			st = arch_error_detail(err, ARCH_FATAL,
								   "A restore never writes over a tablespace in use: map it elsewhere with --tablespace-map=%s=NEWDIR.",
								   m->tablespaces[i].path);
		}
		pg_free(link);
	}
	if (st == ARCH_OK)
		st = make_dir(r->pgdata, 0700, err);
	if (st == ARCH_OK && r->delta)
		st = delta_sweep(m, r->pgdata, "", err);
	/* from here until the end, the directory must not start */
	if (st == ARCH_OK && r->delta)
	{
		char	   *control = psprintf("%s/%s", r->pgdata, CONTROL_FILE);

		if (unlink(control) != 0 && errno != ENOENT)
			st = arch_error(err, ARCH_TRANSIENT, "could not remove \"%s\": %m", control);
		pg_free(control);
	}
	for (int i = 0; st == ARCH_OK && i < m->ndirs; i++)
	{
		char	   *dir = psprintf("%s/%s", r->pgdata, m->dirs[i].path);
		const BackupTablespace *ts = tablespace_of(m, m->dirs[i].path);

		if (ts)
		{
			const char *target = r->ts_targets[ts - m->tablespaces];

			st = make_dir(target, 0700, err);
			if (st == ARCH_OK && symlink(target, dir) != 0 && errno != EEXIST)
				st = arch_error(err, ARCH_FATAL, "could not create link \"%s\": %m", dir);
		}
		else
			st = make_dir(dir, m->dirs[i].mode & 0777 ? m->dirs[i].mode & 0777 : 0700, err);
		pg_free(dir);
	}
	return st;
}

/* Create every file at its size (sparse), and the jobs for its parts */
static ArchStatus
fetch_files(FetchRun *r, ArchError *err)
{
	const BackupManifest *m = r->m;
	uint64_t	total = 0;

	r->existed = pg_malloc0(sizeof(bool) * (m->nfiles + 1));
	for (int i = 0; i < m->nfiles; i++)
	{
		const BackupFile *f = &m->files[i];
		char	   *path = fetch_path(r, f);
		struct stat sb;
		int			fd;

		r->existed[i] = r->delta && lstat(path, &sb) == 0 && S_ISREG(sb.st_mode);
		fd = open(path, O_WRONLY | O_CREAT | PG_BINARY | (r->delta ? 0 : O_EXCL),
				  f->mode & 0777 ? f->mode & 0777 : 0600);
		if (fd < 0 || ftruncate(fd, (off_t) f->size) != 0)
		{
			ArchStatus	st = arch_error(err, ARCH_FATAL, "could not create file \"%s\": %m", path);

			if (fd >= 0)
				close(fd);
			pg_free(path);
			return st;
		}
		close(fd);
		pg_free(path);
		for (int j = 0; j < f->nparts; j++)
		{
			r->job_file = pg_realloc(r->job_file, sizeof(int) * (r->njobs + 1));
			r->job_part = pg_realloc(r->job_part, sizeof(int) * (r->njobs + 1));
			r->job_file[r->njobs] = i;
			r->job_part[r->njobs++] = j;
			total += f->parts[j].size;
		}
	}
	progress_begin(&r->progress, "restored", total);
	return ARCH_OK;
}

/* fsync a directory, or say why not */
static ArchStatus
sync_dir(const char *dir, ArchError *err)
{
	int			fd = open(dir, O_RDONLY, 0);
	bool		ok = fd >= 0 && fsync(fd) == 0;

	if (fd >= 0)
		close(fd);
	return ok ? ARCH_OK : arch_error(err, ARCH_TRANSIENT, "could not fsync directory \"%s\": %m", dir);
}

/* Write (append with append) path, durably */
static ArchStatus
write_file(const char *path, const char *text, bool append, ArchError *err)
{
	int			fd = open(path, O_WRONLY | O_CREAT | PG_BINARY | (append ? O_APPEND : O_TRUNC), 0600);
	size_t		len = strlen(text);
	bool		ok = fd >= 0 && write(fd, text, len) == (ssize_t) len && fsync(fd) == 0;

	if (fd >= 0)
		close(fd);
	return ok ? ARCH_OK : arch_error(err, ARCH_TRANSIENT, "could not write file \"%s\": %m", path);
}

/*
 * After every part: the tablespace map with its new targets, the recovery
 * settings and recovery.signal, every directory synced, and pg_control
 * renamed into place last.
 */
static ArchStatus
fetch_finish(FetchRun *r, const ArchBuf *settings, ArchError *err)
{
	const BackupManifest *m = r->m;
	ArchBuf		map = {0};
	char	   *path;
	char	   *tmp;
	ArchStatus	st = ARCH_OK;

	if (m->ntablespaces > 0)
	{
		for (int i = 0; i < m->ntablespaces; i++)
		{
			arch_buf_appendf(&map, "%s ", m->tablespaces[i].oid);
			for (const char *p = r->ts_targets[i]; *p; p++)
				arch_buf_appendf(&map, "%s%c", (*p == '\n' || *p == '\\') ? "\\" : "", *p);
			arch_buf_appendf(&map, "\n");
		}
		path = psprintf("%s/tablespace_map", r->pgdata);
		st = write_file(path, map.data, false, err);
		pg_free(path);
	}
	arch_buf_free(&map);
	if (st == ARCH_OK)
	{
		path = psprintf("%s/postgresql.auto.conf", r->pgdata);
		st = write_file(path, settings->data, true, err);
		pg_free(path);
	}
	if (st == ARCH_OK)
	{
		path = psprintf("%s/recovery.signal", r->pgdata);
		st = write_file(path, "", false, err);
		pg_free(path);
	}
	for (int i = 0; st == ARCH_OK && i < m->ndirs; i++)
	{
		path = psprintf("%s/%s", r->pgdata, m->dirs[i].path);
		st = sync_dir(path, err);
		pg_free(path);
	}
	if (st == ARCH_OK)
		st = sync_dir(r->pgdata, err);
	if (st == ARCH_OK)
	{
		path = psprintf("%s/%s", r->pgdata, CONTROL_FILE);
		tmp = psprintf("%s/%s", r->pgdata, CONTROL_TMP);
		if (rename(tmp, path) != 0)
			st = arch_error(err, ARCH_TRANSIENT, "could not rename \"%s\" to \"%s\": %m", tmp, path);
		pg_free(path);
		pg_free(tmp);
	}
	if (st == ARCH_OK)
	{
		path = psprintf("%s/global", r->pgdata);
		st = sync_dir(path, err);
		pg_free(path);
	}
	return st;
}

bool
backup_has_control_file(const BackupManifest *m)
{
	for (int i = 0; i < m->nfiles; i++)
		if (strcmp(m->files[i].path, CONTROL_FILE) == 0 && m->files[i].nparts > 0)
			return true;
	return false;
}


ArchStatus
backup_restore(ArchCli *cli, const ArchDecodeOptions *dopts,
			   const BackupManifest *m, const RestoreRequest *req,
			   const ArchBuf *settings, double *secs, ArchError *err)
{
	FetchRun	r = {0};
	int64_t		parallel = 2;
	int64_t		ahead;
	ArchStatus	st;

	*secs = 0;
	r.cli = cli;
	r.dopts = dopts;
	r.m = m;
	r.pgdata = req->pgdata;
	r.delta = req->delta;
	r.ts_targets = pg_malloc0(sizeof(char *) * (m->ntablespaces + 1));
	for (int i = 0; i < m->ntablespaces; i++)
		r.ts_targets[i] = req->tablespace_root ?
			psprintf("%s/%s", req->tablespace_root, m->tablespaces[i].oid) :
			pg_strdup(tablespace_mapped(cli, &m->tablespaces[i]));
	st = cli_ahead_settings(cli, &parallel, &ahead, err);
	if (st == ARCH_OK)
		st = fetch_prepare(&r, err);
	if (st == ARCH_OK)
		st = fetch_files(&r, err);
	if (st == ARCH_OK)
	{
		r.repos = pg_malloc0(sizeof(ArchStorage *) * parallel);
		r.status = pg_malloc0(sizeof(ArchStatus) * (r.njobs + 1));
		r.errors = pg_malloc0(sizeof(ArchError) * (r.njobs + 1));
		parallel_run((int) parallel, r.njobs, fetch_job, &r);
		*secs = progress_end(&r.progress);
		/* the worst failure wins: a corrupt part before a network error */
		for (int i = 0; i < r.njobs; i++)
			if (r.status[i] != ARCH_OK && (st == ARCH_OK || r.status[i] == ARCH_CORRUPT))
			{
				st = r.status[i];
				*err = r.errors[i];
			}
		for (int i = 0; i < parallel; i++)
			arch_storage_close(r.repos[i]);
	}
	if (st == ARCH_OK)
		st = fetch_finish(&r, settings, err);
	for (int i = 0; i < m->ntablespaces; i++)
		pg_free(r.ts_targets[i]);
	pg_free(r.ts_targets);
	pg_free(r.job_file);
	pg_free(r.job_part);
	pg_free(r.repos);
	pg_free(r.status);
	pg_free(r.errors);
	pg_free(r.existed);
	return st;
}
