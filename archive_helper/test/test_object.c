/*-------------------------------------------------------------------------
 *
 * test_object.c
 *		Unit tests: object header, encode/decode round trips, tampering,
 *		key rings.
 *
 * archive_helper/test/test_object.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "object.h"
#include "tap.h"

#define KEY1 "k1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KEY1_OTHER "k1 ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static ArchStatus
decode_with(const char *name, const ArchDecodeOptions *opts, const char *data,
			size_t len, size_t feed, ArchBuf *out, ArchError *err)
{
	ArchDecoder *d = arch_decoder_begin(name, opts, arch_buf_sink, out);
	ArchStatus	st = ARCH_OK;

	out->len = 0;
	/* feed in pieces, to cross header and chunk boundaries */
	for (size_t off = 0; off < len && st == ARCH_OK; off += feed)
		st = arch_decoder_sink(d, data + off, off + feed > len ? len - off : feed, err);
	if (st != ARCH_OK)
	{
		arch_decoder_free(d);
		return st;
	}
	return arch_decoder_end(d, NULL, err);
}

/* Decode with ring's keys and unencrypted objects allowed */
static ArchStatus
decode(const char *name, const ArchKeyring *ring, const char *data, size_t len,
	   size_t feed, ArchBuf *out, ArchError *err)
{
	ArchDecodeOptions opts = {ring, true};

	return decode_with(name, &opts, data, len, feed, out, err);
}

/* Pseudo-WAL: compressible runs with some noise */
static char *
make_plain(size_t len)
{
	char	   *p = arch_alloc(len + 1);

	for (size_t i = 0; i < len; i++)
		p[i] = (i % 4096 < 3000) ? 0 : (char) (rand() & 0xff);
	return p;
}

static void
test_header(void)
{
	ArchObjectHeader h = {0};
	ArchObjectHeader back;
	uint8_t		bytes[ARCH_OBJECT_HEADER_MAX];
	size_t		len;
	uint32_t	hlen;
	ArchError	err;
	const char *name = "wal/0000000100000000/000000010000000000000003";

	h.compress = ARCH_COMPRESS_ZSTD;
	h.plain_size = 16777216;
	memset(h.sha256, 0xab, 32);
	strcpy(h.name, name);
	len = arch_header_encode(&h, bytes);
	tap_is_int(len, 74 + strlen(name), "plain header is 74 bytes plus the name");
	tap_ok(memcmp(bytes, "DBOPSARC\002\001\000\000", 12) == 0, "magic, version 2, codecs");
	tap_ok(bytes[72] == 0 && bytes[73] == strlen(name) &&
		   memcmp(bytes + 74, name, strlen(name)) == 0, "the name and its length");
	tap_ok(arch_header_decode(bytes, len, &back, &err) == ARCH_OK &&
		   back.plain_size == 16777216 && back.compress == ARCH_COMPRESS_ZSTD &&
		   memcmp(back.sha256, h.sha256, 32) == 0 && strcmp(back.name, name) == 0,
		   "plain header round trip, name included");
	/* status.h: "not found" is the store's answer, never "need more bytes" */
	tap_ok(arch_header_length(bytes, ARCH_OBJECT_PREFIX_LEN, &hlen, &err) == ARCH_OK &&
		   hlen == len, "the fixed prefix gives the header length");
	tap_ok(arch_header_decode(bytes, 10, &back, &err) == ARCH_CORRUPT,
		   "a header cut short is corrupt, not \"not found\"");
	tap_ok(arch_header_length(bytes, 10, &hlen, &err) == ARCH_CORRUPT,
		   "... also for its length");
	bytes[73]++;
	tap_ok(arch_header_decode(bytes, len, &back, &err) == ARCH_CORRUPT,
		   "a name length that disagrees with the header length is corrupt");
	bytes[73]--;
	bytes[60] = 1;
	tap_ok(arch_header_decode(bytes, len, &back, &err) == ARCH_CORRUPT,
		   "a nonce in an unencrypted header is corrupt (one encoding only)");
	bytes[60] = 0;
	bytes[80] = '\n';
	tap_ok(arch_header_decode(bytes, len, &back, &err) == ARCH_CORRUPT,
		   "a control character in the name is corrupt");
	bytes[80] = name[6];

	h.encrypt = ARCH_ENCRYPT_AES_256_GCM;
	h.chunk_size = 4096;
	strcpy(h.key_id, "key-2024");
	memset(h.nonce, 7, sizeof(h.nonce));
	len = arch_header_encode(&h, bytes);
	tap_is_int(len, 74 + 8 + strlen(name), "encrypted header is 74 bytes plus key id and name");
	tap_ok(arch_header_length(bytes, ARCH_OBJECT_PREFIX_LEN, &hlen, &err) == ARCH_OK &&
		   hlen == len, "the prefix gives the whole encrypted header's length");
	tap_ok(arch_header_decode(bytes, len - 1, &back, &err) == ARCH_CORRUPT,
		   "an encrypted header one byte short is corrupt");
	tap_ok(arch_header_decode(bytes, len, &back, &err) == ARCH_OK &&
		   back.chunk_size == 4096 && strcmp(back.key_id, "key-2024") == 0 &&
		   memcmp(back.nonce, h.nonce, 12) == 0 && strcmp(back.name, name) == 0,
		   "encrypted header round trip");
	bytes[74] = '"';
	tap_ok(arch_header_decode(bytes, len, &back, &err) == ARCH_CORRUPT,
		   "a key id that could not be in a key file is corrupt");
	bytes[74] = 'k';

	bytes[0] = 'X';
	tap_ok(arch_header_decode(bytes, len, &back, &err) == ARCH_CORRUPT,
		   "bad magic is corrupt");
	bytes[0] = 'D';
	bytes[8] = 9;
	tap_ok(arch_header_decode(bytes, len, &back, &err) == ARCH_CORRUPT &&
		   strstr(err.message, "version 9") != NULL, "unknown version is refused by number");
	bytes[8] = 2;
	bytes[15] = 99;
	tap_ok(arch_header_decode(bytes, len, &back, &err) == ARCH_CORRUPT,
		   "inconsistent header length is corrupt");
}

