/*-------------------------------------------------------------------------
 *
 * storage_azure.c
 *		The azure:// driver: Azure Blob Storage (and Azurite).
 *
 * Requests are authorized with the account key (SharedKey, signed in
 * azure_request.c) or with a SAS token appended to the URL.  Every upload
 * carries Content-MD5, so the service verifies the bytes it stores.
 * Objects up to azure-block-threshold go up in one Put Blob; larger ones
 * as blocks of that size committed by one Put Block List, so no partial
 * blob ever appears under its name (uncommitted blocks expire by
 * themselves).  The plaintext SHA-256 is kept as metadata
 * (x-ms-meta-sha256).
 *
 * The endpoint is https://ACCOUNT.blob.core.windows.net unless
 * AZURE_STORAGE_ENDPOINT says otherwise (Azurite:
 * http://127.0.0.1:10000/devstoreaccount1).  The SAS token is part of
 * every URL, so no URL ever reaches a message.
 *
 * archive_helper/common/storage_azure.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "azure_request.h"
#include "config.h"
#include "http.h"

#define AZ_VERSION "2021-08-06"
#define AZ_META_SHA256 "x-ms-meta-sha256"
#define AZ_MIN_BLOCK (1024 * 1024)

static const ArchSetting az_settings[] = {
	{"azure-account", "AZURE_STORAGE_ACCOUNT", NULL, NULL, false,
	"storage account name"},
	{"azure-key", "AZURE_STORAGE_KEY", NULL, NULL, true,
	"storage account key (base64), for SharedKey authorization"},
	{"azure-sas-token", "AZURE_STORAGE_SAS_TOKEN", NULL, NULL, true,
	"SAS token, used when no account key is set"},
	{"azure-endpoint", "AZURE_STORAGE_ENDPOINT", NULL, NULL, false,
	"blob service URL, e.g. http://127.0.0.1:10000/devstoreaccount1 for Azurite (default: https://ACCOUNT.blob.core.windows.net)"},
	{"azure-ca-file", "DBOPS_ARCHIVE_AZURE_CA_FILE", NULL, NULL, false,
	"CA certificates (PEM) that verify the store's TLS certificate"},
	{"azure-block-threshold", "DBOPS_ARCHIVE_AZURE_BLOCK_THRESHOLD", NULL, "64MB", false,
	"larger objects are uploaded in blocks of this size (at least 1MB)"},
	{NULL}
};

typedef struct AzStorage
{
	ArchHttp   *http;
	const char *url;			/* repository URL, for messages */
	char	   *account;
	char	   *key;			/* base64 account key, or NULL */
	char	   *sas;			/* SAS token without '?', or NULL */
	char	   *origin;			/* "https://host[:port]" */
	char	   *base_path;		/* "" or "/devstoreaccount1" (emulator) */
	char	   *container;
	char	   *prefix;
	size_t		block_size;
} AzStorage;

typedef struct AzWriter
{
	AzStorage  *az;
	char	   *name;
	char	   *key;
	bool		if_absent;
	char	   *meta_header;
	ArchUpload	up;
} AzWriter;

/*
 * az_request
 *
 * Send one request for blob (may be "" for the container), authorized by
 * SharedKey or SAS.  The date, version and Content-MD5 are added here.
 */
