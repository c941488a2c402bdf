/*-------------------------------------------------------------------------
 *
 * pq_loader.c
 *		Load libpq at the first connection (see pq_loader.h for why).
 *
 * archive_helper/pq_loader.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "dl_loader.h"
#include "pq_loader.h"

PqApi		pq_api;

/* every function of PqApi and where it goes */
static const ArchDlSymbol pq_symbols[] = {
	{"PQconnectdbParams", &pq_api.connectdbParams},
	{"PQconnectdb", &pq_api.connectdb},
	{"PQstatus", &pq_api.status},
	{"PQerrorMessage", &pq_api.errorMessage},
	{"PQfinish", &pq_api.finish},
	{"PQexec", &pq_api.exec},
	{"PQexecParams", &pq_api.execParams},
	{"PQclear", &pq_api.clear},
	{"PQresultStatus", &pq_api.resultStatus},
	{"PQresultErrorMessage", &pq_api.resultErrorMessage},
	{"PQntuples", &pq_api.ntuples},
	{"PQnfields", &pq_api.nfields},
	{"PQgetisnull", &pq_api.getisnull},
	{"PQgetvalue", &pq_api.getvalue},
};

static ArchDlLibrary pq_library = {
	.soname = "libpq.so.5",
	.what = "libpq",
	.hint = "Commands that connect to a server need libpq (Debian package libpq5).",
	.symbols = pq_symbols,
	.nsymbols = lengthof(pq_symbols),
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

ArchStatus
pq_load(ArchError *err)
{
	return arch_dl_load(&pq_library, err);
}
