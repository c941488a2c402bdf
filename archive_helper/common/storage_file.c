/*-------------------------------------------------------------------------
 *
 * storage_file.c
 *		The file:// driver: a repository in a local or mounted directory.
 *
 * It is the backend of the tests and of archives on NFS or other mounts,
 * so it must be exactly as durable as the contract in storage.h says:
 * every object is written to a temporary file beside its final name,
 * fsync'ed, then given its name (link() when the name must be absent,
 * rename() otherwise), and the directory is fsync'ed so the name itself
 * survives a crash.  It uses neither the frontend nor the backend
 * durable_rename(), whose signatures differ, because this code is shared
 * by both (arch_shim.h).
 *
 * The repository directory itself must exist: the driver creates the
 * directories below it, never the root.  A missing root is an error, not
 * "object not found", so an unmounted archive cannot end a recovery.
 *
 * archive_helper/common/storage_file.c
 *
 *-------------------------------------------------------------------------
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage.h"

/* Suffix of temporary files; list() skips them, cleanup() removes old ones */
#define FILE_TMP_SUFFIX ".dbops.tmp."
#define FILE_BUF_SIZE (256 * 1024)

typedef struct FileStorage
{
	char	   *root;			/* absolute path of the repository */
	const char *url;			/* for messages */
} FileStorage;

typedef struct FileWriter
{
	FileStorage *fs;
	char	   *name;			/* object name, for messages */
	char	   *path;			/* final path */
	char	   *tmp_path;
	int			fd;
	bool		if_absent;
} FileWriter;

/*
 * An errno worth retrying later (disk full, I/O error, a flaky mount) is
 * transient; one that will not change by itself is fatal.
 */
static ArchStatus
file_status(int err)
{
	switch (err)
	{
		case EACCES:
		case EPERM:
		case EROFS:
		case ENOTDIR:
		case ENAMETOOLONG:
		case EISDIR:
		case ELOOP:
			return ARCH_FATAL;
		default:
			return ARCH_TRANSIENT;
	}
}

static ArchStatus
file_error(FileStorage *fs, int saved_errno, const char *action,
		   const char *name, ArchError *err)
{
	return arch_error(err, file_status(saved_errno),
					  "could not %s \"%s\" in repository \"%s\": %s",
					  action, name, fs->url, strerror(saved_errno));
}

/* fsync a file or directory by path */
static int
file_fsync_path(const char *path, bool is_dir)
{
	int			fd;
	int			rc;
	int			saved;

	fd = open(path, is_dir ? O_RDONLY : O_RDWR);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* The directory part of path, newly allocated */
static char *
file_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t		len = (slash == NULL || slash == path) ? 1 : (size_t) (slash - path);
	char	   *dir = arch_alloc(len + 1);

	if (slash == NULL)
		memcpy(dir, ".", 1);
	else
		memcpy(dir, slash == path ? "/" : path, len);
	dir[len] = '\0';
	return dir;
}

/*
 * Create the directories between the root and path's parent, fsyncing
 * each new one's parent so the new entry is durable too.
 */
static int
file_make_parents(FileStorage *fs, const char *path)
{
	char	   *dir = file_dirname(path);
	size_t		root_len = strlen(fs->root);
	int			rc = 0;

	/* an object at the top of the repository needs no directory */
	if (strlen(dir) <= root_len)
	{
		arch_free(dir);
		return 0;
	}
	for (char *p = dir + root_len + 1; rc == 0; p++)
	{
		bool		last = (*p == '\0');

		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (mkdir(dir, 0750) == 0)
		{
			char	   *parent = file_dirname(dir);

			rc = file_fsync_path(parent, true);
			arch_free(parent);
		}
		else if (errno != EEXIST)
			rc = -1;
		if (last)
			break;
		*p = '/';
	}
	arch_free(dir);
	return rc;
}

/* Does the repository root exist as a directory? */
static bool
file_root_exists(FileStorage *fs)
{
	struct stat st;

	return stat(fs->root, &st) == 0 && S_ISDIR(st.st_mode);
}

static ArchStatus
file_root_missing(FileStorage *fs, ArchError *err)
{
	arch_error(err, ARCH_FATAL, "repository directory \"%s\" does not exist",
			   fs->root);
	return arch_error_detail(err, ARCH_FATAL,
							 "Create it (or mount it) first; dbops_archive never creates the root of a repository.");
}

static ArchStatus
file_open(const ArchUrl *url, const ArchConfig *cfg, void **state,
		  ArchError *err)
{
	FileStorage *fs = arch_alloc0(sizeof(FileStorage));

	fs->root = arch_strdup(url->path);
	fs->url = url->text;
	*state = fs;
	return ARCH_OK;
}

