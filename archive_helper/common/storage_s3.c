/*-------------------------------------------------------------------------
 *
 * storage_s3.c
 *		The s3:// driver: AWS S3 and S3-compatible stores (Ceph RGW, MinIO).
 *
 * Requests are signed by libcurl (CURLOPT_AWS_SIGV4).  libcurl 7.88 needs
 * three things from us to sign what S3 and RGW verify: the payload hash in
 * x-amz-content-sha256 (we always send the real SHA-256 of the body, so
 * the store checks every byte it stores), a query already in canonical form
 * (s3_request.c), and a body with a Content-Length (http.c).
 *
 * Writes are buffered up to s3-multipart-threshold; a larger object goes
 * up as a multipart upload in parts of that size, which is aborted if
 * anything fails, so no partial object ever appears under its name.  The
 * plaintext SHA-256 of every object is kept as user metadata
 * (x-amz-meta-sha256).
 *
 * archive_helper/common/storage_s3.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http.h"
#include "s3_request.h"

/* S3's smallest part (except the last one) */
#define S3_MIN_PART (5 * 1024 * 1024)
#define S3_META_SHA256 "x-amz-meta-sha256"

static const ArchSetting s3_settings[] = {
	{"s3-endpoint", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", NULL, false,
	"endpoint URL of an S3-compatible store, e.g. http://127.0.0.1:7480 (default: AWS)"},
	{"s3-region", "AWS_REGION", "AWS_DEFAULT_REGION", "us-east-1", false,
	"region that requests are signed for"},
	{"s3-access-key-id", "AWS_ACCESS_KEY_ID", NULL, NULL, false,
	"access key id"},
	{"s3-secret-access-key", "AWS_SECRET_ACCESS_KEY", NULL, NULL, true,
	"secret access key"},
	{"s3-session-token", "AWS_SESSION_TOKEN", NULL, NULL, true,
	"session token of temporary credentials"},
	{"s3-uri-style", "DBOPS_ARCHIVE_S3_URI_STYLE", NULL, NULL, false,
	"host (virtual-host style) or path; default host on AWS, path with s3-endpoint"},
	{"s3-ca-file", "AWS_CA_BUNDLE", NULL, NULL, false,
	"CA certificates (PEM) that verify the store's TLS certificate"},
	{"s3-multipart-threshold", "DBOPS_ARCHIVE_S3_MULTIPART_THRESHOLD", NULL, "64MB", false,
	"larger objects are uploaded in parts of this size (at least 5MB)"},
	{NULL}
};

typedef struct S3Storage
{
	ArchHttp   *http;
	S3Endpoint	ep;
	const char *url;			/* repository URL, for messages */
	char	   *bucket;
	char	   *prefix;			/* key prefix without slashes, or "" */
	char	   *sigv4;			/* "aws:amz:REGION:s3" */
	char	   *access_key;
	char	   *secret_key;
	char	   *token_header;	/* x-amz-security-token line, or NULL */
	size_t		part_size;
} S3Storage;

typedef struct S3Writer
{
	S3Storage  *s3;
	char	   *name;
	char	   *key;
	bool		if_absent;
	char	   *meta_header;	/* x-amz-meta-sha256 line, or NULL */
	ArchUpload	up;
	char	   *upload_id;		/* multipart upload in progress, or NULL */
	char	  **etags;
	int			nparts;
} S3Writer;

static ArchStatus s3_info(void *state, const char *name,
						  ArchObjectInfo *info, ArchError *err);

/*
 * s3_request
 *
 * Sign and send one request for key (relative to the bucket).  Adds the
 * payload hash, a Content-Type for bodies and the session token.
 */
