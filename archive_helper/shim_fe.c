/*-------------------------------------------------------------------------
 *
 * shim_fe.c
 *		arch_shim.h for the dbops_archive executable: frontend memory
 *		functions and pg_log_*.
 *
 * archive_helper/shim_fe.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "arch_shim.h"
#include "common/logging.h"

void *
arch_alloc(size_t size)
{
	return pg_malloc(size);
}

void *
arch_alloc0(size_t size)
{
	return pg_malloc0(size);
}

void *
arch_realloc(void *ptr, size_t size)
{
	return pg_realloc(ptr, size);
}

void
arch_free(void *ptr)
{
	free(ptr);
}

char *
arch_strdup(const char *s)
{
	return pg_strdup(s);
}

char *
arch_psprintf(const char *fmt,...)
{
	va_list		ap;
	int			len;
	char	   *out;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	out = pg_malloc(len + 1);
	va_start(ap, fmt);
	vsnprintf(out, len + 1, fmt, ap);
	va_end(ap);
	return out;
}

void
arch_log(ArchLogLevel level, const char *fmt,...)
{
	static const enum pg_log_level levels[] = {
		[ARCH_LOG_DEBUG] = PG_LOG_DEBUG,
		[ARCH_LOG_INFO] = PG_LOG_INFO,
		[ARCH_LOG_WARNING] = PG_LOG_WARNING,
		[ARCH_LOG_ERROR] = PG_LOG_ERROR,
	};
	va_list		ap;

	va_start(ap, fmt);
	pg_log_generic_v(levels[level], PG_LOG_PRIMARY, fmt, ap);
	va_end(ap);
}
