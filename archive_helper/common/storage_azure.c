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
#include "http_store.h"

#define AZ_VERSION "2021-08-06"
/*
 * Azure's limits on blocks (version 2019-12-12 and later); smaller blocks
 * than 1 MB would only multiply requests.
 */
#define AZ_MIN_BLOCK ((uint64_t) 1024 * 1024)
#define AZ_MAX_BLOCK ((uint64_t) 4000 * 1024 * 1024)
#define AZ_MAX_BLOCKS 50000

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
	ArchHttpStore store;		/* first: the shared operations use it */
	char	   *account;
	char	   *key;			/* base64 account key, or NULL */
	char	   *sas;			/* SAS token without '?', or NULL */
	char	   *origin;			/* "https://host[:port]" */
	char	   *base_path;		/* "" or "/devstoreaccount1" (emulator) */
	size_t		block_size;
} AzStorage;

typedef struct AzWriter
{
	ArchHttpWriter w;			/* first: arch_store_write uses it */
	AzStorage  *az;
} AzWriter;

/*
 * az_request
 *
 * Send one request for blob (may be "" for the container), authorized by
 * SharedKey or SAS.  The date, version and Content-MD5 are added here.
 */
static ArchStatus
az_request(void *state, const char *method, const char *blob,
		   const ArchQuery *query, const char *const *extra,
		   const void *body, size_t len, ArchSink sink, void *arg,
		   const char *what, ArchHttpResponse *resp, ArchError *err)
{
	AzStorage  *az = state;
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
		path = arch_psprintf("%s/%s/%s", az->base_path, az->store.container, encoded);
	else
		path = arch_psprintf("%s/%s", az->base_path, az->store.container);
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
	st = arch_http_perform(az->store.http, &req, what, resp, err);

	/* the URL may hold a SAS token, the Authorization header a signature */
	arch_free_secret(url);
	arch_free_secret(auth);
	arch_free(path);
	arch_free(q);
	arch_free(encoded);
	arch_free(md5_header);
	arch_free(date_header);
	return st;
}

/* What the shared operations need to know about Azure (List Blobs) */
static const ArchHttpStoreType az_type = {
	.request = az_request,
	.kind = "container",
	.meta_sha256 = "x-ms-meta-sha256",
	.object_missing_code = "BlobNotFound",
	.container_missing_code = "ContainerNotFound",
	.credentials_hint = "The store refused the credentials: check AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN.",
	.list_param = {"comp", "restype"},
	.list_value = {"list", "container"},
	.list_token_param = "marker",
	.list_next_tag = "NextMarker",
	.list_item_tag = "Blob",
	.list_name_tag = "Name",
	.list_size_tag = "Content-Length",
};

/* ---------------------------------------------------------------- open */

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
	if (block_size < AZ_MIN_BLOCK || block_size > AZ_MAX_BLOCK)
	{
		arch_error(err, ARCH_FATAL,
				   "setting \"azure-block-threshold\" must be between 1MB and 4000MB");
		return arch_error_detail(err, ARCH_FATAL,
								 "Azure accepts blocks of up to 4000 MiB.");
	}

	az = arch_alloc0(sizeof(AzStorage));
	if (endpoint == NULL || endpoint[0] == '\0')
		endpoint = default_endpoint =
			arch_psprintf("https://%s.blob.core.windows.net", account);
	st = arch_endpoint_parse("azure-endpoint", endpoint, true, &az->origin,
							 &az->base_path, err);
	arch_free(default_endpoint);
	if (st != ARCH_OK)
	{
		arch_free(az);
		return st;
	}
	arch_store_init(&az->store, &az_type, url, arch_config_get(cfg, "azure-ca-file"));
	az->account = arch_strdup(account);
	if (key && key[0])
		az->key = arch_strdup(key);
	else
		az->sas = arch_strdup(sas[0] == '?' ? sas + 1 : sas);
	az->block_size = block_size;
	*state = az;
	return ARCH_OK;
}

