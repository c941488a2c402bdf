/*-------------------------------------------------------------------------
 *
 * object.c
 *		Encode and decode objects in the format described in object.h.
 *
 * Both directions stream through bounded buffers: the encoder hashes each
 * slot of plaintext on a second thread while it compresses the same slot,
 * and fills the header's digest in last (object.h, Streaming); a fetch
 * never holds more than a chunk of ciphertext and a zstd window.
 *
 * archive_helper/common/object.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <zstd.h>

#include "hash_pipe.h"
#include "object.h"

#define Min(a, b) ((a) < (b) ? (a) : (b))

static void
put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t) v;
}

static void
put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t) v;
}

static uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static uint64_t
get_be64(const uint8_t *p)
{
	return (uint64_t) get_be32(p) << 32 | get_be32(p + 4);
}

static void
put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t) (v >> 8);
	p[1] = (uint8_t) v;
}

bool
arch_object_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > ARCH_OBJECT_NAME_MAX)
		return false;
	/* quoted in messages: no space, no control character */
	for (size_t i = 0; i < len; i++)
		if (name[i] <= ' ' || name[i] > '~')
			return false;
	return true;
}

size_t
arch_header_encode(ArchObjectHeader *hdr, uint8_t *out)
{
	size_t		key_len = hdr->encrypt ? strlen(hdr->key_id) : 0;
	size_t		name_len = strlen(hdr->name);

	hdr->version = ARCH_OBJECT_VERSION;
	hdr->header_len = ARCH_OBJECT_FIXED_LEN + key_len + name_len;
	memset(out, 0, hdr->header_len);
	memcpy(out, ARCH_OBJECT_MAGIC, 8);
	out[8] = hdr->version;
	out[9] = (uint8_t) hdr->compress;
	out[10] = (uint8_t) hdr->encrypt;
	out[11] = (uint8_t) key_len;
	put_be32(out + 12, hdr->header_len);
	arch_header_set_digest(out, hdr->plain_size, hdr->sha256);
	if (hdr->encrypt)
	{
		put_be32(out + 56, hdr->chunk_size);
		memcpy(out + 60, hdr->nonce, ARCH_OBJECT_NONCE_LEN);
	}
	put_be16(out + 72, (uint16_t) name_len);
	memcpy(out + ARCH_OBJECT_FIXED_LEN, hdr->key_id, key_len);
	memcpy(out + ARCH_OBJECT_FIXED_LEN + key_len, hdr->name, name_len);
	return hdr->header_len;
}

void
arch_header_set_digest(uint8_t *hdr_bytes, uint64_t plain_size,
					   const uint8_t sha256[32])
{
	put_be64(hdr_bytes + ARCH_OBJECT_DIGEST_OFFSET, plain_size);
	memcpy(hdr_bytes + ARCH_OBJECT_DIGEST_OFFSET + 8, sha256, 32);
}

ArchStatus
arch_header_length(const uint8_t *data, size_t len, uint32_t *header_len,
				   ArchError *err)
{
	uint8_t		version;
	uint8_t		encrypt;
	uint32_t	key_len;
	bool		consistent;

	*header_len = 0;
	if (len < ARCH_OBJECT_PREFIX_LEN)
		return arch_error(err, ARCH_CORRUPT, "object shorter than a header");
	if (memcmp(data, ARCH_OBJECT_MAGIC, 8) != 0)
		return arch_error(err, ARCH_CORRUPT, "not a dbops_archive object (no magic)");
	version = data[8];
	if (version != 1 && version != 2)
		return arch_error(err, ARCH_CORRUPT, "unsupported object format version %u",
						  version);
	if (data[9] > ARCH_COMPRESS_ZSTD || data[10] > ARCH_ENCRYPT_AES_256_GCM)
		return arch_error(err, ARCH_CORRUPT,
						  "unrecognized compression %u or encryption %u in object header",
						  data[9], data[10]);
	encrypt = data[10];
	key_len = data[11];
	*header_len = get_be32(data + 12);

	/*
	 * The length must fit what its own fields imply; version 2's name
	 * length lies beyond the prefix, so decode checks the exact sum.
	 */
	if (encrypt ? (key_len == 0 || key_len > ARCH_KEY_ID_MAX) : key_len != 0)
		consistent = false;
	else if (version == 1)
		consistent = *header_len == (encrypt ? 72 + key_len : 56);
	else
		consistent = *header_len > ARCH_OBJECT_FIXED_LEN + key_len &&
			*header_len <= ARCH_OBJECT_FIXED_LEN + key_len + ARCH_OBJECT_NAME_MAX;
	if (!consistent)
		return arch_error(err, ARCH_CORRUPT, "inconsistent object header length %u",
						  *header_len);
	return ARCH_OK;
}

