/*-------------------------------------------------------------------------
 *
 * tap.h
 *		A few TAP helpers for the unit tests of archive_helper/common.
 *
 * Each test_*.c is a small program that prints "ok N - name" lines and a
 * final plan, for prove (make unit-test).  Header-only, since every test
 * is one translation unit.
 *
 * archive_helper/test/tap.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_TAP_H
#define ARCH_TAP_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int	tap_count = 0;
static int	tap_failed = 0;

static inline bool
tap_ok(bool cond, const char *name)
{
	tap_count++;
	printf("%sok %d - %s\n", cond ? "" : "not ", tap_count, name);
	if (!cond)
		tap_failed++;
	return cond;
}

static inline bool
tap_is_int(long long got, long long want, const char *name)
{
	bool		ok = tap_ok(got == want, name);

	if (!ok)
		printf("#   got %lld, expected %lld\n", got, want);
	return ok;
}

static inline bool
tap_is_str(const char *got, const char *want, const char *name)
{
	bool		ok = tap_ok(got != NULL && want != NULL ? strcmp(got, want) == 0 : got == want, name);

	if (!ok)
		printf("#   got \"%s\", expected \"%s\"\n", got ? got : "(null)", want ? want : "(null)");
	return ok;
}

/* Does haystack contain needle?  For error messages */
static inline bool
tap_like(const char *haystack, const char *needle, const char *name)
{
	bool		ok = tap_ok(haystack != NULL && strstr(haystack, needle) != NULL, name);

	if (!ok)
		printf("#   \"%s\" does not contain \"%s\"\n", haystack ? haystack : "(null)", needle);
	return ok;
}

static inline int
tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed == 0 ? 0 : 1;
}

#endif							/* ARCH_TAP_H */
