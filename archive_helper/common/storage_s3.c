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
 * anything fails, so no partial object ever appears under its name; an
 * upload whose process was killed is aborted later by s3_cleanup.  The
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
#include "http_store.h"
#include "s3_request.h"

/* S3's limits on multipart uploads (the last part may be smaller) */
#define S3_MIN_PART ((uint64_t) 5 * 1024 * 1024)
#define S3_MAX_PART ((uint64_t) 5 * 1024 * 1024 * 1024)
#define S3_MAX_PARTS 10000

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
	ArchHttpStore store;		/* first: the shared operations use it */
	S3Endpoint	ep;
	char	   *sigv4;			/* "aws:amz:REGION:s3" */
	char	   *access_key;
	char	   *secret_key;
	char	   *token_header;	/* x-amz-security-token line, or NULL */
	size_t		part_size;
} S3Storage;

typedef struct S3Writer
{
	ArchHttpWriter w;			/* first: arch_store_write uses it */
	S3Storage  *s3;
	char	   *upload_id;		/* multipart upload in progress, or NULL */
	char	  **etags;
	int			nparts;
} S3Writer;

/*
 * s3_request
 *
 * Sign and send one request for key (relative to the bucket).  Adds the
 * payload hash, a Content-Type for bodies and the session token.
 */
static ArchStatus
s3_request(void *state, const char *method, const char *key,
		   const ArchQuery *query, const char *const *extra,
		   const void *body, size_t len, ArchSink sink, void *arg,
		   const char *what, ArchHttpResponse *resp, ArchError *err)
{
	S3Storage  *s3 = state;
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
	st = arch_http_perform(s3->store.http, &req, what, resp, err);
	arch_free(hash_header);
	arch_free(url);
	return st;
}

/* What the shared operations need to know about S3 (ListObjectsV2) */
static const ArchHttpStoreType s3_type = {
	.request = s3_request,
	.kind = "bucket",
	.meta_sha256 = "x-amz-meta-sha256",
	.object_missing_code = "NoSuchKey",
	.container_missing_code = "NoSuchBucket",
	.credentials_hint = "The store refused the credentials: check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and the region.",
	.list_param = {"list-type"},
	.list_value = {"2"},
	.list_token_param = "continuation-token",
	.list_next_tag = "NextContinuationToken",
	.list_item_tag = "Contents",
	.list_name_tag = "Key",
	.list_size_tag = "Size",
};

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

	if (access_key == NULL || access_key[0] == '\0' ||
		secret_key == NULL || secret_key[0] == '\0')
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
	if (part_size < S3_MIN_PART || part_size > S3_MAX_PART)
	{
		arch_error(err, ARCH_FATAL,
				   "setting \"s3-multipart-threshold\" must be between 5MB and 5GB");
		return arch_error_detail(err, ARCH_FATAL,
								 "S3 accepts multipart parts of 5 MiB to 5 GiB.");
	}

	s3 = arch_alloc0(sizeof(S3Storage));
	st = s3_endpoint_build(endpoint, region, url->container, host_style, &s3->ep, err);
	if (st != ARCH_OK)
	{
		arch_free(s3);
		return st;
	}
	arch_store_init(&s3->store, &s3_type, url, arch_config_get(cfg, "s3-ca-file"));
	s3->sigv4 = arch_psprintf("aws:amz:%s:s3", region);
	s3->access_key = arch_strdup(access_key);
	s3->secret_key = arch_strdup(secret_key);
	if (token && token[0])
		s3->token_header = arch_psprintf("x-amz-security-token: %s", token);
	s3->part_size = part_size;
	*state = s3;
	return ARCH_OK;
}

static void
s3_close(void *state)
{
	S3Storage  *s3 = state;

	arch_store_free(&s3->store);
	s3_endpoint_free(&s3->ep);
	arch_free(s3->sigv4);
	arch_free(s3->access_key);
	arch_free_secret(s3->secret_key);
	arch_free_secret(s3->token_header);
	arch_free(s3);
}

/* ---------------------------------------------------------------- write */