static void
az_close(void *state)
{
	AzStorage  *az = state;

	arch_store_free(&az->store);
	arch_free(az->account);
	arch_free_secret(az->key);
	arch_free_secret(az->sas);
	arch_free(az->origin);
	arch_free(az->base_path);
	arch_free(az);
}

/* ---------------------------------------------------------------- write */

/* ArchUploadFlush: Put Block number index */
static ArchStatus
az_put_block(void *arg, int index, const char *data, size_t len,
			 ArchError *err)
{
	AzWriter   *w = arg;
	ArchQuery	q = {0};
	char	   *id;
	char	   *what;
	ArchHttpResponse resp = {0};
	ArchStatus	st;

	if (index >= AZ_MAX_BLOCKS)
	{
		arch_error(err, ARCH_FATAL, "could not upload \"%s\": more than %d blocks",
				   w->w.name, AZ_MAX_BLOCKS);
		return arch_error_detail(err, ARCH_FATAL,
								 "Raise azure-block-threshold: a blob holds at most %d blocks.",
								 AZ_MAX_BLOCKS);
	}
	id = arch_azure_block_id(index);
	what = arch_store_what(&w->az->store, "upload a block of", w->w.name);
	arch_query_add(&q, "blockid", id);
	arch_query_add(&q, "comp", "block");
	st = az_request(w->az, "PUT", w->w.key, &q, NULL, data, len, NULL, NULL, what, &resp, err);
	if (st == ARCH_OK && resp.status != 201)
		st = arch_store_fail(&w->az->store, &resp, what, err);
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
	arch_store_writer_init(&w->w, &az->store, name, opts, az->block_size, az_put_block);
	*writer = w;
	return ARCH_OK;
}

static void
az_writer_free(AzWriter *w)
{
	arch_store_writer_free(&w->w);
	arch_free(w);
}

/*
 * Put Blob of the whole buffer, or Put Block of the last block (and of a
 * held first one) and Put Block List.  Both carry the metadata and, for if-absent, If-None-Match.
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
	char	   *what = arch_store_what(&az->store, "upload", w->w.name);
	ArchHttpResponse resp = {0};
	ArchStatus	st = ARCH_OK;

	if (w->w.up.parts_sent > 0)
	{
		int			nblocks;

		st = arch_upload_finish(&w->w.up, &nblocks, err);
		list_body = arch_azure_block_list_body(nblocks);
		extra[n++] = "Content-Type: application/xml";
		arch_query_add(&q, "comp", "blocklist");
	}
	else
		extra[n++] = "x-ms-blob-type: BlockBlob";
	if (w->w.if_absent)
		extra[n++] = "If-None-Match: *";
	if (w->w.meta_header)
		extra[n++] = w->w.meta_header;
	extra[n] = NULL;

	if (st == ARCH_OK && list_body)
		st = az_request(az, "PUT", w->w.key, &q, extra, list_body, strlen(list_body),
						NULL, NULL, what, &resp, err);
	else if (st == ARCH_OK)
		st = az_request(az, "PUT", w->w.key, NULL, extra, w->w.up.data, w->w.up.len,
						NULL, NULL, what, &resp, err);
	/* an existing blob: 409 BlobAlreadyExists or 412 ConditionNotMet */
	if (st == ARCH_OK && w->w.if_absent && (resp.status == 409 || resp.status == 412))
		st = arch_store_exists(&az->store, w->w.name, err);
	else if (st == ARCH_OK && resp.status != 201)
		st = arch_store_fail(&az->store, &resp, what, err);
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

const ArchStorageDriver arch_storage_azure_driver = {
	.scheme = "azure",
	.settings = az_settings,
	.open = az_open,
	.close = az_close,
	.write_begin = az_write_begin,
	.write = arch_store_write,
	.write_end = az_write_end,
	.write_abort = az_write_abort,
	.write_head = arch_store_write_head,
	.read = arch_store_read,
	.info = arch_store_info,
	.list = arch_store_list,
	.remove = arch_store_delete,
	/* uncommitted blocks expire by themselves (after seven days) */
	.cleanup = NULL,
};
