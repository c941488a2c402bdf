/*-------------------------------------------------------------------------
 *
 * cli.h
 *		What the commands of dbops_archive share: exit codes, the parsed
 *		command line, and helpers that turn settings into a repository,
 *		keys and encoding options.
 *
 * archive_helper/cli.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_CLI_H
#define ARCH_CLI_H

#include "config.h"
#include "keyring.h"
#include "object.h"
#include "storage.h"

/*
 * Exit codes: a contract with PostgreSQL and with people (README, "Exit
 * codes").  PostgreSQL aborts archiving or recovery on codes above 125;
 * only wal-fetch during archive recovery uses one, on purpose.
 */
#define ARCH_EXIT_OK			0
#define ARCH_EXIT_NOT_FOUND		1	/* wal-fetch: not in the archive */
#define ARCH_EXIT_CONFIG		2	/* usage, configuration, credentials */
#define ARCH_EXIT_TRANSIENT		3	/* storage or network, after retries */
#define ARCH_EXIT_DIFFERS		4	/* archived copy differs (or is corrupt) */
#define ARCH_EXIT_ABORT_RECOVERY 128	/* wal-fetch, archive recovery: stop */

/*
 * An option of one command (--target-time=T, --json): the settings
 * (config.h) apply to every command, these only to the commands that list
 * them; given to any other command, they are a usage error.
 */
typedef struct ArchOption
{
	const char *name;
	bool		has_arg;		/* --name=VALUE, else a flag */
	const char *help;			/* "--name=VALUE  what it does", for --help */
} ArchOption;

typedef struct ArchCli
{
	const char *progname;
	const char *command;
	int			argc;			/* the command's arguments */
	char	  **argv;
	const char *config_path;	/* --config, or NULL */
	const char *data_dir;		/* where no config file may live, or NULL */
	int			noptions;		/* --NAME=VALUE settings, in order */
	const char **option_names;
	const char **option_values;
	int			ncmdopts;		/* the command's own options, in order */
	const char **cmdopt_names;
	const char **cmdopt_values; /* "" for a flag */
	ArchConfig *cfg;			/* set by cli_load_config */
} ArchCli;

typedef struct ArchCommand
{
	const char *name;
	const char *args;			/* e.g. "PATH", for usage lines */
	int			nargs;			/* exactly this many arguments */
	const char *summary;
	int			(*run) (ArchCli *cli);
	void		(*help) (const char *progname);

	/*
	 * Exit code for a usage error (logged already), or NULL for
	 * ARCH_EXIT_CONFIG.  wal-fetch must not answer 2, "not in the archive"
	 * to PostgreSQL, during archive recovery.
	 */
	int			(*usage_exit) (void);

	const ArchOption *options;	/* its own options, ending with a NULL name */
} ArchCommand;

extern int	cmd_wal_push(ArchCli *cli);
extern void cmd_wal_push_help(const char *progname);
extern int	cmd_wal_fetch(ArchCli *cli);
extern void cmd_wal_fetch_help(const char *progname);
extern int	cmd_wal_fetch_usage_exit(void);
extern int	cmd_check(ArchCli *cli);
extern void cmd_check_help(const char *progname);
extern int	cmd_cleanup(ArchCli *cli);
extern void cmd_cleanup_help(const char *progname);
extern int	cmd_backup_push(ArchCli *cli);
extern void cmd_backup_push_help(const char *progname);
extern const ArchOption cmd_backup_push_options[];
extern int	cmd_backup_list(ArchCli *cli);
extern void cmd_backup_list_help(const char *progname);
extern const ArchOption cmd_backup_list_options[];
extern int	cmd_backup_fetch(ArchCli *cli);
extern void cmd_backup_fetch_help(const char *progname);
extern const ArchOption cmd_backup_fetch_options[];
extern int	cmd_delete(ArchCli *cli);
extern void cmd_delete_help(const char *progname);
extern const ArchOption cmd_delete_options[];
extern int	cmd_restore_check(ArchCli *cli);
extern void cmd_restore_check_help(const char *progname);
extern const ArchOption cmd_restore_check_options[];
extern int	cmd_wal_verify(ArchCli *cli);
extern void cmd_wal_verify_help(const char *progname);
extern const ArchOption cmd_wal_verify_options[];

/*
 * Load the config file and apply the command-line settings.  Each command
 * calls it first, so that it maps a failure to its own exit code.
 */
extern ArchStatus cli_load_config(ArchCli *cli, ArchError *err);

/* cli_load_config, then cli_load_keyring: where every command starts */
extern ArchStatus cli_begin(ArchCli *cli, ArchKeyring *ring, ArchError *err);

/*
 * cli_begin, the decoding options and the repository: where every command
 * that reads the repository starts
 */
extern ArchStatus cli_begin_reading(ArchCli *cli, ArchKeyring *ring,
									ArchDecodeOptions *dopts,
									ArchStorage **storage, ArchError *err);

/* Log an ArchError as pg_log_error plus detail */
extern void cli_log_error(const ArchError *err);

/* Open the repository named by the "repo" setting */
extern ArchStatus cli_open_repo(ArchCli *cli, ArchStorage **storage,
								ArchError *err);

/* Keys from encrypt-key or encrypt-key-file; nkeys 0 when neither is set */
extern ArchStatus cli_load_keyring(ArchCli *cli, ArchKeyring *ring,
								   ArchError *err);

/* Encoding options from the settings; opts->key points into ring */
extern ArchStatus cli_encode_options(ArchCli *cli, const ArchKeyring *ring,
									 ArchEncodeOptions *opts, ArchError *err);

/* Decoding options from the settings; opts->keys points to ring */
extern ArchStatus cli_decode_options(ArchCli *cli, const ArchKeyring *ring,
									 ArchDecodeOptions *opts, ArchError *err);

/* The settings "parallel" (threads) and "ahead" (segments) of working ahead */
extern ArchStatus cli_ahead_settings(ArchCli *cli, int64_t *parallel,
									 int64_t *ahead, ArchError *err);

/* Print the settings table (for --help) */
extern void cli_print_settings(void);

/* Print a command's own options (for its --help) */
extern void cli_print_options(const ArchOption *options);

/*
 * The value of the command's option name (the last one given), "" for a
 * flag that was given, NULL when it was not.
 */
extern const char *cli_option(const ArchCli *cli, const char *name);

/* Exit code of a failed status: 2 configuration, 3 storage or I/O, 4 corrupt */
extern int	cli_exit_code(ArchStatus st);

#endif							/* ARCH_CLI_H */
