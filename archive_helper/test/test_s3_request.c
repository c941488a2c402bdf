/*-------------------------------------------------------------------------
 *
 * test_s3_request.c
 *		Unit tests (TAP) of what the S3 driver sends and parses: URI
 *		encoding, canonical queries, path and virtual-host URLs, the
 *		multipart completion body, listing answers, status classes, upload
 *		buffering, and the shared object operations (paging, error wording)
 *		driven by a scripted request function instead of a network.
 *
 * libcurl signs exactly the URL it is given, so a wrong byte here is a
 * SignatureDoesNotMatch from the store: these pin the bytes.  The live
 * behaviour is tested against Ceph RGW in test/t/06x_*.pl.
 *
 * archive_helper/test/test_s3_request.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "http_store.h"
#include "s3_request.h"
#include "tap.h"

/* tap_is_str, then free the string under test */
static void
is_str(char *got, const char *want, const char *name)
{
	tap_is_str(got, want, name);
	arch_free(got);
}

static void
test_encoding(void)
{
	ArchQuery	q = {0};
	ArchQuery	uploads = {0};

	is_str(arch_uri_encode("wal/0001 a+b~_.-", true), "wal/0001%20a%2Bb~_.-",
		   "URI encoding keeps unreserved characters and slashes in paths");
	is_str(arch_uri_encode("wal/x=y", false), "wal%2Fx%3Dy",
		   "URI encoding of a query value encodes slashes");

	/* added out of order, as the driver does */
	arch_query_add(&q, "prefix", "wal/0000000100000000");
	arch_query_add(&q, "list-type", "2");
	arch_query_add(&q, "continuation-token", "1/a=b+c");
	is_str(arch_query_canonical(&q),
		   "continuation-token=1%2Fa%3Db%2Bc&list-type=2&prefix=wal%2F0000000100000000",
		   "canonical query: sorted by name, values RFC 3986 encoded");
	arch_query_add(&uploads, "uploads", "");
	is_str(arch_query_canonical(&uploads), "uploads=",
		   "a parameter without value is written \"name=\"");
	is_str(arch_object_key("", "wal/x"), "wal/x", "key without repository prefix");
	is_str(arch_object_key("db1/prod", "wal/x"), "db1/prod/wal/x", "key under a repository prefix");
}

static void
test_urls(void)
{
	S3Endpoint	ep;
	ArchError	err;
	ArchQuery	q = {0};

	arch_query_add(&q, "prefix", "p/");
	arch_query_add(&q, "list-type", "2");

	tap_ok(s3_endpoint_build("http://127.0.0.1:7480/", "us-east-1", "walbucket", false, &ep, &err) == ARCH_OK,
	   "path-style endpoint builds");
	is_str(s3_url(&ep, "db/wal/000000010000000000000003", NULL),
		   "http://127.0.0.1:7480/walbucket/db/wal/000000010000000000000003",
		   "path-style object URL");
	is_str(s3_url(&ep, "", &q), "http://127.0.0.1:7480/walbucket?list-type=2&prefix=p%2F",
		   "path-style bucket URL with a canonical query");
	s3_endpoint_free(&ep);

	tap_ok(s3_endpoint_build(NULL, "eu-west-1", "walbucket", true, &ep, &err) == ARCH_OK,
	   "virtual-host endpoint on AWS builds");
	is_str(s3_url(&ep, "a b", NULL), "https://walbucket.s3.eu-west-1.amazonaws.com/a%20b",
		   "virtual-host object URL on AWS, key encoded");
	is_str(s3_url(&ep, "", &q), "https://walbucket.s3.eu-west-1.amazonaws.com/?list-type=2&prefix=p%2F",
		   "virtual-host bucket URL");
	s3_endpoint_free(&ep);

	tap_ok(s3_endpoint_build("http://localhost:7480", "us-east-1", "walbucket", true, &ep, &err) == ARCH_OK,
	   "virtual-host endpoint with an endpoint URL builds");
	is_str(s3_url(&ep, "x", NULL), "http://walbucket.localhost:7480/x",
		   "virtual-host URL puts the bucket before the endpoint's host");
	s3_endpoint_free(&ep);

	tap_ok(s3_endpoint_build("ftp://host", "us-east-1", "b", false, &ep, &err) == ARCH_FATAL &&
	   strstr(err.message, "invalid endpoint URL \"ftp://host\"") != NULL,
	   "an endpoint that is not http(s) is refused");
	tap_ok(s3_endpoint_build("http://host/path", "us-east-1", "b", false, &ep, &err) == ARCH_FATAL,
	   "an endpoint with a path is refused");
}

