/*-------------------------------------------------------------------------
 *
 * cli.c
 *		Helpers shared by the commands of dbops_archive (see cli.h).
 *
 * archive_helper/cli.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "cli.h"
#include "common/logging.h"

ArchStatus
cli_load_config(ArchCli *cli, ArchError *err)
{
	ArchStatus	st = arch_config_load(cli->config_path, cli->data_dir,
									  &cli->cfg, err);

	for (int i = 0; st == ARCH_OK && i < cli->noptions; i++)
		st = arch_config_set_option(cli->cfg, cli->option_names[i],
									cli->option_values[i], err);
	return st;
}

ArchStatus
cli_begin(ArchCli *cli, ArchKeyring *ring, ArchError *err)
{
	ArchStatus	st;

	memset(ring, 0, sizeof(ArchKeyring));
	st = cli_load_config(cli, err);
	if (st == ARCH_OK)
		st = cli_load_keyring(cli, ring, err);
	return st;
}

ArchStatus
cli_begin_reading(ArchCli *cli, ArchKeyring *ring, ArchDecodeOptions *dopts,
				  ArchStorage **storage, ArchError *err)
{
	ArchStatus	st = cli_begin(cli, ring, err);

	*storage = NULL;
	if (st == ARCH_OK)
		st = cli_decode_options(cli, ring, dopts, err);
	if (st == ARCH_OK)
		st = cli_open_repo(cli, storage, err);
	return st;
}

void
cli_log_error(const ArchError *err)
{
	pg_log_error("%s", err->message);
	if (err->detail[0] != '\0')
		pg_log_error_detail("%s", err->detail);
}

ArchStatus
cli_open_repo(ArchCli *cli, ArchStorage **storage, ArchError *err)
{
	const char *repo = arch_config_get(cli->cfg, "repo");

	if (repo == NULL)
	{
		arch_error(err, ARCH_FATAL, "no repository configured");
		return arch_error_detail(err, ARCH_FATAL,
								 "Set DBOPS_ARCHIVE_REPO, the \"repo\" setting of the config file, or --repo.");
	}
	return arch_storage_open(repo, cli->cfg, storage, err);
}

ArchStatus
cli_load_keyring(ArchCli *cli, ArchKeyring *ring, ArchError *err)
{
	const char *key = arch_config_get(cli->cfg, "encrypt-key");
	const char *key_file = arch_config_get(cli->cfg, "encrypt-key-file");

	memset(ring, 0, sizeof(ArchKeyring));
	if (key != NULL && key_file != NULL)
		return arch_error(err, ARCH_FATAL,
						  "settings \"encrypt-key\" and \"encrypt-key-file\" cannot both be set");
	if (key != NULL)
		return arch_keyring_parse(key, "setting \"encrypt-key\"", ring, err);
	if (key_file != NULL)
		return arch_keyring_load_file(key_file, ring, err);
	return ARCH_OK;
}

ArchStatus
cli_encode_options(ArchCli *cli, const ArchKeyring *ring,
				   ArchEncodeOptions *opts, ArchError *err)
{
	const char *compress = arch_config_get(cli->cfg, "compress");
	int64_t		level;
	int64_t		threads;
	ArchStatus	st;

	memset(opts, 0, sizeof(ArchEncodeOptions));
	if (strcmp(compress, "zstd") == 0)
		opts->compress = ARCH_COMPRESS_ZSTD;
	else if (strcmp(compress, "none") == 0)
		opts->compress = ARCH_COMPRESS_NONE;
	else
		return arch_error(err, ARCH_FATAL,
						  "invalid value \"%s\" for setting \"compress\": expected zstd or none",
						  compress);
	st = arch_config_get_int(cli->cfg, "compress-level", 1, 19, &level, err);
	if (st == ARCH_OK)
		st = arch_config_get_int(cli->cfg, "compress-threads", 0, 64, &threads, err);
	if (st != ARCH_OK)
		return st;
	opts->level = (int) level;
	opts->threads = (int) threads;
	opts->key = ring->nkeys > 0 ? &ring->keys[0] : NULL;
	return ARCH_OK;
}

ArchStatus
cli_decode_options(ArchCli *cli, const ArchKeyring *ring,
				   ArchDecodeOptions *opts, ArchError *err)
{
	memset(opts, 0, sizeof(ArchDecodeOptions));
	opts->keys = ring;
	return arch_config_get_bool(cli->cfg, "allow-unencrypted",
								&opts->allow_unencrypted, err);
}

ArchStatus
cli_ahead_settings(ArchCli *cli, int64_t *parallel, int64_t *ahead,
				   ArchError *err)
{
	ArchStatus	st = arch_config_get_int(cli->cfg, "parallel", 1, 64, parallel, err);

	if (st == ARCH_OK)
		st = arch_config_get_int(cli->cfg, "ahead", 0, 1024, ahead, err);
	return st;
}

void
cli_print_options(const ArchOption *options)
{
	printf("\nOptions of this command:\n");
	for (const ArchOption *o = options; o && o->name; o++)
		printf("  %s\n", o->help);
}

const char *
cli_option(const ArchCli *cli, const char *name)
{
	const char *value = NULL;

	for (int i = 0; i < cli->ncmdopts; i++)
		if (strcmp(cli->cmdopt_names[i], name) == 0)
			value = cli->cmdopt_values[i];
	return value;
}

int
cli_exit_code(ArchStatus st)
{
	switch (st)
	{
		case ARCH_OK:
			return ARCH_EXIT_OK;
		case ARCH_FATAL:
			return ARCH_EXIT_CONFIG;
		case ARCH_CORRUPT:
		case ARCH_EXISTS:
			return ARCH_EXIT_DIFFERS;
		default:
			return ARCH_EXIT_TRANSIENT;
	}
}

static void
cli_print_setting_list(const ArchSetting *s)
{
	for (; s != NULL && s->name != NULL; s++)
		printf("  --%-22s %s%s%s%s\n        %s\n", s->name,
			   s->env ? s->env : "",
			   s->default_value ? ", default " : "",
			   s->default_value ? s->default_value : "",
			   s->secret ? " (secret: environment or config file only)" : "",
			   s->description);
}

void
cli_print_settings(void)
{
	printf("\nSettings (--NAME=VALUE, then environment, then config file \"NAME = VALUE\"):\n");
	cli_print_setting_list(arch_core_settings);
	for (const ArchStorageDriver *const *d = arch_storage_drivers(); *d != NULL; d++)
		cli_print_setting_list((*d)->settings);
}
