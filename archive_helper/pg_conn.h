/*-------------------------------------------------------------------------
 *
 * pg_conn.h
 *		The libpq session of backup-push, and the queries of backup-fetch.
 *
 * backup-push holds one session open from pg_backup_start to
 * pg_backup_stop (PostgreSQL ends a backup whose session ends), and
 * backup-fetch --target-migration asks a server where a migration's
 * restore point is.  The connection string comes from --dbname, else
 * libpq's environment (PGHOST, PGPORT, ...); a password belongs in
 * ~/.pgpass or PGPASSWORD, never in argv.
 *
 * archive_helper/pg_conn.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_PG_CONN_H
#define ARCH_PG_CONN_H

#include "pq_loader.h"
#include "status.h"

/* Connect (conninfo NULL: libpq's defaults); ARCH_TRANSIENT on failure */
extern ArchStatus pg_conn_open(const char *conninfo, PGconn **conn,
							   ArchError *err);

/*
 * End a session.  NULL is fine: libpq may never have been loaded when
 * no session was opened, so call this rather than PQfinish.
 */
extern void pg_conn_close(PGconn *conn);

/*
 * Run sql with text parameters; *res holds the rows (PQclear it).  A
 * failed query is ARCH_FATAL with the server's message, a lost connection
 * ARCH_TRANSIENT.
 */
extern ArchStatus pg_conn_query(PGconn *conn, const char *sql, int nparams,
								const char *const *params, PGresult **res,
								ArchError *err);

/* One row and one column expected: a copy of the value, or NULL on error */
extern char *pg_conn_value(PGconn *conn, const char *sql, int nparams,
						   const char *const *params, ArchError *err);

#endif							/* ARCH_PG_CONN_H */