static ArchStatus
s3_request(S3Storage *s3, const char *method, const char *key,
		   const ArchQuery *query, const char *const *extra,
		   const void *body, size_t len, ArchSink sink, void *arg,
		   const char *what, ArchHttpResponse *resp, ArchError *err)
{
	const char *headers[12];
	int			n = 0;
	char		hash[65];
	char	   *hash_header;
	char	   *url = s3_url(&s3->ep, key, query);
	ArchHttpRequest req = {0};
	ArchStatus	st;

	arch_sha256_hex(body ? body : "", len, hash);
	hash_header = arch_psprintf("x-amz-content-sha256: %s", hash);
	headers[n++] = hash_header;
	if (strcmp(method, "PUT") == 0 || strcmp(method, "POST") == 0)
		headers[n++] = "Content-Type: application/octet-stream";
	if (s3->token_header)
		headers[n++] = s3->token_header;
	for (int i = 0; extra && extra[i] && n < 11; i++)
		headers[n++] = extra[i];
	headers[n] = NULL;

	req.method = method;
	req.url = url;
	req.headers = headers;
	req.body = body;
	req.body_len = len;
	req.aws_sigv4 = s3->sigv4;
	req.user = s3->access_key;
	req.password = s3->secret_key;
	req.sink = sink;
	req.sink_arg = arg;
	st = arch_http_perform(s3->http, &req, what, resp, err);
	arch_free(hash_header);
	arch_free(url);
	return st;
}

/*
 * s3_fail
 *
 * Error for an answer that is not a success: "could not WHAT: HTTP status
 * N (Code)", with a hint for refused credentials.  Never the URL, which
 * is harmless here but not for Azure, so both drivers do the same.
 */
static ArchStatus
s3_fail(S3Storage *s3, const ArchHttpResponse *resp, const char *what,
		ArchError *err)
{
	ArchStatus	st = arch_http_status_class(resp->status);
	char	   *code = arch_xml_find(resp->body.data, "Code");

	/*
	 * A 2xx the caller could not use, or a 404 left after the caller
	 * handled "no such object" (a missing bucket): neither heals itself.
	 */
	if (st == ARCH_OK || st == ARCH_NOT_FOUND)
		st = ARCH_FATAL;
	arch_error(err, st, "could not %s: HTTP status %ld%s%s%s", what,
			   resp->status, code ? " (" : "", code ? code : "", code ? ")" : "");
	if (resp->status == 401 || resp->status == 403)
		arch_error_detail(err, st,
						  "The store refused the credentials: check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and the region.");
	else if (st == ARCH_TRANSIENT)
		arch_error_detail(err, st, "Gave up after %d attempts.", ARCH_HTTP_RETRIES + 1);
	arch_free(code);
	return st;
}

static char *
s3_what(S3Storage *s3, const char *verb, const char *name)
{
	return arch_psprintf("%s \"%s\" in bucket \"%s\" of repository \"%s\"",
						 verb, name, s3->bucket, s3->url);
}

/* ---------------------------------------------------------------- open */

static ArchStatus
s3_open(const ArchUrl *url, const ArchConfig *cfg, void **state, ArchError *err)
{
	const char *endpoint = arch_config_get(cfg, "s3-endpoint");
	const char *region = arch_config_get(cfg, "s3-region");
	const char *access_key = arch_config_get(cfg, "s3-access-key-id");
	const char *secret_key = arch_config_get(cfg, "s3-secret-access-key");
	const char *token = arch_config_get(cfg, "s3-session-token");
	const char *style = arch_config_get(cfg, "s3-uri-style");
	uint64_t	part_size = 0;
	bool		host_style;
	S3Storage  *s3;
	ArchStatus	st;

	if (access_key == NULL || secret_key == NULL)
	{
		arch_error(err, ARCH_FATAL, "no S3 credentials for repository \"%s\"", url->text);
		return arch_error_detail(err, ARCH_FATAL,
								 "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or s3-access-key-id and s3-secret-access-key in the config file.");
	}
	if (region == NULL || region[0] == '\0')
		region = "us-east-1";
	if (style == NULL || style[0] == '\0')
		host_style = (endpoint == NULL || endpoint[0] == '\0');
	else if (strcmp(style, "host") == 0)
		host_style = true;
	else if (strcmp(style, "path") == 0)
		host_style = false;
	else
		return arch_error(err, ARCH_FATAL,
						  "invalid value \"%s\" for setting \"s3-uri-style\": expected \"host\" or \"path\"",
						  style);

	st = arch_config_get_size(cfg, "s3-multipart-threshold", &part_size, err);
	if (st != ARCH_OK)
		return st;
	if (part_size < S3_MIN_PART)
	{
		arch_error(err, ARCH_FATAL,
				   "setting \"s3-multipart-threshold\" must be at least 5MB");
		return arch_error_detail(err, ARCH_FATAL,
								 "S3 refuses multipart parts smaller than 5 MiB.");
	}

	s3 = arch_alloc0(sizeof(S3Storage));
	st = s3_endpoint_build(endpoint, region, url->container, host_style, &s3->ep, err);
	if (st != ARCH_OK)
	{
		arch_free(s3);
		return st;
	}
	s3->url = url->text;
	s3->bucket = arch_strdup(url->container);
	s3->prefix = arch_strdup(url->prefix);
	s3->sigv4 = arch_psprintf("aws:amz:%s:s3", region);
	s3->access_key = arch_strdup(access_key);
	s3->secret_key = arch_strdup(secret_key);
	if (token && token[0])
		s3->token_header = arch_psprintf("x-amz-security-token: %s", token);
	s3->part_size = part_size;
	s3->http = arch_http_new(arch_config_get(cfg, "s3-ca-file"));
	*state = s3;
	return ARCH_OK;
}

