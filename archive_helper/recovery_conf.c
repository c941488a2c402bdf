/*-------------------------------------------------------------------------
 *
 * recovery_conf.c
 *		Build the recovery settings of a restored data directory (see
 *		recovery_conf.h).
 *
 * archive_helper/recovery_conf.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <time.h>
#include <unistd.h>

#include "backup_manifest.h"
#include "recovery_conf.h"

void
recovery_conf_quote(ArchBuf *out, const char *value)
{
	arch_buf_append(out, "'", 1);
	for (const char *p = value; *p; p++)
	{
		if (*p == '\'')
			arch_buf_append(out, "''", 2);
		else if (*p == '\\')
			arch_buf_append(out, "\\\\", 2);
		else
			arch_buf_append(out, p, 1);
	}
	arch_buf_append(out, "'", 1);
}

/*
 * One word of restore_command: quoted for the shell ('\'' for a quote),
 * with % doubled, since PostgreSQL replaces %f, %p and %% in it.
 */
static void
shell_word(ArchBuf *cmd, const char *prefix, const char *value)
{
	arch_buf_appendf(cmd, " %s'", prefix);
	for (const char *p = value; *p; p++)
	{
		if (*p == '\'')
			arch_buf_append(cmd, "'\\''", 4);
		else if (*p == '%')
			arch_buf_append(cmd, "%%", 2);
		else
			arch_buf_append(cmd, p, 1);
	}
	arch_buf_append(cmd, "'", 1);
}

/* Add the non-secret settings this run got by option or environment */
static ArchStatus
setting_words(ArchCli *cli, const ArchSetting *s, ArchBuf *cmd, ArchError *err)
{
	for (; s && s->name; s++)
	{
		const char *source = arch_config_source(cli->cfg, s->name);
		const char *value = arch_config_get(cli->cfg, s->name);
		char	   *prefix;

		if (strcmp(source, "option") != 0 && strcmp(source, "environment") != 0)
			continue;
		if (s->secret)
		{
			arch_error(err, ARCH_FATAL,
					   "setting \"%s\" comes from the environment, which restore_command would not have",
					   s->name);
			return arch_error_detail(err, ARCH_FATAL,
									 "Put it in a config file of mode 0600 and pass --config: restore_command names that file, never a secret.");
		}
		prefix = psprintf("--%s=", s->name);
		shell_word(cmd, prefix, value);
		pg_free(prefix);
	}
	return ARCH_OK;
}

/* The restore_command: this executable, its config file and settings */
static ArchStatus
restore_command(ArchCli *cli, bool no_spool, ArchBuf *cmd, ArchError *err)
{
	char		self[MAXPGPATH];
	ssize_t		len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	const char *file = arch_config_file(cli->cfg);
	ArchStatus	st;

	if (len <= 0)
		return arch_error(err, ARCH_FATAL, "could not find the path of this executable: %m");
	self[len] = '\0';
	arch_buf_reset(cmd);
	shell_word(cmd, "", self);
	if (file)
	{
		char	   *abs = realpath(file, NULL);

		if (abs == NULL)
			return arch_error(err, ARCH_FATAL, "could not resolve the path of config file \"%s\": %m", file);
		shell_word(cmd, "--config=", abs);
		free(abs);
	}
	/* the core's settings and the repository's driver's, no other's */
	st = setting_words(cli, arch_core_settings, cmd, err);
	if (st == ARCH_OK)
	{
		ArchUrl		url;

		st = arch_url_parse(arch_config_get(cli->cfg, "repo"), &url, err);
		if (st == ARCH_OK && arch_storage_driver_find(url.scheme))
			st = setting_words(cli, arch_storage_driver_find(url.scheme)->settings, cmd, err);
		if (st == ARCH_OK)
			arch_url_free(&url);
	}
	/* the last setting given wins over one from the config file too */
	if (no_spool)
		shell_word(cmd, "--spool-path=", "off");
	arch_buf_appendf(cmd, " wal-fetch %%f %%p");
	/* the leading space of the first word */
	memmove(cmd->data, cmd->data + 1, cmd->len--);
	return st;
}

static void
setting(ArchBuf *lines, const char *name, const char *value)
{
	arch_buf_appendf(lines, "%s = ", name);
	recovery_conf_quote(lines, value);
	arch_buf_appendf(lines, "\n");
}

ArchStatus
recovery_conf_build(ArchCli *cli, const RecoveryTarget *t, const char *label,
					ArchBuf *lines, ArchError *err)
{
	static const char *const kinds[] = {"immediate", "time", "lsn", "xid", "name"};
	ArchBuf		cmd = {0};
	char		now[32];
	ArchStatus	st = restore_command(cli, t->no_spool, &cmd, err);

	if (st != ARCH_OK)
	{
		arch_buf_free(&cmd);
		return st;
	}
	backup_format_time((int64_t) time(NULL), now, sizeof(now));
	arch_buf_reset(lines);
	arch_buf_appendf(lines, "\n# Recovery settings written by dbops_archive backup-fetch %s at %s.\n"
					 "# Remove them once recovery has ended.\n", label, now);
	setting(lines, "restore_command", cmd.data);
	if (!t->preserve_archive_mode)
		setting(lines, "archive_mode", "off");
	/*
	 * One target at most: the others empty, whatever postgresql.conf says,
	 * and written first: PostgreSQL refuses a second target as each is
	 * assigned in turn, even an empty one after a set one.
	 */
	for (int i = 0; i < (int) lengthof(kinds); i++)
	{
		char		name[32];

		snprintf(name, sizeof(name), "recovery_target_%s", kinds[i]);
		if (t->kind == NULL || strcmp(t->kind, kinds[i]) != 0)
			setting(lines, strcmp(kinds[i], "immediate") == 0 ? "recovery_target" : name, "");
	}
	if (t->kind)
	{
		char		name[32];

		snprintf(name, sizeof(name), "recovery_target_%s", t->kind);
		setting(lines, strcmp(t->kind, "immediate") == 0 ? "recovery_target" : name,
				strcmp(t->kind, "immediate") == 0 ? "immediate" : t->value);
	}
	setting(lines, "recovery_target_inclusive", t->exclusive ? "off" : "on");
	setting(lines, "recovery_target_timeline", t->timeline ? t->timeline : "latest");
	setting(lines, "recovery_target_action", t->action ? t->action : "pause");
	/* a restored copy follows no primary */
	setting(lines, "primary_conninfo", "");
	setting(lines, "primary_slot_name", "");
	arch_buf_free(&cmd);
	return ARCH_OK;
}