/* One request of an upload; "what" names the step for messages */
static ArchStatus
s3_upload_step(S3Writer *w, const char *method, const char *verb,
			   const ArchQuery *q, const char *const *extra, const void *body,
			   size_t len, ArchHttpResponse *resp, ArchError *err)
{
	char	   *what = arch_store_what(&w->s3->store, verb, w->w.name);
	ArchStatus	st;

	st = s3_request(w->s3, method, w->w.key, q, extra, body, len, NULL, NULL, what, resp, err);
	if (st == ARCH_OK && resp->status != 200 && resp->status != 204 &&
		!(resp->status == 412 && w->w.if_absent))
		st = arch_store_fail(&w->s3->store, resp, what, err);
	arch_free(what);
	return st;
}

/* Start the multipart upload: POST ?uploads= gives its id */
static ArchStatus
s3_multipart_begin(S3Writer *w, ArchError *err)
{
	ArchQuery	q = {0};
	const char *extra[] = {w->w.meta_header, NULL};
	ArchHttpResponse resp = {0};
	ArchStatus	st;

	arch_query_add(&q, "uploads", "");
	st = s3_upload_step(w, "POST", "start a multipart upload of", &q, extra, "", 0, &resp, err);
	if (st == ARCH_OK)
	{
		w->upload_id = arch_xml_find(resp.body.data, "UploadId");
		if (w->upload_id == NULL)
			st = arch_error(err, ARCH_FATAL,
							"could not start a multipart upload of \"%s\": no UploadId in the answer",
							w->w.name);
	}
	arch_http_response_free(&resp);
	return st;
}

/* ArchUploadFlush: upload part index + 1, remember its ETag */
static ArchStatus
s3_upload_part(void *arg, int index, const char *data, size_t len,
			   ArchError *err)
{
	S3Writer   *w = arg;
	ArchQuery	q = {0};
	char		number[16];
	ArchHttpResponse resp = {0};
	ArchStatus	st;

	if (index >= S3_MAX_PARTS)
	{
		arch_error(err, ARCH_FATAL, "could not upload \"%s\": more than %d parts",
				   w->w.name, S3_MAX_PARTS);
		return arch_error_detail(err, ARCH_FATAL,
								 "Raise s3-multipart-threshold: S3 takes at most %d parts per object.",
								 S3_MAX_PARTS);
	}
	if (w->upload_id == NULL && (st = s3_multipart_begin(w, err)) != ARCH_OK)
		return st;
	snprintf(number, sizeof(number), "%d", index + 1);
	arch_query_add(&q, "partNumber", number);
	arch_query_add(&q, "uploadId", w->upload_id);
	st = s3_upload_step(w, "PUT", "upload a part of", &q, NULL, data, len, &resp, err);
	if (st == ARCH_OK)
	{
		char	   *etag = arch_http_header(&resp, "ETag");

		if (etag == NULL)
			st = arch_error(err, ARCH_FATAL,
							"could not upload part %s of \"%s\": no ETag in the answer",
							number, w->w.name);
		else
		{
			/* parts may come out of order: the held first one goes last */
			if (index >= w->nparts)
			{
				w->etags = arch_realloc(w->etags, sizeof(char *) * (index + 1));
				memset(w->etags + w->nparts, 0, sizeof(char *) * (index + 1 - w->nparts));
				w->nparts = index + 1;
			}
			arch_free(w->etags[index]);
			w->etags[index] = etag;
		}
	}
	arch_http_response_free(&resp);
	return st;
}

static ArchStatus
s3_write_begin(void *state, const char *name, const ArchWriteOptions *opts,
			   void **writer, ArchError *err)
{
	S3Storage  *s3 = state;
	S3Writer   *w = arch_alloc0(sizeof(S3Writer));

	w->s3 = s3;
	arch_store_writer_init(&w->w, &s3->store, name, opts, s3->part_size, s3_upload_part);
	*writer = w;
	return ARCH_OK;
}

static void
s3_writer_free(S3Writer *w)
{
	for (int i = 0; i < w->nparts; i++)
		arch_free(w->etags[i]);
	arch_free(w->etags);
	arch_free(w->upload_id);
	arch_store_writer_free(&w->w);
	arch_free(w);
}

