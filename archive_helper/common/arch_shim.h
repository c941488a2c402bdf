/*-------------------------------------------------------------------------
 *
 * arch_shim.h
 *		Logging and allocation for the code shared by dbops_archive and the
 *		archive module.
 *
 * The code in archive_helper/common/ is linked into two programs that
 * allocate and report differently: the dbops_archive CLI (malloc, frontend
 * pg_log_*) and, later, the archive module (palloc in a per-file context,
 * ereport).  So that code includes neither postgres.h nor postgres_fe.h; it
 * calls the few functions below, and each program supplies them once
 * (archive_helper/shim_fe.c for the CLI).
 *
 * Contract for implementations:
 * - arch_alloc() and arch_alloc0() never return NULL: out of memory ends
 *   the program (CLI) or raises an ERROR (module).
 * - arch_log() never ends the program, whatever the level; callers return
 *   an ArchStatus instead.  Its text must never contain a secret.
 *
 * archive_helper/common/arch_shim.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_SHIM_H
#define ARCH_SHIM_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum ArchLogLevel
{
	ARCH_LOG_DEBUG,				/* only with --verbose */
	ARCH_LOG_INFO,				/* progress a person may want to see */
	ARCH_LOG_WARNING,			/* something is wrong, but we carry on */
	ARCH_LOG_ERROR				/* the operation failed (the caller decides
								 * the exit code) */
} ArchLogLevel;

#if defined(__GNUC__)
#define ARCH_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define ARCH_PRINTF(f, a)
#endif

extern void *arch_alloc(size_t size);
extern void *arch_alloc0(size_t size);
extern void *arch_realloc(void *ptr, size_t size);
extern void arch_free(void *ptr);
extern char *arch_strdup(const char *s);
extern char *arch_psprintf(const char *fmt,...) ARCH_PRINTF(1, 2);
extern void arch_log(ArchLogLevel level, const char *fmt,...) ARCH_PRINTF(2, 3);

#endif							/* ARCH_SHIM_H */
