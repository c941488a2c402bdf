/*-------------------------------------------------------------------------
 *
 * cli_args.c
 *		Parse the command line of dbops_archive (see cli_args.h).
 *
 * archive_helper/cli_args.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "cli_args.h"
#include "getopt_long.h"

/*
 * getopt values: --help, then SETTING_OPT_BASE + index in the settings,
 * then CMDOPT_BASE + index in the commands' options (each name once)
 */
#define HELP_OPT 500
#define SETTING_OPT_BASE 1000
#define CMDOPT_BASE 3000

const ArchCommand cli_commands[] = {
	{"wal-push", "PATH", 1,
		"archive one WAL file (archive_command = '... wal-push %p')",
	cmd_wal_push, cmd_wal_push_help, NULL},
	{"wal-fetch", "FILE PATH", 2,
		"restore one WAL file (restore_command = '... wal-fetch %f %p')",
	cmd_wal_fetch, cmd_wal_fetch_help, cmd_wal_fetch_usage_exit},
	{"check", "", 0, "test the configuration and the repository",
	cmd_check, cmd_check_help, NULL},
	{"cleanup", "", 0, "remove leftovers of interrupted writes from the repository",
	cmd_cleanup, cmd_cleanup_help, NULL},
	{"backup-push", "", 0, "take a base backup of a running cluster",
	cmd_backup_push, cmd_backup_push_help, NULL, cmd_backup_push_options},
	{"backup-list", "", 0, "list the backups and the recoverable window",
	cmd_backup_list, cmd_backup_list_help, NULL, cmd_backup_list_options},
	{"backup-fetch", "NAME PGDATA", 2, "restore a backup (NAME, or LATEST) for recovery",
	cmd_backup_fetch, cmd_backup_fetch_help, NULL, cmd_backup_fetch_options},
	{"delete", "", 0, "remove old backups and the WAL no kept backup needs",
	cmd_delete, cmd_delete_help, NULL, cmd_delete_options},
	{"restore-check", "", 0, "restore drill: restore the latest backup, recover, check, remove",
	cmd_restore_check, cmd_restore_check_help, NULL, cmd_restore_check_options},
	{"wal-verify", "", 0, "check that every backup restores to the end of the archive",
	cmd_wal_verify, cmd_wal_verify_help, NULL, cmd_wal_verify_options},
	{NULL}
};

/* Every command's options in one list, each name once */
static const ArchOption **
all_command_options(int *count)
{
	const ArchOption **list = NULL;
	int			n = 0;

	for (const ArchCommand *c = cli_commands; c->name; c++)
		for (const ArchOption *o = c->options; o && o->name; o++)
		{
			bool		seen = false;

			for (int i = 0; i < n; i++)
				seen |= strcmp(list[i]->name, o->name) == 0;
			if (seen)
				continue;
			list = arch_realloc(list, sizeof(*list) * (n + 1));
			list[n++] = o;
		}
	*count = n;
	return list;
}

/* Does the command take the option called name? */
static bool
command_takes(const ArchCommand *cmd, const char *name)
{
	for (const ArchOption *o = cmd->options; o && o->name; o++)
		if (strcmp(o->name, name) == 0)
			return true;
	return false;
}

/* Every setting in one list: the core's, then each driver's */
static const ArchSetting **
all_settings(int *count)
{
	const ArchSetting **list = NULL;
	int			n = 0;
	const ArchStorageDriver *const *d = arch_storage_drivers();

	for (const ArchSetting *s = arch_core_settings; s->name; s++)
	{
		list = arch_realloc(list, sizeof(*list) * (n + 1));
		list[n++] = s;
	}
	for (; *d != NULL; d++)
		for (const ArchSetting *s = (*d)->settings; s && s->name; s++)
		{
			list = arch_realloc(list, sizeof(*list) * (n + 1));
			list[n++] = s;
		}
	*count = n;
	return list;
}

/*
 * An option getopt_long refused (it returned '?').  Its own message would
 * quote the whole argument, and the value of a mistyped secret setting
 * must not reach the log: name the option without "=VALUE".
 */
static ArchStatus
refused_option(char **argv, ArchError *err)
{
	const char *arg = argv[optind - 1];
	int			len = (int) strcspn(arg, "=");

	/* a long option without value given one: "--verbose=1" */
	if (optopt == 'v' || optopt == 'V' || optopt == HELP_OPT || optopt >= CMDOPT_BASE)
		return arch_error(err, ARCH_FATAL, "option \"%.*s\" takes no value", len, arg);
	/* an unknown short option, maybe inside a cluster such as "-vx" */
	if (optopt != 0)
		return arch_error(err, ARCH_FATAL, "unrecognized option \"-%c\"", optopt);
	/* an unknown or ambiguous long option, the last argument scanned */
	return arch_error(err, ARCH_FATAL, "unrecognized option \"%.*s\"", len, arg);
}

