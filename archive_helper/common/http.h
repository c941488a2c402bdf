/*-------------------------------------------------------------------------
 *
 * http.h
 *		libcurl plumbing shared by the object-store drivers (S3, Azure).
 *
 * Both drivers speak HTTP to a store and need the same things around it:
 * one reused connection per repository, connect and low-speed timeouts so
 * that no call hangs, transient failures (connection errors, timeouts,
 * 5xx, 429) retried with bounded backoff inside the call, URI encoding,
 * query strings in canonical order, a buffer that turns a stream of
 * writes into whole uploads or parts, and a small scanner for the XML
 * that S3 and Azure answer with.  The drivers keep only what differs:
 * URLs, signing and the meaning of each answer.
 *
 * archive_helper/common/http.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_HTTP_H
#define ARCH_HTTP_H

#include "buf.h"
#include "storage.h"

/* Retries after the first attempt, and the backoff between them */
#define ARCH_HTTP_RETRIES 4
#define ARCH_HTTP_BACKOFF_FIRST_MS 250
#define ARCH_HTTP_BACKOFF_MAX_MS 2000
/* Give up connecting after this; abort below 1 kB/s for this long */
#define ARCH_HTTP_CONNECT_TIMEOUT_S 10
#define ARCH_HTTP_LOW_SPEED_TIME_S 30

/* One connection (a libcurl easy handle) reused by every call */
typedef struct ArchHttp ArchHttp;


typedef struct ArchHttpRequest
{
	const char *method;			/* GET, HEAD, PUT, POST, DELETE */
	const char *url;			/* never shown in messages (SAS tokens) */
	const char *const *headers; /* "Name: value" lines, NULL-terminated */
	const void *body;			/* request body, or NULL */
	size_t		body_len;
	const char *aws_sigv4;		/* "aws:amz:REGION:s3" to let libcurl sign */
	const char *user;			/* access key for aws_sigv4 */
	const char *password;		/* secret key for aws_sigv4 */
	ArchSink	sink;			/* 2xx response bodies go here if set */
	void	   *sink_arg;
} ArchHttpRequest;

typedef struct ArchHttpResponse
{
	long		status;			/* HTTP status of the last attempt */
	ArchBuf		body;			/* body, unless it went to the sink */
	ArchBuf		headers;		/* raw response header lines */
} ArchHttpResponse;

extern ArchHttp *arch_http_new(const char *ca_file);
extern void arch_http_free(ArchHttp *http);

/*
 * arch_http_perform
 *
 * Run the request, retrying transient failures with backoff.  ARCH_OK
 * means an answer arrived whose status is in resp->status (any status:
 * the caller gives it a meaning, see arch_http_status_class).  Otherwise
 * ARCH_TRANSIENT (retries exhausted), ARCH_FATAL (TLS verification,
 * misconfiguration) or a status returned by the sink, with err set to
 * "could not <what>: <reason>".  resp must be zeroed; the caller frees it
 * with arch_http_response_free.
 */
extern ArchStatus arch_http_perform(ArchHttp *http, const ArchHttpRequest *req,
									const char *what, ArchHttpResponse *resp,
									ArchError *err);
extern void arch_http_response_free(ArchHttpResponse *resp);

/* Value of a response header (case-insensitive name), or NULL; caller frees */
extern char *arch_http_header(const ArchHttpResponse *resp, const char *name);

/*
 * The status class of an answer that is not a success: NOT_FOUND for 404,
 * TRANSIENT for 5xx, 408 and 429 (left after retries), FATAL otherwise
 * (401, 403, other 4xx: credentials or a request the store refuses).
 */
extern ArchStatus arch_http_status_class(long status);

/* RFC 3986 encoding; '/' kept as is when keep_slash */
extern char *arch_uri_encode(const char *s, bool keep_slash);

/*
 * A query string in canonical form: parameters sorted by name, names and
 * values RFC 3986 encoded, "name=" for a parameter without value.  This is
 * what SigV4 signs, and libcurl 7.88 signs the query exactly as given.
 */
#define ARCH_QUERY_MAX 8
typedef struct ArchQuery
{
	int			n;
	const char *name[ARCH_QUERY_MAX];
	const char *value[ARCH_QUERY_MAX];
} ArchQuery;

extern void arch_query_add(ArchQuery *q, const char *name, const char *value);
extern char *arch_query_canonical(const ArchQuery *q);

/*
 * The text of the first <tag>...</tag> at or after *cursor and before end,
 * entities decoded; *cursor moves past the element.  NULL when absent.
 * Enough for the flat answers of S3 and Azure, not a general XML parser.
 */
extern char *arch_xml_next(const char **cursor, const char *end,
						   const char *tag);
/* The same for the first element in a whole buffer */
extern char *arch_xml_find(const char *xml, const char *tag);
/* Escape &, <, >, " and ' for an XML text node */
extern char *arch_xml_escape(const char *s);

/*
 * Walk a listing answer: for each <item_tag> element, take the text of
 * <name_tag> and <size_tag> inside it, drop strip (the repository prefix
 * and its slash) from the name and call callback.  Names that do not start
 * with strip are skipped.  Returns the first non-OK callback status, or
 * ARCH_FATAL for an element without a name or a valid size.
 */
extern ArchStatus arch_xml_list(const char *xml, const char *item_tag,
								const char *name_tag, const char *size_tag,
								const char *strip, ArchListCallback callback,
								void *arg, ArchError *err);

/* The store key of an object: "prefix/name", or name when prefix is "" */
extern char *arch_object_key(const char *prefix, const char *name);

/*
 * Upload buffering.  A driver streams writes into an ArchUpload; whenever
 * the buffer is full and more data comes, flush_part is called with the
 * full buffer and its index from 0 (the driver starts or continues a
 * multipart upload).  At the end the driver looks at parts_sent: 0 means
 * one plain upload of the buffer, otherwise the buffer is the last part
 * (index parts_sent) and, with hold_first, the first part (index 0) is
 * still to go: arch_upload_finish sends both.
 *
 * hold_first serves writers that fill in the start of an object last (the
 * object header's digest, object.h): the first part is kept back, and
 * arch_upload_head rewrites its first bytes before it goes up, last.
 */
typedef ArchStatus (*ArchUploadFlush) (void *arg, int index, const char *data,
									   size_t len, ArchError *err);

typedef struct ArchUpload
{
	char	   *data;
	size_t		len;
	size_t		part_size;
	int			parts_sent;		/* parts flushed or held (index of the next) */
	bool		hold_first;
	char	   *first;			/* with hold_first: part 0, not sent yet */
	ArchUploadFlush flush_part;
	void	   *flush_arg;
} ArchUpload;

extern void arch_upload_init(ArchUpload *up, size_t part_size, bool hold_first,
							 ArchUploadFlush flush_part, void *flush_arg);
extern ArchStatus arch_upload_write(ArchUpload *up, const void *data,
									size_t len, ArchError *err);

/*
 * Rewrite the first len bytes written (len at most one part): in the
 * buffer, or in the held first part.  False when they went up already.
 */
extern bool arch_upload_head(ArchUpload *up, const void *data, size_t len);

/*
 * Multipart end: flush the buffer as the last part, then the held first
 * part; *nparts gets the number of parts.
 */
extern ArchStatus arch_upload_finish(ArchUpload *up, int *nparts,
									 ArchError *err);
extern void arch_upload_free(ArchUpload *up);

/* Digests of a buffer, as text */
extern void arch_sha256_hex(const void *data, size_t len, char out[65]);
extern void arch_md5_base64(const void *data, size_t len, char out[25]);

#endif							/* ARCH_HTTP_H */