/*
 * Abort the multipart upload upload_id of key (the bucket's key; name is
 * the object's name, for messages), so its parts do not linger and cost.
 * An upload that is gone already (NoSuchUpload) needs no abort.
 */
static ArchStatus
s3_abort_upload(S3Storage *s3, const char *key, const char *name,
				const char *upload_id, ArchError *err)
{
	char	   *what = arch_store_what(&s3->store, "abort the multipart upload of", name);
	ArchQuery	q = {0};
	ArchHttpResponse resp = {0};
	ArchStatus	st;

	arch_query_add(&q, "uploadId", upload_id);
	st = s3_request(s3, "DELETE", key, &q, NULL, NULL, 0, NULL, NULL, what, &resp, err);
	if (st == ARCH_OK && resp.status != 204 && resp.status != 200 && resp.status != 404)
		st = arch_store_fail(&s3->store, &resp, what, err);
	arch_http_response_free(&resp);
	arch_free(what);
	return st;
}

/* A failed upload: abort it, or leave it to cleanup with a WARNING */
static void
s3_multipart_abort(S3Writer *w)
{
	ArchError	err;

	if (s3_abort_upload(w->s3, w->w.key, w->w.name, w->upload_id, &err) != ARCH_OK)
		arch_log(ARCH_LOG_WARNING, "%s", err.message);
}

/* One PUT of the whole object, refused by the store if the name is taken */
static ArchStatus
s3_put_whole(S3Writer *w, ArchError *err)
{
	const char *extra[3];
	int			n = 0;
	ArchHttpResponse resp = {0};
	ArchStatus	st;

	if (w->w.if_absent)
		extra[n++] = "If-None-Match: *";
	extra[n++] = w->w.meta_header;
	extra[n] = NULL;
	st = s3_upload_step(w, "PUT", "upload", NULL, extra, w->w.up.data, w->w.up.len, &resp, err);
	if (st == ARCH_OK && resp.status == 412)
		st = arch_store_exists(&w->s3->store, w->w.name, err);
	arch_http_response_free(&resp);
	return st;
}

/* Upload the last part (and a held first one); complete the upload */
static ArchStatus
s3_multipart_end(S3Writer *w, ArchError *err)
{
	ArchQuery	q = {0};
	ArchHttpResponse resp = {0};
	char	   *body;
	int			nparts;
	ArchStatus	st;

	st = arch_upload_finish(&w->w.up, &nparts, err);
	if (st != ARCH_OK)
		return st;
	if (nparts != w->nparts)
		return arch_error(err, ARCH_FATAL, "could not upload \"%s\": %d of %d parts sent",
						  w->w.name, w->nparts, nparts);

	/*
	 * Not every S3-compatible store honours If-None-Match on completion, so
	 * look first.  The window between this look and the completion is the
	 * caller's to accept: WAL segments stay below the threshold and go up
	 * in one conditional PUT.
	 */
	if (w->w.if_absent)
	{
		ArchObjectInfo info;
		ArchError	ierr;

		st = arch_store_info(w->s3, w->w.name, &info, &ierr);
		if (st == ARCH_OK)
			return arch_store_exists(&w->s3->store, w->w.name, err);
		if (st != ARCH_NOT_FOUND)
		{
			*err = ierr;
			return st;
		}
	}

	arch_query_add(&q, "uploadId", w->upload_id);
	body = s3_complete_body(w->nparts, w->etags);
	st = s3_upload_step(w, "POST", "complete the multipart upload of", &q, NULL,
						body, strlen(body), &resp, err);
	/* S3 may answer 200 and put the error in the body */
	if (st == ARCH_OK && strstr(resp.body.data ? resp.body.data : "", "<Error>"))
		st = arch_error(err, ARCH_TRANSIENT,
						"could not complete the multipart upload of \"%s\": the store reported an error after accepting it",
						w->w.name);
	arch_http_response_free(&resp);
	arch_free(body);
	return st;
}