/* Read a file of test/fixtures into buf */
static bool
read_fixture(const char *file, ArchBuf *buf)
{
	char		path[256];
	FILE	   *f;
	char		chunk[4096];
	size_t		n;

	snprintf(path, sizeof(path), "test/fixtures/%s", file);
	f = fopen(path, "rb");
	buf->len = 0;
	if (f == NULL)
		return false;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		arch_buf_append(buf, chunk, n);
	fclose(f);
	return true;
}

/*
 * Objects of version 1, written by dbops_archive before version 2 (commit
 * f4f2f20) for "wal/00000002.history", stay readable.
 */
static void
test_version1(const ArchKeyring *ring)
{
	static const char *const fixtures[] = {"v1_zstd.obj", "v1_none.obj", "v1_aes.obj"};
	const char *name = "wal/00000002.history";
	ArchBuf		plain = {0};
	ArchBuf		obj = {0};
	ArchBuf		dec = {0};
	ArchError	err;
	char		label[128];

	tap_ok(read_fixture("v1_plain.txt", &plain), "the plaintext of the version 1 fixtures");
	for (int i = 0; i < 3; i++)
	{
		bool		ok = read_fixture(fixtures[i], &obj) && obj.data[8] == 1 &&
			decode(name, ring, obj.data, obj.len, 7, &dec, &err) == ARCH_OK &&
			dec.len == plain.len && memcmp(dec.data, plain.data, plain.len) == 0;

		snprintf(label, sizeof(label), "version 1 object %s still decodes", fixtures[i]);
		if (!tap_ok(ok, label))
			printf("#   %s\n", err.message);
	}
	/* an encrypted version 1 object authenticated the name asked for */
	tap_ok(decode("wal/00000003.history", ring, obj.data, obj.len, 7, &dec, &err) == ARCH_CORRUPT,
		   "an encrypted version 1 object under another name fails");
	arch_buf_free(&plain);
	arch_buf_free(&obj);
	arch_buf_free(&dec);
}

