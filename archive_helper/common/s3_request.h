/*-------------------------------------------------------------------------
 *
 * s3_request.h
 *		The pure part of the S3 driver: URLs, query strings and request
 *		bodies, built without I/O so that unit tests can check them.
 *
 * libcurl 7.88 signs SigV4 over the URL exactly as given, so what these
 * functions produce is what gets signed: the path RFC 3986 encoded, the
 * query already canonical (see arch_query_canonical).
 *
 * archive_helper/common/s3_request.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_S3_REQUEST_H
#define ARCH_S3_REQUEST_H

#include <time.h>

#include "http.h"

/*
 * Where a bucket lives.  Path style: origin "http://127.0.0.1:7480",
 * bucket_path "/bucket".  Virtual-host style: origin
 * "https://bucket.s3.eu-west-1.amazonaws.com", bucket_path "".
 */
typedef struct S3Endpoint
{
	char	   *origin;
	char	   *bucket_path;
} S3Endpoint;

/*
 * Build the endpoint of bucket.  endpoint is the configured endpoint URL
 * ("scheme://host[:port]", no path), or NULL for AWS in region.
 */
extern ArchStatus s3_endpoint_build(const char *endpoint, const char *region,
									const char *bucket, bool host_style,
									S3Endpoint *out, ArchError *err);
extern void s3_endpoint_free(S3Endpoint *ep);

/* URL of key (may be "" for the bucket itself) with query q (or NULL) */
extern char *s3_url(const S3Endpoint *ep, const char *key, const ArchQuery *q);

/* CompleteMultipartUpload body for parts 1..nparts with their ETags */
extern char *s3_complete_body(int nparts, char *const *etags);

/* One unfinished multipart upload, from a ListMultipartUploads answer */
typedef struct S3Upload
{
	char	   *key;
	char	   *upload_id;
	time_t		initiated;
} S3Upload;

/*
 * Parse one page of a ListMultipartUploads answer: its uploads (append to
 * *uploads, *n of them) and, when the answer is truncated, the markers of
 * the next page (*next_key, *next_upload_id; NULL otherwise).  An upload
 * without key, id or a valid date is ARCH_FATAL.
 */
extern ArchStatus s3_uploads_parse(const char *xml, S3Upload **uploads, int *n,
								   char **next_key, char **next_upload_id,
								   ArchError *err);
extern void s3_uploads_free(S3Upload *uploads, int n);

/* "2026-12-04T07:35:46.000Z" (ISO 8601, UTC) as a time_t; false if not */
extern bool s3_time_parse(const char *text, time_t *out);

#endif							/* ARCH_S3_REQUEST_H */