static void
test_bodies(void)
{
	char	   *etags[] = {"\"0cc175b9c0f1b6a831c399e269772661-1\"", "\"92eb5ffee6ae2fec3ad71c777531578f\""};

	is_str(s3_complete_body(2, etags),
		   "<CompleteMultipartUpload>"
		   "<Part><PartNumber>1</PartNumber><ETag>&quot;0cc175b9c0f1b6a831c399e269772661-1&quot;</ETag></Part>"
		   "<Part><PartNumber>2</PartNumber><ETag>&quot;92eb5ffee6ae2fec3ad71c777531578f&quot;</ETag></Part>"
		   "</CompleteMultipartUpload>",
		   "CompleteMultipartUpload body numbers parts from 1 and escapes ETags");
	is_str(arch_xml_escape("a&b<c>\"'"), "a&amp;b&lt;c&gt;&quot;&apos;", "XML escaping");
}

/* Listing callback: append "name=size;" */
static ArchStatus
collect(void *arg, const char *name, uint64_t size, ArchError *err)
{
	arch_buf_appendf(arg, "%s=%llu;", name, (unsigned long long) size);
	return ARCH_OK;
}

static void
test_listing(void)
{
	const char *page =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
		"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		"<Name>walbucket</Name><Prefix>db/wal/</Prefix><KeyCount>3</KeyCount><MaxKeys>3</MaxKeys>"
		"<IsTruncated>true</IsTruncated>"
		"<Contents><Key>db/wal/000000010000000000000001</Key><LastModified>2026-11-23T07:00:00.000Z</LastModified>"
		"<ETag>&quot;x&quot;</ETag><Size>16777216</Size><StorageClass>STANDARD</StorageClass></Contents>"
		"<Contents><Key>db/wal/a&amp;b</Key><Size>0</Size></Contents>"
		"<Contents><Key>other/z</Key><Size>5</Size></Contents>"
		"<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
		"</ListBucketResult>";
	ArchBuf		got = {0};
	ArchError	err;

	arch_buf_append(&got, "", 0);
	tap_ok(arch_xml_list(page, "Contents", "Key", "Size", "db/", collect, &got, &err) == ARCH_OK,
	   "ListObjectsV2 page parses");
	is_str(arch_strdup(got.data), "wal/000000010000000000000001=16777216;wal/a&b=0;",
		   "listing strips the repository prefix, decodes entities, skips other keys");
	is_str(arch_xml_find(page, "IsTruncated"), "true", "truncation flag found");
	is_str(arch_xml_find(page, "NextContinuationToken"),
		   "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=", "continuation token found");
	tap_ok(arch_xml_list("<Contents><Key>k</Key><Size>12x</Size></Contents>", "Contents", "Key", "Size",
					 "", collect, &got, &err) == ARCH_FATAL,
	   "a listing entry with a malformed size is an error");
	tap_ok(arch_xml_find("<Error><Code>NoSuchKey</Code></Error>", "Message") == NULL,
	   "a missing element is NULL");
	arch_buf_free(&got);
}

static void
test_status(void)
{
	ArchHttpResponse resp = {0};

	tap_ok(arch_http_status_class(200) == ARCH_OK, "200 is a success");
	tap_ok(arch_http_status_class(404) == ARCH_NOT_FOUND, "404 is not found");
	tap_ok(arch_http_status_class(403) == ARCH_FATAL, "403 is fatal (credentials)");
	tap_ok(arch_http_status_class(400) == ARCH_FATAL, "400 is fatal");
	tap_ok(arch_http_status_class(503) == ARCH_TRANSIENT, "503 is transient");
	tap_ok(arch_http_status_class(429) == ARCH_TRANSIENT, "429 is transient");

	arch_buf_appendf(&resp.headers, "HTTP/1.1 200 OK\r\nETag: \"abc\"\r\n"
					 "x-amz-meta-sha256:  0123\r\nContent-Length: 6\r\n\r\n");
	is_str(arch_http_header(&resp, "etag"), "\"abc\"", "response header, any case");
	is_str(arch_http_header(&resp, "X-Amz-Meta-Sha256"), "0123", "response header value trimmed");
	tap_ok(arch_http_header(&resp, "Content") == NULL, "a header name prefix does not match");
	arch_http_response_free(&resp);
}

