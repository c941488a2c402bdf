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
 * (DESIGN, "No hang, no early end"):
 *
 *	- exit 1 only when the store answered that the object does not exist;
 *	- during archive recovery (recovery.signal without standby.signal in
 *	  the data directory, our working directory) any other failure exits
 *	  128, and PostgreSQL stops instead of ending recovery early;
 *	- in standby mode (standby.signal) it exits 3: a standby retries.
 *
 * The object is decoded into %p.dbops.tmp and renamed to %p only after its
 * size and SHA-256 matched the header, so PostgreSQL never reads bytes
 * that failed verification.
 *
 * archive_helper/cmd_wal_fetch.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cli.h"
#include "common/logging.h"
#include "wal_name.h"

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

static int
fetch_failed(FetchMode mode, ArchStatus st, const char *file_name)
{
	if (st == ARCH_NOT_FOUND)
		return ARCH_EXIT_NOT_FOUND;
	if (mode == FETCH_ARCHIVE_RECOVERY)
	{
		pg_log_error_hint("Exit code %d stops archive recovery on purpose: \"%s\" may exist but could not be restored, and ending recovery here would lose data. Fix the cause and start the server again.",
						  ARCH_EXIT_ABORT_RECOVERY, file_name);
		return ARCH_EXIT_ABORT_RECOVERY;
	}
	if (mode == FETCH_STANDBY)
		return ARCH_EXIT_TRANSIENT;
	return st == ARCH_FATAL ? ARCH_EXIT_CONFIG : ARCH_EXIT_TRANSIENT;
}

/* ArchSink writing the plaintext to the temporary file */
static ArchStatus
fetch_write_sink(void *arg, const void *data, size_t len, ArchError *err)
{
	int			fd = *(int *) arg;
	const char *p = data;

	while (len > 0)
	{
		ssize_t		n = write(fd, p, len);

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

/* Decode object into tmp_path; verify; everything or an error */
static ArchStatus
fetch_object(ArchStorage *storage, const char *object, const ArchKeyring *ring,
			 const char *tmp_path, ArchError *err)
{
	int			fd;
	ArchDecoder *decoder;
	ArchStatus	st;

	fd = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY, 0600);
	if (fd < 0)
		return arch_error(err, ARCH_TRANSIENT, "could not create file \"%s\": %s",
						  tmp_path, strerror(errno));
	decoder = arch_decoder_begin(object, ring, fetch_write_sink, &fd);
	st = arch_storage_read(storage, object, 0, arch_decoder_sink, decoder, err);
	if (st == ARCH_OK)
		st = arch_decoder_end(decoder, NULL, err);
	else
		arch_decoder_free(decoder);
	if (close(fd) != 0 && st == ARCH_OK)
		st = arch_error(err, ARCH_TRANSIENT, "could not close file \"%s\": %s",
						tmp_path, strerror(errno));
	return st;
}

int
cmd_wal_fetch(ArchCli *cli)
{
	FetchMode	mode = fetch_mode();
	const char *file_name;
	const char *dest;
	char	   *object = NULL;
	char	   *tmp_path = NULL;
	ArchKeyring ring;
	ArchStorage *storage = NULL;
	ArchError	err;
	ArchStatus	st;
	int			rc = ARCH_EXIT_OK;

	memset(&ring, 0, sizeof(ring));
	if (cli->argc != 2)
	{
		pg_log_error("wal-fetch takes two arguments, the WAL file name (%%f) and the path to restore it to (%%p)");
		pg_log_error_hint("Try \"%s wal-fetch --help\" for more information.", cli->progname);
		return fetch_failed(mode, ARCH_FATAL, "?");
	}
	file_name = cli->argv[0];
	dest = cli->argv[1];
	object = arch_wal_object_name(file_name);
	if (object == NULL)
	{
		pg_log_error("\"%s\" is not the name of a WAL file", file_name);
		return fetch_failed(mode, ARCH_FATAL, file_name);
	}
	tmp_path = psprintf("%s.dbops.tmp", dest);

	st = cli_load_config(cli, &err);
	if (st == ARCH_OK)
		st = cli_load_keyring(cli, &ring, &err);
	if (st == ARCH_OK)
		st = cli_open_repo(cli, &storage, &err);
	if (st == ARCH_OK)
		st = fetch_object(storage, object, &ring, tmp_path, &err);
	if (st == ARCH_OK && rename(tmp_path, dest) != 0)
		st = arch_error(&err, ARCH_TRANSIENT, "could not rename file \"%s\" to \"%s\": %s",
						tmp_path, dest, strerror(errno));

	if (st != ARCH_OK)
	{
		unlink(tmp_path);
		if (st == ARCH_NOT_FOUND)
		{
			/* routine: PostgreSQL asks for files past the end of the archive */
			pg_log_debug("WAL file \"%s\" is not in repository \"%s\"",
						 file_name, storage->url.text);
		}
		else
		{
			cli_log_error(&err);
			pg_log_error_detail("WAL file \"%s\" was not restored.", file_name);
		}
		rc = fetch_failed(mode, st, file_name);
	}

	arch_storage_close(storage);
	arch_keyring_free(&ring);
	pg_free(object);
	pg_free(tmp_path);
	return rc;
}
