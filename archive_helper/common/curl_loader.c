/*-------------------------------------------------------------------------
 *
 * curl_loader.c
 *		Load libcurl on first use (see curl_loader.h for why).
 *
 * archive_helper/common/curl_loader.c
 *
 *-------------------------------------------------------------------------
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "curl_loader.h"

/* The soname of libcurl 7.x and 8.x, as the -dev package links it */
#define ARCH_CURL_SONAME "libcurl.so.4"

ArchCurlApi arch_curl;

static pthread_once_t arch_curl_once = PTHREAD_ONCE_INIT;
static bool arch_curl_loaded;
static char arch_curl_failure[256];

/*
 * Resolve one symbol into a table slot.  POSIX returns functions from
 * dlsym() as void *; copying through a void ** slot is its documented way
 * to store them in a function pointer.
 */
static bool
arch_curl_resolve(void *lib, const char *symbol, void *slot)
{
	void	   *fn = dlsym(lib, symbol);

	if (fn == NULL)
	{
		snprintf(arch_curl_failure, sizeof(arch_curl_failure),
				 "symbol \"%s\" not found in %s", symbol, ARCH_CURL_SONAME);
		return false;
	}
	*(void **) slot = fn;
	return true;
}

static void
arch_curl_load_once(void)
{
	void	   *lib = dlopen(ARCH_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (lib == NULL)
	{
		snprintf(arch_curl_failure, sizeof(arch_curl_failure), "%s", dlerror());
		return;
	}
	/* the library stays loaded for the life of the process */
	arch_curl_loaded =
		arch_curl_resolve(lib, "curl_global_init", &arch_curl.global_init) &&
		arch_curl_resolve(lib, "curl_easy_init", &arch_curl.easy_init) &&
		arch_curl_resolve(lib, "curl_easy_reset", &arch_curl.easy_reset) &&
		arch_curl_resolve(lib, "curl_easy_setopt", &arch_curl.easy_setopt) &&
		arch_curl_resolve(lib, "curl_easy_perform", &arch_curl.easy_perform) &&
		arch_curl_resolve(lib, "curl_easy_getinfo", &arch_curl.easy_getinfo) &&
		arch_curl_resolve(lib, "curl_easy_cleanup", &arch_curl.easy_cleanup) &&
		arch_curl_resolve(lib, "curl_easy_strerror", &arch_curl.easy_strerror) &&
		arch_curl_resolve(lib, "curl_slist_append", &arch_curl.slist_append) &&
		arch_curl_resolve(lib, "curl_slist_free_all", &arch_curl.slist_free_all);
}

ArchStatus
arch_curl_load(ArchError *err)
{
	pthread_once(&arch_curl_once, arch_curl_load_once);
	if (!arch_curl_loaded)
	{
		arch_error(err, ARCH_FATAL, "could not load libcurl: %s", arch_curl_failure);
		return arch_error_detail(err, ARCH_FATAL,
								 "S3 and Azure repositories need libcurl 7.68 or later (Debian package libcurl4).");
	}
	return ARCH_OK;
}