static void
test_round_trips(const ArchKeyring *ring)
{
	static const size_t sizes[] = {0, 1, 4096, 3 * 1024 * 1024 + 17};
	ArchBuf		enc = {0};
	ArchBuf		dec = {0};
	ArchError	err;
	char		name[200];

	for (int c = 0; c < 2; c++)
		for (int e = 0; e < 2; e++)
			for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
			{
				ArchEncodeOptions o = {c ? ARCH_COMPRESS_ZSTD : ARCH_COMPRESS_NONE, 3, 0,
				e ? &ring->keys[0] : NULL, 4096};
				char	   *plain = make_plain(sizes[s]);
				bool		ok;

				ok = arch_object_encode(&o, "wal/x/000000010000000000000001", plain,
										sizes[s], &enc, NULL, &err) == ARCH_OK;
				ok = ok && decode("wal/x/000000010000000000000001", ring, enc.data,
								  enc.len, 777, &dec, &err) == ARCH_OK;
				/* nothing reaches the sink for an empty file: no buffer at all */
				ok = ok && dec.len == sizes[s] &&
					(sizes[s] == 0 || memcmp(dec.data, plain, sizes[s]) == 0);
				snprintf(name, sizeof(name), "round trip: %s, %s, %zu bytes",
						 c ? "zstd" : "no compression", e ? "encrypted" : "plain", sizes[s]);
				if (!tap_ok(ok, name))
					printf("#   %s\n", err.message);
				arch_free(plain);
			}

	/* threads: the frame is still one plain zstd frame */
	{
		ArchEncodeOptions o = {ARCH_COMPRESS_ZSTD, 3, 2, NULL, 0};
		char	   *plain = make_plain(8 * 1024 * 1024);

		tap_ok(arch_object_encode(&o, "n", plain, 8 * 1024 * 1024, &enc, NULL, &err) == ARCH_OK &&
			   decode("n", ring, enc.data, enc.len, 1 << 20, &dec, &err) == ARCH_OK &&
			   dec.len == 8 * 1024 * 1024 && memcmp(dec.data, plain, dec.len) == 0,
			   "round trip with 2 zstd workers");
		tap_ok(memcmp(enc.data + 74 + 1, "\x28\xb5\x2f\xfd", 4) == 0,
			   "payload of a plain object starts with the zstd magic right after the header");
		arch_free(plain);
	}
	arch_buf_free(&enc);
	arch_buf_free(&dec);
}

