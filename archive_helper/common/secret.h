/*-------------------------------------------------------------------------
 *
 * secret.h
 *		Secrets in memory are overwritten before they are freed.
 *
 * Keys, tokens and the text of files that hold them would otherwise stay
 * in freed memory, where a core dump or a later bug could show them.
 *
 * archive_helper/common/secret.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_SECRET_H
#define ARCH_SECRET_H

/* Overwrite a NUL-terminated secret (may be NULL), then free it */
extern void arch_free_secret(char *secret);

#endif							/* ARCH_SECRET_H */