/* The version 1 fields after the digest: C, nonce base, key id */
static void
header_decode_v1(const uint8_t *data, ArchObjectHeader *hdr, size_t key_len)
{
	if (!hdr->encrypt)
		return;
	hdr->chunk_size = get_be32(data + 56);
	memcpy(hdr->nonce, data + 60, ARCH_OBJECT_NONCE_LEN);
	memcpy(hdr->key_id, data + 72, key_len);
}

/* The version 2 fields after the digest: C, nonce base, N, key id, name */
static ArchStatus
header_decode_v2(const uint8_t *data, ArchObjectHeader *hdr, size_t key_len,
				 ArchError *err)
{
	static const uint8_t zero_nonce[ARCH_OBJECT_NONCE_LEN];
	size_t		name_len = (size_t) data[72] << 8 | data[73];

	if (hdr->header_len != ARCH_OBJECT_FIXED_LEN + key_len + name_len)
		return arch_error(err, ARCH_CORRUPT, "inconsistent object header length %u",
						  hdr->header_len);
	hdr->chunk_size = get_be32(data + 56);
	memcpy(hdr->nonce, data + 60, ARCH_OBJECT_NONCE_LEN);
	/* fields an unencrypted object does not use are zero: one encoding */
	if (!hdr->encrypt &&
		(hdr->chunk_size != 0 || memcmp(hdr->nonce, zero_nonce, sizeof(zero_nonce)) != 0))
		return arch_error(err, ARCH_CORRUPT, "encryption fields set in the header of an unencrypted object");
	memcpy(hdr->key_id, data + ARCH_OBJECT_FIXED_LEN, key_len);
	if (!arch_object_name_valid((const char *) data + ARCH_OBJECT_FIXED_LEN + key_len, name_len))
		return arch_error(err, ARCH_CORRUPT, "invalid object name in the header");
	memcpy(hdr->name, data + ARCH_OBJECT_FIXED_LEN + key_len, name_len);
	hdr->name[name_len] = '\0';
	return ARCH_OK;
}

ArchStatus
arch_header_decode(const uint8_t *data, size_t len, ArchObjectHeader *hdr,
				   ArchError *err)
{
	size_t		key_len;
	ArchStatus	st;

	memset(hdr, 0, sizeof(ArchObjectHeader));
	st = arch_header_length(data, len, &hdr->header_len, err);
	if (st != ARCH_OK)
		return st;
	if (len < hdr->header_len)
		return arch_error(err, ARCH_CORRUPT, "truncated object header");
	hdr->version = data[8];
	hdr->compress = (ArchCompress) data[9];
	hdr->encrypt = (ArchEncrypt) data[10];
	key_len = data[11];
	hdr->plain_size = get_be64(data + ARCH_OBJECT_DIGEST_OFFSET);
	memcpy(hdr->sha256, data + ARCH_OBJECT_DIGEST_OFFSET + 8, 32);
	if (hdr->version == 1)
		header_decode_v1(data, hdr, key_len);
	else if ((st = header_decode_v2(data, hdr, key_len, err)) != ARCH_OK)
		return st;
	if (hdr->encrypt && (hdr->chunk_size == 0 || hdr->chunk_size > ARCH_OBJECT_CHUNK_MAX))
		return arch_error(err, ARCH_CORRUPT, "invalid chunk size %u in object header",
						  hdr->chunk_size);
	/* key ids are quoted in messages */
	if (hdr->encrypt && !arch_key_id_valid(hdr->key_id, key_len))
		return arch_error(err, ARCH_CORRUPT, "invalid key id in object header");
	return ARCH_OK;
}

void
arch_sha256(const void *data, size_t len, uint8_t out[32])
{
	unsigned int out_len = 32;

	EVP_Digest(data, len, out, &out_len, EVP_sha256(), NULL);
}

void
arch_hex(const uint8_t *data, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++)
	{
		out[2 * i] = digits[data[i] >> 4];
		out[2 * i + 1] = digits[data[i] & 15];
	}
	out[2 * len] = '\0';
}

/*
 * The authenticated data every chunk of an object shares (object.h):
 * version 2, the header with its digest zeroed; version 1, the header and
 * the name.  arch_alloc'ed, *len bytes.
 */
