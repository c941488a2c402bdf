/*-------------------------------------------------------------------------
 *
 * cmd_backup_push.c
 *		dbops_archive backup-push: a base backup of a running cluster,
 *		streamed to the repository.
 *
 * Method (README, "Backups"): the low-level backup API.  One libpq
 * session calls pg_backup_start and stays open while worker threads read
 * the data directory and stream each file, in parts of BACKUP_PART_SIZE,
 * through the object pipeline (object_io.h); then pg_backup_stop gives
 * the backup label and tablespace map, which are stored like files.  It
 * is the method of pgBackRest; PostgreSQL 15's BASE_BACKUP cannot skip
 * unchanged files, which incremental backups need, and sends one stream
 * that only one process can read.
 *
 * The manifest (backup_manifest.h) goes last, so a backup is complete
 * exactly when its manifest exists; a killed run leaves objects that
 * delete and cleanup remove later.  pg_backup_stop waits until the WAL
 * the backup needs is archived, so a complete backup restores.
 *
 * archive_helper/cmd_backup_push.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "access/xlogdefs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup_catalog.h"
#include "backup_scan.h"
#include "cli.h"
#include "cluster_id.h"
#include "common/logging.h"
#include "control_file.h"
#include "local_file.h"
#include "object_io.h"
#include "parallel.h"
#include "pg_conn.h"
#include "progress.h"
#include "status_file.h"
#include "wal_name.h"

/* Files are stored in parts of this size: parallel within large files */
#define BACKUP_PART_SIZE ((uint64_t) 128 * 1024 * 1024)

/*
 * An incremental backup stores a file again unless its size and mtime are
 * those of the previous manifest and its mtime is older than the previous
 * backup's start by this many seconds (DESIGN, Backups): a file written
 * within the same second as that start may have changed unseen.
 */
#define BACKUP_MTIME_MARGIN 10

const ArchOption cmd_backup_push_options[] = {
	{"dbname", true, "--dbname=CONNINFO      the server to back up (default: libpq's PGHOST, PGPORT...)"},
	{"pgdata", true, "--pgdata=DIR           its data directory (default: the server's data_directory)"},
	{"incremental", false, "--incremental          store only the files changed since the latest backup"},
	{"checksum-delta", false, "--checksum-delta       with --incremental: compare SHA-256, not size and mtime"},
	{"json", false, "--json                 print a summary as JSON on stdout"},
	{NULL}
};

void
cmd_backup_push_help(const char *progname)
{
	printf("%s backup-push takes a base backup of a running cluster into the repository.\n\n", progname);
	printf("Usage:\n  %s backup-push [OPTION]...\n", progname);
	cli_print_options(cmd_backup_push_options);
	printf("\nRun it on the database host, as a user who can read the data directory and\n"
		   "connect as a superuser or a role with pg_backup_start.  archive_mode must be on\n"
		   "with archive_command = '... wal-push %%p' into the same repository.\n");
	printf("Exit status: 0 complete and durable, 2 configuration, 3 storage or server failure.\n");
}

/* What the workers share */
typedef struct PushRun
{
	ArchCli    *cli;
	const char *pgdata;
	const ArchEncodeOptions *eopts;
	BackupManifest *m;
	int			njobs;
	int		   *job_file;		/* per job: file index and part index */
	int		   *job_part;
	ArchStorage **repos;		/* one per worker */
	ArchStatus *status;
	ArchError  *errors;
	const BackupPart **job_prev;	/* --checksum-delta: the previous part */
	bool	   *vanished;		/* per file: removed since the scan */
	Progress	progress;
	pthread_mutex_t lock;
	uint64_t	stored;
} PushRun;

/*
 * --checksum-delta: keep the previous backup's object for this part when
 * the bytes hash the same; else clear job_prev, and the part is stored.
 */
