/*-------------------------------------------------------------------------
 *
 * spool.c
 *		The local spool that lets wal-push and wal-fetch work ahead
 *		(see spool.h).
 *
 * Nothing in the spool is needed for durability: a lost marker means one
 * more (identical, hence successful) push; a lost prefetched file means
 * one more fetch.  So spool files are written without fsync.
 *
 * archive_helper/spool.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file_perm.h"
#include "common/logging.h"
#include "local_file.h"
#include "spool.h"

ArchStatus
spool_dir(ArchCli *cli, const char *kind, char **dir, ArchError *err)
{
	const char *base = arch_config_get(cli->cfg, "spool-path");
	const char *repo = arch_config_get(cli->cfg, "repo");
	uint8_t		sha[32];
	char		hex[65];

	*dir = NULL;
	if (base == NULL || base[0] == '\0' || strcmp(base, "off") == 0 || repo == NULL)
		return ARCH_OK;
	/* judged before anything is created there */
	if (cli->data_dir != NULL && arch_path_is_under(base, cli->data_dir))
	{
		arch_error(err, ARCH_FATAL, "spool-path \"%s\" is inside the data directory \"%s\"",
				   base, cli->data_dir);
		return arch_error_detail(err, ARCH_FATAL,
								 "Every base backup would copy the spool. Choose a directory outside the data directory.");
	}
	arch_sha256(repo, strlen(repo), sha);
	arch_hex(sha, 8, hex);
	*dir = psprintf("%s/%s-%s", base, kind, hex);
	if (pg_mkdir_p(*dir, pg_dir_create_mode) != 0 && errno != EEXIST)
	{
		pg_log_warning("could not create spool directory \"%s\": %m", *dir);
		pg_free(*dir);
		*dir = NULL;
	}
	return ARCH_OK;
}

void
spool_clear(const char *dir)
{
	DIR		   *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL)
	{
		char		path[MAXPGPATH];

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
}

/* "<size> <mtime seconds>.<nanoseconds>" of a file, or false */
static bool
spool_stamp(const char *path, char *out, size_t len)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return false;
	snprintf(out, len, "%lld %lld.%09ld", (long long) st.st_size,
			 (long long) st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	return true;
}

void
spool_push_mark(const char *dir, const char *path, const char *file_name,
				const char *sha_hex)
{
	char		stamp[64];
	char		tmp[MAXPGPATH];
	char		marker[MAXPGPATH];
	FILE	   *f;

	if (!spool_stamp(path, stamp, sizeof(stamp)))
		return;
	snprintf(tmp, sizeof(tmp), "%s/.%s.%d", dir, file_name, (int) getpid());
	snprintf(marker, sizeof(marker), "%s/%s.pushed", dir, file_name);
	f = fopen(tmp, "w");
	if (f == NULL)
		return;
	fprintf(f, "%s %s\n", sha_hex, stamp);
	/* a marker appears whole or not at all */
	if (fclose(f) != 0 || rename(tmp, marker) != 0)
		unlink(tmp);
}

bool
spool_push_done(const char *dir, const char *path, const char *file_name)
{
	char		marker[MAXPGPATH];
	char	   *line;
	size_t		len;
	char		stamp[64];
	char	   *space;
	bool		absent;
	bool		done = false;
	ArchError	err;

	snprintf(marker, sizeof(marker), "%s/%s.pushed", dir, file_name);
	if (arch_read_local_file(marker, "spool file", 256, &line, &len, NULL,
							 &absent, &err) != ARCH_OK)
	{
		/* no marker is routine; anything else in its place is refused */
		if (!absent)
		{
			pg_log_warning("%s", err.message);
			pg_log_warning_detail("The WAL file is pushed again.");
			unlink(marker);
		}
		return false;
	}
	if ((space = strchr(line, ' ')) != NULL &&
		spool_stamp(path, stamp, sizeof(stamp)))
	{
		line[strcspn(line, "\n")] = '\0';
		/* the file must be exactly the one that was pushed */
		done = strcmp(space + 1, stamp) == 0;
	}
	pg_free(line);
	unlink(marker);
	return done;
}

bool
spool_take(const char *dir, const char *file_name, const char *dest)
{
	char	   *spooled = psprintf("%s/%s", dir, file_name);
	struct stat st;
	bool		moved = false;

	if (lstat(spooled, &st) == 0)
	{
		if (!S_ISREG(st.st_mode))
			pg_log_warning("spool file \"%s\" is not a regular file: not used", spooled);
		else
			moved = rename(spooled, dest) == 0;
	}
	pg_free(spooled);
	return moved;
}
