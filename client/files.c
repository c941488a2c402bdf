/*-------------------------------------------------------------------------
 *
 * files.c
 *		Local files of the dbops client: a migrations directory read into
 *		the jsonb map the server reads ({"relative/path": "<base64>"}), a
 *		file read whole, and a file written atomically.
 *
 * The map carries bytes, not text: the server checks the encoding, skips
 * a byte order mark and detects the layout, so the checksums are those of
 * a server-side apply of the same directory.  Only regular files are sent
 * (a FIFO would block, a device read forever), entries whose name starts
 * with a dot are skipped (.git can be large, and the server skips them
 * anyway), and sizes are bounded.
 *
 * client/files.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "common/base64.h"
#include "common/logging.h"
#include "mb/pg_wchar.h"

/* Where a directory walk has got to */
typedef struct MapWalk
{
	PQExpBuffer map;
	int			nfiles;
	size_t		total;
} MapWalk;

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/*
 * The whole content of the regular file at path, without waiting on a
 * FIFO (O_NONBLOCK) and checked again on what was opened.
 */
static char *
read_regular(const char *path, size_t max, size_t *len)
{
	int			fd = open(path, O_RDONLY | O_NONBLOCK | PG_BINARY, 0);
	struct stat st;
	char	   *buf;
	size_t		got = 0;

	if (fd < 0)
	{
		pg_log_error("could not open file \"%s\": %m", path);
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
	{
		pg_log_error("file \"%s\" is not a regular file", path);
		close(fd);
		return NULL;
	}
	if ((size_t) st.st_size > max)
	{
		pg_log_error("file \"%s\" is too large (%lld bytes, at most %zu)",
					 path, (long long) st.st_size, max);
		close(fd);
		return NULL;
	}
	buf = pg_malloc(st.st_size + 1);
	while (got < (size_t) st.st_size)
	{
		ssize_t		n = read(fd, buf + got, st.st_size - got);

		if (n < 0)
		{
			pg_log_error("could not read file \"%s\": %m", path);
			close(fd);
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		got += n;
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
}

/* Add file full, named rel in the map */
static bool
add_file(MapWalk *w, const char *full, const char *rel)
{
	size_t		len;
	char	   *data;
	char	   *b64;
	int			b64len;

	if (++w->nfiles > DBOPS_MAX_FILES)
	{
		pg_log_error("directory holds more than %d files", DBOPS_MAX_FILES);
		return false;
	}
	if (pg_encoding_verifymbstr(PG_UTF8, rel, strlen(rel)) != (int) strlen(rel))
	{
		pg_log_error("file name \"%s\" is not valid UTF-8", full);
		return false;
	}
	if ((data = read_regular(full, DBOPS_MAX_FILE_SIZE, &len)) == NULL)
		return false;
	w->total += len;
	if (w->total > DBOPS_MAX_TOTAL_SIZE)
	{
		pg_log_error("directory holds more than %d bytes of files",
					 DBOPS_MAX_TOTAL_SIZE);
		free(data);
		return false;
	}
	b64 = pg_malloc(pg_b64_enc_len(len) + 1);
	b64len = pg_b64_encode(data, len, b64, pg_b64_enc_len(len));
	if (b64len < 0)
	{
		pg_log_error("could not encode file \"%s\"", full);
		free(data);
		free(b64);
		return false;
	}
	b64[b64len] = '\0';
	if (w->map->len > 1)
		appendPQExpBufferStr(w->map, ", ");
	dbops_append_json_string(w->map, rel);
	appendPQExpBufferStr(w->map, ": ");
	dbops_append_json_string(w->map, b64);
	free(data);
	free(b64);
	return true;
}

/* Walk directory dir (rel below the top, "" for the top), depth levels deep */
static bool
walk(MapWalk *w, const char *dir, const char *rel, int depth)
{
	DIR		   *d;
	struct dirent *de;
	char	  **names = NULL;
	int			nnames = 0;
	bool		ok = true;

	if (depth > DBOPS_MAX_DEPTH)
	{
		pg_log_error("directory \"%s\" is nested more than %d levels deep",
					 dir, DBOPS_MAX_DEPTH);
		return false;
	}
	if ((d = opendir(dir)) == NULL)
	{
		pg_log_error("could not open directory \"%s\": %m", dir);
		return false;
	}
	while ((de = readdir(d)) != NULL)
	{
		if (de->d_name[0] == '.')
			continue;
		names = pg_realloc(names, sizeof(char *) * (nnames + 1));
		names[nnames++] = pg_strdup(de->d_name);
	}
	closedir(d);
	if (nnames > 0)
		qsort(names, nnames, sizeof(char *), name_cmp);

	for (int i = 0; i < nnames && ok; i++)
	{
		char	   *full = psprintf("%s/%s", dir, names[i]);
		char	   *sub = rel[0] ? psprintf("%s/%s", rel, names[i]) : pg_strdup(names[i]);
		struct stat st;

		/* links are followed, as the server follows them */
		if (stat(full, &st) != 0)
		{
			pg_log_error("could not stat file \"%s\": %m", full);
			ok = false;
		}
		else if (S_ISDIR(st.st_mode))
			ok = walk(w, full, sub, depth + 1);
		else if (S_ISREG(st.st_mode))
			ok = add_file(w, full, sub);
		else
		{
			pg_log_error("file \"%s\" is not a regular file", full);
			ok = false;
		}
		free(full);
		free(sub);
	}
	for (int i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	return ok;
}

/*
 * The files of directory dir as a JSON object of relative path to base64
 * content, into map.  false after an error was logged.
 */
bool
dbops_read_dir_map(const char *dir, PQExpBuffer map)
{
	MapWalk		w = {map, 0, 0};
	bool		ok;

	appendPQExpBufferChar(map, '{');
	ok = walk(&w, dir, "", 0);
	appendPQExpBufferChar(map, '}');
	return ok && !PQExpBufferBroken(map);
}

/* The whole file at path ("-": standard input) into out */
bool
dbops_read_file(const char *path, PQExpBuffer out)
{
	char		buf[65536];
	size_t		n;
	char	   *data;
	size_t		len;

	if (strcmp(path, "-") != 0)
	{
		if ((data = read_regular(path, DBOPS_MAX_TOTAL_SIZE, &len)) == NULL)
			return false;
		appendBinaryPQExpBuffer(out, data, len);
		free(data);
		return !PQExpBufferBroken(out);
	}
	while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
	{
		appendBinaryPQExpBuffer(out, buf, n);
		if (out->len > DBOPS_MAX_TOTAL_SIZE)
		{
			pg_log_error("standard input holds more than %d bytes",
						 DBOPS_MAX_TOTAL_SIZE);
			return false;
		}
	}
	if (ferror(stdin))
	{
		pg_log_error("could not read standard input: %m");
		return false;
	}
	return !PQExpBufferBroken(out);
}

/*
 * Write data to path ("-": standard output) atomically: a temporary file
 * beside it, flushed, then renamed, so a failed export never leaves half a
 * file in the place of the last good one.
 */
bool
dbops_write_file(const char *path, const char *data, size_t len)
{
	char	   *tmp;
	FILE	   *f;

	if (strcmp(path, "-") == 0)
		return fwrite(data, 1, len, stdout) == len && fflush(stdout) == 0;

	tmp = psprintf("%s.dbops-tmp.%d", path, (int) getpid());
	if ((f = fopen(tmp, PG_BINARY_W)) == NULL)
	{
		pg_log_error("could not create file \"%s\": %m", tmp);
		free(tmp);
		return false;
	}
	if (fwrite(data, 1, len, f) != len || fflush(f) != 0 ||
		fsync(fileno(f)) != 0)
	{
		pg_log_error("could not write file \"%s\": %m", tmp);
		fclose(f);
		unlink(tmp);
		free(tmp);
		return false;
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0)
	{
		pg_log_error("could not write file \"%s\": %m", path);
		unlink(tmp);
		free(tmp);
		return false;
	}
	free(tmp);
	return true;
}