static void
file_close(void *state)
{
	FileStorage *fs = state;

	arch_free(fs->root);
	arch_free(fs);
}

static char *
file_path(FileStorage *fs, const char *name)
{
	return arch_psprintf("%s/%s", fs->root, name);
}

static void
file_writer_free(FileWriter *w)
{
	arch_free(w->name);
	arch_free(w->path);
	arch_free(w->tmp_path);
	arch_free(w);
}

static ArchStatus
file_write_begin(void *state, const char *name, const ArchWriteOptions *opts,
				 void **writer, ArchError *err)
{
	FileStorage *fs = state;
	FileWriter *w;

	if (!file_root_exists(fs))
		return file_root_missing(fs, err);

	w = arch_alloc0(sizeof(FileWriter));
	w->fs = fs;
	w->name = arch_strdup(name);
	w->path = file_path(fs, name);
	/* the pid keeps two concurrent writers of one name apart */
	w->tmp_path = arch_psprintf("%s%s%d", w->path, FILE_TMP_SUFFIX, (int) getpid());
	w->if_absent = opts->if_absent;

	if (file_make_parents(fs, w->path) != 0)
	{
		ArchStatus	st = file_error(fs, errno, "create the directory of", name, err);

		file_writer_free(w);
		return st;
	}
	w->fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	/* a remove emptied and removed the directory meanwhile: make it again */
	if (w->fd < 0 && errno == ENOENT && file_make_parents(fs, w->path) == 0)
		w->fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	if (w->fd < 0)
	{
		ArchStatus	st = file_error(fs, errno, "create a temporary file for", name, err);

		file_writer_free(w);
		return st;
	}
	*writer = w;
	return ARCH_OK;
}

static ArchStatus
file_write(void *writer, const void *data, size_t len, ArchError *err)
{
	FileWriter *w = writer;
	const char *p = data;

	while (len > 0)
	{
		ssize_t		n = write(w->fd, p, len);

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			return file_error(w->fs, errno, "write", w->name, err);
		}
		p += n;
		len -= n;
	}
	return ARCH_OK;
}

/* The start of the temporary file, rewritten before write_end's fsync */
static ArchStatus
file_write_head(void *writer, const void *data, size_t len,
				const char *sha256, ArchError *err)
{
	FileWriter *w = writer;
	ssize_t		n = pwrite(w->fd, data, len, 0);

	if (n < 0)
		return file_error(w->fs, errno, "write", w->name, err);
	if ((size_t) n != len)
		return file_error(w->fs, EIO, "write", w->name, err);
	return ARCH_OK;
}

/* Compare two files byte for byte: 1 same, 0 different, -1 error */
static int
file_same_content(const char *a, const char *b)
{
	int			fa = open(a, O_RDONLY);
	int			fb = open(b, O_RDONLY);
	char	   *ba = arch_alloc(FILE_BUF_SIZE);
	char	   *bb = arch_alloc(FILE_BUF_SIZE);
	int			result = -1;

	if (fa >= 0 && fb >= 0)
	{
		for (;;)
		{
			ssize_t		na = read(fa, ba, FILE_BUF_SIZE);
			ssize_t		nb;
			ssize_t		got = 0;

			if (na < 0)
				break;
			/* read the same amount from b, however read() splits it */
			while (got < na && (nb = read(fb, bb + got, na - got)) > 0)
				got += nb;
			if (got != na || memcmp(ba, bb, na) != 0)
			{
				result = 0;
				break;
			}
			if (na == 0)
			{
				result = (read(fb, bb, 1) == 0) ? 1 : 0;
				break;
			}
		}
	}
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	arch_free(ba);
	arch_free(bb);
	return result;
}

/*
 * An if-absent write found the name taken.  When the stored file holds
 * exactly our bytes, an earlier run stored it and crashed (or PostgreSQL
 * crashed) before the success was recorded: sync it, since that earlier run
 * may not have, and report success.  Otherwise report EXISTS and leave it.
 */
static ArchStatus
file_resolve_existing(FileWriter *w, const char *dir, ArchError *err)
{
	int			same = file_same_content(w->tmp_path, w->path);
	int			saved_errno = errno;

	unlink(w->tmp_path);
	if (same < 0)
		return file_error(w->fs, saved_errno, "compare with the stored copy of", w->name, err);
	if (same == 0)
		return arch_error(err, ARCH_EXISTS,
						  "object \"%s\" already exists in repository \"%s\" with different content",
						  w->name, w->fs->url);
	if (file_fsync_path(w->path, false) != 0 || file_fsync_path(dir, true) != 0)
		return file_error(w->fs, errno, "fsync", w->name, err);
	return ARCH_OK;
}

