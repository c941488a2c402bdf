/*-------------------------------------------------------------------------
 *
 * buf.c
 *		A growable byte buffer (see buf.h).
 *
 * archive_helper/common/buf.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"

void
arch_buf_append(ArchBuf *buf, const void *data, size_t len)
{
	if (buf->len + len + 1 > buf->cap)
	{
		size_t		cap = buf->cap ? buf->cap : 256;

		while (cap < buf->len + len + 1)
			cap *= 2;
		buf->data = arch_realloc(buf->data, cap);
		buf->cap = cap;
	}
	memcpy(buf->data + buf->len, data, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
}

void
arch_buf_appendf(ArchBuf *buf, const char *fmt,...)
{
	va_list		ap;
	char		small[512];
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < (int) sizeof(small))
	{
		arch_buf_append(buf, small, n);
		return;
	}
	{
		char	   *big = arch_alloc(n + 1);

		va_start(ap, fmt);
		vsnprintf(big, n + 1, fmt, ap);
		va_end(ap);
		arch_buf_append(buf, big, n);
		arch_free(big);
	}
}

void
arch_buf_reset(ArchBuf *buf)
{
	buf->len = 0;
	if (buf->data)
		buf->data[0] = '\0';
}

void
arch_buf_free(ArchBuf *buf)
{
	arch_free(buf->data);
	memset(buf, 0, sizeof(ArchBuf));
}

ArchStatus
arch_buf_sink(void *arg, const void *data, size_t len, ArchError *err)
{
	arch_buf_append(arg, data, len);
	return ARCH_OK;
}
