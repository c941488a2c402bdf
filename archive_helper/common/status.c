/*-------------------------------------------------------------------------
 *
 * status.c
 *		The error text that goes with an ArchStatus (see status.h).
 *
 * archive_helper/common/status.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>

#include "status.h"

ArchStatus
arch_error(ArchError *err, ArchStatus status, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	err->detail[0] = '\0';
	return status;
}

ArchStatus
arch_error_detail(ArchError *err, ArchStatus status, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
	return status;
}