static ArchStatus
push_same_part(PushRun *r, int job, int fd, const char *path, bool last)
{
	BackupPart *p = &r->m->files[r->job_file[job]].parts[r->job_part[job]];
	const BackupPart *prev = r->job_prev[job];
	uint8_t		sha[32];
	uint64_t	size;
	ArchStatus	st = arch_file_sha256(fd, path, p->offset, last ? -1 : (int64_t) p->size,
									  sha, &size, &r->errors[job]);

	if (st == ARCH_OK && size == prev->size && memcmp(sha, prev->sha256, 32) == 0)
	{
		pg_free(p->object);
		p->object = pg_strdup(prev->object);
		p->size = size;
		memcpy(p->sha256, sha, 32);
	}
	else
		r->job_prev[job] = NULL;
	return st;
}

static void
push_part_job(void *arg, int job, int worker)
{
	PushRun    *r = arg;
	BackupFile *f = &r->m->files[r->job_file[job]];
	BackupPart *p = &f->parts[r->job_part[job]];
	bool		last = r->job_part[job] == f->nparts - 1;
	char	   *path = psprintf("%s/%s", r->pgdata, f->path);
	ArchObjectHeader hdr;
	uint64_t	stored = 0;
	struct stat sb;
	bool		absent = false;
	int			fd = -1;
	ArchStatus	st;

	st = r->repos[worker] ? ARCH_OK : cli_open_repo(r->cli, &r->repos[worker], &r->errors[job]);
	if (st == ARCH_OK)
		st = arch_open_local_file(path, "file", &fd, &sb, &absent, &r->errors[job]);
	/* dropped since the scan: WAL replay removes it anyway */
	if (st != ARCH_OK && absent)
	{
		r->vanished[r->job_file[job]] = true;
		st = ARCH_OK;
	}
	else if (st == ARCH_OK && r->job_prev[job] != NULL)
		st = push_same_part(r, job, fd, path, last);
	if (st == ARCH_OK && fd >= 0 && r->job_prev[job] == NULL)
	{
		/* the last part reads to the end: the file may have grown */
		st = arch_object_put_file(r->repos[worker], p->object, r->eopts, true, fd, path,
								  p->offset, last ? -1 : (int64_t) p->size, &hdr,
								  &stored, &r->errors[job]);
		if (st == ARCH_OK)
		{
			p->size = hdr.plain_size;
			memcpy(p->sha256, hdr.sha256, 32);
		}
	}
	if (fd >= 0)
		close(fd);
	r->status[job] = st;
	pthread_mutex_lock(&r->lock);
	r->stored += stored;
	pthread_mutex_unlock(&r->lock);
	progress_add(&r->progress, p->size);
	pg_free(path);
}

static int
file_ptr_cmp(const void *a, const void *b)
{
	return strcmp((*(BackupFile *const *) a)->path, (*(BackupFile *const *) b)->path);
}

/* The files of a manifest sorted by path, for lookups; pg_free it */
static BackupFile **
files_by_path(const BackupManifest *m)
{
	BackupFile **index = pg_malloc(sizeof(BackupFile *) * (m->nfiles + 1));

	for (int i = 0; i < m->nfiles; i++)
		index[i] = &m->files[i];
	qsort(index, m->nfiles, sizeof(BackupFile *), file_ptr_cmp);
	return index;
}

static const BackupFile *
file_lookup(BackupFile **index, int n, const char *path)
{
	BackupFile	key = {.path = (char *) path};
	BackupFile *keyp = &key;
	BackupFile **found = bsearch(&keyp, index, n, sizeof(BackupFile *), file_ptr_cmp);

	return found ? *found : NULL;
}

/* May f be taken from prev (its entry there) as it is, by size and mtime? */
static bool
push_unchanged(const BackupManifest *prev, const BackupFile *p, const BackupFile *f)
{
	return p != NULL && p->size == f->size && p->mtime == f->mtime &&
		f->mtime < prev->start_time - BACKUP_MTIME_MARGIN;
}

/* The server's answers that the backup needs before it starts */
typedef struct ServerInfo
{
	int			version;
	char	   *data_directory;
	uint64_t	sysid;
} ServerInfo;

