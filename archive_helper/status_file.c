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

static const char *const status_events[] = {"push", "drop", "backup", "failure"};
#define NEVENTS lengthof(status_events)
/* their places in status_events */
#define EVENT_DROP 1
#define EVENT_FAILURE 3

/* A failure's message is kept to one line of at most this many bytes */
#define STATUS_MESSAGE_LEN 512

typedef struct StatusValues
{
	char		time[NEVENTS][32];
	char		name[NEVENTS][64];
	long long	drop_count;
	char		failure_message[STATUS_MESSAGE_LEN];
} StatusValues;

/* The value of line if it is "key = value", else NULL */
static const char *
status_value(const char *line, const char *key)
{
	size_t		len = strlen(key);

	if (strncmp(line, key, len) != 0 || strncmp(line + len, " = ", 3) != 0)
		return NULL;
	return line + len + 3;
}

/* Take what we know from the current file; anything else is dropped */
static void
status_read(const char *path, StatusValues *v)
{
	FILE	   *f = fopen(path, "r");
	char		line[STATUS_MESSAGE_LEN + 64];

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f))
	{
		const char *value;
		char		key[32];

		line[strcspn(line, "\n")] = '\0';
		for (int i = 0; i < (int) NEVENTS; i++)
		{
			snprintf(key, sizeof(key), "last-%s-time", status_events[i]);
			if ((value = status_value(line, key)) != NULL)
				strlcpy(v->time[i], value, sizeof(v->time[i]));
			snprintf(key, sizeof(key), "last-%s-name", status_events[i]);
			if ((value = status_value(line, key)) != NULL)
				strlcpy(v->name[i], value, sizeof(v->name[i]));
		}
		if ((value = status_value(line, "drop-count")) != NULL)
			v->drop_count = strtoll(value, NULL, 10);
		if ((value = status_value(line, "last-failure-message")) != NULL)
			strlcpy(v->failure_message, value, sizeof(v->failure_message));
	}
	fclose(f);
}

static bool
status_write(const char *path, const StatusValues *v)
{
	char	   *tmp = psprintf("%s.tmp", path);
	/* only the server's user reads it: failure messages name the repository */
	int			fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE	   *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	bool		ok = f != NULL;

	if (ok)
	{
		fprintf(f, "# dbops_archive status file, format 1\n");
		for (int i = 0; i < (int) NEVENTS; i++)
			if (v->time[i][0])
				fprintf(f, "last-%s-time = %s\nlast-%s-name = %s\n",
						status_events[i], v->time[i], status_events[i], v->name[i]);
		if (v->drop_count > 0)
			fprintf(f, "drop-count = %lld\n", v->drop_count);
		if (v->time[EVENT_FAILURE][0])
			fprintf(f, "last-failure-message = %s\n", v->failure_message);
		ok = fflush(f) == 0;
		ok = (fclose(f) == 0) && ok;
	}
	else if (fd >= 0)
		close(fd);
	ok = ok && rename(tmp, path) == 0;
	if (!ok)
		unlink(tmp);
	pg_free(tmp);
	return ok;
}

/* Record event of name now, with message for a failure */
static void
status_note(ArchCli *cli, const char *event, const char *name,
			const char *message)
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
				if (i == EVENT_DROP)
					v.drop_count++;
			}
		if (message != NULL)
		{
			/* one line: the reader takes a line per key */
			strlcpy(v.failure_message, message, sizeof(v.failure_message));
			for (char *c = v.failure_message; *c; c++)
				if (*c == '\n' || *c == '\r')
					*c = ' ';
		}
		ok = status_write(path, &v);
	}
	if (!ok)
		pg_log_warning("could not update status file \"%s\": %m", path);
	if (lock_fd >= 0)
		close(lock_fd);
	pg_free(lock_path);
}

void
status_file_note(ArchCli *cli, const char *event, const char *name)
{
	status_note(cli, event, name, NULL);
}

void
status_file_note_failure(ArchCli *cli, const char *name, const char *message)
{
	status_note(cli, "failure", name, message);
}
