/*-------------------------------------------------------------------------
 *
 * config.h
 *		Settings of dbops_archive: command-line options, environment and an
 *		optional config file.
 *
 * Every setting is declared once, in a table (arch_core_settings for the
 * commands, ArchStorageDriver.settings for each driver), with its file key,
 * its environment variables, its default and whether it is a secret.  A
 * value is looked up, in this order, in:
 *
 *	1. a command-line option (--name=value; secrets are refused in argv);
 *	2. the environment (the setting's variables, first set one wins);
 *	3. the config file: --config FILE, else $DBOPS_ARCHIVE_CONFIG, else
 *	   /etc/dbops/archive.conf if it exists;
 *	4. the default.
 *
 * The config file holds "name = value" lines; '#' starts a comment; a
 * value may be double-quoted.  It is refused when it lies inside the data
 * directory (it would be copied into every base backup), and when it holds
 * a secret while being readable by group or others.
 *
 * archive_helper/common/config.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_CONFIG_H
#define ARCH_CONFIG_H

#include "storage.h"

#define ARCH_CONFIG_DEFAULT_FILE "/etc/dbops/archive.conf"
#define ARCH_CONFIG_ENV "DBOPS_ARCHIVE_CONFIG"

/* The settings of the commands themselves; the list ends with a NULL name */
extern const ArchSetting arch_core_settings[];

/*
 * Load the configuration.  config_path is --config (or NULL); data_dir is
 * the cluster's data directory when known (or NULL), under which no config
 * file may live.
 */
extern ArchStatus arch_config_load(const char *config_path,
								   const char *data_dir, ArchConfig **cfg,
								   ArchError *err);
extern void arch_config_free(ArchConfig *cfg);

/* A config file larger than this is refused */
#define ARCH_CONFIG_FILE_MAX (1024 * 1024)

/*
 * Parse the text of a config file (len bytes, maybe not NUL-terminated)
 * into cfg, whose file name, if any, goes into messages.  *has_secret tells
 * whether it sets a secret.  Used by arch_config_load, and by the fuzzer.
 */
extern ArchStatus arch_config_parse(ArchConfig *cfg, const char *text,
									size_t len, bool *has_secret,
									ArchError *err);

/* An empty configuration: environment and defaults only */
extern ArchConfig *arch_config_new(void);

/* A command-line value; unknown names and secrets are refused */
extern ArchStatus arch_config_set_option(ArchConfig *cfg, const char *name,
										 const char *value, ArchError *err);

/* The declaration of a setting, or NULL */
extern const ArchSetting *arch_setting_find(const char *name);

/* The config file that was read, or NULL */
extern const char *arch_config_file(const ArchConfig *cfg);

/* Where the value of name comes from: "option", "environment", ... */
extern const char *arch_config_source(const ArchConfig *cfg, const char *name);

/* Integer setting within [min, max]; ARCH_FATAL naming the setting if not */
extern ArchStatus arch_config_get_int(const ArchConfig *cfg, const char *name,
									  int64_t min, int64_t max, int64_t *value,
									  ArchError *err);

/* Boolean setting: on, off (or true, false, yes, no, 1, 0); false when unset */
extern ArchStatus arch_config_get_bool(const ArchConfig *cfg, const char *name,
									   bool *value, ArchError *err);

/*
 * Duration setting: a number with an optional unit (s, min, h, d; seconds
 * when none), at most ten years; *seconds is -1 for "off" or unset.
 */
extern ArchStatus arch_config_get_duration(const ArchConfig *cfg,
										   const char *name, int64_t *seconds,
										   ArchError *err);

/*
 * Size setting: a number with an optional unit (B, kB, MB, GB, TB, base
 * 1024, as in postgresql.conf); *value is 0 when the setting is unset.
 */
extern ArchStatus arch_config_get_size(const ArchConfig *cfg, const char *name,
									   uint64_t *value, ArchError *err);

#endif							/* ARCH_CONFIG_H */
