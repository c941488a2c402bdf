/*-------------------------------------------------------------------------
 *
 * keyring.h
 *		Encryption keys of a repository.
 *
 * Key file format (also the value of the encrypt-key setting): one key
 * per line,
 *
 *		KEY-ID HEX
 *
 * where KEY-ID is 1 to 32 characters from [A-Za-z0-9._-] and HEX is the
 * 256-bit AES key as 64 hex digits ("openssl rand -hex 32").  Blank lines
 * and lines starting with '#' are ignored.  The first key encrypts new
 * objects; every key listed can decrypt, so a key is rotated by putting a
 * new line first and keeping the old ones while old objects remain.  Each
 * encrypted object names its key id in its header.
 *
 * A key file must not be accessible by group or others (mode 0600 or
 * stricter), or it is refused.
 *
 * archive_helper/common/keyring.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_KEYRING_H
#define ARCH_KEYRING_H

#include "storage.h"

#define ARCH_KEY_ID_MAX 32
#define ARCH_KEY_BYTES 32

typedef struct ArchKey
{
	char		id[ARCH_KEY_ID_MAX + 1];
	uint8_t		key[ARCH_KEY_BYTES];
} ArchKey;

typedef struct ArchKeyring
{
	int			nkeys;			/* 0: encryption off */
	ArchKey    *keys;			/* keys[0] encrypts new objects */
} ArchKeyring;

/* Parse key lines; source names them in errors ("key file \"x\"") */
extern ArchStatus arch_keyring_parse(const char *text, const char *source,
									 ArchKeyring *ring, ArchError *err);
/* Read and parse a key file, refusing one readable by others */
extern ArchStatus arch_keyring_load_file(const char *path, ArchKeyring *ring,
										 ArchError *err);
extern const ArchKey *arch_keyring_find(const ArchKeyring *ring,
										const char *id);
/* Is id (len bytes) a valid key id?  Object headers are checked with it too */
extern bool arch_key_id_valid(const char *id, size_t len);
/* Wipe and free the keys */
extern void arch_keyring_free(ArchKeyring *ring);

#endif							/* ARCH_KEYRING_H */
