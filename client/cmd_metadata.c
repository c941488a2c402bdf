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
 * FILE "-" is standard input or output.  For import and diff, FILE may be a
 * Hasura metadata directory (or the project holding it): its files are sent
 * as a map and the server reads them (dbops.read_metadata_dir).  The output
 * is JSON either way.
 *
 * client/cmd_metadata.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <sys/stat.h>

#include "client.h"
#include "common/logging.h"
#include "getopt_long.h"

typedef struct MetadataCommand
{
	const char *name;
	const char *summary;
	/* the query; import and diff put the document where %s is */
	const char *sql;
} MetadataCommand;

static const MetadataCommand commands[] = {
	{"export", "write the metadata document of the database to FILE",
	"SELECT pg_catalog.jsonb_pretty(dbops.export_metadata())"},
	{"import", "make the metadata of the database the document in FILE",
	"SELECT pg_catalog.jsonb_pretty(dbops.import_metadata(%s)::jsonb)"},
	{"diff", "list what importing FILE would change, changing nothing",
	"SELECT pg_catalog.jsonb_pretty(dbops.import_metadata(%s, dry_run => true)::jsonb)"},
	{NULL}
};

/* The document parameter $1 is: a file's JSON, or a directory's files */
#define DOC_FROM_FILE "$1::jsonb"
#define DOC_FROM_DIR "dbops.read_metadata_dir($1::jsonb)"

void
dbops_metadata_help(const char *progname)
{
	printf("%s metadata: the metadata document (tracked tables, relationships,\n"
		   "permissions) against the database.\n\n", progname);
	printf("Usage:\n  %s metadata COMMAND FILE [OPTION]...\n\nCommands:\n", progname);
	for (const MetadataCommand *c = commands; c->name; c++)
		printf("  %-7s %s\n", c->name, c->summary);
	printf("\nFILE \"-\" is standard input or output.  For import and diff, FILE may\n"
		   "be a Hasura metadata directory (\"hasura metadata export\" writes one) or\n"
		   "the project directory that holds it.  Output is JSON.\n\nOptions:\n");
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
	const char *sql = NULL;
	struct stat st;
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
		bool		is_dir = stat(argv[optind], &st) == 0 && S_ISDIR(st.st_mode);

		doc = createPQExpBuffer();
		if (!(is_dir ? dbops_read_dir_map(argv[optind], doc) :
			  dbops_read_file(argv[optind], doc)))
			return DBOPS_EXIT_USAGE;
		values[0] = doc->data;
		sql = psprintf(cmd->sql, is_dir ? DOC_FROM_DIR : DOC_FROM_FILE);
	}
	if ((conn = dbops_connect(&a, &rc)) == NULL)
		return rc;
	res = dbops_query(conn, sql ? sql : cmd->sql, doc ? 1 : 0, values, &rc);
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
