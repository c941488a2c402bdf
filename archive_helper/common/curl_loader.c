/*-------------------------------------------------------------------------
 *
 * curl_loader.c
 *		Load libcurl on first use (see curl_loader.h for why).
 *
 * archive_helper/common/curl_loader.c
 *
 *-------------------------------------------------------------------------
 */
#include "curl_loader.h"
#include "dl_loader.h"

ArchCurlApi arch_curl;

/* every function of ArchCurlApi and where it goes */
static const ArchDlSymbol arch_curl_symbols[] = {
	{"curl_global_init", &arch_curl.global_init},
	{"curl_easy_init", &arch_curl.easy_init},
	{"curl_easy_reset", &arch_curl.easy_reset},
	{"curl_easy_setopt", &arch_curl.easy_setopt},
	{"curl_easy_perform", &arch_curl.easy_perform},
	{"curl_easy_getinfo", &arch_curl.easy_getinfo},
	{"curl_easy_cleanup", &arch_curl.easy_cleanup},
	{"curl_easy_strerror", &arch_curl.easy_strerror},
	{"curl_slist_append", &arch_curl.slist_append},
	{"curl_slist_free_all", &arch_curl.slist_free_all},
};

static ArchDlLibrary arch_curl_library = {
	/* the soname of libcurl 7.x and 8.x, as the -dev package links it */
	.soname = "libcurl.so.4",
	.what = "libcurl",
	.hint = "S3 and Azure repositories need libcurl 7.68 or later (Debian package libcurl4).",
	.symbols = arch_curl_symbols,
	.nsymbols = sizeof(arch_curl_symbols) / sizeof(arch_curl_symbols[0]),
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

ArchStatus
arch_curl_load(ArchError *err)
{
	return arch_dl_load(&arch_curl_library, err);
}
