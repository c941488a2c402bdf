/*-------------------------------------------------------------------------
 *
 * cmd_wal_fetch.c
 *		dbops_archive wal-fetch %f %p: the restore_command.
 *
 * PostgreSQL reads restore_command's exit code as follows: 0, the file is
 * at %p; a code above 125, a fatal error that stops the server; anything
 * else, "not in the archive".  During archive recovery "not in the
 * archive" ends recovery and promotes the server, so answering it when the
 * store merely failed would promote a server that is missing data.  Hence
 * (README, "Archiving"):
 *
 *	- exit 1 only when the store answered that the object does not exist;
 *	- during archive recovery (recovery.signal without standby.signal in
 *	  the data directory, our working directory) any other failure exits
 *	  128, and PostgreSQL stops instead of ending recovery early;
 *	- in standby mode (standby.signal) it exits 3: a standby retries.
 *
 * The object is decoded into %p.dbops.tmp and renamed to %p only after its
 * size and SHA-256 matched the header, its header named the object asked
 * for, and a segment's first page named %f (wal_page.h), so PostgreSQL
 * never reads bytes that failed verification or belong to another file.
 *
 * With spool-path set, fetching a segment also fetches the next ones, on
 * parallel threads and verified in the same way, into the spool; the later
 * call for one of them only renames it into place.
 *
 * archive_helper/cmd_wal_fetch.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "common/logging.h"
#include "control_file.h"
#include "parallel.h"
#include "spool.h"
#include "wal_name.h"
#include "wal_page.h"

typedef enum FetchMode
{
	FETCH_NO_RECOVERY,			/* run by hand */
	FETCH_ARCHIVE_RECOVERY,		/* recovery.signal: a failure must stop it */
	FETCH_STANDBY				/* standby.signal: PostgreSQL retries */
} FetchMode;

void
cmd_wal_fetch_help(const char *progname)
{
	printf("%s wal-fetch restores one WAL file; it is PostgreSQL's restore_command.\n\n", progname);
	printf("Usage:\n  %s wal-fetch [OPTION]... FILE PATH\n\n", progname);
	printf("In postgresql.conf:\n  restore_command = '%s wal-fetch %%f %%p'\n\n", progname);
	printf("Exit status: 0 restored and verified, 1 not in the archive.\n"
		   "Any other failure: 128 during archive recovery (recovery.signal; PostgreSQL\n"
		   "stops rather than end recovery early), 3 in standby mode (standby.signal;\n"
		   "PostgreSQL retries), else 2 configuration or 3 storage failure.\n");
}

static bool
file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* The working directory of restore_command is the data directory */
static FetchMode
fetch_mode(void)
{
	if (file_exists("standby.signal"))
		return FETCH_STANDBY;
	if (file_exists("recovery.signal"))
		return FETCH_ARCHIVE_RECOVERY;
	return FETCH_NO_RECOVERY;
}

/*
 * The exit code of a failure that has been logged.  Only NOT_FOUND may
 * answer "not in the archive"; anything else must not end a recovery.
 */
static int
fetch_failed(FetchMode mode, ArchStatus st)
{
	if (st == ARCH_NOT_FOUND)
		return ARCH_EXIT_NOT_FOUND;
	if (mode == FETCH_ARCHIVE_RECOVERY)
	{
		pg_log_error_hint("Exit code %d stops archive recovery on purpose: the file may exist but could not be restored, and ending recovery here would lose data. Fix the cause and start the server again.",
						  ARCH_EXIT_ABORT_RECOVERY);
		return ARCH_EXIT_ABORT_RECOVERY;
	}
	if (mode == FETCH_STANDBY)
		return ARCH_EXIT_TRANSIENT;
	return st == ARCH_FATAL ? ARCH_EXIT_CONFIG : ARCH_EXIT_TRANSIENT;
}

/*
 * A command line that is not understood is a configuration error like any
 * other: exit 2 would read as "not in the archive" and end a recovery.
 */
int
cmd_wal_fetch_usage_exit(void)
{
	return fetch_failed(fetch_mode(), ARCH_FATAL);
}

/* Where a fetched object's plaintext goes: the temporary file */
typedef struct FetchSink
{
	int			fd;
	uint8_t		start[WAL_PAGE_CHECK_LEN];	/* its first bytes, for the page check */
	size_t		have;
	uint64		size;
} FetchSink;