static void
test_tampering(const ArchKeyring *ring)
{
	ArchBuf		enc = {0};
	ArchBuf		dec = {0};
	ArchError	err;
	char	   *plain = make_plain(100000);
	ArchEncodeOptions zo = {ARCH_COMPRESS_ZSTD, 3, 0, NULL, 0};
	ArchEncodeOptions no = {ARCH_COMPRESS_NONE, 0, 0, NULL, 0};
	ArchEncodeOptions eo = {ARCH_COMPRESS_ZSTD, 3, 0, &ring->keys[0], 1024};
	ArchKeyring other;
	ArchKeyring empty = {0};
	const char *name = "wal/0000000100000000/000000010000000000000001";

	/*
	 * Unencrypted and uncompressed: the SHA-256 in the header is what
	 * verifies the plaintext.
	 */
	arch_object_encode(&no, name, plain, 100000, &enc, NULL, &err);
	enc.data[30] ^= 0x01;
	tap_ok(decode(name, ring, enc.data, enc.len, 4096, &dec, &err) == ARCH_CORRUPT,
		   "changed SHA-256 in the header of an uncompressed object detected");
	tap_like(err.message, "SHA-256", "... as a checksum mismatch");
	enc.data[30] ^= 0x01;
	enc.data[enc.len / 2] ^= 0x01;
	tap_ok(decode(name, ring, enc.data, enc.len, 4096, &dec, &err) == ARCH_CORRUPT,
		   "flipped bit in uncompressed plaintext detected");

	/*
	 * Unencrypted zstd: the frame carries the XXH64 of its content, which
	 * zstd verifies while decompressing, and the header the exact size.
	 */
	arch_object_encode(&zo, name, plain, 100000, &enc, NULL, &err);
	tap_ok((enc.data[74 + strlen(name) + 4] & 0x04) != 0,
		   "zstd frame declares a content checksum");
	enc.data[enc.len / 2] ^= 0x01;
	tap_ok(decode(name, ring, enc.data, enc.len, 4096, &dec, &err) == ARCH_CORRUPT,
		   "flipped payload bit detected");
	enc.data[enc.len / 2] ^= 0x01;
	enc.data[enc.len - 1] ^= 0x01;
	tap_ok(decode(name, ring, enc.data, enc.len, 4096, &dec, &err) == ARCH_CORRUPT,
		   "changed content checksum of the zstd frame detected");
	tap_like(err.message, "checksum", "... as a checksum mismatch");
	enc.data[enc.len - 1] ^= 0x01;
	tap_ok(decode(name, ring, enc.data, enc.len - 5, 4096, &dec, &err) == ARCH_CORRUPT,
		   "truncated object detected");
	tap_ok(decode(name, ring, enc.data, 40, 4096, &dec, &err) == ARCH_CORRUPT,
		   "truncated header detected");
	arch_buf_append(&enc, "junk", 4);
	tap_ok(decode(name, ring, enc.data, enc.len, 4096, &dec, &err) == ARCH_CORRUPT,
		   "data after the zstd frame detected");
	tap_ok(decode(name, ring, enc.data, enc.len - 4, 4096, &dec, &err) == ARCH_OK,
		   "the untouched object still decodes");
	enc.data[23] ^= 0x01;
	tap_ok(decode(name, ring, enc.data, enc.len - 4, 4096, &dec, &err) == ARCH_CORRUPT,
		   "changed plaintext size detected");

	/* encrypted: GCM catches changes, renames and a wrong key */
	arch_object_encode(&eo, name, plain, 100000, &enc, NULL, &err);
	tap_ok(decode(name, ring, enc.data, enc.len, 333, &dec, &err) == ARCH_OK,
		   "encrypted object decodes");
	enc.data[enc.len - 100] ^= 0x40;
	tap_ok(decode(name, ring, enc.data, enc.len, 333, &dec, &err) == ARCH_CORRUPT,
		   "flipped ciphertext bit detected");
	enc.data[enc.len - 100] ^= 0x40;
	tap_ok(decode("wal/0000000100000000/000000010000000000000002", ring,
				  enc.data, enc.len, 333, &dec, &err) == ARCH_CORRUPT,
		   "object stored under another name detected");
	tap_ok(decode(name, ring, enc.data, enc.len - 1040, 333, &dec, &err) == ARCH_CORRUPT,
		   "dropped final chunk detected");
	enc.data[20] ^= 0x01;
	tap_ok(decode(name, ring, enc.data, enc.len, 333, &dec, &err) == ARCH_CORRUPT,
		   "changed header of an encrypted object detected");
	enc.data[20] ^= 0x01;
	tap_ok(decode(name, &empty, enc.data, enc.len, 333, &dec, &err) == ARCH_FATAL,
		   "encrypted object without keys is a configuration error");
	tap_like(err.message, "key \"k1\"", "... naming the key id");
	arch_keyring_parse(KEY1_OTHER, "test", &other, &err);
	tap_ok(decode(name, &other, enc.data, enc.len, 333, &dec, &err) == ARCH_CORRUPT,
		   "wrong key with the same id fails authentication");
	arch_keyring_free(&other);

	arch_free(plain);
	arch_buf_free(&enc);
	arch_buf_free(&dec);
}

