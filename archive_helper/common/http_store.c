/*-------------------------------------------------------------------------
 *
 * http_store.c
 *		Object operations shared by the S3 and Azure drivers (see
 *		http_store.h): read, look up, list, delete, buffered writes and
 *		the wording of their errors.
 *
 * archive_helper/common/http_store.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_store.h"

char *
arch_store_what(const ArchHttpStore *store, const char *verb, const char *name)
{
	return arch_psprintf("%s \"%s\" in %s \"%s\" of repository \"%s\"",
						 verb, name, store->type->kind, store->container, store->url);
}

char *
arch_store_error_code(const ArchHttpResponse *resp)
{
	/* Azure names its error in a header (also for HEAD); S3 in the body */
	char	   *code = arch_http_header(resp, "x-ms-error-code");

	return code ? code : arch_xml_find(resp->body.data, "Code");
}

/* "bucket "B" of repository "U" does not exist", fatal */
static ArchStatus
arch_store_no_container(const ArchHttpStore *store, const char *code,
						ArchError *err)
{
	arch_error(err, ARCH_FATAL, "%s \"%s\" of repository \"%s\" does not exist",
			   store->type->kind, store->container, store->url);
	return arch_error_detail(err, ARCH_FATAL,
							 "The store answered HTTP status 404 (%s). Create the %s or correct the repository URL: a missing %s is never taken for a missing file.",
							 code, store->type->kind, store->type->kind);
}

ArchStatus
arch_store_fail(const ArchHttpStore *store, const ArchHttpResponse *resp,
				const char *what, ArchError *err)
{
	ArchStatus	st = arch_http_status_class(resp->status);
	char	   *code = arch_store_error_code(resp);

	if (resp->status == 404 && code &&
		strcmp(code, store->type->container_missing_code) == 0)
	{
		st = arch_store_no_container(store, code, err);
		arch_free(code);
		return st;
	}
	/* a 2xx the caller could not use, or a 404 that is no missing object */
	if (st == ARCH_OK || st == ARCH_NOT_FOUND)
		st = ARCH_FATAL;
	arch_error(err, st, "could not %s: HTTP status %ld%s%s%s", what,
			   resp->status, code ? " (" : "", code ? code : "", code ? ")" : "");
	if (resp->status == 401 || resp->status == 403)
		arch_error_detail(err, st, "%s", store->type->credentials_hint);
	else if (resp->status == 404)
		arch_error_detail(err, st, "The answer did not say that the object does not exist (%s), so it is not taken for a missing file; check the endpoint.",
						  store->type->object_missing_code);
	else if (st == ARCH_TRANSIENT)
		arch_error_detail(err, st, "Gave up after %d attempts.", ARCH_HTTP_RETRIES + 1);
	arch_free(code);
	return st;
}

ArchStatus
arch_store_missing(const ArchHttpStore *store, const ArchHttpResponse *resp,
				   const char *name, const char *what, ArchError *err)
{
	char	   *code = arch_store_error_code(resp);
	bool		object_missing = code &&
		strcmp(code, store->type->object_missing_code) == 0;

	arch_free(code);
	if (!object_missing)
		return arch_store_fail(store, resp, what, err);
	return arch_error(err, ARCH_NOT_FOUND,
					  "object \"%s\" not found in %s \"%s\" of repository \"%s\"",
					  name, store->type->kind, store->container, store->url);
}

ArchStatus
arch_store_exists(const ArchHttpStore *store, const char *name, ArchError *err)
{
	return arch_error(err, ARCH_EXISTS,
					  "object \"%s\" already exists in %s \"%s\" of repository \"%s\"",
					  name, store->type->kind, store->container, store->url);
}

ArchStatus
arch_store_read(void *state, const char *name, uint64_t limit, ArchSink sink,
				void *arg, ArchError *err)
{
	ArchHttpStore *store = state;
	char	   *key = arch_object_key(store->prefix, name);
	char	   *what = arch_store_what(store, "download", name);
	char	   *range = NULL;
	const char *extra[2] = {NULL, NULL};
	ArchHttpResponse resp = {0};
	ArchStatus	st;

	if (limit > 0)
	{
		range = arch_psprintf("Range: bytes=0-%llu", (unsigned long long) limit - 1);
		extra[0] = range;
	}
	st = store->type->request(state, "GET", key, NULL, extra, NULL, 0, sink, arg, what, &resp, err);
	if (st == ARCH_OK && resp.status == 404)
		st = arch_store_missing(store, &resp, name, what, err);
	else if (st == ARCH_OK && resp.status != 200 && resp.status != 206)
		st = arch_store_fail(store, &resp, what, err);
	arch_http_response_free(&resp);
	arch_free(range);
	arch_free(what);
	arch_free(key);
	return st;
}

/* ArchSink of a lookup: the one byte asked for is not needed */
static ArchStatus
arch_store_discard(void *arg, const void *data, size_t len, ArchError *err)
{
	return ARCH_OK;
}