static ArchStatus
file_write_end(void *writer, ArchError *err)
{
	FileWriter *w = writer;
	char	   *dir = file_dirname(w->path);
	ArchStatus	st = ARCH_OK;

	/* the data first, so the name never points at a partial file */
	if (fsync(w->fd) != 0)
		st = file_error(w->fs, errno, "fsync", w->name, err);
	if (close(w->fd) != 0 && st == ARCH_OK)
		st = file_error(w->fs, errno, "close", w->name, err);
	w->fd = -1;
	if (st != ARCH_OK)
	{
		unlink(w->tmp_path);
		goto done;
	}

	if (w->if_absent)
	{
		/*
		 * link() fails with EEXIST instead of replacing: no window in which
		 * another writer's object could be overwritten.
		 */
		if (link(w->tmp_path, w->path) == 0)
			unlink(w->tmp_path);
		else if (errno == EEXIST)
		{
			st = file_resolve_existing(w, dir, err);
			goto done;
		}
		else
		{
			st = file_error(w->fs, errno, "store", w->name, err);
			unlink(w->tmp_path);
			goto done;
		}
	}
	else if (rename(w->tmp_path, w->path) != 0)
	{
		st = file_error(w->fs, errno, "store", w->name, err);
		unlink(w->tmp_path);
		goto done;
	}

	/* and the name: until the directory is synced, a crash may lose it */
	if (file_fsync_path(dir, true) != 0)
		st = file_error(w->fs, errno, "fsync the directory of", w->name, err);

done:
	arch_free(dir);
	file_writer_free(w);
	return st;
}

static void
file_write_abort(void *writer)
{
	FileWriter *w = writer;

	if (w->fd >= 0)
		close(w->fd);
	unlink(w->tmp_path);
	file_writer_free(w);
}

/*
 * A file that is not there is NOT_FOUND only when the repository root is
 * there: otherwise the archive is unreachable, which must not read as
 * "no such segment".
 */
static ArchStatus
file_missing(FileStorage *fs, int saved_errno, const char *action,
			 const char *name, ArchError *err)
{
	if (saved_errno == ENOENT && !file_root_exists(fs))
		return file_root_missing(fs, err);
	if (saved_errno == ENOENT)
		return arch_error(err, ARCH_NOT_FOUND,
						  "object \"%s\" does not exist in repository \"%s\"",
						  name, fs->url);
	return file_error(fs, saved_errno, action, name, err);
}

