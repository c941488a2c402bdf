/*-------------------------------------------------------------------------
 *
 * cmd_wal_push.c
 *		dbops_archive wal-push %p: the archive_command.
 *
 * PostgreSQL marks a WAL file archived, and may then recycle it, as soon
 * as archive_command exits 0; so 0 means the object is durably stored
 * (storage.h).  Any other code makes PostgreSQL retry the file later,
 * which is what we want for every failure, so wal-push never exits 126 or
 * above (that would stop the archiver).
 *
 * A file that is already archived is compared by the SHA-256 of its
 * plaintext, kept in the stored object's header: identical is success (an
 * earlier run stored it but PostgreSQL did not record it, e.g. after a
 * crash), different is exit 4 and the stored object is never replaced.
 *
 * With spool-path set, a call also pushes, on parallel threads, the
 * segments that PostgreSQL has already marked .ready after its own, and
 * leaves a marker for each (spool.h), so the later calls return at once.
 *
 * Now and then a push also removes what killed pushes left in the
 * directory it wrote to (push_sweep).
 *
 * archive_helper/cmd_wal_push.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cluster_id.h"
#include "common/logging.h"
#include "local_file.h"
#include "object_io.h"
#include "parallel.h"
#include "spool.h"
#include "status_file.h"
#include "wal_name.h"
#include "wal_page.h"

void
cmd_wal_push_help(const char *progname)
{
	printf("%s wal-push archives one WAL file; it is PostgreSQL's archive_command.\n\n", progname);
	printf("Usage:\n  %s wal-push [OPTION]... PATH\n\n", progname);
	printf("In postgresql.conf:\n  archive_command = '%s wal-push %%p'\n\n", progname);
	printf("Exit status: 0 stored durably (or already stored, identical),\n"
		   "2 configuration, 3 storage failure (PostgreSQL retries),\n"
		   "4 the archived copy differs (it is left unchanged).\n");
}

/*
 * Bytes of WAL waiting in pg_wal for the archiver: the files that have a
 * .ready status file.  -1 if the directory cannot be read.
 */
