/*-------------------------------------------------------------------------
 *
 * fuzz.h
 *		What the libFuzzer harnesses of dbops_archive share.
 *
 * Each fuzz_<target>.c feeds libFuzzer's bytes to one family of parsers
 * (README, "Archiving": make fuzz).  The parsers take untrusted input
 * (command lines, config and key files, URLs, object headers, WAL names and
 * pages, store answers); the harnesses check that they never crash, leak
 * or read out of bounds, and that what they return is consistent.
 *
 * archive_helper/fuzz/fuzz.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_FUZZ_H
#define ARCH_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch_shim.h"

extern int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property every result must have; a failure is a finding */
#define FUZZ_ASSERT(cond) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

/* The input as a NUL-terminated string (it may hold NULs of its own) */
static inline char *
fuzz_text(const uint8_t *data, size_t size)
{
	char	   *text = arch_alloc(size + 1);

	memcpy(text, data, size);
	text[size] = '\0';
	return text;
}

#endif							/* ARCH_FUZZ_H */
