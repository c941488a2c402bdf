/*-------------------------------------------------------------------------
 *
 * curl_loader.h
 *		libcurl, loaded when the first network request needs it.
 *
 * PostgreSQL starts dbops_archive once per WAL segment.  Linking libcurl
 * would make every start pay for loading it and the libraries it pulls in
 * (GnuTLS, Kerberos, LDAP, libssh2...): about 5 ms, a third of what it
 * takes to decompress a segment, even for a file:// repository that never
 * touches the network.  So the S3 and Azure code reaches libcurl through
 * the table below, filled by dlopen() at the first request
 * (arch_curl_load, through dl_loader.h); the macros keep that code
 * reading as plain libcurl.
 *
 * Include this header instead of <curl/curl.h>.
 *
 * archive_helper/common/curl_loader.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_CURL_LOADER_H
#define ARCH_CURL_LOADER_H

#include <curl/curl.h>

#include "storage.h"

/* Same types as libcurl's own declarations, so a mismatch cannot compile */
typedef struct ArchCurlApi
{
	__typeof__(curl_global_init) *global_init;
	__typeof__(curl_easy_init) *easy_init;
	__typeof__(curl_easy_reset) *easy_reset;
	__typeof__(curl_easy_setopt) *easy_setopt;
	__typeof__(curl_easy_perform) *easy_perform;
	__typeof__(curl_easy_getinfo) *easy_getinfo;
	__typeof__(curl_easy_cleanup) *easy_cleanup;
	__typeof__(curl_easy_strerror) *easy_strerror;
	__typeof__(curl_slist_append) *slist_append;
	__typeof__(curl_slist_free_all) *slist_free_all;
} ArchCurlApi;

extern ArchCurlApi arch_curl;

/*
 * Load libcurl once per process (thread-safe); ARCH_FATAL with the
 * loader's reason when it cannot be loaded.  Every function of the table
 * may be called after ARCH_OK.
 */
extern ArchStatus arch_curl_load(ArchError *err);

/* curl.h's type-checking wrappers are macros too: replace them */
#undef curl_easy_setopt
#undef curl_easy_getinfo

#define curl_global_init (arch_curl.global_init)
#define curl_easy_init (arch_curl.easy_init)
#define curl_easy_reset (arch_curl.easy_reset)
#define curl_easy_setopt (arch_curl.easy_setopt)
#define curl_easy_perform (arch_curl.easy_perform)
#define curl_easy_getinfo (arch_curl.easy_getinfo)
#define curl_easy_cleanup (arch_curl.easy_cleanup)
#define curl_easy_strerror (arch_curl.easy_strerror)
#define curl_slist_append (arch_curl.slist_append)
#define curl_slist_free_all (arch_curl.slist_free_all)

#endif							/* ARCH_CURL_LOADER_H */
