/*-------------------------------------------------------------------------
 *
 * http_store.h
 *		What the S3 and Azure drivers do alike: read, look up, list and
 *		delete objects over HTTP, buffer writes, and word their errors.
 *
 * The two stores differ in how a request is authorized and addressed, in
 * the names of a few headers and query parameters, and in how an upload
 * is committed; everything else is the same walk.  A driver describes
 * its kind of store once, in a static ArchHttpStoreType (how to send a
 * request, header and tag names); its state starts with an ArchHttpStore
 * and its writer state with an ArchHttpWriter, so the functions below
 * serve directly in the driver's table.
 *
 * archive_helper/common/http_store.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_HTTP_STORE_H
#define ARCH_HTTP_STORE_H

#include "http.h"
#include "secret.h"

/* Send one signed request for key ("" for the bucket or container) */
typedef ArchStatus (*ArchHttpStoreRequest) (void *state, const char *method,
											const char *key,
											const ArchQuery *query,
											const char *const *extra,
											const void *body, size_t len,
											ArchSink sink, void *arg,
											const char *what,
											ArchHttpResponse *resp,
											ArchError *err);

/* What is fixed for one kind of store: its driver's static description */
typedef struct ArchHttpStoreType
{
	ArchHttpStoreRequest request;
	const char *kind;			/* "bucket" or "container", for messages */
	const char *meta_sha256;	/* header of the plaintext SHA-256 metadata */

	/*
	 * The store's error codes of a 404 (status.h): the only one that means
	 * "no such object", and the one for a missing bucket or container.
	 */
	const char *object_missing_code;
	const char *container_missing_code;
	const char *credentials_hint;	/* detail for 401 and 403 */

	/* listing: fixed parameters, the paging parameter, the answer's tags */
	const char *list_param[2];
	const char *list_value[2];
	const char *list_token_param;
	const char *list_next_tag;
	const char *list_item_tag;
	const char *list_name_tag;
	const char *list_size_tag;
} ArchHttpStoreType;

typedef struct ArchHttpStore
{
	const ArchHttpStoreType *type;
	ArchHttp   *http;
	const char *url;			/* repository URL, for messages */
	char	   *container;		/* bucket or container */
	char	   *prefix;			/* key prefix without slashes, or "" */
} ArchHttpStore;

/* The part of a driver's writer state that writing a stream needs */
typedef struct ArchHttpWriter
{
	ArchHttpStore *store;
	char	   *name;
	char	   *key;			/* prefix + name */
	bool		if_absent;
	char	   *meta_header;	/* "<meta_sha256>: <hex>", or NULL */
	ArchUpload	up;
} ArchHttpWriter;

/* "VERB "NAME" in KIND "C" of repository "URL"", for messages */
extern char *arch_store_what(const ArchHttpStore *store, const char *verb,
							 const char *name);

/*
 * The store's error code of an answer (Azure's x-ms-error-code header, S3's
 * <Code> in the body), or NULL; arch_free it.
 */
extern char *arch_store_error_code(const ArchHttpResponse *resp);

/*
 * Error for an answer that is not a success: "could not WHAT: HTTP status
 * N (Code)", with the credentials hint for 401 and 403, never
 * ARCH_NOT_FOUND: a 404 here (a listing, an upload) means a missing
 * bucket or container, which is fatal and said so.
 */
extern ArchStatus arch_store_fail(const ArchHttpStore *store,
								  const ArchHttpResponse *resp,
								  const char *what, ArchError *err);

/*
 * A 404 to a request for the object name: ARCH_NOT_FOUND only when the
 * store's code says the object does not exist; a missing bucket or
 * container, or a 404 without a code we know (a proxy, a wrong endpoint
 * path), is fatal, so that a mistyped bucket cannot end a recovery.
 */
extern ArchStatus arch_store_missing(const ArchHttpStore *store,
									 const ArchHttpResponse *resp,
									 const char *name, const char *what,
									 ArchError *err);
extern ArchStatus arch_store_exists(const ArchHttpStore *store,
									const char *name, ArchError *err);

/* Driver functions for a state whose first member is an ArchHttpStore */
extern ArchStatus arch_store_read(void *state, const char *name,
								  uint64_t limit, ArchSink sink, void *arg,
								  ArchError *err);

/*
 * Lookups are a one-byte ranged GET rather than HEAD: S3 names the reason
 * of a 404 (NoSuchKey or NoSuchBucket) only in the body, which a HEAD
 * answer lacks, and a missing bucket must never read as a missing object.
 */
extern ArchStatus arch_store_info(void *state, const char *name,
								  ArchObjectInfo *info, ArchError *err);
extern ArchStatus arch_store_list(void *state, const char *prefix,
								  ArchListCallback callback, void *arg,
								  ArchError *err);
/* DELETE; ARCH_NOT_FOUND as for reads (S3 answers 204 for a missing key: see s3) */
extern ArchStatus arch_store_delete(void *state, const char *name,
									ArchError *err);

/* Writers: fill the common part; write; free the common part */
extern void arch_store_writer_init(ArchHttpWriter *w, ArchHttpStore *store,
								   const char *name,
								   const ArchWriteOptions *opts,
								   size_t part_size, ArchUploadFlush flush);
extern ArchStatus arch_store_write(void *writer, const void *data, size_t len,
								   ArchError *err);
extern ArchStatus arch_store_write_head(void *writer, const void *data,
										size_t len, const char *sha256,
										ArchError *err);
extern void arch_store_writer_free(ArchHttpWriter *w);

/* Fill and free the common part of a driver's state */
extern void arch_store_init(ArchHttpStore *store, const ArchHttpStoreType *type,
							const ArchUrl *url, const char *ca_file);
extern void arch_store_free(ArchHttpStore *store);

#endif							/* ARCH_HTTP_STORE_H */