/* Version 2 binds every object to its name, and the digest to the key */
static void
test_binding(const ArchKeyring *ring)
{
	ArchBuf		a = {0};
	ArchBuf		b = {0};
	ArchBuf		dec = {0};
	ArchError	err;
	char	   *plain = make_plain(50000);
	char	   *other_plain = make_plain(50000);
	ArchEncodeOptions zo = {ARCH_COMPRESS_ZSTD, 3, 0, NULL, 0};
	ArchEncodeOptions eo = {ARCH_COMPRESS_ZSTD, 3, 0, &ring->keys[0], 1024};
	ArchDecodeOptions strict = {ring, false};
	ArchDecodeOptions keyless = {NULL, false};
	const char *name = "wal/0000000100000000/000000010000000000000001";
	const char *other = "wal/0000000100000000/000000010000000000000002";
	/* the last character of the name in an encrypted header (key id "k1") */
	size_t		at = 74 + 2 + strlen(name) - 1;

	arch_object_encode(&zo, name, plain, 50000, &a, NULL, &err);
	tap_ok(decode(other, ring, a.data, a.len, 4096, &dec, &err) == ARCH_CORRUPT,
		   "a plain object copied under another name is refused");
	tap_like(err.message, "was stored as \"wal/0000000100000000/000000010000000000000001\"",
			 "... naming the name it was stored under");
	tap_ok(decode_with(name, &strict, a.data, a.len, 4096, &dec, &err) == ARCH_FATAL,
		   "with keys configured, an unencrypted object is refused");
	tap_like(err.message, "is not encrypted, but encryption keys are configured", "... saying why");
	tap_like(err.detail, "allow-unencrypted", "... and how to allow it");
	tap_ok(decode_with(name, &keyless, a.data, a.len, 4096, &dec, &err) == ARCH_OK,
		   "without keys an unencrypted object decodes");

	/* encrypted: renaming the header to match is caught by every chunk */
	arch_object_encode(&eo, name, plain, 50000, &a, NULL, &err);
	a.data[at] = '2';
	tap_ok(decode(other, ring, a.data, a.len, 333, &dec, &err) == ARCH_CORRUPT &&
		   strstr(err.message, "authentication failed") != NULL,
		   "an encrypted object whose header was renamed fails authentication");
	a.data[at] = '1';

	/* a digest taken from another object of the same key fails at the last chunk */
	arch_object_encode(&eo, name, other_plain, 50000, &b, NULL, &err);
	memcpy(a.data + ARCH_OBJECT_DIGEST_OFFSET, b.data + ARCH_OBJECT_DIGEST_OFFSET,
		   ARCH_OBJECT_DIGEST_LEN);
	tap_ok(decode(name, ring, a.data, a.len, 333, &dec, &err) == ARCH_CORRUPT,
		   "a digest swapped in from another object fails authentication");

	arch_free(plain);
	arch_free(other_plain);
	arch_buf_free(&a);
	arch_buf_free(&b);
	arch_buf_free(&dec);
}

static void
test_keyring(void)
{
	ArchKeyring ring;
	ArchError	err;
	char		path[] = "/tmp/dbops_test_key.XXXXXX";
	int			fd;

	tap_ok(arch_keyring_parse("# keys\nnew " "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\r\n"
							  "  old  " "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100\n",
							  "test", &ring, &err) == ARCH_OK && ring.nkeys == 2 &&
		   strcmp(ring.keys[0].id, "new") == 0 && ring.keys[0].key[1] == 0x11,
		   "two keys, the first one current");
	tap_ok(arch_keyring_find(&ring, "old") != NULL && arch_keyring_find(&ring, "x") == NULL,
		   "keys found by id");
	arch_keyring_free(&ring);
	tap_ok(arch_keyring_parse("k1 0011", "key file \"t\"", &ring, &err) == ARCH_FATAL,
		   "short key refused");
	tap_like(err.message, "key file \"t\" line 1", "... naming the source and line");
	tap_ok(strstr(err.message, "0011") == NULL, "... without the key material");
	tap_ok(arch_keyring_parse(KEY1 "\n" KEY1 "\n", "t", &ring, &err) == ARCH_FATAL,
		   "duplicate key id refused");
	tap_ok(arch_keyring_parse("# nothing\n", "t", &ring, &err) == ARCH_FATAL,
		   "a key ring without keys refused");

	fd = mkstemp(path);
	if (write(fd, KEY1 "\n", strlen(KEY1) + 1) < 0)
		printf("# write failed\n");
	close(fd);
	chmod(path, 0644);
	tap_ok(arch_keyring_load_file(path, &ring, &err) == ARCH_FATAL,
		   "key file readable by others refused");
	chmod(path, 0600);
	tap_ok(arch_keyring_load_file(path, &ring, &err) == ARCH_OK && ring.nkeys == 1,
		   "key file of mode 0600 read");
	arch_keyring_free(&ring);
	unlink(path);
	tap_ok(arch_keyring_load_file(path, &ring, &err) == ARCH_FATAL,
		   "missing key file is an error");
	tap_like(err.message, path, "... naming the file");
	mkfifo(path, 0600);
	tap_ok(arch_keyring_load_file(path, &ring, &err) == ARCH_FATAL,
		   "a FIFO as key file is refused (not waited on)");
	tap_like(err.message, "is not a regular file", "... saying why");
	unlink(path);
}

int
main(void)
{
	ArchKeyring ring;
	ArchError	err;

	srand(42);
	test_header();
	if (arch_keyring_parse(KEY1, "test", &ring, &err) != ARCH_OK)
		return 1;
	test_round_trips(&ring);
	test_tampering(&ring);
	test_binding(&ring);
	test_version1(&ring);
	arch_keyring_free(&ring);
	test_keyring();
	return tap_done();
}
