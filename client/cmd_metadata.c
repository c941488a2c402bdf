/*-------------------------------------------------------------------------
 *
 * cmd_metadata.c
 *		dbops metadata export|import|diff FILE: the metadata document kept
 *		in git, against the database.
 *
 *		export	dbops.export_metadata(), pretty-printed into FILE
 *		import	dbops.import_metadata(FILE): all or nothing; prints what
 *				the server reports inconsistent
 *		diff	dbops.import_metadata(FILE, dry_run => true): what an
 *				import would change (tables, permissions) and its
 *				problems, changing nothing
 *
 * FILE "-" is standard input or output.  The output is JSON either way.
 *
 * client/cmd_metadata.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "client.h"
#include "common/logging.h"
#include "getopt_long.h"

typedef struct MetadataCommand
{
	const char *name;
	const char *summary;
	const char *sql;			/* $1: the document, for import and diff */
} MetadataCommand;

static const MetadataCommand commands[] = {
	{"export", "write the metadata document of the database to FILE",
	"SELECT pg_catalog.jsonb_pretty(dbops.export_metadata())"},
	{"import", "replace the metadata of the database with the document in FILE",
	"SELECT pg_catalog.jsonb_pretty(dbops.import_metadata($1::jsonb)::jsonb)"},
	{"diff", "list what importing FILE would change, changing nothing",
	"SELECT pg_catalog.jsonb_pretty(dbops.import_metadata($1::jsonb, dry_run => true)::jsonb)"},
	{NULL}
};

void
dbops_metadata_help(const char *progname)
{
	printf("%s metadata: the metadata document (tracked tables, relationships,\n"
		   "permissions) against the database.\n\n", progname);
	printf("Usage:\n  %s metadata COMMAND FILE [OPTION]...\n\nCommands:\n", progname);
	for (const MetadataCommand *c = commands; c->name; c++)
		printf("  %-7s %s\n", c->name, c->summary);
	printf("\nFILE \"-\" is standard input or output.  Output is JSON.\n\nOptions:\n");
	printf("  -d, --dbname=CONNSTR       database name or connection string (no password)\n");
	printf("      --help                 show this help, then exit\n");
}

int
dbops_metadata(int argc, char **argv, const char *progname)
{
	static const struct option long_options[] = {
		{"dbname", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	const MetadataCommand *cmd = NULL;
	DbopsArgs	a;
	PQExpBuffer doc = NULL;
	const char *values[1] = {NULL};
	PGconn	   *conn;
	PGresult   *res;
	int			rc = DBOPS_EXIT_OK;
	int			c;

	if (argc < 2 || strcmp(argv[1], "--help") == 0)
	{
		if (argc >= 2)
		{
			dbops_metadata_help(progname);
			return DBOPS_EXIT_OK;
		}
		pg_log_error("no metadata command specified");
		pg_log_error_hint("Try \"%s metadata --help\" for more information.", progname);
		return DBOPS_EXIT_USAGE;
	}
	for (const MetadataCommand *m = commands; m->name; m++)
		if (strcmp(m->name, argv[1]) == 0)
			cmd = m;
	if (cmd == NULL)
	{
		pg_log_error("unrecognized metadata command \"%s\"", argv[1]);
		pg_log_error_hint("Try \"%s metadata --help\" for more information.", progname);
		return DBOPS_EXIT_USAGE;
	}

	memset(&a, 0, sizeof(a));
	a.progname = progname;
	argc--;
	argv++;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:", long_options, NULL)) != -1)
	{
		if (c == 'd')
			a.dbname = optarg;
		else if (c == 'h')
		{
			dbops_metadata_help(progname);
			return DBOPS_EXIT_OK;
		}
		else
			return dbops_bad_option(c, argv, progname,
									psprintf("metadata %s", cmd->name));
	}
	if (argc - optind != 1)
	{
		pg_log_error(argc - optind < 1 ? "metadata %s needs FILE" :
					 "too many arguments for \"metadata %s\"", cmd->name);
		pg_log_error_hint("Try \"%s metadata --help\" for more information.", progname);
		return DBOPS_EXIT_USAGE;
	}

	if (strcmp(cmd->name, "export") != 0)
	{
		doc = createPQExpBuffer();
		if (!dbops_read_file(argv[optind], doc))
			return DBOPS_EXIT_USAGE;
		values[0] = doc->data;
	}
	if ((conn = dbops_connect(&a, &rc)) == NULL)
		return rc;
	res = dbops_query(conn, cmd->sql, doc ? 1 : 0, values, &rc);
	if (res != NULL)
	{
		/* one export is byte for byte the next: with a final newline */
		char	   *text = psprintf("%s\n", PQgetvalue(res, 0, 0));

		if (doc != NULL)
			dbops_print_value(res);
		else if (!dbops_write_file(argv[optind], text, strlen(text)))
			rc = DBOPS_EXIT_USAGE;
		free(text);
		PQclear(res);
	}
	dbops_disconnect(conn);
	if (doc)
		destroyPQExpBuffer(doc);
	return rc;
}
