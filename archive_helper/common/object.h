/*-------------------------------------------------------------------------
 *
 * object.h
 *		The object format, version 1: what dbops_archive stores for each file.
 *
 * An object is a small header followed by the payload.  All integers are
 * big-endian.
 *
 *	offset	size	field
 *	0		8		magic "DBOPSARC"
 *	8		1		format version, 1
 *	9		1		compression: 0 none, 1 zstd
 *	10		1		encryption: 0 none, 1 AES-256-GCM
 *	11		1		key id length K (0 when not encrypted)
 *	12		4		header length H, this header included
 *	16		8		plaintext size
 *	24		32		SHA-256 of the plaintext
 *	56				end of the header when not encrypted (H = 56); else:
 *	56		4		chunk size C (plaintext bytes of the payload per chunk)
 *	60		12		nonce base (random per object)
 *	72		K		key id (ASCII), so H = 72 + K
 *
 * Payload without encryption: one plain zstd frame (compression zstd) or
 * the plaintext itself (none), so "tail -c +57 OBJECT | zstd -d" decodes
 * an unencrypted object.
 *
 * Payload with encryption: the compressed (or raw) stream cut into chunks
 * of C bytes, the last one shorter (possibly empty), each sealed with
 * AES-256-GCM and followed by its 16-byte tag.  Chunk i uses the nonce base
 * with its last 8 bytes XORed with i; its authenticated data is the whole
 * header, the object's name in the repository, i (8 bytes) and a final
 * flag (1 byte, 1 for the last chunk).  So a changed header, an object
 * copied under another name, reordered, dropped or truncated chunks all
 * fail to decrypt.
 *
 * Every object, encrypted or not, is checked on read against the plaintext
 * size and SHA-256 of its header.
 *
 * archive_helper/common/object.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_OBJECT_H
#define ARCH_OBJECT_H

#include "buf.h"
#include "keyring.h"
#include "storage.h"

#define ARCH_OBJECT_MAGIC "DBOPSARC"
#define ARCH_OBJECT_VERSION 1
#define ARCH_OBJECT_HEADER_PLAIN 56
#define ARCH_OBJECT_HEADER_MAX (72 + ARCH_KEY_ID_MAX)
#define ARCH_OBJECT_NONCE_LEN 12
#define ARCH_OBJECT_TAG_LEN 16
#define ARCH_OBJECT_CHUNK_DEFAULT (1024 * 1024)

typedef enum ArchCompress
{
	ARCH_COMPRESS_NONE = 0,
	ARCH_COMPRESS_ZSTD = 1
} ArchCompress;

typedef enum ArchEncrypt
{
	ARCH_ENCRYPT_NONE = 0,
	ARCH_ENCRYPT_AES_256_GCM = 1
} ArchEncrypt;

typedef struct ArchObjectHeader
{
	uint8_t		version;
	ArchCompress compress;
	ArchEncrypt encrypt;
	uint32_t	header_len;
	uint64_t	plain_size;
	uint8_t		sha256[32];
	uint32_t	chunk_size;
	uint8_t		nonce[ARCH_OBJECT_NONCE_LEN];
	char		key_id[ARCH_KEY_ID_MAX + 1];
} ArchObjectHeader;

/* Header bytes for hdr (which gets its header_len); returns the length */
extern size_t arch_header_encode(ArchObjectHeader *hdr, uint8_t *out);

/* Bytes of an object that arch_header_length needs to see */
#define ARCH_OBJECT_PREFIX_LEN 16

/*
 * The length of the header that starts at data, from its first
 * ARCH_OBJECT_PREFIX_LEN bytes: ARCH_OK, or ARCH_CORRUPT when it is no
 * header of ours (or len is shorter than the prefix).
 */
extern ArchStatus arch_header_length(const uint8_t *data, size_t len,
									 uint32_t *header_len, ArchError *err);

/*
 * Decode the header at the start of data: ARCH_OK, or ARCH_CORRUPT when it
 * is no header of ours or len is shorter than the header.
 */
extern ArchStatus arch_header_decode(const uint8_t *data, size_t len,
									 ArchObjectHeader *hdr, ArchError *err);

extern void arch_sha256(const void *data, size_t len, uint8_t out[32]);
extern void arch_hex(const uint8_t *data, size_t len, char *out);

typedef struct ArchEncodeOptions
{
	ArchCompress compress;
	int			level;			/* zstd level */
	int			threads;		/* zstd workers, 0 for none */
	const ArchKey *key;			/* NULL: no encryption */
	uint32_t	chunk_size;		/* 0: ARCH_OBJECT_CHUNK_DEFAULT */
} ArchEncodeOptions;

/*
 * Encode plain (len bytes) as the object called name; the header and
 * payload go to out.  hdr, if not NULL, receives the header.  The plaintext
 * SHA-256 is computed in a thread of its own while the payload compresses.
 */
extern ArchStatus arch_object_encode(const ArchEncodeOptions *opts,
									 const char *name, const void *plain,
									 size_t len, ArchBuf *out,
									 ArchObjectHeader *hdr, ArchError *err);

/*
 * Streaming decoder: feed the object's bytes (arch_decoder_sink is an
 * ArchSink whose arg is the decoder), get the plaintext in sink; end
 * checks the plaintext size and SHA-256 and frees the decoder.  Any
 * mismatch is ARCH_CORRUPT; a key id not in keys is ARCH_FATAL.
 */
typedef struct ArchDecoder ArchDecoder;

extern ArchDecoder *arch_decoder_begin(const char *name,
									   const ArchKeyring *keys,
									   ArchSink sink, void *arg);
extern ArchStatus arch_decoder_sink(void *decoder, const void *data,
									size_t len, ArchError *err);
extern ArchStatus arch_decoder_end(ArchDecoder *decoder,
								   ArchObjectHeader *hdr, ArchError *err);
extern void arch_decoder_free(ArchDecoder *decoder);

#endif							/* ARCH_OBJECT_H */