static int64
archive_queue_bytes(const char *wal_dir)
{
	char		status_dir[MAXPGPATH];
	DIR		   *dir;
	struct dirent *de;
	int64		total = 0;

	snprintf(status_dir, sizeof(status_dir), "%s/archive_status", wal_dir);
	dir = opendir(status_dir);
	if (dir == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL)
	{
		size_t		len = strlen(de->d_name);
		char		path[MAXPGPATH];
		struct stat st;

		if (len <= 6 || strcmp(de->d_name + len - 6, ".ready") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%.*s", wal_dir, (int) (len - 6), de->d_name);
		if (stat(path, &st) == 0)
			total += st.st_size;
	}
	closedir(dir);
	return total;
}

/*
 * The store failed.  With archive-push-queue-max set and pg_wal holding
 * more than that awaiting archiving, drop the file from the archive (exit
 * 0, so PostgreSQL may recycle it) rather than let pg_wal fill the disk
 * and stop the primary.  Returns true when the file was dropped.
 */
static bool
drop_for_queue_max(ArchCli *cli, const char *path, const char *file_name)
{
	uint64		max;
	ArchError	err;
	char	   *wal_dir;
	int64		queued;

	/*
	 * Without a configuration (the config file could not be loaded) the
	 * limit is unknown, and WAL is only ever dropped on purpose.
	 */
	if (cli->cfg == NULL)
		return false;
	if (arch_config_get_size(cli->cfg, "archive-push-queue-max", &max, &err) != ARCH_OK)
	{
		cli_log_error(&err);
		return false;
	}
	if (max == 0)
		return false;
	wal_dir = pg_strdup(path);
	get_parent_directory(wal_dir);
	if (wal_dir[0] == '\0')
		strcpy(wal_dir, ".");
	queued = archive_queue_bytes(wal_dir);
	pg_free(wal_dir);
	if (queued < 0 || (uint64) queued <= max)
		return false;

	pg_log_warning("dropped WAL file \"%s\" from the archive: %lld bytes await archiving, more than archive-push-queue-max (%llu)",
				   file_name, (long long) queued, (unsigned long long) max);
	pg_log_warning_detail("The archive now has a gap at \"%s\": point-in-time recovery across it is impossible.",
						  file_name);
	pg_log_warning_hint("Take a new base backup once archiving works again.");
	status_file_note(cli, "drop", file_name);
	return true;
}

/* Exit code for a status other than ARCH_OK and ARCH_EXISTS */
static int
push_exit_code(ArchStatus st)
{
	switch (st)
	{
		case ARCH_FATAL:
			return ARCH_EXIT_CONFIG;
		case ARCH_CORRUPT:
			return ARCH_EXIT_DIFFERS;
		default:
			return ARCH_EXIT_TRANSIENT;
	}
}

/*
 * The push of file_name failed with err (logged): the status file records
 * the failure, unless the queue limit drops the file instead.
 */
static int
push_failed(ArchCli *cli, const char *path, const char *file_name,
			ArchStatus st, const ArchError *err)
{
	if (drop_for_queue_max(cli, path, file_name))
		return ARCH_EXIT_OK;
	status_file_note_failure(cli, file_name, err->message);
	return push_exit_code(st);
}

/* How objects are encoded, and how the cluster record is read */
typedef struct PushCodec
{
	ArchEncodeOptions enc;
	ArchDecodeOptions dec;
} PushCodec;

/*
 * Compare the file at fd with the copy in the repository, whose header
 * says stored_sha: ARCH_OK when identical, ARCH_EXISTS (and the reason,
 * unless quiet) when not.  sha_hex gets the file's SHA-256.
 */
static ArchStatus
push_compare(ArchStorage *storage, int fd, const char *path,
			 const char *file_name, const uint8_t *stored_sha, bool quiet,
			 char *sha_hex, ArchError *err)
{
	uint8_t		sha[32];
	uint64_t	size;
	char		stored_hex[65];
	ArchStatus	st = arch_file_sha256(fd, path, 0, -1, sha, &size, err);

	if (st != ARCH_OK)
		return st;
	arch_hex(sha, 32, sha_hex);
	if (memcmp(sha, stored_sha, 32) == 0)
	{
		if (!quiet)
			pg_log_info("WAL file \"%s\" is already in repository \"%s\" with identical content",
						file_name, storage->url.text);
		return ARCH_OK;
	}
	if (!quiet)
	{
		arch_hex(stored_sha, 32, stored_hex);
		pg_log_error("WAL file \"%s\" differs from the copy already in repository \"%s\"",
					 file_name, storage->url.text);
		pg_log_error_detail("The archived copy has SHA-256 %s, the file in pg_wal %s; the archived copy was left unchanged.",
							stored_hex, sha_hex);
		pg_log_error_hint("Another cluster may be archiving into the same repository.");
	}
	return ARCH_EXISTS;
}

/*
 * A segment (or .partial file) names its cluster in its first page: the
 * repository must belong to that cluster (cluster_id.h).  Files without a
 * long page header of ours (history files) name none.
 */
static ArchStatus
push_check_cluster(const PushCodec *codec, ArchStorage *storage, int fd,
				   ArchError *err)
{
	uint8_t		page[WAL_PAGE_CHECK_LEN];
	ssize_t		n = pread(fd, page, sizeof(page), 0);
	uint64_t	sysid = n > 0 ? wal_page_sysid(page, n) : 0;

	if (sysid == 0)
		return ARCH_OK;
	return cluster_id_check(storage, &codec->enc, &codec->dec, sysid, err);
}

/*
 * push_file
 *
 * Store one WAL file.  Returns the status of the store (ARCH_EXISTS only
 * when the archived copy differs); sha_hex gets the file's SHA-256.  Quiet
 * pushes (working ahead) log nothing: the later call for that file reports.
 * The error, if any, is left in *err.
 *
 * A file that is archived already is only hashed and compared, never
 * compressed again: that is the common case after a crash, and it needs
 * no room in the repository, so a full repository does not stall a
 * cluster whose every segment is safe.
 */
static ArchStatus
push_file(ArchCli *cli, const PushCodec *codec, ArchStorage **repo,
		  const char *path, const char *file_name, bool quiet, char *sha_hex,
		  ArchError *err)
{
	char	   *object = arch_wal_object_name(file_name);
	ArchStorage *storage = NULL;
	ArchObjectHeader stored;
	ArchObjectHeader hdr;
	struct stat sb;
	int			fd = -1;
	ArchStatus	st;

	st = arch_open_local_file(path, "WAL file", &fd, &sb, NULL, err);
	/* our own input: PostgreSQL retries, so not a configuration error */
	if (st != ARCH_OK)
		st = ARCH_TRANSIENT;
	/* a segment is 1 GiB at most (initdb --wal-segsize) */
	else if (sb.st_size > ((off_t) 1 << 30))
		st = arch_error(err, ARCH_TRANSIENT, "WAL file \"%s\" is larger than 1 GiB", path);
	/* the worker's repository, opened once and reused for its next files */
	if (st == ARCH_OK)
		st = *repo ? ARCH_OK : cli_open_repo(cli, repo, err);
	storage = *repo;

	/* archived already?  Then only compare. */
	if (st == ARCH_OK)
		st = arch_object_head(storage, object, &stored, err);
	if (st == ARCH_OK)
		st = push_compare(storage, fd, path, file_name, stored.sha256, quiet, sha_hex, err);
	else if (st == ARCH_NOT_FOUND)
	{
		st = push_check_cluster(codec, storage, fd, err);
		if (st == ARCH_OK)
			st = arch_object_put_file(storage, object, &codec->enc, true, fd, path,
									  0, -1, &hdr, NULL, err);
		if (st == ARCH_OK)
			arch_hex(hdr.sha256, 32, sha_hex);

		/* stored meanwhile by another process: compare with its copy */
		else if (st == ARCH_EXISTS)
		{
			st = arch_object_head(storage, object, &stored, err);
			if (st == ARCH_OK)
				st = push_compare(storage, fd, path, file_name, stored.sha256, quiet,
								  sha_hex, err);
		}
	}

	if (st != ARCH_OK && st != ARCH_EXISTS && !quiet)
	{
		cli_log_error(err);
		pg_log_error_detail("WAL file \"%s\" was not archived.", file_name);
	}
	if (fd >= 0)
		close(fd);
	pg_free(object);
	return st;
}

/*
 * wal-push sweeps the directory it wrote to after one segment in this many
 * (and after every other kind of file): often enough that leftovers of
 * killed pushes do not pile up, rarely enough that the listing it costs on
 * an object store does not slow archiving down.
 */
#define PUSH_SWEEP_EVERY 16

/*
 * Remove what interrupted writes left where file_name was stored, older
 * than cleanup-grace (cmd_cleanup.c does the whole repository).  Archiving
 * does not depend on it: a failure, a 403 included, is a WARNING.
 */
static void
push_sweep(ArchCli *cli, ArchStorage **repo, const char *file_name)
{
	char	   *dir = arch_wal_object_name(file_name);
	int64_t		grace;
	int			removed = 0;
	ArchError	err;
	ArchStatus	st;

	/* the object's directory: "wal/0000000100000000/" or "wal/" */
	strrchr(dir, '/')[1] = '\0';
	st = arch_config_get_duration(cli->cfg, "cleanup-grace", &grace, &err);
	if (st == ARCH_OK && grace >= 0 && *repo == NULL)
		st = cli_open_repo(cli, repo, &err);
	if (st == ARCH_OK && grace >= 0)
		st = arch_storage_cleanup(*repo, dir, time(NULL) - grace, &removed, &err);
	if (st != ARCH_OK)
	{
		pg_log_warning("%s", err.message);
		pg_log_warning_detail("Leftovers of interrupted writes stay in the repository until a later sweep or \"dbops_archive cleanup\"; WAL file \"%s\" is archived all the same.",
							  file_name);
	}
	else if (removed > 0)
		pg_log_info("removed %d leftover%s of interrupted writes under \"%s\" in repository \"%s\"",
					removed, removed == 1 ? "" : "s", dir, (*repo)->url.text);
	pg_free(dir);
}

/* One call's batch: the file PostgreSQL asked for, then ready ones ahead */
typedef struct PushBatch
{
	ArchCli    *cli;
	const PushCodec *codec;
	const char *spool;
	char	  **paths;
	char	  **names;
	ArchStatus *status;
	ArchError	first_err;		/* the error of the file PostgreSQL asked for */
	ArchStorage **repos;		/* one per worker thread */
} PushBatch;

static void
push_job(void *arg, int i, int worker)
{
	PushBatch  *b = arg;
	char		sha_hex[65];
	ArchError	err;

	b->status[i] = push_file(b->cli, b->codec, &b->repos[worker], b->paths[i],
							 b->names[i], i > 0, sha_hex, i == 0 ? &b->first_err : &err);
	if (i > 0 && b->status[i] == ARCH_OK)
		spool_push_mark(b->spool, b->paths[i], b->names[i], sha_hex);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * Up to max segments after file_name that PostgreSQL has marked .ready in
 * wal_dir and that were not pushed ahead already; sorted, so the next one
 * PostgreSQL will ask for comes first.
 */
static int
ready_ahead(const char *wal_dir, const char *file_name, const char *spool,
			int max, char **names)
{
	char		status_dir[MAXPGPATH];
	DIR		   *dir;
	struct dirent *de;
	char	  **all = NULL;
	int			nall = 0;
	int			n = 0;

	snprintf(status_dir, sizeof(status_dir), "%s/archive_status", wal_dir);
	dir = opendir(status_dir);
	if (dir == NULL)
		return 0;
	while ((de = readdir(dir)) != NULL)
	{
		size_t		len = strlen(de->d_name);
		ArchWalName wal;
		char		name[MAXPGPATH];

		if (len <= 6 || strcmp(de->d_name + len - 6, ".ready") != 0)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int) (len - 6), de->d_name);
		if (!arch_wal_parse(name, &wal) || wal.kind != ARCH_WAL_SEGMENT ||
			strcmp(name, file_name) <= 0)
			continue;
		all = pg_realloc(all, sizeof(char *) * (nall + 1));
		all[nall++] = pg_strdup(name);
	}
	closedir(dir);
	if (nall > 0)
		qsort(all, nall, sizeof(char *), name_cmp);
	for (int i = 0; i < nall; i++)
	{
		char		marker[MAXPGPATH];

		snprintf(marker, sizeof(marker), "%s/%s.pushed", spool, all[i]);
		if (n < max && access(marker, F_OK) != 0)
			names[n++] = all[i];
		else
			pg_free(all[i]);
	}
	pg_free(all);
	return n;
}

