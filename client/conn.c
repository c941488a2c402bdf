/*-------------------------------------------------------------------------
 *
 * conn.c
 *		The dbops client's connection: libpq settings from the environment
 *		and -d, never a password on the command line, notices and progress,
 *		and the exit code an error means.
 *
 * A batch runs as one statement, so progress comes from the server: the
 * session sets dbops.report_progress, and each migration that starts sends
 * a NOTICE "applying migration "V_name" (i of n)".  They are drawn on one
 * line of stderr when it is a terminal.  They also tell a refusal from a
 * failure: an error before the first of them means that nothing ran (the
 * server refused the source or the request), one after means a migration
 * failed and the batch was rolled back.
 *
 * client/conn.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <unistd.h>

#include "client.h"
#include "common/logging.h"
#include "common/string.h"

/* What the server's notices said so far, for the current query */
static bool progress_started = false;
static bool progress_shown = false;
static bool progress_tty = false;

/* Clear the progress line before anything else is written to stderr */
static void
progress_clear(void)
{
	if (progress_shown)
	{
		fprintf(stderr, "\r\033[K");
		progress_shown = false;
	}
}

/*
 * Is msg a progress notice, "applying migration "V" (i of n)" or "rolling
 * back migration ..."?
 */
static bool
is_progress(const char *msg)
{
	size_t		len = strlen(msg);

	return (strncmp(msg, "applying migration \"", 20) == 0 ||
			strncmp(msg, "rolling back migration \"", 24) == 0) &&
		len > 0 && msg[len - 1] == ')' && strstr(msg, " of ") != NULL;
}

static void
notice_receiver(void *arg, const PGresult *res)
{
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	if (msg != NULL && is_progress(msg))
	{
		progress_started = true;
		if (progress_tty)
		{
			fprintf(stderr, "\r\033[K%s", msg);
			progress_shown = true;
		}
		return;
	}
	progress_clear();
	fprintf(stderr, "%s", PQresultErrorMessage(res));
}

/*
 * A connection string or database name that carries a password would show
 * it to every local user (ps, /proc, shell history): refused.
 */
static bool
has_password(const char *dbname)
{
	PQconninfoOption *opts;
	char	   *err = NULL;
	bool		found = false;

	if (dbname == NULL)
		return false;
	opts = PQconninfoParse(dbname, &err);
	if (opts == NULL)
	{
		/* not a connection string: a plain database name */
		PQfreemem(err);
		return false;
	}
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
	{
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL)
			found = true;
	}
	PQconninfoFree(opts);
	return found;
}

/*
 * Connect as libpq's environment and -d say, asking for a password on the
 * terminal if the server wants one and none is stored, then check that the
 * database has dbops.  NULL on failure, with *exit_code set.
 */
PGconn *
dbops_connect(const DbopsArgs *a, int *exit_code)
{
	const char *keywords[4] = {"dbname", "fallback_application_name", NULL, NULL};
	const char *values[4] = {a->dbname, "dbops", NULL, NULL};
	char	   *password = NULL;
	PGconn	   *conn;
	PGresult   *res;

	if (has_password(a->dbname))
	{
		pg_log_error("the connection string must not contain a password");
		pg_log_error_hint("Use a password file (~/.pgpass or PGPASSFILE), PGPASSWORD, or let %s ask for it on the terminal.",
						  a->progname);
		*exit_code = DBOPS_EXIT_USAGE;
		return NULL;
	}

	for (;;)
	{
		conn = PQconnectdbParams(keywords, values, true);
		if (PQstatus(conn) == CONNECTION_OK || password != NULL ||
			!PQconnectionNeedsPassword(conn) || !isatty(fileno(stdin)))
			break;
		PQfinish(conn);
		password = simple_prompt("Password: ", false);
		keywords[2] = "password";
		values[2] = password;
	}
	if (password != NULL)
	{
		memset(password, 0, strlen(password));
		free(password);
	}
	if (PQstatus(conn) != CONNECTION_OK)
	{
		pg_log_error("%s", PQerrorMessage(conn));
		PQfinish(conn);
		*exit_code = DBOPS_EXIT_CONNECT;
		return NULL;
	}

	PQsetNoticeReceiver(conn, notice_receiver, NULL);
	progress_tty = isatty(fileno(stderr));
	res = PQexec(conn,
				 "SELECT pg_catalog.set_config('dbops.report_progress', 'on', false), "
				 "EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'dbops')");
	if (PQresultStatus(res) != PGRES_TUPLES_OK ||
		strcmp(PQgetvalue(res, 0, 1), "t") != 0)
	{
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			pg_log_error("%s", PQerrorMessage(conn));
		else
		{
			pg_log_error("extension \"dbops\" is not installed in database \"%s\"",
						 PQdb(conn));
			pg_log_error_hint("Run CREATE EXTENSION dbops in that database, or connect to another with -d.");
		}
		PQclear(res);
		PQfinish(conn);
		*exit_code = DBOPS_EXIT_CONNECT;
		return NULL;
	}
	PQclear(res);
	return conn;
}

/*
 * The exit code of a server error: lock and statement timeouts, deadlocks,
 * serialization failures, lack of resources and lost connections are
 * failures whenever they come; anything else is a refusal if no migration
 * had started.
 */
static int
error_exit_code(const PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	static const char *const transient[] = {"55P03", "57014", "40", "53", "57P", "08"};

	if (state == NULL)
		return DBOPS_EXIT_FAILED;
	for (int i = 0; i < lengthof(transient); i++)
	{
		if (strncmp(state, transient[i], strlen(transient[i])) == 0)
			return DBOPS_EXIT_FAILED;
	}
	return progress_started ? DBOPS_EXIT_FAILED : DBOPS_EXIT_REFUSED;
}

/*
 * Run sql with text parameters (NULL for SQL NULL).  The result of a
 * command that returns rows, or NULL after the error was logged, with
 * *exit_code set.
 */
PGresult *
dbops_query(PGconn *conn, const char *sql, int nparams,
			const char *const *values, int *exit_code)
{
	PGresult   *res;

	progress_started = false;
	res = PQexecParams(conn, sql, nparams, NULL, values, NULL, NULL, 0);
	progress_clear();
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		return res;

	if (PQresultStatus(res) == PGRES_FATAL_ERROR)
	{
		const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
		const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
		const char *context = PQresultErrorField(res, PG_DIAG_CONTEXT);
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		pg_log_error("%s", PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) ?
					 PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) :
					 PQerrorMessage(conn));
		if (detail)
			pg_log_error_detail("%s", detail);
		if (hint)
			pg_log_error_hint("%s", hint);
		if (context)
			pg_log_error_detail("Context: %s", context);
		if (state)
			pg_log_error_detail("SQLSTATE %s.", state);
		*exit_code = error_exit_code(res);
	}
	else
	{
		pg_log_error("%s", PQerrorMessage(conn));
		*exit_code = DBOPS_EXIT_FAILED;
	}
	PQclear(res);
	return NULL;
}

void
dbops_disconnect(PGconn *conn)
{
	progress_clear();
	PQfinish(conn);
}
