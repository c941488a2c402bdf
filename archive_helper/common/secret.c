/*-------------------------------------------------------------------------
 *
 * secret.c
 *		Wipe secrets before freeing them (see secret.h).
 *
 * archive_helper/common/secret.c
 *
 *-------------------------------------------------------------------------
 */
#include "arch_shim.h"
#include "secret.h"

void
arch_free_secret(char *secret)
{
	if (secret)
	{
		/* volatile, so the compiler keeps the stores before free */
		volatile char *p = secret;

		while (*p)
			*p++ = '\0';
	}
	arch_free(secret);
}
