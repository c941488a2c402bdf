/*-------------------------------------------------------------------------
 *
 * object.h
 *		The object format, version 2: what dbops_archive stores for each
 *		file.  Objects of version 1, written before, stay readable.
 *
 * An object is a header followed by the payload.  All integers are
 * big-endian.
 *
 *	offset	size	field
 *	0		8		magic "DBOPSARC"
 *	8		1		format version, 2
 *	9		1		compression: 0 none, 1 zstd
 *	10		1		encryption: 0 none, 1 AES-256-GCM
 *	11		1		key id length K (0 when not encrypted)
 *	12		4		header length H = 74 + K + N
 *	16		8		plaintext size				\  the "digest": filled
 *	24		32		SHA-256 of the plaintext	/   last (see Streaming)
 *	56		4		chunk size C (0 when not encrypted)
 *	60		12		nonce base (zero when not encrypted)
 *	72		2		name length N, 1 to 1024
 *	74		K		key id (ASCII)
 *	74+K	N		the object's name in the repository (printable ASCII),
 *					e.g. "wal/0000000100000000/000000010000000000000003"
 *
 * The name binds an object to the name it was stored under, encrypted or
 * not: a reader compares it with the name it asked for, so an object
 * copied or renamed over another one is refused.
 *
 * Payload without encryption: one plain zstd frame (compression zstd) or
 * the plaintext itself (none), and nothing after it, so
 * "tail -c +$((H + 1)) OBJECT | zstd -d" decodes an unencrypted object.
 *
 * Payload with encryption: the compressed (or raw) stream cut into chunks
 * of C bytes, the last one shorter (possibly empty), each sealed with
 * AES-256-GCM and followed by its 16-byte tag.  Chunk i uses the nonce base
 * with its last 8 bytes XORed with i.  Its authenticated data is the header
 * with the digest (offsets 16 to 55) zeroed, i (8 bytes) and a final flag
 * (1 byte, 1 for the last chunk); the last chunk's also holds the digest
 * itself (40 bytes).  So every chunk authenticates the header and its name,
 * and the last one the digest: a changed header or digest, an object copied
 * under another name, reordered, dropped or truncated chunks all fail.
 *
 * Streaming: a writer that does not hold the whole file (a base backup)
 * knows the name, the codecs, the key and the nonce when it starts, so the
 * header has its final length at once.  It writes the header with a zeroed
 * digest, streams the chunks (whose authenticated data leaves the digest
 * out), seals the last chunk with the digest, and then fills the digest in
 * place (arch_header_set_digest): pwrite() at offset 16 before the fsync on
 * a file repository; on S3 and Azure the part or block that holds the
 * header goes up last.  No reader sees a zeroed digest, since the object
 * gets its name only after that.  Store metadata (x-amz-meta-sha256) holds
 * the digest only when it is known before the upload; readers never
 * depend on it.
 *
 * Version 1 (read, no longer written): the same up to offset 56; then,
 * encrypted only, C (4), the nonce base (12) and the key id (K), so H is 56
 * unencrypted and 72 + K encrypted; no name in the header.  Chunks
 * authenticate the whole header, the name asked for, i and the final flag.
 * A plain version 1 object is not bound to its name: wal-fetch still checks
 * a restored segment's first page header against the name (wal_page.h).
 *
 * Every object, encrypted or not, is checked on read against the plaintext
 * size and SHA-256 of its header (or the zstd frame's content checksum,
 * which zstd verifies while it decompresses).
 *
 * archive_helper/common/object.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_OBJECT_H
#define ARCH_OBJECT_H

#include "buf.h"
#include "hash_pipe.h"
#include "keyring.h"
#include "storage.h"

#define ARCH_OBJECT_MAGIC "DBOPSARC"
#define ARCH_OBJECT_VERSION 2	/* written; version 1 is read too */
#define ARCH_OBJECT_FIXED_LEN 74	/* version 2: before the key id and name */
#define ARCH_OBJECT_NAME_MAX 1024
#define ARCH_OBJECT_HEADER_MAX (ARCH_OBJECT_FIXED_LEN + ARCH_KEY_ID_MAX + ARCH_OBJECT_NAME_MAX)
#define ARCH_OBJECT_DIGEST_OFFSET 16	/* plaintext size, then SHA-256 */
#define ARCH_OBJECT_DIGEST_LEN 40
#define ARCH_OBJECT_NONCE_LEN 12
#define ARCH_OBJECT_TAG_LEN 16
#define ARCH_OBJECT_CHUNK_DEFAULT (1024 * 1024)
#define ARCH_OBJECT_CHUNK_MAX (64 * 1024 * 1024)

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
	char		name[ARCH_OBJECT_NAME_MAX + 1];	/* "" in version 1 */
} ArchObjectHeader;