static uint8_t *
chunk_aad(const ArchObjectHeader *hdr, const uint8_t *hdr_bytes,
		  const char *name, size_t *len)
{
	size_t		name_len = hdr->version == 1 ? strlen(name) : 0;
	uint8_t    *aad = arch_alloc(hdr->header_len + name_len);

	memcpy(aad, hdr_bytes, hdr->header_len);
	if (hdr->version == 1)
		memcpy(aad + hdr->header_len, name, name_len);
	else
		memset(aad + ARCH_OBJECT_DIGEST_OFFSET, 0, ARCH_OBJECT_DIGEST_LEN);
	*len = hdr->header_len + name_len;
	return aad;
}

/*
 * Seal or open chunk index: its nonce is the base with its last 8 bytes
 * XORed with the index; its authenticated data is aad, the index, the final
 * flag and, for a final chunk, final_aad (version 2: the digest).  One
 * function for both directions, so sealing and opening cannot drift apart.
 */
static bool
chunk_crypt(bool seal, const uint8_t *key, const uint8_t *nonce_base,
			const uint8_t *aad, size_t aad_len, uint64_t index, bool final,
			const uint8_t *final_aad, size_t final_aad_len,
			const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t		nonce[ARCH_OBJECT_NONCE_LEN];
	uint8_t		tail[9];
	int			n;
	bool		ok;

	memcpy(nonce, nonce_base, sizeof(nonce));
	for (int i = 0; i < 8; i++)
		nonce[4 + i] ^= (uint8_t) (index >> (56 - 8 * i));
	put_be64(tail, index);
	tail[8] = final ? 1 : 0;

	ok = ctx != NULL &&
		EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce, seal ? 1 : 0) == 1 &&
		EVP_CipherUpdate(ctx, NULL, &n, aad, aad_len) == 1 &&
		EVP_CipherUpdate(ctx, NULL, &n, tail, sizeof(tail)) == 1 &&
		(!final || final_aad_len == 0 ||
		 EVP_CipherUpdate(ctx, NULL, &n, final_aad, final_aad_len) == 1) &&
		(len == 0 || EVP_CipherUpdate(ctx, out, &n, in, len) == 1);
	if (ok && !seal)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, ARCH_OBJECT_TAG_LEN, tag) == 1;
	/* for opening, Final is where the tag is checked */
	if (ok)
		ok = EVP_CipherFinal_ex(ctx, out + len, &n) == 1;
	if (ok && seal)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, ARCH_OBJECT_TAG_LEN, tag) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

/*
 * The streaming encoder.  Plaintext comes in slots of the hash pipe, so
 * the SHA-256 runs on another thread while this one compresses the same
 * slot; compressed bytes go out in pieces of at most ZSTD_CStreamOutSize()
 * or, encrypted, in sealed chunks.  Nothing is ever held whole: a 16 MiB
 * segment and a 1 GiB relation file cost the same few MiB.
 */
struct ArchEncoder
{
	ArchObjectHeader hdr;
	uint8_t		hdr_bytes[ARCH_OBJECT_HEADER_MAX];
	size_t		hdr_len;
	ArchSink	sink;
	void	   *arg;
	ArchHashPipe *hash;
	uint64_t	plain_size;

	/* compression: NULL for none */
	ZSTD_CCtx  *cctx;
	uint8_t    *zout;
	size_t		zout_cap;

	/* encryption: a chunk gathers until full, then is sealed */
	const ArchKey *key;
	uint8_t    *aad;
	size_t		aad_len;
	uint8_t    *chunk;
	size_t		chunk_have;
	uint8_t    *sealed;
	uint64_t	chunk_index;
};

void
arch_encoder_free(ArchEncoder *e)
{
	if (e == NULL)
		return;
	if (e->hash)
		arch_hash_pipe_end(e->hash, NULL);
	if (e->cctx)
		ZSTD_freeCCtx(e->cctx);
	arch_free(e->zout);
	arch_free(e->aad);
	arch_free(e->chunk);
	arch_free(e->sealed);
	arch_free(e);
}