static ArchStatus
push_server_info(PGconn *conn, ServerInfo *info, ArchError *err)
{
	char	   *v;

	memset(info, 0, sizeof(ServerInfo));
	if ((v = pg_conn_value(conn, "SELECT pg_catalog.current_setting('server_version_num')", 0, NULL, err)) == NULL)
		return ARCH_FATAL;
	info->version = atoi(v);
	pg_free(v);
	if (info->version / 10000 != PG_VERSION_NUM / 10000)
		return arch_error(err, ARCH_FATAL, "the server is PostgreSQL %d, this dbops_archive was built for %d",
						  info->version / 10000, PG_VERSION_NUM / 10000);
	if ((v = pg_conn_value(conn, "SELECT pg_catalog.pg_is_in_recovery()", 0, NULL, err)) == NULL)
		return ARCH_FATAL;
	if (strcmp(v, "t") == 0)
	{
		pg_free(v);
		arch_error(err, ARCH_FATAL, "the server is in recovery");
		return arch_error_detail(err, ARCH_FATAL, "backup-push backs up a primary.");
	}
	pg_free(v);
	if ((v = pg_conn_value(conn, "SELECT pg_catalog.current_setting('archive_mode')", 0, NULL, err)) == NULL)
		return ARCH_FATAL;
	if (strcmp(v, "off") == 0)
	{
		pg_free(v);
		arch_error(err, ARCH_FATAL, "archive_mode is off on the server");
		return arch_error_detail(err, ARCH_FATAL,
								 "A base backup restores only with the WAL written while it was taken: set archive_mode = on and archive_command = 'dbops_archive wal-push %%p'.");
	}
	pg_free(v);
	if ((v = pg_conn_value(conn, "SELECT system_identifier FROM pg_catalog.pg_control_system()", 0, NULL, err)) == NULL)
		return ARCH_FATAL;
	info->sysid = strtoull(v, NULL, 10);
	pg_free(v);
	info->data_directory = pg_conn_value(conn, "SELECT pg_catalog.current_setting('data_directory')",
										 0, NULL, err);
	return info->data_directory ? ARCH_OK : ARCH_FATAL;
}

/* Start the backup: its label, start LSN, timeline and first WAL file */
static ArchStatus
push_start(PGconn *conn, BackupManifest *m, ArchError *err)
{
	const char *params[1] = {m->label};
	PGresult   *res;
	ArchStatus	st;

	m->start_time = (int64_t) time(NULL);
	st = pg_conn_query(conn,
					   "SELECT b::text, pg_catalog.pg_walfile_name(b), "
					   "(SELECT timeline_id FROM pg_catalog.pg_control_checkpoint()) "
					   "FROM pg_catalog.pg_backup_start($1, true) AS b",
					   1, params, &res, err);
	if (st != ARCH_OK)
		return st;
	if (!backup_parse_lsn(PQgetvalue(res, 0, 0), &m->start_lsn))
		st = arch_error(err, ARCH_FATAL, "unexpected start LSN \"%s\"", PQgetvalue(res, 0, 0));
	strlcpy(m->start_wal, PQgetvalue(res, 0, 1), sizeof(m->start_wal));
	m->timeline = (uint32_t) strtoul(PQgetvalue(res, 0, 2), NULL, 10);
	PQclear(res);
	return st;
}

/*
 * Stop the backup; store the backup label and tablespace map as files of
 * the backup.  pg_backup_stop switches to a new WAL file; push_wait_wal
 * then waits for the last one the backup needs.
 */