/*
 * Version 2 header bytes for hdr (which gets its version and header_len;
 * its name must be valid: arch_object_name_valid); returns the length.
 */
extern size_t arch_header_encode(ArchObjectHeader *hdr, uint8_t *out);

/* Fill in the digest of encoded header bytes (see Streaming above) */
extern void arch_header_set_digest(uint8_t *hdr_bytes, uint64_t plain_size,
								   const uint8_t sha256[32]);

/* Can name (len bytes) be stored in a header: 1 to 1024 printable ASCII? */
extern bool arch_object_name_valid(const char *name, size_t len);

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
 * Streaming encoder: the object called name (which the header records),
 * in pieces to sink.  begin sends the header at once, its digest zeroed
 * (plain_size is the plaintext's size when known, else -1: it only sizes
 * buffers and the zstd frame header, and must then be exact); the payload
 * follows as plaintext comes in.  end finishes the payload and gives the
 * final header bytes (hdr_bytes, ARCH_OBJECT_HEADER_MAX at least), which
 * the caller puts in place of the first *hdr_len bytes sent (see Streaming
 * above); hdr, if not NULL, receives the header.  end and free free the
 * encoder.
 *
 * Plaintext comes either through arch_encoder_write, or, without a copy,
 * by filling arch_encoder_slot (ARCH_HASH_PIPE_SLOT bytes at most) and
 * passing it with arch_encoder_commit: the slot is hashed on another
 * thread while this one compresses it.
 */
typedef struct ArchEncoder ArchEncoder;

extern ArchStatus arch_encoder_begin(const ArchEncodeOptions *opts,
									 const char *name, int64_t plain_size,
									 ArchSink sink, void *arg,
									 ArchEncoder **encoder, ArchError *err);
extern uint8_t *arch_encoder_slot(ArchEncoder *encoder);
extern ArchStatus arch_encoder_commit(ArchEncoder *encoder, size_t len,
									  ArchError *err);
extern ArchStatus arch_encoder_write(ArchEncoder *encoder, const void *data,
									 size_t len, ArchError *err);
extern ArchStatus arch_encoder_end(ArchEncoder *encoder, uint8_t *hdr_bytes,
								   size_t *hdr_len, ArchObjectHeader *hdr,
								   ArchError *err);
extern void arch_encoder_free(ArchEncoder *encoder);

/*
 * Encode plain (len bytes) whole into out, through the streaming encoder;
 * hdr, if not NULL, receives the header.
 */
extern ArchStatus arch_object_encode(const ArchEncodeOptions *opts,
									 const char *name, const void *plain,
									 size_t len, ArchBuf *out,
									 ArchObjectHeader *hdr, ArchError *err);

/*
 * Streaming decoder: feed the object's bytes (arch_decoder_sink is an
 * ArchSink whose arg is the decoder), get the plaintext in sink; end
 * checks the plaintext size and SHA-256 and frees the decoder.  Any
 * mismatch, and a version 2 object stored under another name than name,
 * is ARCH_CORRUPT; a key id not in the keys, or an unencrypted object when
 * keys are configured and allow_unencrypted is off, is ARCH_FATAL.
 */
typedef struct ArchDecodeOptions
{
	const ArchKeyring *keys;	/* NULL or empty: no key configured */

	/*
	 * With keys: accept objects stored without encryption (while a
	 * repository moves to encryption).  Off, an unencrypted object in an
	 * encrypted repository may have been put there by someone without the
	 * key, and is refused.
	 */
	bool		allow_unencrypted;
} ArchDecodeOptions;

typedef struct ArchDecoder ArchDecoder;

extern ArchDecoder *arch_decoder_begin(const char *name,
									   const ArchDecodeOptions *opts,
									   ArchSink sink, void *arg);
extern ArchStatus arch_decoder_sink(void *decoder, const void *data,
									size_t len, ArchError *err);
extern ArchStatus arch_decoder_end(ArchDecoder *decoder,
								   ArchObjectHeader *hdr, ArchError *err);
extern void arch_decoder_free(ArchDecoder *decoder);

#endif							/* ARCH_OBJECT_H */
