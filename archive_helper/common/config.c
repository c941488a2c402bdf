/*-------------------------------------------------------------------------
 *
 * config.c
 *		Read the settings of dbops_archive (see config.h for the rules).
 *
 * archive_helper/common/config.c
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "local_file.h"
#include "secret.h"

#define lengthof(array) (sizeof(array) / sizeof((array)[0]))

const ArchSetting arch_core_settings[] = {
	{"repo", "DBOPS_ARCHIVE_REPO", NULL, NULL, false,
	"repository URL: file:///path, s3://bucket/prefix or azure://container/prefix"},
	{"compress", "DBOPS_ARCHIVE_COMPRESS", NULL, "zstd", false,
	"compression of new objects: zstd or none"},
	{"compress-level", "DBOPS_ARCHIVE_COMPRESS_LEVEL", NULL, "3", false,
	"zstd level of new objects, 1 to 19"},
	{"compress-threads", "DBOPS_ARCHIVE_COMPRESS_THREADS", NULL, "0", false,
	"zstd worker threads per object, 0 to compress in the calling thread"},
	{"encrypt-key", "DBOPS_ARCHIVE_ENCRYPT_KEY", NULL, NULL, true,
	"encryption key as \"KEY-ID HEX\" (see Key files); turns encryption on"},
	{"encrypt-key-file", "DBOPS_ARCHIVE_ENCRYPT_KEY_FILE", NULL, NULL, false,
	"path of a key file (mode 0600); turns encryption on"},
	{"allow-unencrypted", "DBOPS_ARCHIVE_ALLOW_UNENCRYPTED", NULL, "off", false,
	"with encryption keys set, also restore objects stored without encryption (on while a repository moves to encryption)"},
	{"spool-path", "DBOPS_ARCHIVE_SPOOL_PATH", NULL, NULL, false,
	"local directory (outside the data directory) that turns on pushing and prefetching ahead; off when unset"},
	{"parallel", "DBOPS_ARCHIVE_PARALLEL", NULL, "2", false,
	"threads that push or fetch segments at once, with spool-path"},
	{"ahead", "DBOPS_ARCHIVE_AHEAD", NULL, "8", false,
	"segments one call pushes (those ready in pg_wal) or prefetches beyond its own, with spool-path"},
	{"cleanup-grace", "DBOPS_ARCHIVE_CLEANUP_GRACE", NULL, "24h", false,
	"age (s, min, h, d) after which leftovers of interrupted writes are removed by wal-push and cleanup; off: wal-push leaves them"},
	{"archive-timeout", "DBOPS_ARCHIVE_ARCHIVE_TIMEOUT", NULL, "60s", false,
	"how long backup-push waits for the last WAL file a backup needs to reach the repository"},
	{"status-file", "DBOPS_ARCHIVE_STATUS_FILE", NULL, NULL, false,
	"file that records the last WAL file pushed or dropped and the last backup, for monitoring; off when unset"},
	{"archive-push-queue-max", "DBOPS_ARCHIVE_PUSH_QUEUE_MAX", NULL, NULL, false,
	"drop WAL from the archive, with a WARNING, when a push fails and pg_wal holds more than this many bytes awaiting archiving; off when unset"},
	{NULL}
};

typedef struct ArchConfigEntry
{
	const ArchSetting *setting;
	char	   *file_value;
	char	   *option_value;
} ArchConfigEntry;

struct ArchConfig
{
	char	   *file;			/* the config file read, or NULL */
	int			nentries;
	ArchConfigEntry *entries;
};

/*
 * The declaration of a setting: the core's first, then each driver's (a
 * driver table lists the settings it reads).
 */
const ArchSetting *
arch_setting_find(const char *name)
{
	const ArchStorageDriver *const *drivers = arch_storage_drivers();

	for (const ArchSetting *s = arch_core_settings; s->name; s++)
		if (strcmp(s->name, name) == 0)
			return s;
	for (int i = 0; drivers[i] != NULL; i++)
		for (const ArchSetting *s = drivers[i]->settings; s && s->name; s++)
			if (strcmp(s->name, name) == 0)
				return s;
	return NULL;
}

