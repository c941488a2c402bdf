/*-------------------------------------------------------------------------
 *
 * pq_loader.h
 *		libpq, loaded when a command first connects to a server.
 *
 * PostgreSQL starts dbops_archive once per WAL segment, and wal-push and
 * wal-fetch never connect to a server.  Linking libpq would make every
 * start load it and what it pulls in (Kerberos, LDAP, ...): 2.5 ms more
 * per start measured here (4.1 ms against 1.6 ms for --version), on a
 * push of about 110 ms.  So backup-push, backup-fetch --target-migration
 * and restore-check reach libpq through the table below, filled by
 * dlopen() at the first connection (pq_load); the macros keep that code
 * reading as plain libpq, as curl_loader.h does for libcurl.
 *
 * Include this header instead of libpq-fe.h.
 *
 * archive_helper/pq_loader.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_PQ_LOADER_H
#define ARCH_PQ_LOADER_H

#include "libpq-fe.h"
#include "status.h"

/* Same types as libpq's own declarations, so a mismatch cannot compile */
typedef struct PqApi
{
	__typeof__(PQconnectdbParams) *connectdbParams;
	__typeof__(PQconnectdb) *connectdb;
	__typeof__(PQstatus) *status;
	__typeof__(PQerrorMessage) *errorMessage;
	__typeof__(PQfinish) *finish;
	__typeof__(PQexec) *exec;
	__typeof__(PQexecParams) *execParams;
	__typeof__(PQclear) *clear;
	__typeof__(PQresultStatus) *resultStatus;
	__typeof__(PQresultErrorMessage) *resultErrorMessage;
	__typeof__(PQntuples) *ntuples;
	__typeof__(PQnfields) *nfields;
	__typeof__(PQgetisnull) *getisnull;
	__typeof__(PQgetvalue) *getvalue;
} PqApi;

extern PqApi pq_api;

/*
 * Load libpq once per process (thread-safe); ARCH_FATAL with the loader's
 * reason when it cannot be loaded.  Every function of the table may be
 * called after ARCH_OK.
 */
extern ArchStatus pq_load(ArchError *err);

#define PQconnectdbParams (pq_api.connectdbParams)
#define PQconnectdb (pq_api.connectdb)
#define PQstatus (pq_api.status)
#define PQerrorMessage (pq_api.errorMessage)
#define PQfinish (pq_api.finish)
#define PQexec (pq_api.exec)
#define PQexecParams (pq_api.execParams)
#define PQclear (pq_api.clear)
#define PQresultStatus (pq_api.resultStatus)
#define PQresultErrorMessage (pq_api.resultErrorMessage)
#define PQntuples (pq_api.ntuples)
#define PQnfields (pq_api.nfields)
#define PQgetisnull (pq_api.getisnull)
#define PQgetvalue (pq_api.getvalue)

#endif							/* ARCH_PQ_LOADER_H */