/* A zstd context as every object is compressed */
static ArchStatus
encoder_zstd(ArchEncoder *e, const ArchEncodeOptions *opts, int64_t plain_size,
			 ArchError *err)
{
	size_t		rc;

	e->cctx = ZSTD_createCCtx();
	if (e->cctx == NULL)
		return arch_error(err, ARCH_FATAL, "could not create a zstd context");
	rc = ZSTD_CCtx_setParameter(e->cctx, ZSTD_c_compressionLevel, opts->level);
	/* the frame's own checksum lets wal-fetch verify while it decompresses */
	if (!ZSTD_isError(rc))
		rc = ZSTD_CCtx_setParameter(e->cctx, ZSTD_c_checksumFlag, 1);
	if (!ZSTD_isError(rc) && opts->threads > 0)
		rc = ZSTD_CCtx_setParameter(e->cctx, ZSTD_c_nbWorkers, opts->threads);
	/* a known size lets zstd size its tables, and goes in the frame header */
	if (!ZSTD_isError(rc) && plain_size >= 0)
		rc = ZSTD_CCtx_setPledgedSrcSize(e->cctx, (unsigned long long) plain_size);
	if (ZSTD_isError(rc))
		return arch_error(err, ARCH_FATAL, "could not configure zstd: %s",
						  ZSTD_getErrorName(rc));
	e->zout_cap = ZSTD_CStreamOutSize();
	e->zout = arch_alloc(e->zout_cap);
	return ARCH_OK;
}

ArchStatus
arch_encoder_begin(const ArchEncodeOptions *opts, const char *name,
				   int64_t plain_size, ArchSink sink, void *arg,
				   ArchEncoder **encoder, ArchError *err)
{
	ArchEncoder *e;
	ArchStatus	st = ARCH_OK;

	*encoder = NULL;
	if (!arch_object_name_valid(name, strlen(name)))
		return arch_error(err, ARCH_FATAL,
						  "object name \"%.64s\" cannot be stored (1 to %d printable characters, no space)",
						  name, ARCH_OBJECT_NAME_MAX);
	e = arch_alloc0(sizeof(ArchEncoder));
	e->sink = sink;
	e->arg = arg;
	/* below a slot, a second thread costs more than it saves */
	e->hash = arch_hash_pipe_begin(plain_size < 0 || plain_size >= ARCH_HASH_PIPE_SLOT);
	strcpy(e->hdr.name, name);
	e->hdr.compress = opts->compress;
	e->hdr.encrypt = opts->key ? ARCH_ENCRYPT_AES_256_GCM : ARCH_ENCRYPT_NONE;
	if (opts->key)
	{
		e->key = opts->key;
		e->hdr.chunk_size = opts->chunk_size ? opts->chunk_size : ARCH_OBJECT_CHUNK_DEFAULT;
		strcpy(e->hdr.key_id, opts->key->id);
		if (RAND_bytes(e->hdr.nonce, ARCH_OBJECT_NONCE_LEN) != 1)
			st = arch_error(err, ARCH_FATAL, "could not generate a random nonce");
	}
	if (st == ARCH_OK && opts->compress == ARCH_COMPRESS_ZSTD)
		st = encoder_zstd(e, opts, plain_size, err);
	if (st != ARCH_OK)
	{
		arch_encoder_free(e);
		return st;
	}

	/* the header has its final length now; its digest is zero until the end */
	e->hdr_len = arch_header_encode(&e->hdr, e->hdr_bytes);
	if (e->key)
	{
		e->aad = chunk_aad(&e->hdr, e->hdr_bytes, name, &e->aad_len);
		e->chunk = arch_alloc(e->hdr.chunk_size);
		e->sealed = arch_alloc(e->hdr.chunk_size + ARCH_OBJECT_TAG_LEN);
	}
	st = sink(arg, e->hdr_bytes, e->hdr_len, err);
	if (st != ARCH_OK)
	{
		arch_encoder_free(e);
		return st;
	}
	*encoder = e;
	return ARCH_OK;
}

/* Seal the gathered chunk; the final one also authenticates the digest */
static ArchStatus
encoder_seal(ArchEncoder *e, bool final, ArchError *err)
{
	size_t		len;

	if (!chunk_crypt(true, e->key->key, e->hdr.nonce, e->aad, e->aad_len,
					 e->chunk_index, final, e->hdr_bytes + ARCH_OBJECT_DIGEST_OFFSET,
					 ARCH_OBJECT_DIGEST_LEN, e->chunk, e->chunk_have, e->sealed,
					 e->sealed + e->chunk_have))
		return arch_error(err, ARCH_FATAL, "could not encrypt \"%s\"", e->hdr.name);
	e->chunk_index++;
	len = e->chunk_have + ARCH_OBJECT_TAG_LEN;
	e->chunk_have = 0;
	return e->sink(e->arg, e->sealed, len, err);
}

/*
 * Payload bytes (compressed or raw): out as they are, or into chunks.  A
 * full chunk is sealed at once, so the final chunk is always shorter than
 * C, possibly empty: one encoding for every writer.
 */