static ArchStatus
az_request(AzStorage *az, const char *method, const char *blob,
		   const ArchQuery *query, const char *const *extra,
		   const void *body, size_t len, ArchSink sink, void *arg,
		   const char *what, ArchHttpResponse *resp, ArchError *err)
{
	const char *headers[12];
	int			n = 0;
	char		date[32];
	char	   *date_header;
	char	   *md5_header = NULL;
	char	   *auth = NULL;
	char	   *path;
	char	   *encoded = arch_uri_encode(blob, true);
	char	   *q = (query && query->n) ? arch_query_canonical(query) : arch_strdup("");
	char	   *url;
	bool		has_body = strcmp(method, "PUT") == 0;
	ArchHttpRequest req = {0};
	ArchStatus	st;

	arch_azure_date(time(NULL), date);
	date_header = arch_psprintf("x-ms-date: %s", date);
	headers[n++] = date_header;
	headers[n++] = "x-ms-version: " AZ_VERSION;
	for (int i = 0; extra && extra[i] && n < 8; i++)
		headers[n++] = extra[i];
	if (has_body)
	{
		char		md5[25];
		bool		typed = false;

		/* the service checks the bytes against this before storing them */
		arch_md5_base64(body ? body : "", len, md5);
		md5_header = arch_psprintf("Content-MD5: %s", md5);
		headers[n++] = md5_header;
		/* libcurl would add a form type that the signature did not cover */
		for (int i = 0; extra && extra[i]; i++)
			typed |= strncmp(extra[i], "Content-Type:", 13) == 0;
		if (!typed)
			headers[n++] = "Content-Type: application/octet-stream";
	}

	if (blob[0] != '\0')
		path = arch_psprintf("%s/%s/%s", az->base_path, az->container, encoded);
	else
		path = arch_psprintf("%s/%s", az->base_path, az->container);
	if (az->key)
	{
		char	   *sts;

		headers[n] = NULL;
		sts = arch_azure_string_to_sign(method, headers, has_body ? len : 0,
										az->account, path, query);
		auth = arch_azure_authorization(az->account, az->key, sts);
		arch_free(sts);
		headers[n++] = auth;
	}
	headers[n] = NULL;
	url = arch_psprintf("%s%s%s%s%s%s", az->origin, path,
						(q[0] || az->sas) ? "?" : "", q,
						(q[0] && az->sas) ? "&" : "", az->sas ? az->sas : "");

	req.method = method;
	req.url = url;
	req.headers = headers;
	req.body = body;
	req.body_len = len;
	req.sink = sink;
	req.sink_arg = arg;
	st = arch_http_perform(az->http, &req, what, resp, err);

	/* the URL may hold a SAS token, the Authorization header a signature */
	memset(url, 0, strlen(url));
	arch_free(url);
	arch_free(auth);
	arch_free(path);
	arch_free(q);
	arch_free(encoded);
	arch_free(md5_header);
	arch_free(date_header);
	return st;
}

/* Error for an answer that is not a success, with the service's code */
static ArchStatus
az_fail(const ArchHttpResponse *resp, const char *what, ArchError *err)
{
	ArchStatus	st = arch_http_status_class(resp->status);
	char	   *code = arch_http_header(resp, "x-ms-error-code");

	if (code == NULL)
		code = arch_xml_find(resp->body.data, "Code");
	/* callers handle "no such object" first: a 404 left is a missing container */
	if (st == ARCH_OK || st == ARCH_NOT_FOUND)
		st = ARCH_FATAL;
	arch_error(err, st, "could not %s: HTTP status %ld%s%s%s", what,
			   resp->status, code ? " (" : "", code ? code : "", code ? ")" : "");
	if (resp->status == 401 || resp->status == 403)
		arch_error_detail(err, st,
						  "The store refused the credentials: check AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN.");
	else if (st == ARCH_TRANSIENT)
		arch_error_detail(err, st, "Gave up after %d attempts.", ARCH_HTTP_RETRIES + 1);
	arch_free(code);
	return st;
}

static char *
az_what(AzStorage *az, const char *verb, const char *name)
{
	return arch_psprintf("%s \"%s\" in container \"%s\" of repository \"%s\"",
						 verb, name, az->container, az->url);
}

static ArchStatus
az_not_found(AzStorage *az, const char *name, ArchError *err)
{
	return arch_error(err, ARCH_NOT_FOUND,
					  "object \"%s\" not found in container \"%s\" of repository \"%s\"",
					  name, az->container, az->url);
}

/* ---------------------------------------------------------------- open */