ArchStatus
arch_store_info(void *state, const char *name, ArchObjectInfo *info,
				ArchError *err)
{
	ArchHttpStore *store = state;
	char	   *key = arch_object_key(store->prefix, name);
	char	   *what = arch_store_what(store, "look up", name);
	const char *extra[] = {"Range: bytes=0-0", NULL};
	ArchHttpResponse resp = {0};
	ArchStatus	st;

	memset(info, 0, sizeof(ArchObjectInfo));
	st = store->type->request(state, "GET", key, NULL, extra, NULL, 0,
							  arch_store_discard, NULL, what, &resp, err);
	if (st == ARCH_OK && resp.status == 404)
		st = arch_store_missing(store, &resp, name, what, err);
	else if (st == ARCH_OK && resp.status != 200 && resp.status != 206)
		st = arch_store_fail(store, &resp, what, err);
	if (st == ARCH_OK)
	{
		/* 206: "Content-Range: bytes 0-0/SIZE"; a store ignoring Range: 200 */
		char	   *range = arch_http_header(&resp, "Content-Range");
		char	   *length = arch_http_header(&resp, "Content-Length");
		char	   *total = range ? strchr(range, '/') : NULL;

		if (resp.status == 206)
			info->size = total ? strtoull(total + 1, NULL, 10) : 0;
		else
			info->size = length ? strtoull(length, NULL, 10) : 0;
		arch_free(range);
		arch_free(length);
	}
	arch_http_response_free(&resp);
	arch_free(what);
	arch_free(key);
	return st;
}

/*
 * arch_store_list
 *
 * Page through the listing: each answer names the token of the next page
 * (S3: NextContinuationToken, Azure: NextMarker); the last page has none,
 * or an empty one.
 */
ArchStatus
arch_store_list(void *state, const char *prefix, ArchListCallback callback,
				void *arg, ArchError *err)
{
	ArchHttpStore *store = state;
	char	   *full = arch_object_key(store->prefix, prefix);
	char	   *strip = store->prefix[0] ? arch_psprintf("%s/", store->prefix) : arch_strdup("");
	char	   *what = arch_store_what(store, "list", prefix);
	char	   *token = NULL;
	ArchStatus	st;

	do
	{
		ArchQuery	q = {0};
		ArchHttpResponse resp = {0};

		for (int i = 0; i < 2 && store->type->list_param[i]; i++)
			arch_query_add(&q, store->type->list_param[i], store->type->list_value[i]);
		arch_query_add(&q, "prefix", full);
		if (token)
			arch_query_add(&q, store->type->list_token_param, token);
		st = store->type->request(state, "GET", "", &q, NULL, NULL, 0, NULL, NULL, what, &resp, err);
		if (st == ARCH_OK && resp.status != 200)
			st = arch_store_fail(store, &resp, what, err);
		if (st == ARCH_OK)
			st = arch_xml_list(resp.body.data, store->type->list_item_tag,
							   store->type->list_name_tag, store->type->list_size_tag,
							   strip, callback, arg, err);
		arch_free(token);
		token = NULL;
		if (st == ARCH_OK)
		{
			token = arch_xml_find(resp.body.data, store->type->list_next_tag);
			if (token && token[0] == '\0')
			{
				arch_free(token);
				token = NULL;
			}
		}
		arch_http_response_free(&resp);
	} while (st == ARCH_OK && token != NULL);

	arch_free(token);
	arch_free(what);
	arch_free(strip);
	arch_free(full);
	return st;
}

ArchStatus
arch_store_delete(void *state, const char *name, ArchError *err)
{
	ArchHttpStore *store = state;
	char	   *key = arch_object_key(store->prefix, name);
	char	   *what = arch_store_what(store, "delete", name);
	ArchHttpResponse resp = {0};
	ArchStatus	st;

	st = store->type->request(state, "DELETE", key, NULL, NULL, NULL, 0, NULL, NULL, what, &resp, err);
	if (st == ARCH_OK && resp.status == 404)
		st = arch_store_missing(store, &resp, name, what, err);
	else if (st == ARCH_OK && (resp.status < 200 || resp.status > 299))
		st = arch_store_fail(store, &resp, what, err);
	arch_http_response_free(&resp);
	arch_free(what);
	arch_free(key);
	return st;
}

void
arch_store_writer_init(ArchHttpWriter *w, ArchHttpStore *store,
					   const char *name, const ArchWriteOptions *opts,
					   size_t part_size, ArchUploadFlush flush)
{
	w->store = store;
	w->name = arch_strdup(name);
	w->key = arch_object_key(store->prefix, name);
	w->if_absent = opts && opts->if_absent;
	w->meta_header = (opts && opts->sha256) ?
		arch_psprintf("%s: %s", store->type->meta_sha256, opts->sha256) : NULL;
	/* the flush callback gets the driver's writer, which starts with w */
	arch_upload_init(&w->up, part_size, opts && opts->head_len > 0, flush, w);
}

ArchStatus
arch_store_write(void *writer, const void *data, size_t len, ArchError *err)
{
	ArchHttpWriter *w = writer;

	return arch_upload_write(&w->up, data, len, err);
}

ArchStatus
arch_store_write_head(void *writer, const void *data, size_t len,
					  const char *sha256, ArchError *err)
{
	ArchHttpWriter *w = writer;

	/* one upload at the end: it can still carry the digest as metadata */
	if (sha256 && w->meta_header == NULL && w->up.parts_sent == 0)
		w->meta_header = arch_psprintf("%s: %s", w->store->type->meta_sha256, sha256);

	if (!arch_upload_head(&w->up, data, len))
		return arch_error(err, ARCH_FATAL,
						  "cannot rewrite the start of \"%s\": it was uploaded already",
						  w->name);
	return ARCH_OK;
}

void
arch_store_writer_free(ArchHttpWriter *w)
{
	arch_upload_free(&w->up);
	arch_free(w->meta_header);
	arch_free(w->key);
	arch_free(w->name);
}

void
arch_store_init(ArchHttpStore *store, const ArchHttpStoreType *type,
				const ArchUrl *url, const char *ca_file)
{
	store->type = type;
	store->http = arch_http_new(ca_file);
	store->url = url->text;
	store->container = arch_strdup(url->container);
	store->prefix = arch_strdup(url->prefix);
}

void
arch_store_free(ArchHttpStore *store)
{
	arch_http_free(store->http);
	arch_free(store->container);
	arch_free(store->prefix);
}