static ArchStatus
push_stop(PGconn *conn, ArchStorage *storage, const ArchEncodeOptions *eopts,
		  BackupManifest *m, ArchError *err)
{
	PGresult   *res;
	ArchStatus	st;

	st = pg_conn_query(conn,
					   "SELECT lsn::text, pg_catalog.pg_walfile_name(lsn), labelfile, spcmapfile "
					   "FROM pg_catalog.pg_backup_stop(false)",
					   0, NULL, &res, err);
	if (st != ARCH_OK)
		return st;
	m->stop_time = (int64_t) time(NULL);
	if (!backup_parse_lsn(PQgetvalue(res, 0, 0), &m->stop_lsn))
		st = arch_error(err, ARCH_FATAL, "unexpected stop LSN \"%s\"", PQgetvalue(res, 0, 0));
	strlcpy(m->stop_wal, PQgetvalue(res, 0, 1), sizeof(m->stop_wal));
	for (int i = 0; i < 2 && st == ARCH_OK; i++)
	{
		const char *content = PQgetvalue(res, 0, 2 + i);
		const char *file = i == 0 ? "backup_label" : "tablespace_map";
		char	   *object;
		ArchObjectHeader hdr;
		BackupFile *f;

		if (PQgetisnull(res, 0, 2 + i) || content[0] == '\0')
			continue;
		object = psprintf(BACKUP_PREFIX "%s/data/%s", m->label, file);
		st = arch_object_put_buf(storage, object, eopts, true, content, strlen(content), &hdr, err);
		if (st == ARCH_OK)
		{
			f = backup_manifest_add_file(m, file, 0600, m->stop_time, strlen(content));
			memcpy(backup_file_add_part(f, object, 0, strlen(content))->sha256, hdr.sha256, 32);
			m->size += strlen(content);
		}
		pg_free(object);
	}
	PQclear(res);
	return st;
}

/*
 * Plan the parts of every file: taken from the previous backup (an
 * unchanged file, or with --checksum-delta a part to hash first), or to
 * be stored as backup/LABEL/data/N.P.  Returns the bytes to read.
 */
static uint64_t
push_plan(PushRun *r, const BackupManifest *prev, bool checksum_delta)
{
	BackupManifest *m = r->m;
	BackupFile **index = prev ? files_by_path(prev) : NULL;
	uint64_t	total = 0;

	r->job_file = NULL;
	r->job_part = NULL;
	r->job_prev = NULL;
	for (int i = 0; i < m->nfiles; i++)
	{
		BackupFile *f = &m->files[i];
		const BackupFile *p = index ? file_lookup(index, prev->nfiles, f->path) : NULL;
		int			nparts = (int) ((f->size + BACKUP_PART_SIZE - 1) / BACKUP_PART_SIZE);

		if (push_unchanged(prev, p, f))
		{
			for (int j = 0; j < p->nparts; j++)
				memcpy(backup_file_add_part(f, p->parts[j].object, p->parts[j].offset,
											p->parts[j].size)->sha256,
					   p->parts[j].sha256, 32);
			continue;
		}
		/* an empty file still gets a part: it may have grown since */
		for (int j = 0; j < Max(nparts, 1); j++)
		{
			char	   *object = psprintf(BACKUP_PREFIX "%s/data/%d.%d", m->label, i, j);
			uint64_t	size = Min(BACKUP_PART_SIZE, f->size - (uint64_t) j * BACKUP_PART_SIZE);
			const BackupPart *pp = (checksum_delta && p && j < p->nparts &&
									p->parts[j].offset == (uint64_t) j * BACKUP_PART_SIZE) ?
				&p->parts[j] : NULL;

			backup_file_add_part(f, object, (uint64_t) j * BACKUP_PART_SIZE, size);
			pg_free(object);
			r->job_file = pg_realloc(r->job_file, sizeof(int) * (r->njobs + 1));
			r->job_part = pg_realloc(r->job_part, sizeof(int) * (r->njobs + 1));
			r->job_prev = pg_realloc(r->job_prev, sizeof(BackupPart *) * (r->njobs + 1));
			r->job_file[r->njobs] = i;
			r->job_part[r->njobs] = j;
			r->job_prev[r->njobs++] = pp;
			total += size;
		}
	}
	pg_free(index);
	return total;
}

/*
 * After the workers: drop files removed since the scan and parts that
 * came out empty (a file truncated meanwhile), and size each file by its
 * last part.
 */
