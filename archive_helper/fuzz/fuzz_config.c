/*-------------------------------------------------------------------------
 *
 * fuzz_config.c
 *		libFuzzer harness: config files and setting values.
 *
 * The input is a config file's text.  It is parsed (arch_config_parse),
 * then every setting is read through each typed getter (integer, size,
 * duration, boolean), so the value parsers see whatever the file holds.
 *
 * archive_helper/fuzz/fuzz_config.c
 *
 *-------------------------------------------------------------------------
 */
#include "config.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ArchConfig *cfg = arch_config_new();
	bool		secret;
	ArchError	err;

	if (arch_config_parse(cfg, (const char *) data, size, &secret, &err) == ARCH_OK)
	{
		for (const ArchSetting *s = arch_core_settings; s->name; s++)
		{
			int64_t		i;
			uint64_t	u;
			bool		b;

			/* values from the environment would hide the file's: none set */
			if (arch_config_get_int(cfg, s->name, -1000, 1000, &i, &err) == ARCH_OK)
				FUZZ_ASSERT(i >= -1000 && i <= 1000);
			arch_config_get_size(cfg, s->name, &u, &err);
			if (arch_config_get_duration(cfg, s->name, &i, &err) == ARCH_OK)
				FUZZ_ASSERT(i >= -1 && i <= 3650LL * 86400);
			arch_config_get_bool(cfg, s->name, &b, &err);
		}
	}
	else
		FUZZ_ASSERT(err.message[0] != '\0');
	arch_config_free(cfg);
	return 0;
}