/* Split "scheme://host[:port][/path]" into origin and path */
static ArchStatus
az_split_endpoint(const char *endpoint, char **origin, char **path,
				  ArchError *err)
{
	const char *host = strstr(endpoint, "://");
	const char *slash;
	size_t		plen;

	if (host == NULL || (strncmp(endpoint, "http://", 7) != 0 &&
						 strncmp(endpoint, "https://", 8) != 0) ||
		strpbrk(endpoint, "?#@") != NULL)
	{
		arch_error(err, ARCH_FATAL, "invalid Azure endpoint \"%s\"", endpoint);
		return arch_error_detail(err, ARCH_FATAL,
								 "An endpoint looks like https://ACCOUNT.blob.core.windows.net or http://127.0.0.1:10000/devstoreaccount1.");
	}
	slash = strchr(host + 3, '/');
	if (slash == NULL)
		slash = endpoint + strlen(endpoint);
	*origin = arch_alloc(slash - endpoint + 1);
	memcpy(*origin, endpoint, slash - endpoint);
	(*origin)[slash - endpoint] = '\0';
	plen = strlen(slash);
	while (plen > 0 && slash[plen - 1] == '/')
		plen--;
	*path = arch_alloc(plen + 1);
	memcpy(*path, slash, plen);
	(*path)[plen] = '\0';
	return ARCH_OK;
}

static ArchStatus
az_open(const ArchUrl *url, const ArchConfig *cfg, void **state, ArchError *err)
{
	const char *account = arch_config_get(cfg, "azure-account");
	const char *key = arch_config_get(cfg, "azure-key");
	const char *sas = arch_config_get(cfg, "azure-sas-token");
	const char *endpoint = arch_config_get(cfg, "azure-endpoint");
	char	   *default_endpoint = NULL;
	uint64_t	block_size = 0;
	AzStorage  *az;
	ArchStatus	st;

	if (account == NULL || account[0] == '\0')
	{
		arch_error(err, ARCH_FATAL, "no Azure storage account for repository \"%s\"", url->text);
		return arch_error_detail(err, ARCH_FATAL,
								 "Set AZURE_STORAGE_ACCOUNT, or azure-account in the config file.");
	}
	if ((key == NULL || key[0] == '\0') && (sas == NULL || sas[0] == '\0'))
	{
		arch_error(err, ARCH_FATAL, "no Azure credentials for repository \"%s\"", url->text);
		return arch_error_detail(err, ARCH_FATAL,
								 "Set AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN.");
	}
	st = arch_config_get_size(cfg, "azure-block-threshold", &block_size, err);
	if (st != ARCH_OK)
		return st;
	if (block_size < AZ_MIN_BLOCK)
		return arch_error(err, ARCH_FATAL,
						  "setting \"azure-block-threshold\" must be at least 1MB");

	az = arch_alloc0(sizeof(AzStorage));
	if (endpoint == NULL || endpoint[0] == '\0')
		endpoint = default_endpoint =
			arch_psprintf("https://%s.blob.core.windows.net", account);
	st = az_split_endpoint(endpoint, &az->origin, &az->base_path, err);
	arch_free(default_endpoint);
	if (st != ARCH_OK)
	{
		arch_free(az);
		return st;
	}
	az->url = url->text;
	az->account = arch_strdup(account);
	if (key && key[0])
		az->key = arch_strdup(key);
	else
		az->sas = arch_strdup(sas[0] == '?' ? sas + 1 : sas);
	az->container = arch_strdup(url->container);
	az->prefix = arch_strdup(url->prefix);
	az->block_size = block_size;
	az->http = arch_http_new(arch_config_get(cfg, "azure-ca-file"));
	*state = az;
	return ARCH_OK;
}

/* Overwrite a secret before freeing it */
static void
az_free_secret(char *s)
{
	if (s)
		memset(s, 0, strlen(s));
	arch_free(s);
}

static void
az_close(void *state)
{
	AzStorage  *az = state;

	arch_http_free(az->http);
	arch_free(az->account);
	az_free_secret(az->key);
	az_free_secret(az->sas);
	arch_free(az->origin);
	arch_free(az->base_path);
	arch_free(az->container);
	arch_free(az->prefix);
	arch_free(az);
}

/* ---------------------------------------------------------------- write */

/* ArchUploadFlush: Put Block number parts_sent */
static ArchStatus
az_put_block(void *arg, const char *data, size_t len, ArchError *err)
{
	AzWriter   *w = arg;
	ArchQuery	q = {0};
	char	   *id = arch_azure_block_id(w->up.parts_sent);
	char	   *what = az_what(w->az, "upload a block of", w->name);
	ArchHttpResponse resp = {0};
	ArchStatus	st;

	arch_query_add(&q, "blockid", id);
	arch_query_add(&q, "comp", "block");
	st = az_request(w->az, "PUT", w->key, &q, NULL, data, len, NULL, NULL, what, &resp, err);
	if (st == ARCH_OK && resp.status != 201)
		st = az_fail(&resp, what, err);
	arch_http_response_free(&resp);
	arch_free(what);
	arch_free(id);
	return st;
}