static ArchStatus
encoder_payload(ArchEncoder *e, const uint8_t *data, size_t len, ArchError *err)
{
	if (e->key == NULL)
		return len > 0 ? e->sink(e->arg, data, len, err) : ARCH_OK;
	while (len > 0)
	{
		size_t		take = e->hdr.chunk_size - e->chunk_have;
		ArchStatus	st;

		if (take > len)
			take = len;
		memcpy(e->chunk + e->chunk_have, data, take);
		e->chunk_have += take;
		data += take;
		len -= take;
		if (e->chunk_have == e->hdr.chunk_size &&
			(st = encoder_seal(e, false, err)) != ARCH_OK)
			return st;
	}
	return ARCH_OK;
}

/* Compress data (or, with end, finish the frame) into the payload */
static ArchStatus
encoder_compress(ArchEncoder *e, const uint8_t *data, size_t len, bool end,
				 ArchError *err)
{
	ZSTD_inBuffer in = {data, len, 0};

	if (e->cctx == NULL)
		return encoder_payload(e, data, len, err);
	for (;;)
	{
		ZSTD_outBuffer out = {e->zout, e->zout_cap, 0};
		size_t		rc = ZSTD_compressStream2(e->cctx, &out, &in,
											  end ? ZSTD_e_end : ZSTD_e_continue);
		ArchStatus	st;

		if (ZSTD_isError(rc))
			return arch_error(err, ARCH_FATAL, "could not compress \"%s\": %s",
							  e->hdr.name, ZSTD_getErrorName(rc));
		if ((st = encoder_payload(e, e->zout, out.pos, err)) != ARCH_OK)
			return st;
		if (end ? rc == 0 : in.pos == in.size)
			return ARCH_OK;
	}
}

uint8_t *
arch_encoder_slot(ArchEncoder *e)
{
	return arch_hash_pipe_slot(e->hash);
}

ArchStatus
arch_encoder_commit(ArchEncoder *e, size_t len, ArchError *err)
{
	uint8_t    *slot = arch_hash_pipe_slot(e->hash);

	if (len == 0)
		return ARCH_OK;
	e->plain_size += len;
	/* the hashing thread reads the slot while we compress it: both read */
	arch_hash_pipe_push(e->hash, len);
	return encoder_compress(e, slot, len, false, err);
}

ArchStatus
arch_encoder_write(ArchEncoder *e, const void *data, size_t len, ArchError *err)
{
	const uint8_t *p = data;

	while (len > 0)
	{
		size_t		take = Min(len, ARCH_HASH_PIPE_SLOT);
		ArchStatus	st;

		memcpy(arch_encoder_slot(e), p, take);
		if ((st = arch_encoder_commit(e, take, err)) != ARCH_OK)
			return st;
		p += take;
		len -= take;
	}
	return ARCH_OK;
}

ArchStatus
arch_encoder_end(ArchEncoder *e, uint8_t *hdr_bytes, size_t *hdr_len,
				 ArchObjectHeader *hdr, ArchError *err)
{
	ArchStatus	st = encoder_compress(e, NULL, 0, true, err);

	arch_hash_pipe_end(e->hash, e->hdr.sha256);
	e->hash = NULL;
	e->hdr.plain_size = e->plain_size;
	arch_header_set_digest(e->hdr_bytes, e->hdr.plain_size, e->hdr.sha256);
	if (st == ARCH_OK && e->key)
		st = encoder_seal(e, true, err);
	if (st == ARCH_OK)
	{
		memcpy(hdr_bytes, e->hdr_bytes, e->hdr_len);
		*hdr_len = e->hdr_len;
		if (hdr)
			*hdr = e->hdr;
	}
	arch_encoder_free(e);
	return st;
}

ArchStatus
arch_object_encode(const ArchEncodeOptions *opts, const char *name,
				   const void *plain, size_t len, ArchBuf *out,
				   ArchObjectHeader *hdr, ArchError *err)
{
	ArchEncoder *e;
	uint8_t		hdr_bytes[ARCH_OBJECT_HEADER_MAX];
	size_t		hdr_len;
	ArchStatus	st;

	arch_buf_reset(out);
	st = arch_encoder_begin(opts, name, (int64_t) len, arch_buf_sink, out, &e, err);
	if (st != ARCH_OK)
		return st;
	st = arch_encoder_write(e, plain, len, err);
	if (st != ARCH_OK)
	{
		arch_encoder_free(e);
		return st;
	}
	st = arch_encoder_end(e, hdr_bytes, &hdr_len, hdr, err);
	/* the header went out first, with a zero digest: fill it in */
	if (st == ARCH_OK)
		memcpy(out->data, hdr_bytes, hdr_len);
	return st;
}