/* Flush callback: record part lengths */
static ArchStatus
record_part(void *arg, int index, const char *data, size_t len, ArchError *err)
{
	arch_buf_appendf(arg, "%d=%zu:%.*s;", index, len, (int) len, data);
	return ARCH_OK;
}

static void
test_upload(void)
{
	ArchUpload	up;
	ArchBuf		parts = {0};
	ArchError	err;

	arch_buf_append(&parts, "", 0);
	arch_upload_init(&up, 4, false, record_part, &parts);
	tap_ok(arch_upload_write(&up, "abcd", 4, &err) == ARCH_OK && up.parts_sent == 0,
	   "exactly one part size stays buffered (one plain upload)");
	arch_upload_write(&up, "efg", 3, &err);
	arch_upload_write(&up, "hijkl", 5, &err);
	tap_ok(up.parts_sent == 2 && up.len == 4, "full parts go out only when more data comes");
	is_str(arch_strdup(parts.data), "0=4:abcd;1=4:efgh;", "parts hold the bytes in order");
	tap_ok(memcmp(up.data, "ijkl", 4) == 0, "the last part stays for the caller");
	arch_upload_free(&up);

	/* a held first part: its head is rewritten, and it goes up last */
	arch_buf_reset(&parts);
	arch_upload_init(&up, 4, true, record_part, &parts);
	arch_upload_write(&up, "..", 2, &err);
	tap_ok(arch_upload_head(&up, "AB", 2), "the head is rewritten in the buffer");
	arch_upload_write(&up, "cdefghij", 8, &err);
	tap_ok(arch_upload_head(&up, "ab", 2) && strstr(parts.data, "0=") == NULL,
		   "... and in the held first part, which has not gone up");
	{
		int			nparts = 0;

		tap_ok(arch_upload_finish(&up, &nparts, &err) == ARCH_OK && nparts == 3,
			   "finish sends three parts");
	}
	is_str(arch_strdup(parts.data), "1=4:efgh;2=2:ij;0=4:abcd;",
		   "the held first part goes last, with its new head");
	arch_upload_free(&up);
	arch_buf_free(&parts);
}

/*
 * A store whose request function answers from a script and records what
 * was asked, so the shared operations run without a network.
 */
typedef struct ScriptedStore
{
	ArchHttpStore store;		/* first, as in the drivers */
	int			calls;
	const long *status;
	const char *const *body;
	const char *headers;		/* raw header block of every answer */
	ArchBuf		log;			/* "METHOD key?query" per request */
} ScriptedStore;

static ArchStatus
scripted_request(void *state, const char *method, const char *key,
				 const ArchQuery *query, const char *const *extra,
				 const void *body, size_t len, ArchSink sink, void *arg,
				 const char *what, ArchHttpResponse *resp, ArchError *err)
{
	ScriptedStore *s = state;
	char	   *q = query ? arch_query_canonical(query) : arch_strdup("");

	arch_buf_appendf(&s->log, "%s %s?%s;", method, key, q);
	arch_free(q);
	resp->status = s->status[s->calls];
	arch_buf_appendf(&resp->body, "%s", s->body[s->calls]);
	arch_buf_appendf(&resp->headers, "%s", s->headers ? s->headers : "");
	s->calls++;
	return ARCH_OK;
}

static const ArchHttpStoreType scripted_type = {
	.request = scripted_request,
	.kind = "bucket",
	.meta_sha256 = "x-amz-meta-sha256",
	.object_missing_code = "NoSuchKey",
	.container_missing_code = "NoSuchBucket",
	.credentials_hint = "Check the keys.",
	.list_param = {"list-type"},
	.list_value = {"2"},
	.list_token_param = "continuation-token",
	.list_next_tag = "NextContinuationToken",
	.list_item_tag = "Contents",
	.list_name_tag = "Key",
	.list_size_tag = "Size",
};

static void
scripted_init(ScriptedStore *s, const long *status, const char *const *body)
{
	memset(s, 0, sizeof(ScriptedStore));
	s->store.type = &scripted_type;
	s->store.url = "s3://walbucket/db1";
	s->store.container = arch_strdup("walbucket");
	s->store.prefix = arch_strdup("db1");
	s->status = status;
	s->body = body;
	arch_buf_append(&s->log, "", 0);
}