/* Overwrite a secret before freeing it */
static void
s3_free_secret(char *s)
{
	if (s)
		memset(s, 0, strlen(s));
	arch_free(s);
}

static void
s3_close(void *state)
{
	S3Storage  *s3 = state;

	arch_http_free(s3->http);
	s3_endpoint_free(&s3->ep);
	arch_free(s3->bucket);
	arch_free(s3->prefix);
	arch_free(s3->sigv4);
	arch_free(s3->access_key);
	s3_free_secret(s3->secret_key);
	s3_free_secret(s3->token_header);
	arch_free(s3);
}

/* ---------------------------------------------------------------- write */

/* Start the multipart upload: POST ?uploads= gives its id */
static ArchStatus
s3_multipart_begin(S3Writer *w, ArchError *err)
{
	S3Storage  *s3 = w->s3;
	ArchQuery	q = {0};
	const char *extra[] = {w->meta_header, NULL};
	ArchHttpResponse resp = {0};
	char	   *what = s3_what(s3, "start a multipart upload of", w->name);
	ArchStatus	st;

	arch_query_add(&q, "uploads", "");
	st = s3_request(s3, "POST", w->key, &q, extra, "", 0, NULL, NULL, what, &resp, err);
	if (st == ARCH_OK && resp.status != 200)
		st = s3_fail(s3, &resp, what, err);
	if (st == ARCH_OK)
	{
		w->upload_id = arch_xml_find(resp.body.data, "UploadId");
		if (w->upload_id == NULL)
			st = arch_error(err, ARCH_FATAL, "could not %s: no UploadId in the answer", what);
	}
	arch_http_response_free(&resp);
	arch_free(what);
	return st;
}

/* ArchUploadFlush: upload one part, remember its ETag */
static ArchStatus
s3_upload_part(void *arg, const char *data, size_t len, ArchError *err)
{
	S3Writer   *w = arg;
	S3Storage  *s3 = w->s3;
	ArchQuery	q = {0};
	char		number[16];
	ArchHttpResponse resp = {0};
	char	   *what;
	ArchStatus	st;

	if (w->upload_id == NULL && (st = s3_multipart_begin(w, err)) != ARCH_OK)
		return st;
	snprintf(number, sizeof(number), "%d", w->nparts + 1);
	arch_query_add(&q, "partNumber", number);
	arch_query_add(&q, "uploadId", w->upload_id);
	what = arch_psprintf("upload part %s of \"%s\" to bucket \"%s\" of repository \"%s\"",
						 number, w->name, s3->bucket, s3->url);
	st = s3_request(s3, "PUT", w->key, &q, NULL, data, len, NULL, NULL, what, &resp, err);
	if (st == ARCH_OK && resp.status != 200)
		st = s3_fail(s3, &resp, what, err);
	if (st == ARCH_OK)
	{
		char	   *etag = arch_http_header(&resp, "ETag");

		if (etag == NULL)
			st = arch_error(err, ARCH_FATAL, "could not %s: no ETag in the answer", what);
		else
		{
			w->etags = arch_realloc(w->etags, sizeof(char *) * (w->nparts + 1));
			w->etags[w->nparts++] = etag;
		}
	}
	arch_http_response_free(&resp);
	arch_free(what);
	return st;
}