/* ArchSink writing the plaintext to the temporary file */
static ArchStatus
fetch_write_sink(void *arg, const void *data, size_t len, ArchError *err)
{
	FetchSink  *fs = arg;
	const char *p = data;

	if (fs->have < sizeof(fs->start))
	{
		size_t		take = Min(len, sizeof(fs->start) - fs->have);

		memcpy(fs->start + fs->have, data, take);
		fs->have += take;
	}
	fs->size += len;
	while (len > 0)
	{
		ssize_t		n = write(fs->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return arch_error(err, ARCH_TRANSIENT, "could not write restored WAL: %s",
							  strerror(errno));
		p += n;
		len -= n;
	}
	return ARCH_OK;
}

/*
 * Decode the object of file_name into tmp_path and verify it: the object
 * format's checks, then the restored segment's first page against
 * file_name.  Everything or an error.
 */
static ArchStatus
fetch_object(ArchStorage *storage, const char *file_name, const char *object,
			 const ArchDecodeOptions *dopts, const ControlInfo *control,
			 const char *tmp_path, ArchError *err)
{
	FetchSink	fs = {0};
	ArchDecoder *decoder;
	ArchStatus	st;

	fs.fd = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY, 0600);
	if (fs.fd < 0)
		return arch_error(err, ARCH_TRANSIENT, "could not create file \"%s\": %s",
						  tmp_path, strerror(errno));
	decoder = arch_decoder_begin(object, dopts, fetch_write_sink, &fs);
	st = arch_storage_read(storage, object, 0, arch_decoder_sink, decoder, err);
	if (st == ARCH_OK)
		st = arch_decoder_end(decoder, NULL, err);
	else
		arch_decoder_free(decoder);
	if (st == ARCH_OK)
		st = wal_page_check(file_name, fs.start, fs.have, fs.size,
							control->seg_size, control->sysid, err);
	if (close(fs.fd) != 0 && st == ARCH_OK)
		st = arch_error(err, ARCH_TRANSIENT, "could not close file \"%s\": %s",
						tmp_path, strerror(errno));
	return st;
}

/*
 * Fetch file_name into final, through tmp: nothing appears under final
 * unless it was verified.  *repo is the caller's repository handle, opened
 * here if still NULL and reused for the caller's next files.
 */
static ArchStatus
fetch_file(ArchCli *cli, const ArchDecodeOptions *dopts,
		   const ControlInfo *control, ArchStorage **repo,
		   const char *file_name, const char *tmp, const char *final,
		   ArchError *err)
{
	char	   *object = arch_wal_object_name(file_name);
	ArchStatus	st;

	st = *repo ? ARCH_OK : cli_open_repo(cli, repo, err);
	if (st == ARCH_OK)
		st = fetch_object(*repo, file_name, object, dopts, control, tmp, err);
	if (st == ARCH_OK && rename(tmp, final) != 0)
		st = arch_error(err, ARCH_TRANSIENT, "could not rename file \"%s\" to \"%s\": %s",
						tmp, final, strerror(errno));
	if (st != ARCH_OK)
		unlink(tmp);
	pg_free(object);
	return st;
}

/* One call's batch: the file PostgreSQL asked for, then the next ones */
typedef struct FetchBatch
{
	ArchCli    *cli;
	const ArchDecodeOptions *dopts;
	const ControlInfo *control;
	char	  **names;
	char	  **tmps;
	char	  **finals;
	ArchStatus *status;
	ArchError  *errors;
	ArchStorage **repos;		/* one per worker thread */
} FetchBatch;

static void
fetch_job(void *arg, int i, int worker)
{
	FetchBatch *b = arg;

	b->status[i] = fetch_file(b->cli, b->dopts, b->control, &b->repos[worker],
							  b->names[i], b->tmps[i], b->finals[i], &b->errors[i]);
}

/* Are dir and the directory of path on one file system? */
static bool
same_file_system(const char *dir, const char *path)
{
	char	   *parent = pg_strdup(path);
	struct stat a;
	struct stat b;
	bool		same;

	get_parent_directory(parent);
	same = stat(dir, &a) == 0 && stat(parent[0] ? parent : ".", &b) == 0 &&
		a.st_dev == b.st_dev;
	pg_free(parent);
	return same;
}

