/*-------------------------------------------------------------------------
 *
 * dl_loader.h
 *		A shared library loaded with dlopen() on first use, its functions
 *		resolved into a table.
 *
 * PostgreSQL starts dbops_archive once per WAL segment, and linking a
 * library makes every start load it and what it pulls in.  The libraries
 * only some commands need (libcurl for S3 and Azure, libpq for the
 * commands that connect to a server) are therefore reached through a
 * table of function pointers that the library's loader (curl_loader.h,
 * pq_loader.h) describes with an ArchDlLibrary and fills here, once per
 * process, when the first caller needs it.
 *
 * archive_helper/common/dl_loader.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_DL_LOADER_H
#define ARCH_DL_LOADER_H

#include <pthread.h>

#include "status.h"

/* One function: its name in the library, and the table slot it goes to */
typedef struct ArchDlSymbol
{
	const char *name;
	void	   *slot;			/* address of a function pointer */
} ArchDlSymbol;

typedef struct ArchDlLibrary
{
	/* set by the loader that describes the library */
	const char *soname;			/* "libcurl.so.4" */
	const char *what;			/* for the error message: "libcurl" */
	const char *hint;			/* error detail when it cannot be loaded */
	const ArchDlSymbol *symbols;
	int			nsymbols;
	pthread_mutex_t lock;		/* PTHREAD_MUTEX_INITIALIZER */

	/* the outcome of the one attempt */
	bool		tried;
	bool		loaded;
	char		failure[256];
} ArchDlLibrary;

/*
 * Load the library and resolve every symbol, at the first call only
 * (thread-safe).  ARCH_FATAL, naming the library and the loader's reason,
 * when it cannot be loaded or lacks a symbol; then no slot may be called.
 */
extern ArchStatus arch_dl_load(ArchDlLibrary *lib, ArchError *err);

#endif							/* ARCH_DL_LOADER_H */