struct ArchDecoder
{
	char	   *name;
	ArchDecodeOptions opts;
	ArchSink	sink;
	void	   *arg;

	/* header, gathered until complete */
	uint8_t		hdr_bytes[ARCH_OBJECT_HEADER_MAX];
	size_t		hdr_have;
	uint32_t	hdr_want;		/* its length, once the prefix is in */
	bool		have_header;
	ArchObjectHeader hdr;

	/* decryption: one sealed chunk at a time */
	const ArchKey *key;
	uint8_t    *aad;			/* shared by every chunk (chunk_aad) */
	size_t		aad_len;
	uint8_t    *chunk;
	size_t		chunk_have;
	uint8_t    *chunk_plain;
	uint64_t	chunk_index;

	/* decompression */
	ZSTD_DStream *zds;
	bool		frame_started;
	bool		frame_done;

	/*
	 * Verification of the plaintext: zstd checks a frame's content checksum
	 * (XXH64) itself when the frame has one, which costs next to nothing;
	 * otherwise every slot goes to another thread for SHA-256.
	 */
	bool		frame_checksum;
	ArchHashPipe *hash;
	size_t		slot_fill;
	uint64_t	plain_seen;
};

ArchDecoder *
arch_decoder_begin(const char *name, const ArchDecodeOptions *opts,
				   ArchSink sink, void *arg)
{
	ArchDecoder *d = arch_alloc0(sizeof(ArchDecoder));

	d->name = arch_strdup(name);
	d->opts = *opts;
	d->sink = sink;
	d->arg = arg;
	d->hash = arch_hash_pipe_begin(true);
	return d;
}

void
arch_decoder_free(ArchDecoder *d)
{
	if (d == NULL)
		return;
	if (d->zds)
		ZSTD_freeDStream(d->zds);
	if (d->hash)
		arch_hash_pipe_end(d->hash, NULL);
	arch_free(d->chunk);
	arch_free(d->chunk_plain);
	arch_free(d->aad);
	arch_free(d->name);
	arch_free(d);
}

static ArchStatus
decoder_corrupt(ArchDecoder *d, const char *what, ArchError *err)
{
	return arch_error(err, ARCH_CORRUPT, "object \"%s\" is corrupt: %s",
					  d->name, what);
}

/*
 * A full (or, at the end, the last) slot of plaintext: hand it on, then to
 * the hashing thread.  The sink sees the data in slot-sized pieces.
 */
static ArchStatus
decoder_flush_slot(ArchDecoder *d, ArchError *err)
{
	ArchStatus	st;

	if (d->slot_fill == 0)
		return ARCH_OK;
	st = d->sink(d->arg, arch_hash_pipe_slot(d->hash), d->slot_fill, err);
	/* unhashed, the slot is simply filled again */
	if (!d->frame_checksum)
		arch_hash_pipe_push(d->hash, d->slot_fill);
	d->slot_fill = 0;
	return st;
}

/*
 * len more bytes of plaintext are in the current slot (after slot_fill):
 * count them, and pass the slot on when full.
 */
static ArchStatus
decoder_commit(ArchDecoder *d, size_t len, ArchError *err)
{
	d->plain_seen += len;
	d->slot_fill += len;
	/* stop early rather than hand on more than the header promised */
	if (d->plain_seen > d->hdr.plain_size)
		return decoder_corrupt(d, "more data than the header's plaintext size", err);
	if (d->slot_fill == ARCH_HASH_PIPE_SLOT)
		return decoder_flush_slot(d, err);
	return ARCH_OK;
}

/* Plaintext from elsewhere (no compression): copy it into slots */
static ArchStatus
decoder_plain(ArchDecoder *d, const uint8_t *data, size_t len, ArchError *err)
{
	while (len > 0)
	{
		size_t		take = ARCH_HASH_PIPE_SLOT - d->slot_fill;
		ArchStatus	st;

		if (take > len)
			take = len;
		memcpy(arch_hash_pipe_slot(d->hash) + d->slot_fill, data, take);
		data += take;
		len -= take;
		st = decoder_commit(d, take, err);
		if (st != ARCH_OK)
			return st;
	}
	return ARCH_OK;
}

/*
 * Whether a zstd frame starting at data declares a content checksum: after
 * the 4-byte magic number comes the frame header descriptor, whose bit 2 is
 * the Content_Checksum_Flag (RFC 8878, 3.1.1.1.1).  zstd then checks the
 * XXH64 of the content at the end of the frame and fails on a mismatch.
 */