int
cmd_wal_fetch(ArchCli *cli)
{
	FetchMode	mode = fetch_mode();
	const char *file_name;
	const char *dest;
	ArchWalName wal;
	ArchKeyring ring;
	ArchDecodeOptions dopts;
	ControlInfo control;
	FetchBatch	b = {0};
	char	   *spool = NULL;
	int64_t		parallel = 1;
	int64_t		ahead = 0;
	int			njobs = 1;
	ArchError	err;
	ArchStatus	st;
	int			rc = ARCH_EXIT_OK;

	/* cli_parse_args checked the number of arguments */
	file_name = cli->argv[0];
	dest = cli->argv[1];
	if (!arch_wal_parse(file_name, &wal))
	{
		pg_log_error("\"%s\" is not the name of a WAL file", file_name);
		return fetch_failed(mode, ARCH_FATAL);
	}

	st = cli_begin(cli, &ring, &err);
	if (st == ARCH_OK)
		st = cli_decode_options(cli, &ring, &dopts, &err);
	if (st == ARCH_OK)
		st = cli_ahead_settings(cli, &parallel, &ahead, &err);
	/* only segments are prefetched */
	if (st == ARCH_OK && wal.kind == ARCH_WAL_SEGMENT)
		st = spool_dir(cli, "fetch", &spool, &err);
	if (st != ARCH_OK)
	{
		cli_log_error(&err);
		pg_log_error_detail("WAL file \"%s\" was not restored.", file_name);
		arch_keyring_free(&ring);
		return fetch_failed(mode, st);
	}

	/* prefetched by an earlier call: verified already, just move it */
	if (spool != NULL)
	{
		if (spool_take(spool, file_name, dest))
		{
			pg_log_debug("WAL file \"%s\" was prefetched", file_name);
			goto done;
		}
		/* asked for something else than what we guessed: start afresh */
		spool_clear(spool);
		if (!same_file_system(spool, dest))
		{
			/* a spooled file could not be renamed into place */
			pg_log_warning("spool-path \"%s\" is not on the file system of \"%s\": prefetching is off",
						   arch_config_get(cli->cfg, "spool-path"), dest);
			ahead = 0;
		}
	}

	/* the next segments' names need the segment size */
	control_file_read(".", &control);
	if (spool == NULL || control.seg_size == 0)
		ahead = 0;
	b.cli = cli;
	b.dopts = &dopts;
	b.control = &control;
	b.names = pg_malloc0(sizeof(char *) * (ahead + 1));
	b.tmps = pg_malloc0(sizeof(char *) * (ahead + 1));
	b.finals = pg_malloc0(sizeof(char *) * (ahead + 1));
	b.status = pg_malloc0(sizeof(ArchStatus) * (ahead + 1));
	b.errors = pg_malloc0(sizeof(ArchError) * (ahead + 1));
	b.repos = pg_malloc0(sizeof(ArchStorage *) * parallel);
	b.names[0] = pg_strdup(file_name);
	b.tmps[0] = psprintf("%s.dbops.tmp", dest);
	b.finals[0] = pg_strdup(dest);
	for (njobs = 1; njobs <= ahead; njobs++)
	{
		b.names[njobs] = pg_malloc(ARCH_WAL_SEGMENT_NAME_LEN + 1);
		arch_wal_segment_name(b.names[njobs], wal.timeline,
							  arch_wal_segno(&wal, control.seg_size) + njobs,
							  control.seg_size);
		b.tmps[njobs] = psprintf("%s/.%s.tmp", spool, b.names[njobs]);
		b.finals[njobs] = psprintf("%s/%s", spool, b.names[njobs]);
	}
	parallel_run((int) parallel, njobs, fetch_job, &b);

	st = b.status[0];
	if (st == ARCH_NOT_FOUND)
	{
		/* routine: PostgreSQL asks for files past the end of the archive */
		pg_log_debug("%s", b.errors[0].message);
	}
	else if (st != ARCH_OK)
	{
		cli_log_error(&b.errors[0]);
		pg_log_error_detail("WAL file \"%s\" was not restored.", file_name);
	}
	if (st != ARCH_OK)
		rc = fetch_failed(mode, st);

	for (int i = 0; i < njobs; i++)
	{
		pg_free(b.names[i]);
		pg_free(b.tmps[i]);
		pg_free(b.finals[i]);
	}
	pg_free(b.names);
	pg_free(b.tmps);
	pg_free(b.finals);
	for (int i = 0; i < parallel; i++)
		arch_storage_close(b.repos[i]);
	pg_free(b.repos);
	pg_free(b.status);
	pg_free(b.errors);
done:
	pg_free(spool);
	arch_keyring_free(&ring);
	return rc;
}