static void
push_settle(PushRun *r)
{
	BackupManifest *m = r->m;
	int			kept = 0;

	m->size = 0;
	for (int i = 0; i < m->nfiles; i++)
	{
		BackupFile *f = &m->files[i];
		int			nparts = 0;

		if (r->vanished[i])
		{
			for (int j = 0; j < f->nparts; j++)
				pg_free(f->parts[j].object);
			pg_free(f->parts);
			pg_free(f->path);
			continue;
		}
		for (int j = 0; j < f->nparts; j++)
		{
			if (f->parts[j].size == 0)
				pg_free(f->parts[j].object);
			else
				f->parts[nparts++] = f->parts[j];
		}
		f->nparts = nparts;
		f->size = nparts ? f->parts[nparts - 1].offset + f->parts[nparts - 1].size : 0;
		m->size += f->size;
		m->files[kept++] = *f;
	}
	m->nfiles = kept;
}

/*
 * Wait until the repository holds the last WAL file the backup needs, at
 * most archive-timeout: this also proves that archive_command pushes into
 * this repository.  (pg_backup_stop(true) would wait without a limit.)
 */
static ArchStatus
push_wait_wal(ArchCli *cli, ArchStorage *storage, const BackupManifest *m,
			  ArchError *err)
{
	char	   *object = arch_wal_object_name(m->stop_wal);
	int64_t		timeout;
	double		until;
	ArchObjectHeader hdr;
	ArchStatus	st = arch_config_get_duration(cli->cfg, "archive-timeout", &timeout, err);

	until = progress_now() + (timeout < 0 ? 0 : timeout);
	while (st == ARCH_OK)
	{
		st = arch_object_head(storage, object, &hdr, err);
		if (st != ARCH_NOT_FOUND || progress_now() > until)
			break;
		st = ARCH_OK;
		pg_usleep(100000);
	}
	if (st == ARCH_NOT_FOUND)
	{
		arch_error(err, ARCH_TRANSIENT,
				   "WAL file \"%s\", the last that backup \"%s\" needs, did not reach repository \"%s\" within archive-timeout (%s)",
				   m->stop_wal, m->label, storage->url.text, arch_config_get(cli->cfg, "archive-timeout"));
		arch_error_detail(err, ARCH_TRANSIENT,
						  "Check that archive_command is \"dbops_archive wal-push %%p\" into this repository, and pg_stat_archiver.");
	}
	pg_free(object);
	return st;
}

/* The newest complete backup of the same cluster, to build on */
static ArchStatus
push_previous(ArchStorage *storage, const ArchDecodeOptions *dopts,
			  uint64_t sysid, BackupManifest *prev, bool *found, ArchError *err)
{
	BackupCatalog cat;
	const BackupEntry *e;
	ArchStatus	st = backup_catalog_load(storage, &cat, err);

	*found = false;
	if (st != ARCH_OK)
		return st;
	e = backup_catalog_find(&cat, "LATEST", err);
	if (e == NULL)
	{
		backup_catalog_free(&cat);
		arch_error(err, ARCH_FATAL, "no backup to build an incremental backup on");
		return arch_error_detail(err, ARCH_FATAL, "Take a full backup first (backup-push without --incremental).");
	}
	st = backup_manifest_read(storage, dopts, e->label, prev, err);
	backup_catalog_free(&cat);
	if (st == ARCH_OK && prev->sysid != sysid)
	{
		backup_manifest_free(prev);
		return arch_error(err, ARCH_FATAL, "the latest backup is of another cluster");
	}
	*found = st == ARCH_OK;
	return st;
}

/* A label not used before: the time, F or I */
static void
push_label(BackupManifest *m)
{
	time_t		now = time(NULL);
	struct tm	tm;

	gmtime_r(&now, &tm);
	strftime(m->label, sizeof(m->label), "%Y%m%dT%H%M%S", &tm);
	strcat(m->label, m->incremental ? "I" : "F");
}