static ArchConfigEntry *
arch_config_entry(ArchConfig *cfg, const ArchSetting *setting, bool create)
{
	for (int i = 0; i < cfg->nentries; i++)
		if (cfg->entries[i].setting == setting)
			return &cfg->entries[i];
	if (!create)
		return NULL;
	cfg->entries = arch_realloc(cfg->entries,
								sizeof(ArchConfigEntry) * (cfg->nentries + 1));
	memset(&cfg->entries[cfg->nentries], 0, sizeof(ArchConfigEntry));
	cfg->entries[cfg->nentries].setting = setting;
	return &cfg->entries[cfg->nentries++];
}

static char *
arch_trim(char *s)
{
	char	   *end;

	while (isspace((unsigned char) *s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char) end[-1]))
		*--end = '\0';
	return s;
}

ArchStatus
arch_config_parse(ArchConfig *cfg, const char *text, size_t len,
				  bool *has_secret, ArchError *err)
{
	const char *file = cfg->file ? cfg->file : "(none)";
	const char *end = text + len;
	int			lineno = 0;

	*has_secret = false;
	for (const char *line = text; line < end; lineno++)
	{
		const char *nl = memchr(line, '\n', end - line);
		size_t		line_len = nl ? (size_t) (nl - line) : (size_t) (end - line);
		char	   *copy;
		char	   *p;
		char	   *eq;
		char	   *name;
		char	   *value;
		const ArchSetting *setting;
		ArchConfigEntry *entry;
		size_t		vlen;

		if (memchr(line, '\0', line_len) != NULL)
			return arch_error(err, ARCH_FATAL,
							  "config file \"%s\" line %d holds a NUL byte",
							  file, lineno + 1);
		copy = arch_alloc(line_len + 1);
		memcpy(copy, line, line_len);
		copy[line_len] = '\0';
		line += line_len + (nl ? 1 : 0);

		/* a '#' outside quotes starts a comment */
		p = copy;
		for (bool quoted = false; *p; p++)
		{
			if (*p == '"')
				quoted = !quoted;
			else if (*p == '#' && !quoted)
			{
				*p = '\0';
				break;
			}
		}
		p = arch_trim(copy);
		if (*p == '\0')
		{
			arch_free(copy);
			continue;
		}
		eq = strchr(p, '=');
		if (eq == NULL)
		{
			arch_free(copy);
			arch_error(err, ARCH_FATAL,
					   "syntax error in config file \"%s\" line %d",
					   file, lineno + 1);
			return arch_error_detail(err, ARCH_FATAL,
									 "Each line is \"name = value\", a comment or blank.");
		}
		*eq = '\0';
		name = arch_trim(p);
		value = arch_trim(eq + 1);
		vlen = strlen(value);
		if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"')
		{
			value[vlen - 1] = '\0';
			value++;
		}
		setting = arch_setting_find(name);
		if (setting == NULL)
		{
			/* the name may be a mistyped secret's value: quote no more than a name */
			arch_error(err, ARCH_FATAL,
					   "unrecognized setting \"%.64s\" in config file \"%s\" line %d",
					   name, file, lineno + 1);
			arch_free(copy);
			return ARCH_FATAL;
		}
		if (setting->secret)
			*has_secret = true;
		/* as in postgresql.conf, the last line for a setting wins */
		entry = arch_config_entry(cfg, setting, true);
		arch_free(entry->file_value);
		entry->file_value = arch_strdup(value);
		arch_free(copy);
	}
	return ARCH_OK;
}