static ArchStatus
s3_write_begin(void *state, const char *name, const ArchWriteOptions *opts,
			   void **writer, ArchError *err)
{
	S3Storage  *s3 = state;
	S3Writer   *w = arch_alloc0(sizeof(S3Writer));

	w->s3 = s3;
	w->name = arch_strdup(name);
	w->key = arch_object_key(s3->prefix, name);
	w->if_absent = opts && opts->if_absent;
	if (opts && opts->sha256)
		w->meta_header = arch_psprintf(S3_META_SHA256 ": %s", opts->sha256);
	arch_upload_init(&w->up, s3->part_size, s3_upload_part, w);
	*writer = w;
	return ARCH_OK;
}

static ArchStatus
s3_write(void *writer, const void *data, size_t len, ArchError *err)
{
	S3Writer   *w = writer;

	return arch_upload_write(&w->up, data, len, err);
}

static void
s3_writer_free(S3Writer *w)
{
	for (int i = 0; i < w->nparts; i++)
		arch_free(w->etags[i]);
	arch_free(w->etags);
	arch_upload_free(&w->up);
	arch_free(w->upload_id);
	arch_free(w->meta_header);
	arch_free(w->key);
	arch_free(w->name);
	arch_free(w);
}

/* Abort a multipart upload so its parts do not linger (and cost) */
static void
s3_multipart_abort(S3Writer *w)
{
	ArchQuery	q = {0};
	ArchHttpResponse resp = {0};
	ArchError	err;
	char	   *what = s3_what(w->s3, "abort the multipart upload of", w->name);

	arch_query_add(&q, "uploadId", w->upload_id);
	if (s3_request(w->s3, "DELETE", w->key, &q, NULL, NULL, 0, NULL, NULL, what, &resp, &err) != ARCH_OK)
		arch_log(ARCH_LOG_WARNING, "%s", err.message);
	else if (resp.status != 204 && resp.status != 200 && resp.status != 404)
		arch_log(ARCH_LOG_WARNING, "could not %s: HTTP status %ld", what, resp.status);
	arch_http_response_free(&resp);
	arch_free(what);
}

/* One PUT of the whole object, refused by the store if the name is taken */
static ArchStatus
s3_put_whole(S3Writer *w, ArchError *err)
{
	S3Storage  *s3 = w->s3;
	const char *extra[3];
	int			n = 0;
	ArchHttpResponse resp = {0};
	char	   *what = s3_what(s3, "upload", w->name);
	ArchStatus	st;

	if (w->if_absent)
		extra[n++] = "If-None-Match: *";
	extra[n++] = w->meta_header;
	extra[n] = NULL;
	st = s3_request(s3, "PUT", w->key, NULL, extra, w->up.data, w->up.len,
					NULL, NULL, what, &resp, err);
	if (st == ARCH_OK && resp.status == 412 && w->if_absent)
		st = arch_error(err, ARCH_EXISTS, "object \"%s\" already exists in bucket \"%s\" of repository \"%s\"",
						w->name, s3->bucket, s3->url);
	else if (st == ARCH_OK && resp.status != 200)
		st = s3_fail(s3, &resp, what, err);
	arch_http_response_free(&resp);
	arch_free(what);
	return st;
}