static void
push_summary(ArchCli *cli, const BackupManifest *m, uint64_t stored, double secs)
{
	char		start[32];
	char		stop[32];

	backup_format_time(m->start_time, start, sizeof(start));
	backup_format_time(m->stop_time, stop, sizeof(stop));
	if (cli_option(cli, "json"))
		printf("{\"label\": \"%s\", \"type\": \"%s\", \"base\": %s%s%s, "
			   "\"start_time\": \"%s\", \"stop_time\": \"%s\", "
			   "\"start_lsn\": \"%X/%X\", \"stop_lsn\": \"%X/%X\", \"timeline\": %u, "
			   "\"start_wal\": \"%s\", \"stop_wal\": \"%s\", \"files\": %d, "
			   "\"size\": %llu, \"stored\": %llu, \"duration\": %.3f}\n",
			   m->label, m->incremental ? "incr" : "full",
			   m->base[0] ? "\"" : "", m->base[0] ? m->base : "null", m->base[0] ? "\"" : "",
			   start, stop, LSN_FORMAT_ARGS(m->start_lsn), LSN_FORMAT_ARGS(m->stop_lsn),
			   m->timeline, m->start_wal, m->stop_wal, m->nfiles,
			   (unsigned long long) m->size, (unsigned long long) stored, secs);
	else if (isatty(fileno(stderr)))
		pg_log_info("backup \"%s\" complete: %d files, %llu MB, %llu MB stored, WAL %s to %s, %.1f s",
					m->label, m->nfiles, (unsigned long long) (m->size >> 20),
					(unsigned long long) (stored >> 20), m->start_wal, m->stop_wal, secs);
}