ArchStatus
arch_config_load(const char *config_path, const char *data_dir,
				 ArchConfig **cfgp, ArchError *err)
{
	ArchConfig *cfg;
	const char *path = config_path;
	bool		explicit = true;
	bool		absent;
	char	   *text;
	size_t		len;
	struct stat st;
	bool		has_secret = false;
	ArchStatus	status;

	*cfgp = NULL;
	if (path == NULL || path[0] == '\0')
		path = getenv(ARCH_CONFIG_ENV);
	if (path == NULL || path[0] == '\0')
	{
		path = ARCH_CONFIG_DEFAULT_FILE;
		explicit = false;
	}

	if (data_dir != NULL && arch_path_is_under(path, data_dir))
	{
		arch_error(err, ARCH_FATAL,
				   "config file \"%s\" is inside the data directory \"%s\"",
				   path, data_dir);
		return arch_error_detail(err, ARCH_FATAL,
								 "It would be copied into every base backup, with any secret it holds.");
	}

	status = arch_read_local_file(path, "config file", ARCH_CONFIG_FILE_MAX,
								  &text, &len, &st, &absent, err);
	/* only a file that was asked for must exist */
	if (status != ARCH_OK && absent && !explicit)
	{
		*cfgp = arch_config_new();
		return ARCH_OK;
	}
	if (status != ARCH_OK)
		return status;

	cfg = arch_config_new();
	cfg->file = arch_strdup(path);
	status = arch_config_parse(cfg, text, len, &has_secret, err);
	arch_free_secret(text);
	if (status == ARCH_OK && has_secret && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
	{
		status = arch_error(err, ARCH_FATAL,
							"config file \"%s\" holds secrets and is accessible by group or others (mode %04o)",
							path, (unsigned) (st.st_mode & 07777));
		arch_error_detail(err, ARCH_FATAL,
						  "Run \"chmod 600 %s\", or pass the secrets through the environment.",
						  path);
	}
	if (status != ARCH_OK)
	{
		arch_config_free(cfg);
		return status;
	}
	*cfgp = cfg;
	return ARCH_OK;
}

ArchConfig *
arch_config_new(void)
{
	return arch_alloc0(sizeof(ArchConfig));
}

void
arch_config_free(ArchConfig *cfg)
{
	if (cfg == NULL)
		return;
	for (int i = 0; i < cfg->nentries; i++)
	{
		arch_free(cfg->entries[i].file_value);
		arch_free(cfg->entries[i].option_value);
	}
	arch_free(cfg->entries);
	arch_free(cfg->file);
	arch_free(cfg);
}

ArchStatus
arch_config_set_option(ArchConfig *cfg, const char *name, const char *value,
					   ArchError *err)
{
	const ArchSetting *setting = arch_setting_find(name);
	ArchConfigEntry *entry;

	if (setting == NULL)
		return arch_error(err, ARCH_FATAL, "unrecognized option \"--%s\"", name);
	if (setting->secret)
	{
		/* argv is visible to every local user through ps */
		arch_error(err, ARCH_FATAL,
				   "setting \"%s\" is a secret and cannot be given on the command line",
				   name);
		return arch_error_detail(err, ARCH_FATAL,
								 "Set %s in the environment or in a config file of mode 0600.",
								 setting->env ? setting->env : name);
	}
	entry = arch_config_entry(cfg, setting, true);
	arch_free(entry->option_value);
	entry->option_value = arch_strdup(value);
	return ARCH_OK;
}

static const char *
arch_getenv(const char *name)
{
	const char *v = name ? getenv(name) : NULL;

	return (v != NULL && v[0] != '\0') ? v : NULL;
}

/* The value and its source, for arch_config_get and arch_config_source */
static const char *
arch_config_lookup(const ArchConfig *cfg, const char *name, const char **source)
{
	const ArchSetting *setting = arch_setting_find(name);
	ArchConfigEntry *entry;
	const char *v;

	*source = "unset";
	if (setting == NULL)
		return NULL;
	entry = arch_config_entry((ArchConfig *) cfg, setting, false);
	if (entry != NULL && entry->option_value != NULL)
	{
		*source = "option";
		return entry->option_value;
	}
	if ((v = arch_getenv(setting->env)) != NULL ||
		(v = arch_getenv(setting->env_alt)) != NULL)
	{
		*source = "environment";
		return v;
	}
	if (entry != NULL && entry->file_value != NULL)
	{
		*source = "config file";
		return entry->file_value;
	}
	if (setting->default_value != NULL)
		*source = "default";
	return setting->default_value;
}

const char *
arch_config_get(const ArchConfig *cfg, const char *name)
{
	const char *source;

	return arch_config_lookup(cfg, name, &source);
}

const char *
arch_config_file(const ArchConfig *cfg)
{
	return cfg->file;
}

const char *
arch_config_source(const ArchConfig *cfg, const char *name)
{
	const char *source;

	arch_config_lookup(cfg, name, &source);
	return source;
}

ArchStatus
arch_config_get_int(const ArchConfig *cfg, const char *name, int64_t min,
					int64_t max, int64_t *value, ArchError *err)
{
	const char *text = arch_config_get(cfg, name);
	char	   *end;
	long long	v;

	*value = 0;
	if (text == NULL)
		return ARCH_OK;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
		return arch_error(err, ARCH_FATAL,
						  "invalid value \"%s\" for setting \"%s\": expected an integer from %lld to %lld",
						  text, name, (long long) min, (long long) max);
	*value = v;
	return ARCH_OK;
}

ArchStatus
arch_config_get_bool(const ArchConfig *cfg, const char *name, bool *value,
					 ArchError *err)
{
	static const char *const on[] = {"on", "true", "yes", "1"};
	static const char *const off[] = {"off", "false", "no", "0"};
	const char *text = arch_config_get(cfg, name);

	*value = false;
	if (text == NULL)
		return ARCH_OK;
	for (int i = 0; i < 4; i++)
	{
		if (strcmp(text, on[i]) == 0)
		{
			*value = true;
			return ARCH_OK;
		}
		if (strcmp(text, off[i]) == 0)
			return ARCH_OK;
	}
	return arch_error(err, ARCH_FATAL,
					  "invalid value \"%s\" for setting \"%s\": expected on or off",
					  text, name);
}

/* A unit a number may carry, and what it multiplies the number by */
typedef struct ArchUnit
{
	const char *unit;
	uint64_t	factor;
} ArchUnit;

/*
 * "NUMBER", "NUMBER UNIT" or "NUMBERUNIT" with one of the nunits units
 * ("" for none), the product at most max: true and *value, else false.
 */
static bool
arch_parse_with_unit(const char *text, const ArchUnit *units, int nunits,
					 uint64_t max, uint64_t *value)
{
	char	   *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno != 0 || end == text || !isdigit((unsigned char) text[0]))
		return false;
	while (*end == ' ')
		end++;
	for (int i = 0; i < nunits; i++)
		if (strcmp(end, units[i].unit) == 0 && v <= max / units[i].factor)
		{
			*value = (uint64_t) v * units[i].factor;
			return true;
		}
	return false;
}