static void
scripted_free(ScriptedStore *s)
{
	arch_store_free(&s->store);
	arch_buf_free(&s->log);
}

static void
test_store_operations(void)
{
	static const long two_pages[] = {200, 200};
	static const char *const pages[] = {
		"<ListBucketResult><IsTruncated>true</IsTruncated>"
		"<Contents><Key>db1/wal/a</Key><Size>1</Size></Contents>"
		"<NextContinuationToken>tok/1+</NextContinuationToken></ListBucketResult>",
		"<ListBucketResult><IsTruncated>false</IsTruncated>"
		"<Contents><Key>db1/wal/b</Key><Size>2</Size></Contents></ListBucketResult>"
	};
	static const long denied[] = {403};
	static const char *const denied_body[] = {"<Error><Code>AccessDenied</Code></Error>"};
	static const long busy[] = {503};
	static const char *const busy_body[] = {"<Error><Code>SlowDown</Code></Error>"};
	static const long missing[] = {404, 404, 404, 404, 404};
	static const char *const missing_body[] = {
		"<Error><Code>NoSuchKey</Code></Error>",
		"<Error><Code>NoSuchBucket</Code></Error>",
		"<Error><Code>NoSuchBucket</Code></Error>",
		"<html>Not Found</html>",
		"<Error><Code>NoSuchBucket</Code></Error>"
	};
	static const long found[] = {206};
	static const char *const empty[] = {""};
	ScriptedStore s;
	ArchBuf		names = {0};
	ArchError	err;
	ArchObjectInfo info;
	ArchHttpResponse resp = {0};

	arch_buf_append(&names, "", 0);
	scripted_init(&s, two_pages, pages);
	tap_ok(arch_store_list(&s, "wal/", collect, &names, &err) == ARCH_OK, "listing two pages");
	tap_is_str(s.log.data,
			   "GET ?list-type=2&prefix=db1%2Fwal%2F;"
			   "GET ?continuation-token=tok%2F1%2B&list-type=2&prefix=db1%2Fwal%2F;",
			   "the second request carries the continuation token, encoded, in canonical order");
	tap_is_str(names.data, "wal/a=1;wal/b=2;", "names from both pages, without the repository prefix");
	scripted_free(&s);

	scripted_init(&s, denied, denied_body);
	tap_ok(arch_store_list(&s, "wal/", collect, &names, &err) == ARCH_FATAL, "403 is fatal");
	tap_is_str(err.message,
			   "could not list \"wal/\" in bucket \"walbucket\" of repository \"s3://walbucket/db1\": HTTP status 403 (AccessDenied)",
			   "error names the operation, bucket, repository, status and the store's code");
	tap_is_str(err.detail, "Check the keys.", "... with the credentials hint");
	scripted_free(&s);

	scripted_init(&s, busy, busy_body);
	tap_ok(arch_store_read(&s, "wal/x", 0, NULL, NULL, &err) == ARCH_TRANSIENT,
		   "503 left after the retries is transient");
	tap_like(err.detail, "Gave up after", "... and says it gave up");
	scripted_free(&s);

	/* status.h: only the store's "no such object" is ARCH_NOT_FOUND */
	scripted_init(&s, missing, missing_body);
	tap_ok(arch_store_info(&s, "wal/x", &info, &err) == ARCH_NOT_FOUND,
		   "404 NoSuchKey on an object is not found");
	tap_is_str(err.message,
			   "object \"wal/x\" not found in bucket \"walbucket\" of repository \"s3://walbucket/db1\"",
			   "... naming the object");
	tap_ok(arch_store_info(&s, "wal/x", &info, &err) == ARCH_FATAL,
		   "404 NoSuchBucket on a lookup is fatal, never \"not found\"");
	tap_is_str(err.message, "bucket \"walbucket\" of repository \"s3://walbucket/db1\" does not exist",
			   "... and says the bucket is missing");
	tap_ok(arch_store_read(&s, "wal/x", 0, NULL, NULL, &err) == ARCH_FATAL,
		   "404 NoSuchBucket on a download is fatal");
	tap_ok(arch_store_read(&s, "wal/x", 0, NULL, NULL, &err) == ARCH_FATAL,
		   "404 without the store's code (a proxy, a wrong endpoint) is fatal");
	tap_like(err.detail, "did not say that the object does not exist", "... saying why");
	tap_ok(arch_store_list(&s, "", collect, &names, &err) == ARCH_FATAL,
		   "404 on a listing (no such bucket) is fatal, never \"not found\"");
	scripted_free(&s);

	scripted_init(&s, found, empty);
	s.headers = "HTTP/1.1 206 Partial Content\r\nContent-Length: 1\r\nContent-Range: bytes 0-0/42\r\n\r\n";
	tap_ok(arch_store_info(&s, "wal/x", &info, &err) == ARCH_OK && info.size == 42,
		   "a lookup gives the size from Content-Range");
	tap_is_str(s.log.data, "GET db1/wal/x?;", "a lookup is a (ranged) GET of the prefixed key");
	scripted_free(&s);

	/* Azure names its error in a header, also for HEAD (no body) */
	resp.status = 403;
	arch_buf_appendf(&resp.headers, "HTTP/1.1 403 Forbidden\r\nx-ms-error-code: AuthorizationFailure\r\n\r\n");
	scripted_init(&s, found, empty);
	arch_store_fail(&s.store, &resp, "look up \"x\"", &err);
	tap_is_str(err.message, "could not look up \"x\": HTTP status 403 (AuthorizationFailure)",
			   "the error code comes from x-ms-error-code when the store sends one");
	scripted_free(&s);
	arch_http_response_free(&resp);
	resp.status = 404;
	arch_buf_appendf(&resp.headers, "HTTP/1.1 404 Not Found\r\nx-ms-error-code: NoSuchBucket\r\n\r\n");
	scripted_init(&s, found, empty);
	tap_ok(arch_store_missing(&s.store, &resp, "x", "look up \"x\"", &err) == ARCH_FATAL,
		   "a missing container named in x-ms-error-code is fatal");
	scripted_free(&s);
	arch_http_response_free(&resp);
	arch_buf_free(&names);
}

