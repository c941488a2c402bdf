/*-------------------------------------------------------------------------
 *
 * main.c
 *		dbops_archive: command-line entry point.
 *
 * dbops_archive is run by PostgreSQL as archive_command and
 * restore_command, and by people for backups.  This file parses the
 * command line and dispatches to one command; the commands live in files
 * of their own (cmd_*.c).  Output follows PostgreSQL's own tools
 * (pg_logging_init, pg_log_error), and exit codes are a documented
 * contract (cli.h, README "Exit codes").
 *
 * Every setting (config.h) is also a long option, --NAME=VALUE, except
 * secrets, which the command line would show to every local user.
 *
 * archive_helper/main.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <sys/stat.h>

#include "cli.h"
#include "common/logging.h"
#include "getopt_long.h"

/* getopt values of settings: SETTING_OPT_BASE + index in all_settings */
#define SETTING_OPT_BASE 1000

static const ArchCommand commands[] = {
	{"wal-push", "PATH", "archive one WAL file (archive_command = '... wal-push %p')",
	cmd_wal_push, cmd_wal_push_help},
	{"wal-fetch", "FILE PATH", "restore one WAL file (restore_command = '... wal-fetch %f %p')",
	cmd_wal_fetch, cmd_wal_fetch_help},
	{"check", "", "test the configuration and the repository",
	cmd_check, cmd_check_help},
	{NULL}
};

static void
usage(const char *progname)
{
	printf("%s archives PostgreSQL WAL to object storage.\n\n", progname);
	printf("Usage:\n");
	printf("  %s [OPTION]... COMMAND [ARG]...\n", progname);
	printf("\nCommands:\n");
	for (const ArchCommand *c = commands; c->name; c++)
		printf("  %-10s %-10s %s\n", c->name, c->args, c->summary);
	printf("\nOptions:\n");
	printf("  -c, --config=FILE      config file (default $%s, else %s)\n",
		   ARCH_CONFIG_ENV, ARCH_CONFIG_DEFAULT_FILE);
	printf("  -v, --verbose          log more detail\n");
	printf("  -V, --version          output version information, then exit\n");
	printf("  -?, --help             show this help (after a command: its help), then exit\n");
	cli_print_settings();
	printf("\nReport bugs to the dbops issue tracker.\n");
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
		list = pg_realloc(list, sizeof(*list) * (n + 1));
		list[n++] = s;
	}
	for (; *d != NULL; d++)
		for (const ArchSetting *s = (*d)->settings; s && s->name; s++)
		{
			list = pg_realloc(list, sizeof(*list) * (n + 1));
			list[n++] = s;
		}
	*count = n;
	return list;
}

/*
 * The data directory, under which no config file may live: the working
 * directory when it is one (archive_command and restore_command run
 * there), else $PGDATA.
 */
static const char *
find_data_dir(void)
{
	static char cwd[MAXPGPATH];
	struct stat st;

	if (stat("PG_VERSION", &st) == 0 && getcwd(cwd, sizeof(cwd)) != NULL)
		return cwd;
	return getenv("PGDATA");
}

int
main(int argc, char **argv)
{
	static const struct option fixed_options[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, '?'},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, 'V'},
	};
	int			nfixed = lengthof(fixed_options);
	struct option *long_options;
	const ArchSetting **settings;
	int			nsettings;
	const char *config_path = NULL;
	bool		want_help = false;
	const char **option_names;
	const char **option_values;
	int			noptions = 0;
	ArchCli		cli;
	const ArchCommand *command = NULL;
	int			c;
	int			rc;

	pg_logging_init(argv[0]);
	memset(&cli, 0, sizeof(cli));
	cli.progname = get_progname(argv[0]);

	settings = all_settings(&nsettings);
	long_options = pg_malloc0(sizeof(struct option) * (nfixed + nsettings + 1));
	memcpy(long_options, fixed_options, sizeof(fixed_options));
	for (int i = 0; i < nsettings; i++)
	{
		long_options[nfixed + i].name = settings[i]->name;
		long_options[nfixed + i].has_arg = required_argument;
		long_options[nfixed + i].val = SETTING_OPT_BASE + i;
	}
	option_names = pg_malloc0(sizeof(char *) * argc);
	option_values = pg_malloc0(sizeof(char *) * argc);

	while ((c = getopt_long(argc, argv, "c:vV?", long_options, NULL)) != -1)
	{
		switch (c)
		{
			case 'c':
				config_path = optarg;
				break;
			case 'v':
				pg_logging_increase_verbosity();
				break;
			case 'V':
				printf("%s (dbops) %s\n", cli.progname, DBOPS_VERSION);
				exit(0);
			case '?':
				/* getopt also returns '?' for an unknown option */
				if (optopt != 0)
				{
					pg_log_error_hint("Try \"%s --help\" for more information.", cli.progname);
					exit(ARCH_EXIT_CONFIG);
				}
				want_help = true;
				break;
			default:
				/* settings are applied once the config is loaded */
				option_names[noptions] = settings[c - SETTING_OPT_BASE]->name;
				option_values[noptions++] = optarg;
				break;
		}
	}

	if (optind < argc)
	{
		for (const ArchCommand *cmd = commands; cmd->name; cmd++)
			if (strcmp(cmd->name, argv[optind]) == 0)
				command = cmd;
		if (command == NULL)
		{
			pg_log_error("unrecognized command \"%s\"", argv[optind]);
			pg_log_error_hint("Try \"%s --help\" for more information.", cli.progname);
			exit(ARCH_EXIT_CONFIG);
		}
	}
	if (want_help)
	{
		if (command)
			command->help(cli.progname);
		else
			usage(cli.progname);
		exit(0);
	}
	if (command == NULL)
	{
		pg_log_error("no command specified");
		pg_log_error_hint("Try \"%s --help\" for more information.", cli.progname);
		exit(ARCH_EXIT_CONFIG);
	}

	cli.command = command->name;
	cli.argc = argc - optind - 1;
	cli.argv = argv + optind + 1;
	cli.config_path = config_path;
	cli.data_dir = find_data_dir();
	cli.noptions = noptions;
	cli.option_names = option_names;
	cli.option_values = option_values;

	rc = command->run(&cli);

	arch_config_free(cli.cfg);
	pg_free(long_options);
	pg_free(settings);
	pg_free(option_names);
	pg_free(option_values);
	pg_free((char *) cli.progname);
	return rc;
}