/* Upload the last part and complete the multipart upload */
static ArchStatus
s3_multipart_end(S3Writer *w, ArchError *err)
{
	S3Storage  *s3 = w->s3;
	ArchQuery	q = {0};
	ArchHttpResponse resp = {0};
	ArchObjectInfo info;
	char	   *body;
	char	   *what;
	ArchStatus	st;

	st = s3_upload_part(w, w->up.data, w->up.len, err);
	if (st != ARCH_OK)
		return st;

	/*
	 * Not every S3-compatible store honours If-None-Match on completion, so
	 * look first.  The window between this look and the completion is the
	 * caller's to accept: WAL segments stay below the threshold and go up
	 * in one conditional PUT.
	 */
	if (w->if_absent)
	{
		ArchError	ierr;

		st = s3_info(s3, w->name, &info, &ierr);
		if (st == ARCH_OK)
			return arch_error(err, ARCH_EXISTS, "object \"%s\" already exists in bucket \"%s\" of repository \"%s\"",
							  w->name, s3->bucket, s3->url);
		if (st != ARCH_NOT_FOUND)
		{
			*err = ierr;
			return st;
		}
	}

	arch_query_add(&q, "uploadId", w->upload_id);
	body = s3_complete_body(w->nparts, w->etags);
	what = s3_what(s3, "complete the multipart upload of", w->name);
	st = s3_request(s3, "POST", w->key, &q, NULL, body, strlen(body), NULL, NULL, what, &resp, err);
	/* S3 may answer 200 and put the error in the body */
	if (st == ARCH_OK && resp.status == 200 && strstr(resp.body.data ? resp.body.data : "", "<Error>"))
		st = arch_error(err, ARCH_TRANSIENT, "could not %s: the store reported an error after accepting the request", what);
	else if (st == ARCH_OK && resp.status != 200)
		st = s3_fail(s3, &resp, what, err);
	arch_http_response_free(&resp);
	arch_free(body);
	arch_free(what);
	return st;
}

static ArchStatus
s3_write_end(void *writer, ArchError *err)
{
	S3Writer   *w = writer;
	ArchStatus	st;

	if (w->up.parts_sent == 0 && w->upload_id == NULL)
		st = s3_put_whole(w, err);
	else
	{
		st = s3_multipart_end(w, err);
		if (st != ARCH_OK)
			s3_multipart_abort(w);
	}
	s3_writer_free(w);
	return st;
}

static void
s3_write_abort(void *writer)
{
	S3Writer   *w = writer;

	if (w->upload_id)
		s3_multipart_abort(w);
	s3_writer_free(w);
}

/* ---------------------------------------------------------------- read */

static ArchStatus
s3_read(void *state, const char *name, uint64_t limit, ArchSink sink,
		void *arg, ArchError *err)
{
	S3Storage  *s3 = state;
	char	   *key = arch_object_key(s3->prefix, name);
	char	   *what = s3_what(s3, "download", name);
	char	   *range = NULL;
	const char *extra[2] = {NULL, NULL};
	ArchHttpResponse resp = {0};
	ArchStatus	st;

	if (limit > 0)
	{
		range = arch_psprintf("Range: bytes=0-%llu", (unsigned long long) limit - 1);
		extra[0] = range;
	}
	st = s3_request(s3, "GET", key, NULL, extra, NULL, 0, sink, arg, what, &resp, err);
	if (st == ARCH_OK && resp.status == 404)
		st = arch_error(err, ARCH_NOT_FOUND, "object \"%s\" not found in bucket \"%s\" of repository \"%s\"",
						name, s3->bucket, s3->url);
	else if (st == ARCH_OK && resp.status != 200 && resp.status != 206)
		st = s3_fail(s3, &resp, what, err);
	arch_http_response_free(&resp);
	arch_free(range);
	arch_free(what);
	arch_free(key);
	return st;
}