int
cmd_backup_push(ArchCli *cli)
{
	ArchKeyring ring;
	ArchEncodeOptions eopts;
	ArchDecodeOptions dopts;
	ArchStorage *storage = NULL;
	PGconn	   *conn = NULL;
	ServerInfo	server = {0};
	BackupManifest m = {0};
	BackupManifest prev = {0};
	bool		have_prev = false;
	bool		leased = false;
	PushRun		r = {0};
	ControlInfo control;
	const char *pgdata;
	char	   *skip = NULL;
	char	   *object;
	ArchBuf		text = {0};
	int64_t		parallel = 2;
	int64_t		ahead;
	double		secs = 0;
	ArchError	err;
	ArchStatus	st;

	st = cli_begin(cli, &ring, &err);
	if (st == ARCH_OK)
		st = cli_encode_options(cli, &ring, &eopts, &err);
	if (st == ARCH_OK)
		st = cli_decode_options(cli, &ring, &dopts, &err);
	if (st == ARCH_OK)
		st = cli_ahead_settings(cli, &parallel, &ahead, &err);
	if (st == ARCH_OK && cli_option(cli, "checksum-delta") && !cli_option(cli, "incremental"))
		st = arch_error(&err, ARCH_FATAL, "--checksum-delta goes with --incremental");
	if (st == ARCH_OK)
		st = cli_open_repo(cli, &storage, &err);
	if (st == ARCH_OK)
		st = pg_conn_open(cli_option(cli, "dbname"), &conn, &err);
	if (st == ARCH_OK)
		st = push_server_info(conn, &server, &err);

	/* the directory we read must be the server's, and the repository its */
	pgdata = cli_option(cli, "pgdata") ? cli_option(cli, "pgdata") : server.data_directory;
	if (st == ARCH_OK && !control_file_read(pgdata, &control))
		st = arch_error(&err, ARCH_FATAL, "could not read the control file of data directory \"%s\"", pgdata);
	if (st == ARCH_OK && control.sysid != server.sysid)
		st = arch_error(&err, ARCH_FATAL,
						"data directory \"%s\" belongs to the cluster with system identifier %llu, the server to %llu",
						pgdata, (unsigned long long) control.sysid,
						(unsigned long long) server.sysid);
	if (st == ARCH_OK)
		st = cluster_id_check(storage, &eopts, &dopts, server.sysid, &err);
	if (st == ARCH_OK && cli_option(cli, "incremental"))
		st = push_previous(storage, &dopts, server.sysid, &prev, &have_prev, &err);

	/* the lease marks a backup in progress; its label must be new */
	m.incremental = have_prev;
	if (have_prev)
		strcpy(m.base, prev.label);
	push_label(&m);
	m.sysid = server.sysid;
	m.pg_version = server.version;
	m.wal_segment_size = control.seg_size;
	object = backup_object(m.label, "lease");
	if (st == ARCH_OK)
	{
		char	   *lease = psprintf("backup-push pid %d started %lld\n", (int) getpid(),
									 (long long) time(NULL));

		st = arch_object_put_buf(storage, object, &eopts, true, lease, strlen(lease), NULL, &err);
		if (st == ARCH_EXISTS)
			st = arch_error(&err, ARCH_FATAL, "backup \"%s\" exists already: one backup a second", m.label);
		leased = st == ARCH_OK;
		pg_free(lease);
	}
	pg_free(object);

	if (st == ARCH_OK)
		st = push_start(conn, &m, &err);
	if (st == ARCH_OK && arch_config_get(cli->cfg, "status-file"))
		skip = realpath(arch_config_get(cli->cfg, "status-file"), NULL);
	if (st == ARCH_OK)
		st = backup_scan(pgdata, skip, &m, &err);
	if (st == ARCH_OK)
	{
		r.cli = cli;
		r.pgdata = pgdata;
		r.eopts = &eopts;
		r.m = &m;
		progress_begin(&r.progress, "backed up", push_plan(&r, have_prev ? &prev : NULL,
															 cli_option(cli, "checksum-delta") != NULL));
		r.repos = pg_malloc0(sizeof(ArchStorage *) * parallel);
		r.status = pg_malloc0(sizeof(ArchStatus) * (r.njobs + 1));
		r.errors = pg_malloc0(sizeof(ArchError) * (r.njobs + 1));
		r.vanished = pg_malloc0(sizeof(bool) * (m.nfiles + 1));
		pthread_mutex_init(&r.lock, NULL);
		parallel_run((int) parallel, r.njobs, push_part_job, &r);
		secs = progress_end(&r.progress);
		for (int i = 0; i < r.njobs && st == ARCH_OK; i++)
			if ((st = r.status[i]) != ARCH_OK)
				err = r.errors[i];
		for (int i = 0; i < parallel; i++)
			arch_storage_close(r.repos[i]);
		pthread_mutex_destroy(&r.lock);
	}
	if (st == ARCH_OK)
	{
		push_settle(&r);
		st = push_stop(conn, storage, &eopts, &m, &err);
	}
	if (st == ARCH_OK)
		st = push_wait_wal(cli, storage, &m, &err);
	/* last: the manifest makes the backup complete */
	if (st == ARCH_OK)
	{
		backup_manifest_write(&m, &text);
		object = backup_object(m.label, "manifest");
		st = arch_object_put_buf(storage, object, &eopts, true, text.data, text.len, NULL, &err);
		pg_free(object);
	}
	if (st == ARCH_OK)
	{
		status_file_note(cli, "backup", m.label);
		push_summary(cli, &m, r.stored, secs);
	}
	else
	{
		cli_log_error(&err);
		if (leased)
			pg_log_error_detail("Backup \"%s\" is not complete; \"dbops_archive delete\" removes what it stored.",
								m.label);
	}

	/* ending the session ends a backup that did not stop */
	pg_conn_close(conn);
	arch_buf_free(&text);
	pg_free(r.job_file);
	pg_free(r.job_part);
	pg_free(r.job_prev);
	pg_free(r.repos);
	pg_free(r.status);
	pg_free(r.errors);
	pg_free(r.vanished);
	free(skip);
	pg_free(server.data_directory);
	backup_manifest_free(&m);
	if (have_prev)
		backup_manifest_free(&prev);
	arch_storage_close(storage);
	arch_keyring_free(&ring);
	return cli_exit_code(st);
}
