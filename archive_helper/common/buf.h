/*-------------------------------------------------------------------------
 *
 * buf.h
 *		A growable byte buffer, shared by the object format, the HTTP client
 *		and the commands.
 *
 * The data is always NUL-terminated (not counted in len), so a buffer of
 * text can be handed to string functions; binary data may hold NULs.
 *
 * archive_helper/common/buf.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_BUF_H
#define ARCH_BUF_H

#include "storage.h"

typedef struct ArchBuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
} ArchBuf;

extern void arch_buf_append(ArchBuf *buf, const void *data, size_t len);
extern void arch_buf_appendf(ArchBuf *buf, const char *fmt,...) ARCH_PRINTF(2, 3);
extern void arch_buf_reset(ArchBuf *buf);
extern void arch_buf_free(ArchBuf *buf);

/* An ArchSink that appends to the ArchBuf given as arg */
extern ArchStatus arch_buf_sink(void *arg, const void *data, size_t len,
								ArchError *err);

#endif							/* ARCH_BUF_H */
