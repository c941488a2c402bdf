/*-------------------------------------------------------------------------
 *
 * migrate_order.c
 *		Natural order of migration versions.
 *
 * Tools name their versions differently: Hasura uses a millisecond
 * timestamp (1592811234567), Diesel a dashed date (2019-02-26-002946),
 * golang-migrate and Flyway small numbers (2, 10, V1_2).  Comparing the
 * strings bytewise would put 10 before 2, comparing them as numbers fails
 * on the others.  So a version is read as a sequence of runs, each either
 * all digits or free of digits; digit runs compare by numeric value, other
 * runs bytewise, and the first difference decides.  Two versions with the
 * same runs ("1" and "001") compare equal, which the sources report as a
 * duplicate version.
 *
 * src/migrate_order.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "migrate.h"

/* Length of the run that starts at s: digits, or non-digits */
static int
run_length(const char *s, bool digits)
{
	int			n = 0;

	while (s[n] != '\0' && (isdigit((unsigned char) s[n]) != 0) == digits)
		n++;
	return n;
}

/*
 * Compare two digit runs by value: leading zeros are skipped, then the
 * longer run is larger, and runs of equal length compare bytewise.
 */
static int
digit_run_cmp(const char *a, int alen, const char *b, int blen)
{
	while (alen > 0 && *a == '0')
		a++, alen--;
	while (blen > 0 && *b == '0')
		b++, blen--;
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return memcmp(a, b, alen);
}

/*
 * Compare versions a and b in natural order: negative, zero or positive.
 * A digit run sorts before a non-digit run at the same place, and a version
 * that is a prefix of another sorts first.
 */
int
migrate_version_cmp(const char *a, const char *b)
{
	while (*a != '\0' && *b != '\0')
	{
		bool		adigit = isdigit((unsigned char) *a) != 0;
		bool		bdigit = isdigit((unsigned char) *b) != 0;
		int			alen;
		int			blen;
		int			c;

		if (adigit != bdigit)
			return adigit ? -1 : 1;

		alen = run_length(a, adigit);
		blen = run_length(b, bdigit);
		if (adigit)
			c = digit_run_cmp(a, alen, b, blen);
		else
		{
			c = memcmp(a, b, Min(alen, blen));
			if (c == 0 && alen != blen)
				c = alen < blen ? -1 : 1;
		}
		if (c != 0)
			return c < 0 ? -1 : 1;
		a += alen;
		b += blen;
	}
	if (*a == '\0' && *b == '\0')
		return 0;
	return *a == '\0' ? -1 : 1;
}