int
cmd_wal_push(ArchCli *cli)
{
	const char *path;
	const char *file_name;
	char	   *wal_dir;
	ArchWalName wal;
	ArchKeyring ring;
	PushCodec	codec;
	PushBatch	b = {0};
	int64_t		parallel = 1;
	int64_t		ahead = 0;
	int			njobs = 1;
	char	   *spool = NULL;
	ArchError	err;
	ArchStatus	st;
	int			rc;

	/* cli_parse_args checked the number of arguments */
	path = cli->argv[0];
	file_name = last_dir_separator(path) ? last_dir_separator(path) + 1 : path;
	if (!arch_wal_parse(file_name, &wal))
	{
		pg_log_error("\"%s\" is not the name of a WAL file", file_name);
		return ARCH_EXIT_CONFIG;
	}

	st = cli_begin(cli, &ring, &err);
	if (st == ARCH_OK)
		st = cli_encode_options(cli, &ring, &codec.enc, &err);
	if (st == ARCH_OK)
		st = cli_decode_options(cli, &ring, &codec.dec, &err);
	if (st == ARCH_OK)
		st = cli_ahead_settings(cli, &parallel, &ahead, &err);
	if (st == ARCH_OK)
		st = spool_dir(cli, "push", &spool, &err);
	if (st != ARCH_OK)
	{
		cli_log_error(&err);
		pg_log_error_detail("WAL file \"%s\" was not archived.", file_name);
		arch_keyring_free(&ring);
		return push_failed(cli, path, file_name, st, &err);
	}

	wal_dir = pg_strdup(path);
	get_parent_directory(wal_dir);
	if (wal_dir[0] == '\0')
		strcpy(wal_dir, ".");

	/* pushed ahead by an earlier call: nothing left to do */
	if (spool != NULL && spool_push_done(spool, path, file_name))
	{
		pg_log_debug("WAL file \"%s\" was pushed ahead", file_name);
		rc = ARCH_EXIT_OK;
		goto done;
	}

	b.cli = cli;
	b.codec = &codec;
	b.spool = spool;
	b.paths = pg_malloc0(sizeof(char *) * (ahead + 1));
	b.names = pg_malloc0(sizeof(char *) * (ahead + 1));
	b.status = pg_malloc0(sizeof(ArchStatus) * (ahead + 1));
	b.repos = pg_malloc0(sizeof(ArchStorage *) * parallel);
	b.names[0] = pg_strdup(file_name);
	if (spool != NULL)
		njobs += ready_ahead(wal_dir, file_name, spool, (int) ahead, b.names + 1);
	for (int i = 0; i < njobs; i++)
		b.paths[i] = i == 0 ? pg_strdup(path) : psprintf("%s/%s", wal_dir, b.names[i]);
	parallel_run((int) parallel, njobs, push_job, &b);

	st = b.status[0];
	if (st == ARCH_OK && (wal.kind != ARCH_WAL_SEGMENT || wal.seg % PUSH_SWEEP_EVERY == 0))
		push_sweep(cli, &b.repos[0], file_name);
	if (st == ARCH_OK)
	{
		rc = ARCH_EXIT_OK;
		status_file_note(cli, "push", file_name);
	}
	else if (st == ARCH_EXISTS)
	{
		rc = ARCH_EXIT_DIFFERS;
		status_file_note_failure(cli, file_name,
								 "the WAL file differs from the copy already in the repository");
	}
	else
		rc = push_failed(cli, path, file_name, st, &b.first_err);

	for (int i = 0; i < njobs; i++)
	{
		pg_free(b.paths[i]);
		pg_free(b.names[i]);
	}
	for (int i = 0; i < parallel; i++)
		arch_storage_close(b.repos[i]);
	pg_free(b.repos);
	pg_free(b.paths);
	pg_free(b.names);
	pg_free(b.status);
done:
	pg_free(spool);
	pg_free(wal_dir);
	arch_keyring_free(&ring);
	return rc;
}
