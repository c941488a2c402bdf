/*-------------------------------------------------------------------------
 *
 * main.c
 *		dbops_archive: command-line entry point.
 *
 * dbops_archive is run by PostgreSQL as archive_command and
 * restore_command, and by people for backups.  This file parses the
 * command line and dispatches to one command; the commands live in files
 * of their own.  Output follows PostgreSQL's own tools (pg_logging_init,
 * pg_log_error), and exit codes are a documented contract (README, "Exit
 * codes").
 *
 * archive_helper/main.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "common/logging.h"
#include "getopt_long.h"

static void usage(const char *progname);

static void
usage(const char *progname)
{
	printf("%s archives PostgreSQL WAL and base backups to object storage.\n\n",
		   progname);
	printf("Usage:\n");
	printf("  %s [OPTION]... COMMAND [ARG]...\n", progname);
	printf("\nOptions:\n");
	printf("  -V, --version          output version information, then exit\n");
	printf("  -?, --help             show this help, then exit\n");
	printf("\nReport bugs to the dbops issue tracker.\n");
}

int
main(int argc, char **argv)
{
	static struct option long_options[] = {
		{"help", no_argument, NULL, '?'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0}
	};
	const char *progname;
	int			c;

	pg_logging_init(argv[0]);
	progname = get_progname(argv[0]);

	if (argc > 1)
	{
		if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-?") == 0)
		{
			usage(progname);
			exit(0);
		}
		if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
		{
			printf("%s (dbops) %s\n", progname, DBOPS_VERSION);
			exit(0);
		}
	}

	while ((c = getopt_long(argc, argv, "V?", long_options, NULL)) != -1)
	{
		switch (c)
		{
			default:
				pg_log_error_hint("Try \"%s --help\" for more information.", progname);
				exit(2);
		}
	}

	if (optind >= argc)
	{
		pg_log_error("no command specified");
		pg_log_error_hint("Try \"%s --help\" for more information.", progname);
		exit(2);
	}

	pg_log_error("unrecognized command \"%s\"", argv[optind]);
	pg_log_error_hint("Try \"%s --help\" for more information.", progname);
	exit(2);
}
