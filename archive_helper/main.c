/*-------------------------------------------------------------------------
 *
 * main.c
 *		dbops_archive: command-line entry point.
 *
 * dbops_archive is run by PostgreSQL as archive_command and
 * restore_command, and by people for backups.  This file reports what
 * cli_parse_args (cli_args.c) made of the command line and dispatches to
 * one command; the commands live in files of their own (cmd_*.c).  Output
 * follows PostgreSQL's own tools (pg_logging_init, pg_log_error), and exit
 * codes are a documented contract (cli.h, README "Exit codes").
 *
 * Every setting (config.h) is also a long option, --NAME=VALUE, except
 * secrets, which the command line would show to every local user.
 *
 * archive_helper/main.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <signal.h>
#include <sys/stat.h>

#include "cli_args.h"
#include "common/logging.h"

static void
usage(const char *progname)
{
	printf("%s archives PostgreSQL WAL to object storage.\n\n", progname);
	printf("Usage:\n");
	printf("  %s [OPTION]... COMMAND [ARG]...\n", progname);
	printf("\nCommands:\n");
	for (const ArchCommand *c = cli_commands; c->name; c++)
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

/*
 * The data directory, under which no config file or spool may live: the
 * working directory when it is one (archive_command and restore_command
 * run there), else $PGDATA.
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
	ArchArgs	args;
	ArchCli		cli;
	ArchError	err;
	ArchStatus	st;
	int			rc;

	pg_logging_init(argv[0]);

	/*
	 * A file-size limit (ulimit -f) must fail a write with EFBIG, which is
	 * reported and retried, rather than kill us with SIGXFSZ: PostgreSQL
	 * stops archiving or recovery for a command killed by a signal.
	 */
	signal(SIGXFSZ, SIG_IGN);

	memset(&cli, 0, sizeof(cli));
	cli.progname = get_progname(argv[0]);

	st = cli_parse_args(argc, argv, &args, &err);
	for (int i = 0; i < args.verbose; i++)
		pg_logging_increase_verbosity();
	if (st != ARCH_OK)
	{
		cli_log_error(&err);
		pg_log_error_hint("Try \"%s --help\" for more information.", cli.progname);
		rc = (args.command && args.command->usage_exit) ?
			args.command->usage_exit() : ARCH_EXIT_CONFIG;
	}
	else if (args.version)
	{
		printf("%s (dbops) %s\n", cli.progname, DBOPS_VERSION);
		rc = ARCH_EXIT_OK;
	}
	else if (args.help)
	{
		if (args.command)
			args.command->help(cli.progname);
		else
			usage(cli.progname);
		rc = ARCH_EXIT_OK;
	}
	else
	{
		cli.command = args.command->name;
		cli.argc = args.argc;
		cli.argv = args.argv;
		cli.config_path = args.config_path;
		cli.data_dir = find_data_dir();
		cli.noptions = args.nsettings;
		cli.option_names = args.setting_names;
		cli.option_values = args.setting_values;
		cli.ncmdopts = args.ncmdopts;
		cli.cmdopt_names = args.cmdopt_names;
		cli.cmdopt_values = args.cmdopt_values;
		rc = args.command->run(&cli);
		arch_config_free(cli.cfg);
	}

	cli_args_free(&args);
	pg_free((char *) cli.progname);
	return rc;
}