static bool
zstd_frame_has_checksum(const uint8_t *data, size_t len)
{
	return len >= 5 &&
		data[0] == 0x28 && data[1] == 0xB5 && data[2] == 0x2F && data[3] == 0xFD &&
		(data[4] & 0x04) != 0;
}

/* Payload after decryption: decompress if need be */
static ArchStatus
decoder_payload(ArchDecoder *d, const uint8_t *data, size_t len, ArchError *err)
{
	ZSTD_inBuffer in = {data, len, 0};

	if (d->hdr.compress == ARCH_COMPRESS_NONE)
		return decoder_plain(d, data, len, err);

	/*
	 * Before the first byte of output: does the frame carry a checksum?
	 * Objects written before frames had one, and a first piece too short to
	 * hold the frame header, keep the SHA-256 check.
	 */
	if (!d->frame_started)
	{
		d->frame_started = true;
		d->frame_checksum = zstd_frame_has_checksum(data, len);
	}

	/*
	 * Decompress straight into the hash pipe's slot.  A full output buffer
	 * may hide more output: call again until it is not full.
	 */
	for (bool out_full = false; in.pos < in.size || out_full;)
	{
		ZSTD_outBuffer out = {arch_hash_pipe_slot(d->hash) + d->slot_fill,
		ARCH_HASH_PIPE_SLOT - d->slot_fill, 0};
		size_t		rc;
		ArchStatus	st;

		/* one frame, nothing after it */
		if (d->frame_done)
			return decoder_corrupt(d, "data after the end of the zstd frame", err);
		rc = ZSTD_decompressStream(d->zds, &out, &in);
		if (ZSTD_isError(rc))
			return decoder_corrupt(d, ZSTD_getErrorName(rc), err);
		if (rc == 0)
			d->frame_done = true;
		out_full = (out.pos == out.size && rc != 0);
		st = decoder_commit(d, out.pos, err);
		if (st != ARCH_OK)
			return st;
	}
	return ARCH_OK;
}

static ArchStatus
decoder_open_chunk(ArchDecoder *d, bool final, ArchError *err)
{
	size_t		clen = d->chunk_have - ARCH_OBJECT_TAG_LEN;

	/* version 1 seals no digest: final_aad is empty there */
	if (!chunk_crypt(false, d->key->key, d->hdr.nonce, d->aad, d->aad_len,
					 d->chunk_index, final, d->hdr_bytes + ARCH_OBJECT_DIGEST_OFFSET,
					 d->hdr.version == 1 ? 0 : ARCH_OBJECT_DIGEST_LEN,
					 d->chunk, clen, d->chunk_plain, d->chunk + clen))
		return decoder_corrupt(d, "authentication failed (wrong key, name, or tampered data)", err);
	d->chunk_index++;
	d->chunk_have = 0;
	return decoder_payload(d, d->chunk_plain, clen, err);
}

/* The header is complete: check it against the request, set up the stages */
static ArchStatus
decoder_start(ArchDecoder *d, ArchError *err)
{
	bool		have_keys = d->opts.keys && d->opts.keys->nkeys > 0;

	/* version 1 has no name in its header (object.h) */
	if (d->hdr.version > 1 && strcmp(d->hdr.name, d->name) != 0)
	{
		arch_error(err, ARCH_CORRUPT, "object \"%s\" was stored as \"%s\"",
				   d->name, d->hdr.name);
		return arch_error_detail(err, ARCH_CORRUPT,
								 "An object copied or renamed over another one is refused: its content belongs to the name in its header.");
	}
	if (!d->hdr.encrypt && have_keys && !d->opts.allow_unencrypted)
	{
		arch_error(err, ARCH_FATAL,
				   "object \"%s\" is not encrypted, but encryption keys are configured",
				   d->name);
		return arch_error_detail(err, ARCH_FATAL,
								 "Anyone who can write the repository could have put it there. While a repository moves to encryption, set allow-unencrypted = on.");
	}
	if (d->hdr.encrypt)
	{
		d->key = have_keys ? arch_keyring_find(d->opts.keys, d->hdr.key_id) : NULL;
		if (d->key == NULL)
		{
			arch_error(err, ARCH_FATAL,
					   "object \"%s\" is encrypted with key \"%s\", which is not configured",
					   d->name, d->hdr.key_id);
			return arch_error_detail(err, ARCH_FATAL,
									 "Set encrypt-key-file (or encrypt-key) to a key ring that holds key \"%s\".",
									 d->hdr.key_id);
		}
		d->chunk = arch_alloc(d->hdr.chunk_size + ARCH_OBJECT_TAG_LEN);
		d->chunk_plain = arch_alloc(d->hdr.chunk_size + ARCH_OBJECT_TAG_LEN);
		d->aad = chunk_aad(&d->hdr, d->hdr_bytes, d->name, &d->aad_len);
	}
	if (d->hdr.compress == ARCH_COMPRESS_ZSTD)
	{
		d->zds = ZSTD_createDStream();
		if (d->zds == NULL)
			return arch_error(err, ARCH_FATAL, "could not create a zstd context");
		ZSTD_initDStream(d->zds);
	}
	return ARCH_OK;
}

