/*-------------------------------------------------------------------------
 *
 * local_file.c
 *		Read local files safely and judge where a path lies (see
 *		local_file.h).
 *
 * archive_helper/common/local_file.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "local_file.h"

ArchStatus
arch_open_local_file(const char *path, const char *what, int *fdp,
					 struct stat *stp, bool *absent, ArchError *err)
{
	int			fd;

	*fdp = -1;
	if (absent)
		*absent = false;

	/*
	 * O_NONBLOCK: a FIFO opens at once instead of waiting for a writer, and
	 * is then refused by its type.  It changes nothing for a regular file.
	 */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
	{
		if (absent)
			*absent = (errno == ENOENT);
		return arch_error(err, ARCH_FATAL, "could not open %s \"%s\": %s",
						  what, path, strerror(errno));
	}
	if (fstat(fd, stp) != 0)
	{
		int			saved = errno;

		close(fd);
		return arch_error(err, ARCH_FATAL, "could not stat %s \"%s\": %s",
						  what, path, strerror(saved));
	}
	if (!S_ISREG(stp->st_mode))
	{
		close(fd);
		return arch_error(err, ARCH_FATAL, "%s \"%s\" is not a regular file",
						  what, path);
	}
	*fdp = fd;
	return ARCH_OK;
}

ArchStatus
arch_read_local_file(const char *path, const char *what, size_t max,
					 char **text, size_t *len, struct stat *stp, bool *absent,
					 ArchError *err)
{
	struct stat st;
	int			fd;
	size_t		done = 0;
	char	   *buf;
	ArchStatus	status;

	*text = NULL;
	*len = 0;
	status = arch_open_local_file(path, what, &fd, &st, absent, err);
	if (status != ARCH_OK)
		return status;
	if ((uint64_t) st.st_size > max)
	{
		close(fd);
		return arch_error(err, ARCH_FATAL, "%s \"%s\" is larger than %zu bytes",
						  what, path, max);
	}

	buf = arch_alloc(st.st_size + 1);
	while (done < (size_t) st.st_size)
	{
		ssize_t		n = read(fd, buf + done, st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
		{
			int			saved = n < 0 ? errno : EIO;

			close(fd);
			arch_free(buf);
			return arch_error(err, ARCH_TRANSIENT, "could not read %s \"%s\": %s",
							  what, path, n < 0 ? strerror(saved) : "file shrank while read");
		}
		done += n;
	}
	close(fd);
	buf[done] = '\0';
	*text = buf;
	*len = done;
	if (stp)
		*stp = st;
	return ARCH_OK;
}

/*
 * path with every symbolic link, "." and ".." resolved, as far as it
 * exists; the components that do not exist yet are appended as written,
 * with "." dropped and ".." taking back the one before it (such a ".."
 * only ever follows a directory that is still to be created).  NULL when
 * nothing of it can be resolved.  arch_alloc'ed.
 */
static char *
arch_path_resolve(const char *path)
{
	char		cwd[PATH_MAX];
	char		resolved[PATH_MAX];
	char	   *full;
	char	   *cut;
	char	   *out;
	char	   *tail;

	if (path[0] == '/')
		full = arch_strdup(path);
	else if (getcwd(cwd, sizeof(cwd)) != NULL)
		full = arch_psprintf("%s/%s", cwd, path);
	else
		return NULL;

	/* the longest prefix that exists; "/" always does */
	cut = full + strlen(full);
	for (;;)
	{
		char		saved = *cut;

		*cut = '\0';
		if (realpath(full[0] ? full : "/", resolved) != NULL)
		{
			*cut = saved;
			break;
		}
		*cut = saved;
		while (cut > full && cut[-1] == '/')
			cut--;
		while (cut > full && cut[-1] != '/')
			cut--;
		if (cut == full)
		{
			arch_free(full);
			return NULL;
		}
	}

	out = arch_alloc(strlen(resolved) + strlen(cut) + 2);
	strcpy(out, resolved);
	tail = cut;
	while (*tail)
	{
		size_t		n = strcspn(tail, "/");

		if (n == 2 && strncmp(tail, "..", 2) == 0)
		{
			char	   *slash = strrchr(out, '/');

			if (slash != NULL && slash != out)
				*slash = '\0';
			else
				strcpy(out, "/");
		}
		else if (n > 0 && !(n == 1 && tail[0] == '.'))
		{
			if (strcmp(out, "/") != 0)
				strcat(out, "/");
			strncat(out, tail, n);
		}
		tail += n;
		while (*tail == '/')
			tail++;
	}
	arch_free(full);
	return out;
}

bool
arch_path_is_under(const char *path, const char *dir)
{
	char	   *rpath = arch_path_resolve(path);
	char		rdir[PATH_MAX];
	size_t		len;
	bool		under;

	if (rpath == NULL || realpath(dir, rdir) == NULL)
	{
		arch_free(rpath);
		return false;
	}
	len = strlen(rdir);
	/* "/" holds every path; otherwise the next character must end a name */
	under = strncmp(rpath, rdir, len) == 0 &&
		(len == 1 || rpath[len] == '/' || rpath[len] == '\0');
	arch_free(rpath);
	return under;
}
