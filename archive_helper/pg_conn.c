/*-------------------------------------------------------------------------
 *
 * pg_conn.c
 *		libpq sessions of dbops_archive (see pg_conn.h).
 *
 * archive_helper/pg_conn.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "pg_conn.h"

/* libpq's message without its trailing newline, for our error text */
static const char *
pg_conn_message(const char *msg, char *buf, size_t size)
{
	size_t		len;

	snprintf(buf, size, "%s", msg ? msg : "");
	len = strlen(buf);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	return buf;
}

ArchStatus
pg_conn_open(const char *conninfo, PGconn **conn, ArchError *err)
{
	const char *keys[] = {"dbname", "application_name", "fallback_application_name", NULL};
	const char *values[] = {conninfo, NULL, "dbops_archive", NULL};
	char		msg[ARCH_ERROR_LEN];
	ArchStatus	st = pq_load(err);

	*conn = NULL;
	if (st != ARCH_OK)
		return st;
	/* expand_dbname: dbname may be a whole connection string or URI */
	*conn = PQconnectdbParams(keys, values, 1);
	if (*conn != NULL && PQstatus(*conn) == CONNECTION_OK)
	{
		/* no surprises from the role's search_path in our queries */
		PQclear(PQexec(*conn, "SELECT pg_catalog.set_config('search_path', '', false)"));
		return ARCH_OK;
	}
	arch_error(err, ARCH_TRANSIENT, "could not connect to the database server: %s",
			   pg_conn_message(*conn ? PQerrorMessage(*conn) : "out of memory", msg, sizeof(msg)));
	PQfinish(*conn);
	*conn = NULL;
	return arch_error_detail(err, ARCH_TRANSIENT,
							 "Give a connection string with --dbname, or set PGHOST, PGPORT and PGUSER.");
}

void
pg_conn_close(PGconn *conn)
{
	if (conn != NULL)
		PQfinish(conn);
}

ArchStatus
pg_conn_query(PGconn *conn, const char *sql, int nparams,
			  const char *const *params, PGresult **res, ArchError *err)
{
	char		msg[ARCH_ERROR_LEN];
	ArchStatus	st;

	*res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	if (*res != NULL && PQresultStatus(*res) == PGRES_TUPLES_OK)
		return ARCH_OK;
	/* the server refused the query, or the connection is gone */
	st = PQstatus(conn) == CONNECTION_OK ? ARCH_FATAL : ARCH_TRANSIENT;
	arch_error(err, st, "query failed: %s",
			   pg_conn_message(*res ? PQresultErrorMessage(*res) : PQerrorMessage(conn),
							   msg, sizeof(msg)));
	PQclear(*res);
	*res = NULL;
	return st;
}

char *
pg_conn_value(PGconn *conn, const char *sql, int nparams,
			  const char *const *params, ArchError *err)
{
	PGresult   *res;
	char	   *value = NULL;

	if (pg_conn_query(conn, sql, nparams, params, &res, err) != ARCH_OK)
		return NULL;
	if (PQntuples(res) != 1 || PQnfields(res) != 1 || PQgetisnull(res, 0, 0))
		arch_error(err, ARCH_FATAL, "query returned %d rows, not one value: %s",
				   PQntuples(res), sql);
	else
		value = pg_strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return value;
}