static void
test_uploads(void)
{
	static const char *page =
		"<ListMultipartUploadsResult><Bucket>walbucket</Bucket>"
		"<Upload><Key>db1/wal/a</Key><UploadId>2~x&amp;y</UploadId>"
		"<Initiated>2026-12-04T07:35:46.000Z</Initiated></Upload>"
		"<Upload><Key>db1/wal/b</Key><UploadId>2~z</UploadId>"
		"<Initiated>1970-01-01T00:00:10Z</Initiated></Upload>"
		"<IsTruncated>true</IsTruncated><NextKeyMarker>db1/wal/b</NextKeyMarker>"
		"<NextUploadIdMarker>2~z</NextUploadIdMarker></ListMultipartUploadsResult>";
	S3Upload   *ups = NULL;
	int			n = 0;
	char	   *next_key;
	char	   *next_id;
	time_t		t;
	ArchError	err;

	tap_ok(s3_uploads_parse(page, &ups, &n, &next_key, &next_id, &err) == ARCH_OK && n == 2,
		   "list of multipart uploads: two uploads");
	tap_ok(n == 2 && strcmp(ups[0].key, "db1/wal/a") == 0 &&
		   strcmp(ups[0].upload_id, "2~x&y") == 0 && ups[0].initiated == 1796369746 &&
		   ups[1].initiated == 10, "... keys, ids (entities decoded) and dates");
	tap_ok(next_key && next_id && strcmp(next_key, "db1/wal/b") == 0 &&
		   strcmp(next_id, "2~z") == 0, "... and the markers of the next page");
	s3_uploads_free(ups, n);
	arch_free(next_key);
	arch_free(next_id);
	ups = NULL;
	n = 0;
	tap_ok(s3_uploads_parse("<Upload><Key>k</Key><UploadId>i</UploadId></Upload>", &ups, &n,
							&next_key, &next_id, &err) == ARCH_FATAL,
		   "an upload without a date is refused");
	tap_ok(s3_uploads_parse("<IsTruncated>true</IsTruncated>", &ups, &n, &next_key, &next_id,
							&err) == ARCH_FATAL, "a truncated page without markers is refused");
	s3_uploads_free(ups, n);
	tap_ok(!s3_time_parse("2026-12-04T07:35:46+01:00", &t) && !s3_time_parse("2026-13-04T07:35:46Z", &t) &&
		   !s3_time_parse("yesterday", &t), "dates other than UTC ISO 8601 are refused");
}

int
main(void)
{
	test_encoding();
	test_urls();
	test_bodies();
	test_listing();
	test_status();
	test_upload();
	test_store_operations();
	test_uploads();
	return tap_done();
}
