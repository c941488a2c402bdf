/*-------------------------------------------------------------------------
 *
 * fuzz_keyring.c
 *		libFuzzer harness: key files (arch_keyring_parse).
 *
 * The input is a key file's text.  Keys parsed have valid ids; an error
 * never quotes key material: no run of hex digits longer than a key id,
 * which is no secret, can be.
 *
 * archive_helper/fuzz/fuzz_keyring.c
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>

#include "fuzz.h"
#include "keyring.h"

/* Does s hold more hex digits in a row than a key id (never secret) can? */
static bool
has_hex_run(const char *s)
{
	int			run = 0;

	for (; *s; s++)
	{
		run = isxdigit((unsigned char) *s) ? run + 1 : 0;
		if (run > ARCH_KEY_ID_MAX)
			return true;
	}
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text = fuzz_text(data, size);
	ArchKeyring ring;
	ArchError	err;

	if (arch_keyring_parse(text, "key file \"fuzz\"", &ring, &err) == ARCH_OK)
	{
		FUZZ_ASSERT(ring.nkeys > 0);
		for (int i = 0; i < ring.nkeys; i++)
		{
			FUZZ_ASSERT(arch_key_id_valid(ring.keys[i].id, strlen(ring.keys[i].id)));
			FUZZ_ASSERT(arch_keyring_find(&ring, ring.keys[i].id) == &ring.keys[i]);
		}
		arch_keyring_free(&ring);
	}
	else
		FUZZ_ASSERT(!has_hex_run(err.message) && !has_hex_run(err.detail));
	arch_free(text);
	return 0;
}
