/*-------------------------------------------------------------------------
 *
 * object_io.h
 *		Objects to and from a repository: small ones whole, local files
 *		streamed.
 *
 * Every command stores through the same two paths.  A small object (a
 * manifest, a lease, the cluster record) is encoded in memory and put
 * with its digest known, so store metadata can carry it.  A local file
 * (a WAL segment, a data file or one part of it) is streamed through
 * bounded buffers: read, hashed on a second thread, compressed, encrypted
 * and written in pieces, the header's digest filled in last
 * (arch_storage_write_head).  Nothing is held whole, whatever its size.
 *
 * archive_helper/common/object_io.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_OBJECT_IO_H
#define ARCH_OBJECT_IO_H

#include "object.h"

/* Encode data whole and store it as name; hdr (or NULL) gets the header */
extern ArchStatus arch_object_put_buf(ArchStorage *storage, const char *name,
									  const ArchEncodeOptions *opts,
									  bool if_absent, const void *data,
									  size_t len, ArchObjectHeader *hdr,
									  ArchError *err);

/* Read and verify object name whole into out (reset first) */
extern ArchStatus arch_object_get_buf(ArchStorage *storage, const char *name,
									  const ArchDecodeOptions *opts,
									  ArchBuf *out, ArchError *err);

/*
 * Store bytes [offset, offset + len) of the open file fd (what and path
 * name it in messages) as object name; len -1 reads to the end of the
 * file, which may have changed size since it was looked at (a data file
 * during a base backup), and a file may end before offset + len: the
 * header records what was read.  hdr gets the header (plaintext size and
 * SHA-256), stored (or NULL) the bytes stored.
 */
extern ArchStatus arch_object_put_file(ArchStorage *storage, const char *name,
									   const ArchEncodeOptions *opts,
									   bool if_absent, int fd,
									   const char *path, uint64_t offset,
									   int64_t len, ArchObjectHeader *hdr,
									   uint64_t *stored, ArchError *err);

/* SHA-256 and size of bytes [offset, offset + len) of fd (len -1: to EOF) */
extern ArchStatus arch_file_sha256(int fd, const char *path, uint64_t offset,
								   int64_t len, uint8_t sha256[32],
								   uint64_t *size, ArchError *err);

/* The header of a stored object, read from its first bytes only */
extern ArchStatus arch_object_head(ArchStorage *storage, const char *name,
								   ArchObjectHeader *hdr, ArchError *err);

#endif							/* ARCH_OBJECT_IO_H */