static ArchStatus
az_write_begin(void *state, const char *name, const ArchWriteOptions *opts,
			   void **writer, ArchError *err)
{
	AzStorage  *az = state;
	AzWriter   *w = arch_alloc0(sizeof(AzWriter));

	w->az = az;
	w->name = arch_strdup(name);
	w->key = arch_object_key(az->prefix, name);
	w->if_absent = opts && opts->if_absent;
	if (opts && opts->sha256)
		w->meta_header = arch_psprintf(AZ_META_SHA256 ": %s", opts->sha256);
	arch_upload_init(&w->up, az->block_size, az_put_block, w);
	*writer = w;
	return ARCH_OK;
}

static ArchStatus
az_write(void *writer, const void *data, size_t len, ArchError *err)
{
	AzWriter   *w = writer;

	return arch_upload_write(&w->up, data, len, err);
}

static void
az_writer_free(AzWriter *w)
{
	arch_upload_free(&w->up);
	arch_free(w->meta_header);
	arch_free(w->key);
	arch_free(w->name);
	arch_free(w);
}

/*
 * Put Blob of the whole buffer, or Put Block of the last block and Put
 * Block List.  Both carry the metadata and, for if-absent, If-None-Match.
 */
static ArchStatus
az_write_end(void *writer, ArchError *err)
{
	AzWriter   *w = writer;
	AzStorage  *az = w->az;
	const char *extra[5];
	int			n = 0;
	ArchQuery	q = {0};
	char	   *list_body = NULL;
	char	   *what = az_what(az, "upload", w->name);
	ArchHttpResponse resp = {0};
	ArchStatus	st = ARCH_OK;

	if (w->up.parts_sent > 0)
	{
		st = az_put_block(w, w->up.data, w->up.len, err);
		w->up.parts_sent++;
		list_body = arch_azure_block_list_body(w->up.parts_sent);
		extra[n++] = "Content-Type: application/xml";
		arch_query_add(&q, "comp", "blocklist");
	}
	else
		extra[n++] = "x-ms-blob-type: BlockBlob";
	if (w->if_absent)
		extra[n++] = "If-None-Match: *";
	if (w->meta_header)
		extra[n++] = w->meta_header;
	extra[n] = NULL;

	if (st == ARCH_OK)
	{
		if (list_body)
			st = az_request(az, "PUT", w->key, &q, extra, list_body, strlen(list_body),
							NULL, NULL, what, &resp, err);
		else
			st = az_request(az, "PUT", w->key, NULL, extra, w->up.data, w->up.len,
							NULL, NULL, what, &resp, err);
	}
	/* an existing blob: 409 BlobAlreadyExists or 412 ConditionNotMet */
	if (st == ARCH_OK && w->if_absent && (resp.status == 409 || resp.status == 412))
		st = arch_error(err, ARCH_EXISTS, "object \"%s\" already exists in container \"%s\" of repository \"%s\"",
						w->name, az->container, az->url);
	else if (st == ARCH_OK && resp.status != 201)
		st = az_fail(&resp, what, err);
	arch_http_response_free(&resp);
	arch_free(list_body);
	arch_free(what);
	az_writer_free(w);
	return st;
}

/* Blocks never committed expire on their own: nothing to undo */
static void
az_write_abort(void *writer)
{
	az_writer_free(writer);
}

/* ---------------------------------------------------------------- read */

static ArchStatus
az_read(void *state, const char *name, uint64_t limit, ArchSink sink,
		void *arg, ArchError *err)
{
	AzStorage  *az = state;
	char	   *key = arch_object_key(az->prefix, name);
	char	   *what = az_what(az, "download", name);
	char	   *range = NULL;
	const char *extra[2] = {NULL, NULL};
	ArchHttpResponse resp = {0};
	ArchStatus	st;

	if (limit > 0)
	{
		range = arch_psprintf("x-ms-range: bytes=0-%llu", (unsigned long long) limit - 1);
		extra[0] = range;
	}
	st = az_request(az, "GET", key, NULL, extra, NULL, 0, sink, arg, what, &resp, err);
	if (st == ARCH_OK && resp.status == 404)
		st = az_not_found(az, name, err);
	else if (st == ARCH_OK && resp.status != 200 && resp.status != 206)
		st = az_fail(&resp, what, err);
	arch_http_response_free(&resp);
	arch_free(range);
	arch_free(what);
	arch_free(key);
	return st;
}