static ArchStatus
s3_info(void *state, const char *name, ArchObjectInfo *info, ArchError *err)
{
	S3Storage  *s3 = state;
	char	   *key = arch_object_key(s3->prefix, name);
	char	   *what = s3_what(s3, "look up", name);
	ArchHttpResponse resp = {0};
	ArchStatus	st;

	memset(info, 0, sizeof(ArchObjectInfo));
	st = s3_request(s3, "HEAD", key, NULL, NULL, NULL, 0, NULL, NULL, what, &resp, err);
	if (st == ARCH_OK && resp.status == 404)
		st = arch_error(err, ARCH_NOT_FOUND, "object \"%s\" not found in bucket \"%s\" of repository \"%s\"",
						name, s3->bucket, s3->url);
	else if (st == ARCH_OK && resp.status != 200)
		st = s3_fail(s3, &resp, what, err);
	if (st == ARCH_OK)
	{
		char	   *length = arch_http_header(&resp, "Content-Length");
		char	   *sha = arch_http_header(&resp, S3_META_SHA256);

		info->size = length ? strtoull(length, NULL, 10) : 0;
		if (sha && strlen(sha) == 64)
			memcpy(info->sha256, sha, 65);
		arch_free(length);
		arch_free(sha);
	}
	arch_http_response_free(&resp);
	arch_free(what);
	arch_free(key);
	return st;
}

/* ---------------------------------------------------------------- list */

static ArchStatus
s3_list(void *state, const char *prefix, ArchListCallback callback,
		void *arg, ArchError *err)
{
	S3Storage  *s3 = state;
	char	   *full = arch_object_key(s3->prefix, prefix);
	char	   *strip = s3->prefix[0] ? arch_psprintf("%s/", s3->prefix) : arch_strdup("");
	char	   *what = arch_psprintf("list \"%s\" in bucket \"%s\" of repository \"%s\"",
									 prefix, s3->bucket, s3->url);
	char	   *token = NULL;
	ArchStatus	st;

	do
	{
		ArchQuery	q = {0};
		ArchHttpResponse resp = {0};
		char	   *truncated;

		if (token)
			arch_query_add(&q, "continuation-token", token);
		arch_query_add(&q, "list-type", "2");
		arch_query_add(&q, "prefix", full);
		st = s3_request(s3, "GET", "", &q, NULL, NULL, 0, NULL, NULL, what, &resp, err);
		if (st == ARCH_OK && resp.status != 200)
			st = s3_fail(s3, &resp, what, err);
		if (st == ARCH_OK)
			st = arch_xml_list(resp.body.data, "Contents", "Key", "Size", strip,
							   callback, arg, err);
		arch_free(token);
		token = NULL;
		if (st == ARCH_OK)
		{
			truncated = arch_xml_find(resp.body.data, "IsTruncated");
			if (truncated && strcmp(truncated, "true") == 0)
			{
				token = arch_xml_find(resp.body.data, "NextContinuationToken");
				if (token == NULL)
					st = arch_error(err, ARCH_FATAL, "could not %s: truncated answer without a continuation token", what);
			}
			arch_free(truncated);
		}
		arch_http_response_free(&resp);
	} while (st == ARCH_OK && token != NULL);

	arch_free(token);
	arch_free(what);
	arch_free(strip);
	arch_free(full);
	return st;
}

/* ---------------------------------------------------------------- remove */

static ArchStatus
s3_remove(void *state, const char *name, ArchError *err)
{
	S3Storage  *s3 = state;
	ArchObjectInfo info;
	char	   *key;
	char	   *what;
	ArchHttpResponse resp = {0};
	ArchStatus	st;

	/* S3 answers 204 for a missing key too; the contract wants NOT_FOUND */
	st = s3_info(s3, name, &info, err);
	if (st != ARCH_OK)
		return st;
	key = arch_object_key(s3->prefix, name);
	what = s3_what(s3, "delete", name);
	st = s3_request(s3, "DELETE", key, NULL, NULL, NULL, 0, NULL, NULL, what, &resp, err);
	if (st == ARCH_OK && resp.status != 204 && resp.status != 200)
		st = s3_fail(s3, &resp, what, err);
	arch_http_response_free(&resp);
	arch_free(what);
	arch_free(key);
	return st;
}

const ArchStorageDriver arch_storage_s3_driver = {
	.scheme = "s3",
	.settings = s3_settings,
	.open = s3_open,
	.close = s3_close,
	.write_begin = s3_write_begin,
	.write = s3_write,
	.write_end = s3_write_end,
	.write_abort = s3_write_abort,
	.read = s3_read,
	.info = s3_info,
	.list = s3_list,
	.remove = s3_remove,
};
