/*-------------------------------------------------------------------------
 *
 * client.h
 *		What the commands of the dbops client share: exit codes, the
 *		parsed command line, the connection, reading a directory into the
 *		map of files the server reads, and printing results.
 *
 * The client detects no layout and parses no migration: it sends bytes,
 * and the extension's SQL functions do the rest, so a directory means the
 * same from the client as on the server.
 *
 * client/client.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DBOPS_CLIENT_H
#define DBOPS_CLIENT_H

#include "libpq-fe.h"
#include "pqexpbuffer.h"

/* Exit codes: a documented contract (README, "The dbops command") */
#define DBOPS_EXIT_OK			0	/* done, or nothing to do */
#define DBOPS_EXIT_FAILED		1	/* a statement or a lock failed: rolled back */
#define DBOPS_EXIT_USAGE		2	/* command line, local files */
#define DBOPS_EXIT_REFUSED		3	/* refused by the server before anything ran */
#define DBOPS_EXIT_CONNECT		4	/* no connection, or dbops not installed */
#define DBOPS_EXIT_PENDING		5	/* status --exit-code: migrations pending */
#define DBOPS_EXIT_DRIFT		6	/* status --exit-code: modified or missing */

/* Limits on what a directory sent to the server may hold */
#define DBOPS_MAX_FILE_SIZE		(64 * 1024 * 1024)
#define DBOPS_MAX_TOTAL_SIZE	(128 * 1024 * 1024)
#define DBOPS_MAX_FILES			100000
#define DBOPS_MAX_DEPTH			8

/* The command line of one command, after its options */
typedef struct DbopsArgs
{
	const char *progname;
	const char *dbname;			/* -d: connection string or database name */
	bool		json;			/* --json */
	int			nargs;			/* positional arguments */
	char	  **args;
} DbopsArgs;

/* A command: its name, arguments for usage, summary, runner and help */
typedef struct DbopsCommand
{
	const char *name;
	const char *args;
	const char *summary;
	int			(*run) (int argc, char **argv, const char *progname);
	void		(*help) (const char *progname);
} DbopsCommand;

/* main.c */
extern void dbops_common_options_help(void);
extern int	dbops_parse_common(int c, const char *arg, DbopsArgs *a);
extern int	dbops_bad_option(int c, char **argv, const char *progname,
							 const char *help_cmd);

/* conn.c */
extern PGconn *dbops_connect(const DbopsArgs *a, int *exit_code);
extern PGresult *dbops_query(PGconn *conn, const char *sql, int nparams,
							 const char *const *values, int *exit_code);
extern void dbops_disconnect(PGconn *conn);

/* files.c */
extern bool dbops_read_dir_map(const char *dir, PQExpBuffer map);
extern bool dbops_read_file(const char *path, PQExpBuffer out);
extern bool dbops_write_file(const char *path, const char *data, size_t len);

/* output.c */
extern void dbops_print_table(PGresult *res);
extern void dbops_print_json(PGresult *res);
extern void dbops_print_json_string(const char *s);
extern void dbops_append_json_string(PQExpBuffer buf, const char *s);
extern void dbops_print_value(PGresult *res);

/* cmd_migrate.c, cmd_new.c, cmd_metadata.c */
extern int	dbops_migrate(int argc, char **argv, const char *progname);
extern void dbops_migrate_help(const char *progname);
extern int	dbops_migrate_new(int argc, char **argv, const char *progname);
extern void dbops_migrate_new_help(const char *progname);
extern int	dbops_metadata(int argc, char **argv, const char *progname);
extern void dbops_metadata_help(const char *progname);

#endif							/* DBOPS_CLIENT_H */
