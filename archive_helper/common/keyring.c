/*-------------------------------------------------------------------------
 *
 * keyring.c
 *		Parse encryption keys (format in keyring.h).
 *
 * Key material never reaches a message: errors name the source and the
 * line, not its text.
 *
 * archive_helper/common/keyring.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "keyring.h"
#include "local_file.h"

#define KEY_FILE_MAX (64 * 1024)

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool
arch_key_id_valid(const char *id, size_t len)
{
	if (len == 0 || len > ARCH_KEY_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
	{
		char		c = id[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* Parse one "KEY-ID HEX" line into key; false if malformed */
static bool
parse_key_line(const char *line, size_t len, ArchKey *key)
{
	size_t		id_len = strcspn(line, " \t");
	const char *p;

	if (id_len > len)
		id_len = len;
	if (!arch_key_id_valid(line, id_len))
		return false;
	memcpy(key->id, line, id_len);
	key->id[id_len] = '\0';

	p = line + id_len;
	while (p < line + len && (*p == ' ' || *p == '\t'))
		p++;
	if ((size_t) (line + len - p) != ARCH_KEY_BYTES * 2)
		return false;
	for (int i = 0; i < ARCH_KEY_BYTES; i++)
	{
		int			hi = hex_value(p[2 * i]);
		int			lo = hex_value(p[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		key->key[i] = (uint8_t) (hi << 4 | lo);
	}
	return true;
}

ArchStatus
arch_keyring_parse(const char *text, const char *source, ArchKeyring *ring,
				   ArchError *err)
{
	const char *line = text;
	int			lineno = 0;

	memset(ring, 0, sizeof(ArchKeyring));
	while (*line)
	{
		const char *end = strchr(line, '\n');
		size_t		len = end ? (size_t) (end - line) : strlen(line);
		const char *next = end ? end + 1 : line + len;
		ArchKey		key;

		lineno++;
		/* trim the line's ends, including a CR */
		while (len > 0 && (*line == ' ' || *line == '\t'))
			line++, len--;
		while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t' ||
						   line[len - 1] == '\r'))
			len--;
		if (len > 0 && line[0] != '#')
		{
			if (!parse_key_line(line, len, &key))
			{
				OPENSSL_cleanse(&key, sizeof(key));
				arch_keyring_free(ring);
				arch_error(err, ARCH_FATAL, "invalid key in %s line %d", source, lineno);
				return arch_error_detail(err, ARCH_FATAL,
										 "Each key line is a key id (1 to 32 characters from A-Z, a-z, 0-9, \".\", \"_\", \"-\"), a space and 64 hex digits.");
			}
			if (arch_keyring_find(ring, key.id) != NULL)
			{
				OPENSSL_cleanse(&key, sizeof(key));
				arch_keyring_free(ring);
				return arch_error(err, ARCH_FATAL, "duplicate key id \"%s\" in %s line %d",
								  key.id, source, lineno);
			}
			ring->keys = arch_realloc(ring->keys, sizeof(ArchKey) * (ring->nkeys + 1));
			ring->keys[ring->nkeys++] = key;
			OPENSSL_cleanse(&key, sizeof(key));
		}
		line = next;
	}
	if (ring->nkeys == 0)
		return arch_error(err, ARCH_FATAL, "%s holds no key", source);
	return ARCH_OK;
}

ArchStatus
arch_keyring_load_file(const char *path, ArchKeyring *ring, ArchError *err)
{
	struct stat st;
	char	   *text;
	size_t		len;
	char	   *source;
	ArchStatus	status;

	memset(ring, 0, sizeof(ArchKeyring));
	status = arch_read_local_file(path, "key file", KEY_FILE_MAX, &text, &len,
								  &st, NULL, err);
	if (status != ARCH_OK)
		return status;
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
	{
		OPENSSL_cleanse(text, len);
		arch_free(text);
		arch_error(err, ARCH_FATAL,
				   "key file \"%s\" is accessible by group or others (mode %04o)",
				   path, (unsigned) (st.st_mode & 07777));
		return arch_error_detail(err, ARCH_FATAL, "Run \"chmod 600 %s\".", path);
	}
	source = arch_psprintf("key file \"%s\"", path);
	status = arch_keyring_parse(text, source, ring, err);
	OPENSSL_cleanse(text, len);
	arch_free(text);
	arch_free(source);
	return status;
}

const ArchKey *
arch_keyring_find(const ArchKeyring *ring, const char *id)
{
	for (int i = 0; i < ring->nkeys; i++)
		if (strcmp(ring->keys[i].id, id) == 0)
			return &ring->keys[i];
	return NULL;
}

void
arch_keyring_free(ArchKeyring *ring)
{
	if (ring->keys != NULL)
		OPENSSL_cleanse(ring->keys, sizeof(ArchKey) * ring->nkeys);
	arch_free(ring->keys);
	memset(ring, 0, sizeof(ArchKeyring));
}