ArchStatus
cli_parse_args(int argc, char **argv, ArchArgs *args, ArchError *err)
{
	static const struct option fixed_options[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, HELP_OPT},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, 'V'},
	};
	int			nfixed = lengthof(fixed_options);
	const ArchSetting **settings;
	int			nsettings;
	const ArchOption **cmdopts;
	int			ncmdopts;
	struct option *long_options;
	ArchStatus	st = ARCH_OK;
	int			c;

	memset(args, 0, sizeof(ArchArgs));
	settings = all_settings(&nsettings);
	cmdopts = all_command_options(&ncmdopts);
	long_options = arch_alloc0(sizeof(struct option) * (nfixed + nsettings + ncmdopts + 1));
	memcpy(long_options, fixed_options, sizeof(fixed_options));
	for (int i = 0; i < nsettings; i++)
	{
		long_options[nfixed + i].name = settings[i]->name;
		long_options[nfixed + i].has_arg = required_argument;
		long_options[nfixed + i].val = SETTING_OPT_BASE + i;
	}
	for (int i = 0; i < ncmdopts; i++)
	{
		long_options[nfixed + nsettings + i].name = cmdopts[i]->name;
		long_options[nfixed + nsettings + i].has_arg =
			cmdopts[i]->has_arg ? required_argument : no_argument;
		long_options[nfixed + nsettings + i].val = CMDOPT_BASE + i;
	}
	args->setting_names = arch_alloc0(sizeof(char *) * (argc + 1));
	args->setting_values = arch_alloc0(sizeof(char *) * (argc + 1));
	args->cmdopt_names = arch_alloc0(sizeof(char *) * (argc + 1));
	args->cmdopt_values = arch_alloc0(sizeof(char *) * (argc + 1));

	/*
	 * optind = 0 makes glibc start afresh (its scanning state is global);
	 * opterr = 0 keeps getopt's own messages, which would echo a value, out
	 * of the log.  '?' is not in the short options, so "-?" comes back as
	 * an unknown option whose optopt is '?', told apart from the others.
	 * The leading ':' makes a missing option argument ':'.
	 */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:vV", long_options, NULL)) != -1)
	{
		switch (c)
		{
			case 'c':
				args->config_path = optarg;
				break;
			case 'v':
				args->verbose++;
				break;
			case 'V':
				args->version = true;
				break;
			case HELP_OPT:
				args->help = true;
				break;
			case ':':
				/* keep the first error: it is what the user typed first */
				if (st == ARCH_OK)
					st = arch_error(err, ARCH_FATAL, "option \"%s\" requires a value",
									argv[optind - 1]);
				break;
			case '?':
				if (optopt == '?')
					args->help = true;
				else if (st == ARCH_OK)
					st = refused_option(argv, err);
				break;
			default:
				if (c >= CMDOPT_BASE)
				{
					/* checked against the command below, once it is known */
					args->cmdopt_names[args->ncmdopts] = cmdopts[c - CMDOPT_BASE]->name;
					args->cmdopt_values[args->ncmdopts++] = optarg ? optarg : "";
					break;
				}
				/* settings are applied once the config file is loaded */
				args->setting_names[args->nsettings] = settings[c - SETTING_OPT_BASE]->name;
				args->setting_values[args->nsettings++] = optarg;
				break;
		}
	}
	arch_free(long_options);
	arch_free(settings);
	arch_free(cmdopts);

	/* the first argument that is not an option names the command */
	if (optind < argc)
	{
		for (const ArchCommand *cmd = cli_commands; cmd->name; cmd++)
			if (strcmp(cmd->name, argv[optind]) == 0)
				args->command = cmd;
		if (args->command == NULL && st == ARCH_OK)
			st = arch_error(err, ARCH_FATAL, "unrecognized command \"%s\"", argv[optind]);
		args->argc = argc - optind - 1;
		args->argv = argv + optind + 1;
	}
	if (st != ARCH_OK || args->help || args->version)
		return st;
	if (args->command == NULL)
		return arch_error(err, ARCH_FATAL, "no command specified");
	for (int i = 0; i < args->ncmdopts; i++)
		if (!command_takes(args->command, args->cmdopt_names[i]))
			return arch_error(err, ARCH_FATAL, "option \"--%s\" is not an option of \"%s\"",
							  args->cmdopt_names[i], args->command->name);
	if (args->argc > args->command->nargs)
		return arch_error(err, ARCH_FATAL,
						  "too many command-line arguments for \"%s\" (first is \"%s\")",
						  args->command->name, args->argv[args->command->nargs]);
	if (args->argc < args->command->nargs)
		return arch_error(err, ARCH_FATAL,
						  "missing command-line argument for \"%s\" (usage: %s %s)",
						  args->command->name, args->command->name, args->command->args);
	return ARCH_OK;
}

void
cli_args_free(ArchArgs *args)
{
	arch_free(args->setting_names);
	arch_free(args->setting_values);
	arch_free(args->cmdopt_names);
	arch_free(args->cmdopt_values);
	memset(args, 0, sizeof(ArchArgs));
}