static ArchStatus
az_info(void *state, const char *name, ArchObjectInfo *info, ArchError *err)
{
	AzStorage  *az = state;
	char	   *key = arch_object_key(az->prefix, name);
	char	   *what = az_what(az, "look up", name);
	ArchHttpResponse resp = {0};
	ArchStatus	st;

	memset(info, 0, sizeof(ArchObjectInfo));
	st = az_request(az, "HEAD", key, NULL, NULL, NULL, 0, NULL, NULL, what, &resp, err);
	if (st == ARCH_OK && resp.status == 404)
		st = az_not_found(az, name, err);
	else if (st == ARCH_OK && resp.status != 200)
		st = az_fail(&resp, what, err);
	if (st == ARCH_OK)
	{
		char	   *length = arch_http_header(&resp, "Content-Length");
		char	   *sha = arch_http_header(&resp, AZ_META_SHA256);

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
az_list(void *state, const char *prefix, ArchListCallback callback,
		void *arg, ArchError *err)
{
	AzStorage  *az = state;
	char	   *full = arch_object_key(az->prefix, prefix);
	char	   *strip = az->prefix[0] ? arch_psprintf("%s/", az->prefix) : arch_strdup("");
	char	   *what = arch_psprintf("list \"%s\" in container \"%s\" of repository \"%s\"",
									 prefix, az->container, az->url);
	char	   *marker = NULL;
	ArchStatus	st;

	do
	{
		ArchQuery	q = {0};
		ArchHttpResponse resp = {0};

		arch_query_add(&q, "comp", "list");
		if (marker)
			arch_query_add(&q, "marker", marker);
		arch_query_add(&q, "prefix", full);
		arch_query_add(&q, "restype", "container");
		st = az_request(az, "GET", "", &q, NULL, NULL, 0, NULL, NULL, what, &resp, err);
		if (st == ARCH_OK && resp.status != 200)
			st = az_fail(&resp, what, err);
		if (st == ARCH_OK)
			st = arch_xml_list(resp.body.data, "Blob", "Name", "Content-Length", strip,
							   callback, arg, err);
		arch_free(marker);
		marker = NULL;
		/* the last page has an empty <NextMarker />, which finds nothing */
		if (st == ARCH_OK)
		{
			marker = arch_xml_find(resp.body.data, "NextMarker");
			if (marker && marker[0] == '\0')
			{
				arch_free(marker);
				marker = NULL;
			}
		}
		arch_http_response_free(&resp);
	} while (st == ARCH_OK && marker != NULL);

	arch_free(marker);
	arch_free(what);
	arch_free(strip);
	arch_free(full);
	return st;
}

/* ---------------------------------------------------------------- remove */

static ArchStatus
az_remove(void *state, const char *name, ArchError *err)
{
	AzStorage  *az = state;
	char	   *key = arch_object_key(az->prefix, name);
	char	   *what = az_what(az, "delete", name);
	ArchHttpResponse resp = {0};
	ArchStatus	st;

	st = az_request(az, "DELETE", key, NULL, NULL, NULL, 0, NULL, NULL, what, &resp, err);
	if (st == ARCH_OK && resp.status == 404)
		st = az_not_found(az, name, err);
	else if (st == ARCH_OK && resp.status != 202)
		st = az_fail(&resp, what, err);
	arch_http_response_free(&resp);
	arch_free(what);
	arch_free(key);
	return st;
}

const ArchStorageDriver arch_storage_azure_driver = {
	.scheme = "azure",
	.settings = az_settings,
	.open = az_open,
	.close = az_close,
	.write_begin = az_write_begin,
	.write = az_write,
	.write_end = az_write_end,
	.write_abort = az_write_abort,
	.read = az_read,
	.info = az_info,
	.list = az_list,
	.remove = az_remove,
};
