/*-------------------------------------------------------------------------
 *
 * main.c
 *		dbops: the command a team runs from CI or a laptop to apply
 *		migrations and metadata kept in files on that machine.
 *
 *		dbops migrate apply|status|rollback|baseline|repair|hazards DIR
 *		dbops migrate new NAME [DIR]
 *		dbops metadata export|import|diff FILE
 *
 * This file dispatches to the command groups (cmd_migrate.c, cmd_new.c,
 * cmd_metadata.c) and parses the options every command shares.  Output
 * follows PostgreSQL's own tools (pg_logging_init, pg_log_error); exit
 * codes are a documented contract (client.h, README).
 *
 * client/main.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "client.h"
#include "common/logging.h"
#include "getopt_long.h"

static const DbopsCommand groups[] = {
	{"migrate", "COMMAND", "migrations from a directory on this machine",
	dbops_migrate, dbops_migrate_help},
	{"metadata", "COMMAND", "export, import or compare the metadata document",
	dbops_metadata, dbops_metadata_help},
	{NULL}
};

static void
usage(const char *progname)
{
	printf("%s applies migrations and metadata from files on this machine.\n\n", progname);
	printf("Usage:\n  %s COMMAND SUBCOMMAND [ARG]... [OPTION]...\n\nCommands:\n", progname);
	for (const DbopsCommand *g = groups; g->name; g++)
		printf("  %-9s %s\n", g->name, g->summary);
	printf("\n  %s migrate apply|status|rollback|baseline|repair|hazards DIR\n", progname);
	printf("  %s migrate new NAME [DIR]\n", progname);
	printf("  %s metadata export|import|diff FILE\n", progname);
	printf("\nOptions:\n");
	printf("  -V, --version  output version information, then exit\n");
	printf("  -?, --help     show this help, then exit\n");
	printf("\n\"%s COMMAND --help\" lists its subcommands; \"%s COMMAND SUBCOMMAND --help\" their options.\n",
		   progname, progname);
	printf("The connection comes from libpq's environment (PGHOST, PGPORT, PGUSER,\n"
		   "PGDATABASE, PGSSLMODE...) and -d; passwords from ~/.pgpass, PGPASSFILE or\n"
		   "PGPASSWORD, or the terminal, never from the command line.\n");
	printf("\nExit codes: 0 done or nothing to do, 1 failed (rolled back), 2 usage or local\n"
		   "files, 3 refused by the server before anything ran, 4 no connection or no dbops,\n"
		   "5 and 6 from \"migrate status --exit-code\": pending, modified or missing.\n");
}

/* The options every command takes, for its help */
void
dbops_common_options_help(void)
{
	printf("  -d, --dbname=CONNSTR       database name or connection string (no password)\n");
	printf("      --json                 print JSON instead of a table\n");
	printf("      --help                 show this help, then exit\n");
}

/*
 * Say what was wrong after getopt_long (with opterr off and an option
 * string that starts with ":") returned '?' or ':'.  help_cmd names the
 * command whose help to try.
 */
int
dbops_bad_option(int c, char **argv, const char *progname,
				 const char *help_cmd)
{
	if (c == ':')
		pg_log_error("option \"%s\" needs a value", argv[optind - 1]);
	else
		pg_log_error("unrecognized option \"%s\"", argv[optind - 1]);
	pg_log_error_hint("Try \"%s %s --help\" for more information.",
					  progname, help_cmd);
	return DBOPS_EXIT_USAGE;
}

/*
 * Take c if it is an option every command shares (getopt values 'd' and
 * 'j'); returns whether it was.
 */
int
dbops_parse_common(int c, const char *arg, DbopsArgs *a)
{
	switch (c)
	{
		case 'd':
			a->dbname = arg;
			return true;
		case 'j':
			a->json = true;
			return true;
		default:
			return false;
	}
}

int
main(int argc, char **argv)
{
	const char *progname;

	pg_logging_init(argv[0]);
	progname = get_progname(argv[0]);

	if (argc < 2)
	{
		pg_log_error("no command specified");
		pg_log_error_hint("Try \"%s --help\" for more information.", progname);
		exit(DBOPS_EXIT_USAGE);
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-?") == 0)
	{
		usage(progname);
		exit(DBOPS_EXIT_OK);
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
	{
		printf("%s (dbops) %s\n", progname, DBOPS_VERSION);
		exit(DBOPS_EXIT_OK);
	}
	for (const DbopsCommand *g = groups; g->name; g++)
	{
		if (strcmp(g->name, argv[1]) == 0)
			exit(g->run(argc - 1, argv + 1, progname));
	}
	if (argv[1][0] == '-')
		pg_log_error("unrecognized option \"%s\"", argv[1]);
	else
		pg_log_error("unrecognized command \"%s\"", argv[1]);
	pg_log_error_hint("Try \"%s --help\" for more information.", progname);
	exit(DBOPS_EXIT_USAGE);
}