ArchStatus
arch_config_get_duration(const ArchConfig *cfg, const char *name,
						 int64_t *seconds, ArchError *err)
{
	static const ArchUnit units[] = {
		{"", 1}, {"s", 1}, {"min", 60}, {"h", 3600}, {"d", 86400}
	};
	const char *text = arch_config_get(cfg, name);
	uint64_t	v;

	*seconds = -1;
	if (text == NULL || strcmp(text, "off") == 0)
		return ARCH_OK;
	/* at most ten years, far from any overflow of a time_t difference */
	if (arch_parse_with_unit(text, units, lengthof(units), 3650 * 86400, &v))
	{
		*seconds = (int64_t) v;
		return ARCH_OK;
	}
	arch_error(err, ARCH_FATAL, "invalid value \"%s\" for setting \"%s\"", text, name);
	return arch_error_detail(err, ARCH_FATAL,
							 "Give a duration with an optional unit (s, min, h or d), at most ten years, or off.");
}

ArchStatus
arch_config_get_size(const ArchConfig *cfg, const char *name, uint64_t *value,
					 ArchError *err)
{
	static const ArchUnit units[] = {
		{"", 1}, {"B", 1}, {"kB", (uint64_t) 1 << 10}, {"MB", (uint64_t) 1 << 20},
		{"GB", (uint64_t) 1 << 30}, {"TB", (uint64_t) 1 << 40}
	};
	const char *text = arch_config_get(cfg, name);

	*value = 0;
	if (text == NULL || arch_parse_with_unit(text, units, lengthof(units), UINT64_MAX, value))
		return ARCH_OK;
	arch_error(err, ARCH_FATAL, "invalid value \"%s\" for setting \"%s\"",
			   text, name);
	return arch_error_detail(err, ARCH_FATAL,
							 "Give a number of bytes with an optional unit: B, kB, MB, GB or TB.");
}