static ArchStatus
s3_write_end(void *writer, ArchError *err)
{
	S3Writer   *w = writer;
	ArchStatus	st;

	if (w->w.up.parts_sent == 0)
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

/* ---------------------------------------------------------------- remove */

static ArchStatus
s3_remove(void *state, const char *name, ArchError *err)
{
	ArchObjectInfo info;
	ArchStatus	st;

	/* S3 answers 204 for a missing key too; the contract wants NOT_FOUND */
	st = arch_store_info(state, name, &info, err);
	if (st != ARCH_OK)
		return st;
	return arch_store_delete(state, name, err);
}

/* ---------------------------------------------------------------- cleanup */

/*
 * Abort the unfinished multipart uploads of the repository's keys under
 * prefix that were started at "before" or earlier: what a push or a backup killed
 * mid-upload leaves, billed by the store until aborted.  (The store's
 * lifecycle rule AbortIncompleteMultipartUpload does the same on its side.)
 * Listing and aborting need s3:ListBucketMultipartUploads and
 * s3:AbortMultipartUpload.
 */
static ArchStatus
s3_cleanup(void *state, const char *prefix, time_t before, int *removed,
		   ArchError *err)
{
	S3Storage  *s3 = state;
	const char *repo_prefix = s3->store.prefix;
	/* "prefix/" keeps a repository at db1 away from one at db10 */
	char	   *full = repo_prefix[0] ? arch_psprintf("%s/%s", repo_prefix, prefix) :
		arch_strdup(prefix);
	size_t		strip = repo_prefix[0] ? strlen(repo_prefix) + 1 : 0;
	char	   *what = arch_store_what(&s3->store, "list the multipart uploads under",
									   prefix[0] ? prefix : "/");
	char	   *key_marker = NULL;
	char	   *id_marker = NULL;
	ArchStatus	st;

	*removed = 0;
	do
	{
		ArchQuery	q = {0};
		ArchHttpResponse resp = {0};
		S3Upload   *uploads = NULL;
		int			n = 0;
		char	   *next_key = NULL;
		char	   *next_id = NULL;

		arch_query_add(&q, "uploads", "");
		arch_query_add(&q, "prefix", full);
		if (key_marker)
		{
			arch_query_add(&q, "key-marker", key_marker);
			arch_query_add(&q, "upload-id-marker", id_marker);
		}
		st = s3_request(s3, "GET", "", &q, NULL, NULL, 0, NULL, NULL, what, &resp, err);
		if (st == ARCH_OK && resp.status != 200)
			st = arch_store_fail(&s3->store, &resp, what, err);
		if (st == ARCH_OK)
			st = s3_uploads_parse(resp.body.data, &uploads, &n, &next_key, &next_id, err);
		for (int i = 0; i < n && st == ARCH_OK; i++)
		{
			/* the store filtered by prefix already; never trust that alone */
			if (strncmp(uploads[i].key, full, strlen(full)) != 0 ||
				uploads[i].initiated > before)
				continue;
			st = s3_abort_upload(s3, uploads[i].key, uploads[i].key + strip,
								 uploads[i].upload_id, err);
			if (st == ARCH_OK)
				(*removed)++;
		}
		s3_uploads_free(uploads, n);
		arch_http_response_free(&resp);
		arch_free(key_marker);
		arch_free(id_marker);
		key_marker = next_key;
		id_marker = next_id;
	} while (st == ARCH_OK && key_marker != NULL);

	arch_free(key_marker);
	arch_free(id_marker);
	arch_free(what);
	arch_free(full);
	return st;
}

const ArchStorageDriver arch_storage_s3_driver = {
	.scheme = "s3",
	.settings = s3_settings,
	.open = s3_open,
	.close = s3_close,
	.write_begin = s3_write_begin,
	.write = arch_store_write,
	.write_end = s3_write_end,
	.write_abort = s3_write_abort,
	.write_head = arch_store_write_head,
	.read = arch_store_read,
	.info = arch_store_info,
	.list = arch_store_list,
	.remove = s3_remove,
	.cleanup = s3_cleanup,
};