/* Move input into buf until it holds want bytes (or the input is used up) */
static void
gather(uint8_t *buf, size_t *have, size_t want, const uint8_t **p, size_t *len)
{
	size_t		take = want - *have;

	if (take > *len)
		take = *len;
	memcpy(buf + *have, *p, take);
	*have += take;
	*p += take;
	*len -= take;
}

ArchStatus
arch_decoder_sink(void *decoder, const void *data, size_t len, ArchError *err)
{
	ArchDecoder *d = decoder;
	const uint8_t *p = data;

	if (!d->have_header)
	{
		ArchStatus	st = ARCH_OK;

		/*
		 * Gather the fixed prefix, which gives the header's length, then
		 * the rest of the header; the input may come a few bytes at a time.
		 */
		if (d->hdr_want == 0)
		{
			gather(d->hdr_bytes, &d->hdr_have, ARCH_OBJECT_PREFIX_LEN, &p, &len);
			if (d->hdr_have < ARCH_OBJECT_PREFIX_LEN)
				return ARCH_OK;
			st = arch_header_length(d->hdr_bytes, d->hdr_have, &d->hdr_want, err);
		}
		if (st == ARCH_OK)
		{
			gather(d->hdr_bytes, &d->hdr_have, d->hdr_want, &p, &len);
			if (d->hdr_have < d->hdr_want)
				return ARCH_OK;
			st = arch_header_decode(d->hdr_bytes, d->hdr_have, &d->hdr, err);
		}
		if (st != ARCH_OK)
		{
			char		why[ARCH_ERROR_LEN];

			snprintf(why, sizeof(why), "%s", err->message);
			return decoder_corrupt(d, why, err);
		}
		d->have_header = true;
		st = decoder_start(d, err);
		if (st != ARCH_OK)
			return st;
	}

	if (!d->hdr.encrypt)
		return decoder_payload(d, p, len, err);

	while (len > 0)
	{
		size_t		full = d->hdr.chunk_size + ARCH_OBJECT_TAG_LEN;

		/* a full chunk followed by more bytes was not the final one */
		if (d->chunk_have == full)
		{
			ArchStatus	st = decoder_open_chunk(d, false, err);

			if (st != ARCH_OK)
				return st;
		}
		gather(d->chunk, &d->chunk_have, full, &p, &len);
	}
	return ARCH_OK;
}

ArchStatus
arch_decoder_end(ArchDecoder *d, ArchObjectHeader *hdr, ArchError *err)
{
	ArchStatus	st = ARCH_OK;
	uint8_t		sha[32];

	if (!d->have_header)
		st = decoder_corrupt(d, "truncated header", err);
	else if (d->hdr.encrypt)
	{
		if (d->chunk_have < ARCH_OBJECT_TAG_LEN)
			st = decoder_corrupt(d, "truncated (final chunk missing)", err);
		else
			st = decoder_open_chunk(d, true, err);
	}
	if (st == ARCH_OK && d->hdr.compress == ARCH_COMPRESS_ZSTD && !d->frame_done)
		st = decoder_corrupt(d, "truncated zstd frame", err);
	if (st == ARCH_OK && d->plain_seen != d->hdr.plain_size)
		st = decoder_corrupt(d, "plaintext size differs from the header", err);
	if (st == ARCH_OK)
		st = decoder_flush_slot(d, err);
	if (st == ARCH_OK)
	{
		arch_hash_pipe_end(d->hash, sha);
		d->hash = NULL;
		/* with a frame checksum, zstd has verified the plaintext already */
		if (!d->frame_checksum && memcmp(sha, d->hdr.sha256, 32) != 0)
			st = decoder_corrupt(d, "SHA-256 of the plaintext differs from the header", err);
	}
	if (st == ARCH_OK && hdr)
		*hdr = d->hdr;
	arch_decoder_free(d);
	return st;
}
