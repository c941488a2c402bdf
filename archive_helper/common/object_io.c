/*-------------------------------------------------------------------------
 *
 * object_io.c
 *		Objects to and from a repository (see object_io.h).
 *
 * archive_helper/common/object_io.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "object_io.h"

ArchStatus
arch_object_put_buf(ArchStorage *storage, const char *name,
					const ArchEncodeOptions *opts, bool if_absent,
					const void *data, size_t len, ArchObjectHeader *hdr,
					ArchError *err)
{
	ArchBuf		encoded = {0};
	ArchObjectHeader h;
	char		sha_hex[65];
	ArchWriteOptions wopts = {0};
	ArchStatus	st;

	st = arch_object_encode(opts, name, data, len, &encoded, &h, err);
	if (st == ARCH_OK)
	{
		arch_hex(h.sha256, 32, sha_hex);
		wopts.if_absent = if_absent;
		wopts.size = encoded.len;
		wopts.sha256 = sha_hex;
		st = arch_storage_put(storage, name, &wopts, encoded.data, encoded.len, err);
	}
	if (st == ARCH_OK && hdr)
		*hdr = h;
	arch_buf_free(&encoded);
	return st;
}

ArchStatus
arch_object_get_buf(ArchStorage *storage, const char *name,
					const ArchDecodeOptions *opts, ArchBuf *out,
					ArchError *err)
{
	ArchDecoder *decoder = arch_decoder_begin(name, opts, arch_buf_sink, out);
	ArchStatus	st;

	arch_buf_reset(out);
	st = arch_storage_read(storage, name, 0, arch_decoder_sink, decoder, err);
	if (st == ARCH_OK)
		return arch_decoder_end(decoder, NULL, err);
	arch_decoder_free(decoder);
	return st;
}

/*
 * Read up to want bytes at offset from fd into buf: fewer only at the end
 * of the file.  -1 with errno on failure.
 */
static ssize_t
read_full(int fd, uint8_t *buf, size_t want, uint64_t offset)
{
	size_t		done = 0;

	while (done < want)
	{
		ssize_t		n = pread(fd, buf + done, want - done, (off_t) (offset + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += n;
	}
	return (ssize_t) done;
}

/* How much to read next: a slot, or what is left of len */
static size_t
next_read(int64_t len, uint64_t done)
{
	if (len >= 0 && (uint64_t) len - done < ARCH_HASH_PIPE_SLOT)
		return (size_t) ((uint64_t) len - done);
	return ARCH_HASH_PIPE_SLOT;
}

/* The writer of arch_object_put_file, counting what it stores */
typedef struct CountingWrite
{
	ArchStorageWrite *write;
	uint64_t	bytes;
} CountingWrite;

static ArchStatus
counting_sink(void *arg, const void *data, size_t len, ArchError *err)
{
	CountingWrite *cw = arg;

	cw->bytes += len;
	return arch_storage_write(cw->write, data, len, err);
}

ArchStatus
arch_object_put_file(ArchStorage *storage, const char *name,
					 const ArchEncodeOptions *opts, bool if_absent, int fd,
					 const char *path, uint64_t offset, int64_t len,
					 ArchObjectHeader *hdr, uint64_t *stored, ArchError *err)
{
	CountingWrite cw = {0};
	ArchWriteOptions wopts = {0};
	ArchStorageWrite *write;
	ArchEncoder *encoder;
	uint8_t		hdr_bytes[ARCH_OBJECT_HEADER_MAX];
	size_t		hdr_len;
	uint64_t	done = 0;
	ArchObjectHeader h;
	char		sha_hex[65];
	ArchStatus	st;

	wopts.if_absent = if_absent;
	wopts.size = -1;
	wopts.head_len = ARCH_OBJECT_HEADER_MAX;
	st = arch_storage_write_begin(storage, name, &wopts, &write, err);
	if (st != ARCH_OK)
		return st;
	cw.write = write;
	/* a part may come out shorter (a file truncated since): size unknown */
	st = arch_encoder_begin(opts, name, -1, counting_sink, &cw, &encoder, err);
	if (st != ARCH_OK)
	{
		arch_storage_write_abort(write);
		return st;
	}
	while (st == ARCH_OK)
	{
		size_t		want = next_read(len, done);
		ssize_t		n = want ? read_full(fd, arch_encoder_slot(encoder), want, offset + done) : 0;

		if (n < 0)
			st = arch_error(err, ARCH_TRANSIENT, "could not read file \"%s\": %s",
							path, strerror(errno));
		else if (n == 0)
			break;
		else
		{
			done += n;
			st = arch_encoder_commit(encoder, n, err);
		}
	}
	if (st != ARCH_OK)
	{
		arch_encoder_free(encoder);
		arch_storage_write_abort(write);
		return st;
	}
	st = arch_encoder_end(encoder, hdr_bytes, &hdr_len, &h, err);
	if (st == ARCH_OK)
	{
		arch_hex(h.sha256, 32, sha_hex);
		st = arch_storage_write_head(write, hdr_bytes, hdr_len, sha_hex, err);
	}
	if (st != ARCH_OK)
	{
		arch_storage_write_abort(write);
		return st;
	}
	if (hdr)
		*hdr = h;
	if (stored)
		*stored = cw.bytes;
	return arch_storage_write_end(write, err);
}

ArchStatus
arch_file_sha256(int fd, const char *path, uint64_t offset, int64_t len,
				 uint8_t sha256[32], uint64_t *size, ArchError *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t    *buf = arch_alloc(ARCH_HASH_PIPE_SLOT);
	unsigned int md_len = 32;
	uint64_t	done = 0;
	ArchStatus	st = ARCH_OK;

	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (;;)
	{
		size_t		want = next_read(len, done);
		ssize_t		n = want ? read_full(fd, buf, want, offset + done) : 0;

		if (n < 0)
		{
			st = arch_error(err, ARCH_TRANSIENT, "could not read file \"%s\": %s",
							path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(md, buf, n);
		done += n;
	}
	EVP_DigestFinal_ex(md, sha256, &md_len);
	EVP_MD_CTX_free(md);
	arch_free(buf);
	*size = done;
	return st;
}

ArchStatus
arch_object_head(ArchStorage *storage, const char *name,
				 ArchObjectHeader *hdr, ArchError *err)
{
	ArchBuf		head = {0};
	ArchStatus	st;

	st = arch_storage_read(storage, name, ARCH_OBJECT_HEADER_MAX, arch_buf_sink,
						   &head, err);
	if (st == ARCH_OK &&
		arch_header_decode((uint8_t *) head.data, head.len, hdr, err) != ARCH_OK)
		st = arch_error(err, ARCH_CORRUPT,
						"object \"%s\" in repository \"%s\" has no valid header",
						name, storage->url.text);
	else if (st == ARCH_OK && hdr->version > 1 && strcmp(hdr->name, name) != 0)
		st = arch_error(err, ARCH_CORRUPT,
						"object \"%s\" in repository \"%s\" was stored as \"%s\"",
						name, storage->url.text, hdr->name);
	arch_buf_free(&head);
	return st;
}
