/*-------------------------------------------------------------------------
 *
 * azure_request.h
 *		The pure part of the Azure driver: SharedKey signing, dates,
 *		block ids and the block list body, built without I/O so that unit
 *		tests can check them against vectors computed by hand.
 *
 * libcurl signs SigV4 for S3 by itself but knows nothing of Azure's
 * SharedKey scheme, so the string-to-sign and its HMAC are built here.
 *
 * archive_helper/common/azure_request.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_AZURE_REQUEST_H
#define ARCH_AZURE_REQUEST_H

#include <time.h>

#include "http.h"

/*
 * The SharedKey string-to-sign of a Blob request (service version
 * 2015-02-21 or later).  headers are the "Name: value" lines the request
 * sends (NULL-terminated); content_length is the body length (0 signs as
 * empty, as libcurl sends no length or "0"); path is the URL path as sent,
 * starting with '/' (for an emulator it starts with the account);
 * query holds the parameters, not encoded.
 */
extern char *arch_azure_string_to_sign(const char *method,
									   const char *const *headers,
									   size_t content_length,
									   const char *account, const char *path,
									   const ArchQuery *query);

/*
 * "Authorization: SharedKey account:signature" for string_to_sign, with the
 * base64 account key.  NULL when the key is not valid base64.
 */
extern char *arch_azure_authorization(const char *account, const char *key_b64,
									  const char *string_to_sign);

/* An RFC 1123 date for x-ms-date ("Mon, 23 Nov 2026 07:35:46 GMT") */
extern void arch_azure_date(time_t t, char out[32]);

/* Block id of block number n (0-based): base64, all of the same length */
extern char *arch_azure_block_id(int n);

/* Put Block List body committing blocks 0..nblocks-1 */
extern char *arch_azure_block_list_body(int nblocks);

#endif							/* ARCH_AZURE_REQUEST_H */
