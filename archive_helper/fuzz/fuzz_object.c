/*-------------------------------------------------------------------------
 *
 * fuzz_object.c
 *		libFuzzer harness: objects as wal-fetch reads them (header and
 *		streaming decoder).
 *
 * The input is an object's bytes, fed to the decoder in pieces whose
 * sizes come from the input itself, so header, chunk and frame boundaries
 * fall anywhere.  The decoder runs with a key ring (so encrypted objects
 * reach decryption) under the name the seeds were stored as.  Properties:
 * a header that decodes says what the decoder then accepts, and a
 * successful decode hands on exactly the plaintext size of the header.
 *
 * archive_helper/fuzz/fuzz_object.c
 *
 *-------------------------------------------------------------------------
 */
#include "fuzz.h"
#include "object.h"

#define FUZZ_NAME "wal/00000002.history"
#define FUZZ_KEY "k1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

/* ArchSink counting the plaintext, and refusing more than a limit */
static ArchStatus
count_sink(void *arg, const void *data, size_t len, ArchError *err)
{
	uint64_t   *count = arg;

	*count += len;
	return ARCH_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ArchKeyring ring;
	ArchDecodeOptions opts;
	ArchDecoder *d;
	ArchObjectHeader hdr;
	uint32_t	hlen;
	uint64_t	plain = 0;
	ArchError	err;
	ArchStatus	st = ARCH_OK;
	bool		header_ok;
	size_t		piece;

	header_ok = arch_header_length(data, size, &hlen, &err) == ARCH_OK &&
		arch_header_decode(data, size, &hdr, &err) == ARCH_OK;
	if (header_ok)
		FUZZ_ASSERT(hdr.header_len == hlen && hlen <= size && hlen <= ARCH_OBJECT_HEADER_MAX);

	if (arch_keyring_parse(FUZZ_KEY, "fuzz", &ring, &err) != ARCH_OK)
		abort();
	opts.keys = &ring;
	opts.allow_unencrypted = size % 2 == 0;
	d = arch_decoder_begin(FUZZ_NAME, &opts, count_sink, &plain);
	/* piece sizes from the input: 1 to 256 bytes */
	piece = size > 0 ? data[size - 1] + 1 : 1;
	for (size_t off = 0; off < size && st == ARCH_OK; off += piece)
		st = arch_decoder_sink(d, data + off, off + piece > size ? size - off : piece, &err);
	if (st == ARCH_OK)
	{
		ArchObjectHeader got;

		st = arch_decoder_end(d, &got, &err);
		if (st == ARCH_OK)
			FUZZ_ASSERT(header_ok && got.plain_size == plain &&
						(got.version == 1 || strcmp(got.name, FUZZ_NAME) == 0));
	}
	else
		arch_decoder_free(d);
	arch_keyring_free(&ring);
	return 0;
}
