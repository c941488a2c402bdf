/*-------------------------------------------------------------------------
 *
 * status_file.c
 *		Update the status file (see status_file.h).
 *
 * archive_helper/status_file.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <fcntl.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "backup_manifest.h"
#include "common/logging.h"
#include "status_file.h"

static const char *const status_events[] = {"push", "drop", "backup"};
#define NEVENTS lengthof(status_events)

typedef struct StatusValues
{
	char		time[NEVENTS][32];
	char		name[NEVENTS][64];
} StatusValues;

/* Take what we know from the current file; anything else is dropped */
static void
status_read(const char *path, StatusValues *v)
{
	FILE	   *f = fopen(path, "r");
	char		line[256];

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f))
	{
		for (int i = 0; i < (int) NEVENTS; i++)
		{
			char		key[32];
			char		value[64];

			snprintf(key, sizeof(key), "last-%s-time = ", status_events[i]);
			if (strncmp(line, key, strlen(key)) == 0 &&
				sscanf(line + strlen(key), "%31s", value) == 1)
				strlcpy(v->time[i], value, sizeof(v->time[i]));
			snprintf(key, sizeof(key), "last-%s-name = ", status_events[i]);
			if (strncmp(line, key, strlen(key)) == 0 &&
				sscanf(line + strlen(key), "%63s", value) == 1)
				strlcpy(v->name[i], value, sizeof(v->name[i]));
		}
	}
	fclose(f);
}

static bool
status_write(const char *path, const StatusValues *v)
{
	char	   *tmp = psprintf("%s.tmp", path);
	FILE	   *f = fopen(tmp, "w");
	bool		ok = f != NULL;

	if (ok)
	{
		fprintf(f, "# dbops_archive status file, format 1\n");
		for (int i = 0; i < (int) NEVENTS; i++)
			if (v->time[i][0])
				fprintf(f, "last-%s-time = %s\nlast-%s-name = %s\n",
						status_events[i], v->time[i], status_events[i], v->name[i]);
		ok = fflush(f) == 0;
		ok = (fclose(f) == 0) && ok;
	}
	ok = ok && rename(tmp, path) == 0;
	if (!ok)
		unlink(tmp);
	pg_free(tmp);
	return ok;
}

void
status_file_note(ArchCli *cli, const char *event, const char *name)
{
	const char *path = cli->cfg ? arch_config_get(cli->cfg, "status-file") : NULL;
	StatusValues v;
	char	   *lock_path;
	int			lock_fd;
	bool		ok;

	if (path == NULL || path[0] == '\0')
		return;
	memset(&v, 0, sizeof(v));
	lock_path = psprintf("%s.lock", path);
	lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0600);
	ok = lock_fd >= 0 && flock(lock_fd, LOCK_EX) == 0;
	if (ok)
	{
		status_read(path, &v);
		for (int i = 0; i < (int) NEVENTS; i++)
			if (strcmp(status_events[i], event) == 0)
			{
				backup_format_time((int64_t) time(NULL), v.time[i], sizeof(v.time[i]));
				strlcpy(v.name[i], name, sizeof(v.name[i]));
			}
		ok = status_write(path, &v);
	}
	if (!ok)
		pg_log_warning("could not update status file \"%s\": %m", path);
	if (lock_fd >= 0)
		close(lock_fd);
	pg_free(lock_path);
}