static ArchStatus
file_read(void *state, const char *name, uint64_t limit, ArchSink sink,
		  void *arg, ArchError *err)
{
	FileStorage *fs = state;
	char	   *path = file_path(fs, name);
	int			fd = open(path, O_RDONLY);
	char	   *buf;
	uint64_t	done = 0;
	ArchStatus	st = ARCH_OK;

	arch_free(path);
	if (fd < 0)
		return file_missing(fs, errno, "open", name, err);

	buf = arch_alloc(FILE_BUF_SIZE);
	for (;;)
	{
		size_t		want = FILE_BUF_SIZE;
		ssize_t		n;

		if (limit > 0 && limit - done < want)
			want = limit - done;
		if (want == 0)
			break;
		n = read(fd, buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
		{
			st = file_error(fs, errno, "read", name, err);
			break;
		}
		if (n == 0)
			break;
		st = sink(arg, buf, n, err);
		if (st != ARCH_OK)
			break;
		done += n;
	}
	arch_free(buf);
	close(fd);
	return st;
}

static ArchStatus
file_info(void *state, const char *name, ArchObjectInfo *info, ArchError *err)
{
	FileStorage *fs = state;
	char	   *path = file_path(fs, name);
	struct stat st;
	int			rc = stat(path, &st);

	arch_free(path);
	if (rc != 0)
		return file_missing(fs, errno, "stat", name, err);
	info->size = st.st_size;
	return ARCH_OK;
}

/* What file_walk reports: an entry's name below the root and its status */
typedef ArchStatus (*FileVisitor) (void *arg, const char *name,
								   const struct stat *sb, ArchError *err);

/*
 * Walk dir (relative name rel, "" for the root) and call visit for every
 * file whose name starts with prefix: the objects, or (temporaries) the
 * temporary files of interrupted writes instead.  Only directories that
 * can hold such names are entered.
 */
static ArchStatus
file_walk(FileStorage *fs, const char *rel, const char *prefix, bool temporaries,
		  FileVisitor visit, void *arg, ArchError *err)
{
	char	   *dir = rel[0] ? file_path(fs, rel) : arch_strdup(fs->root);
	DIR		   *d = opendir(dir);
	struct dirent *de;
	size_t		prefix_len = strlen(prefix);
	ArchStatus	st = ARCH_OK;

	arch_free(dir);
	if (d == NULL)
	{
		/* a prefix whose directory does not exist holds nothing */
		if (errno == ENOENT && rel[0] != '\0')
			return ARCH_OK;
		return file_missing(fs, errno, "list", rel[0] ? rel : "/", err);
	}
	while (st == ARCH_OK && (de = readdir(d)) != NULL)
	{
		char	   *name;
		size_t		name_len;
		struct stat sb;
		char	   *path;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		name = rel[0] ? arch_psprintf("%s/%s", rel, de->d_name) : arch_strdup(de->d_name);
		name_len = strlen(name);
		path = file_path(fs, name);
		if (stat(path, &sb) == 0)
		{
			size_t		common = name_len < prefix_len ? name_len : prefix_len;

			/* enter a directory only if it can hold matching names */
			if (S_ISDIR(sb.st_mode))
			{
				if (strncmp(name, prefix, common) == 0)
					st = file_walk(fs, name, prefix, temporaries, visit, arg, err);
			}
			else if (strncmp(name, prefix, prefix_len) == 0 &&
					 (strstr(de->d_name, FILE_TMP_SUFFIX) != NULL) == temporaries)
				st = visit(arg, name, &sb, err);
		}
		arch_free(path);
		arch_free(name);
	}
	closedir(d);
	return st;
}

/* FileVisitor of file_list: hand the object to the caller's callback */
typedef struct FileListing
{
	ArchListCallback callback;
	void	   *arg;
} FileListing;

static ArchStatus
file_list_visit(void *arg, const char *name, const struct stat *sb,
				ArchError *err)
{
	FileListing *l = arg;

	return l->callback(l->arg, name, (uint64_t) sb->st_size, err);
}

static ArchStatus
file_list(void *state, const char *prefix, ArchListCallback callback,
		  void *arg, ArchError *err)
{
	FileListing l = {callback, arg};

	return file_walk(state, "", prefix, false, file_list_visit, &l, err);
}

/* FileVisitor of file_cleanup: remove a temporary file not newer than before */
typedef struct FileSweep
{
	FileStorage *fs;
	time_t		before;
	int			removed;
} FileSweep;

static ArchStatus
file_sweep_visit(void *arg, const char *name, const struct stat *sb,
				 ArchError *err)
{
	FileSweep  *sw = arg;
	char	   *path;
	int			rc;

	/* younger: maybe a write still in progress, in this or another process */
	if (sb->st_mtime > sw->before)
		return ARCH_OK;
	path = file_path(sw->fs, name);
	rc = unlink(path);
	arch_free(path);
	/* gone meanwhile: a concurrent sweep got there first */
	if (rc != 0 && errno != ENOENT)
		return file_error(sw->fs, errno, "remove the temporary file", name, err);
	if (rc == 0)
		sw->removed++;
	return ARCH_OK;
}

/*
 * Temporary files are what a write killed before its rename leaves (the
 * name carries the writer's process id, which says nothing on another
 * host of a shared mount: hence the age).
 */
static ArchStatus
file_cleanup(void *state, const char *prefix, time_t before, int *removed,
			 ArchError *err)
{
	FileSweep	sw = {state, before, 0};
	ArchStatus	st = file_walk(state, "", prefix, true, file_sweep_visit, &sw, err);

	*removed = sw.removed;
	return st;
}

/*
 * Remove an object, then the directories it leaves empty, up to the root
 * (rmdir fails on a directory that is not empty, and a writer that finds
 * its directory gone makes it again: file_write_begin).
 */
static ArchStatus
file_remove(void *state, const char *name, ArchError *err)
{
	FileStorage *fs = state;
	char	   *path = file_path(fs, name);
	int			rc = unlink(path);
	int			saved = errno;

	if (rc == 0)
	{
		char	   *dir = file_dirname(path);

		while (strlen(dir) > strlen(fs->root) && rmdir(dir) == 0)
		{
			char	   *parent = file_dirname(dir);

			arch_free(dir);
			dir = parent;
		}
		arch_free(dir);
	}
	arch_free(path);
	if (rc != 0)
		return file_missing(fs, saved, "remove", name, err);
	return ARCH_OK;
}

const ArchStorageDriver arch_storage_file_driver = {
	.scheme = "file",
	.settings = NULL,
	.open = file_open,
	.close = file_close,
	.write_begin = file_write_begin,
	.write = file_write,
	.write_end = file_write_end,
	.write_abort = file_write_abort,
	.write_head = file_write_head,
	.read = file_read,
	.info = file_info,
	.list = file_list,
	.remove = file_remove,
	.cleanup = file_cleanup,
};
