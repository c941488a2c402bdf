/*-------------------------------------------------------------------------
 *
 * test_azure_request.c
 *		Unit tests (TAP) of the Azure driver's pure part: the SharedKey
 *		string-to-sign and signature, dates, block ids, the block list body
 *		and List Blobs answers.
 *
 * The expected strings were written by hand from Microsoft's description
 * of SharedKey for the Blob service, and the expected signature computed
 * apart from this code (HMAC-SHA256 of that string with Azurite's
 * published development key).  The live behaviour is tested against
 * Azurite in test/t/06x_*.pl.
 *
 * archive_helper/test/test_azure_request.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "azure_request.h"
#include "http.h"
#include "tap.h"

/* Azurite's well-known development account key; not a secret */
#define DEV_KEY "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

/* tap_is_str, then free the string under test */
static void
is_str(char *got, const char *want, const char *name)
{
	tap_is_str(got, want, name);
	arch_free(got);
}

static void
test_put_blob_signature(void)
{
	/* in the order the driver sends them, which is not the signed order */
	const char *headers[] = {
		"x-ms-date: Mon, 23 Nov 2026 07:35:46 GMT",
		"x-ms-version: 2021-08-06",
		"x-ms-blob-type: BlockBlob",
		"If-None-Match: *",
		"x-ms-meta-sha256: abc",
		"Content-MD5: XUFAKrxLKna5cZ2REBfFkg==",
		"Content-Type: application/octet-stream",
		NULL
	};
	const char *want =
		"PUT\n"
		"\n"					/* Content-Encoding */
		"\n"					/* Content-Language */
		"6\n"					/* Content-Length */
		"XUFAKrxLKna5cZ2REBfFkg==\n"
		"application/octet-stream\n"
		"\n"					/* Date (x-ms-date is used) */
		"\n"					/* If-Modified-Since */
		"\n"					/* If-Match */
		"*\n"					/* If-None-Match */
		"\n"					/* If-Unmodified-Since */
		"\n"					/* Range */
		"x-ms-blob-type:BlockBlob\n"
		"x-ms-date:Mon, 23 Nov 2026 07:35:46 GMT\n"
		"x-ms-meta-sha256:abc\n"
		"x-ms-version:2021-08-06\n"
		"/devstoreaccount1/devstoreaccount1/walc/db/wal/000000010000000000000003";
	char	   *sts;

	sts = arch_azure_string_to_sign("PUT", headers, 6, "devstoreaccount1",
									"/devstoreaccount1/walc/db/wal/000000010000000000000003",
									NULL);
	is_str(arch_strdup(sts), want,
		   "Put Blob string-to-sign: standard headers in order, x-ms-* sorted, account + emulator path");
	is_str(arch_azure_authorization("devstoreaccount1", DEV_KEY, sts),
		   "Authorization: SharedKey devstoreaccount1:FJVF9bvFT3TbFEJzSkRVGHGB+PJ1ZN0JXllIG5p0QGA=",
		   "SharedKey signature matches the vector computed apart");
	tap_ok(arch_azure_authorization("devstoreaccount1", "not base64!", sts) == NULL,
	   "an account key that is not base64 is refused");
	arch_free(sts);
}

static void
test_list_signature(void)
{
	const char *headers[] = {"x-ms-version: 2021-08-06", "x-ms-date: Mon, 23 Nov 2026 07:35:46 GMT", NULL};
	ArchQuery	q = {0};

	arch_query_add(&q, "restype", "container");
	arch_query_add(&q, "prefix", "db/wal/");
	arch_query_add(&q, "comp", "list");
	arch_query_add(&q, "marker", "2!72!MDAwMDA=");
	is_str(arch_azure_string_to_sign("GET", headers, 0, "acct", "/walc", &q),
		   "GET\n\n\n\n\n\n\n\n\n\n\n\n"
		   "x-ms-date:Mon, 23 Nov 2026 07:35:46 GMT\n"
		   "x-ms-version:2021-08-06\n"
		   "/acct/walc\n"
		   "comp:list\n"
		   "marker:2!72!MDAwMDA=\n"
		   "prefix:db/wal/\n"
		   "restype:container",
		   "List Blobs string-to-sign: no length for a GET, query sorted, values not encoded");
}

static void
test_blocks_and_dates(void)
{
	char		date[32];

	is_str(arch_azure_block_id(0), "ZGJvcHMtMDAwMDAw", "block id 0");
	is_str(arch_azure_block_id(123456), "ZGJvcHMtMTIzNDU2", "block ids have one length");
	is_str(arch_azure_block_list_body(2),
		   "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>"
		   "<Latest>ZGJvcHMtMDAwMDAw</Latest><Latest>ZGJvcHMtMDAwMDAx</Latest></BlockList>",
		   "Put Block List body commits the blocks in order");
	arch_azure_date(0, date);
	is_str(arch_strdup(date), "Thu, 01 Jan 1970 00:00:00 GMT", "x-ms-date format at the epoch");
	arch_azure_date(1795419346, date);
	is_str(arch_strdup(date), "Mon, 23 Nov 2026 07:35:46 GMT", "x-ms-date format");
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
		"\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?>"
		"<EnumerationResults ServiceEndpoint=\"http://127.0.0.1:10000/devstoreaccount1\" ContainerName=\"walc\">"
		"<Prefix>db/</Prefix><MaxResults>2</MaxResults><Blobs>"
		"<Blob><Name>db/wal/000000010000000000000001</Name><Properties>"
		"<Creation-Time>Mon, 23 Nov 2026 07:35:46 GMT</Creation-Time>"
		"<Content-Length>16777216</Content-Length><Content-Type>application/octet-stream</Content-Type>"
		"</Properties><Metadata><sha256>ab</sha256></Metadata></Blob>"
		"<Blob><Name>db/base/x</Name><Properties><Content-Length>7</Content-Length></Properties></Blob>"
		"</Blobs><NextMarker>2!80!MDAwMDE1IWRiL3dhbC8w</NextMarker></EnumerationResults>";
	const char *last = "<EnumerationResults><Blobs></Blobs><NextMarker /></EnumerationResults>";
	ArchBuf		got = {0};
	ArchError	err;

	arch_buf_append(&got, "", 0);
	tap_ok(arch_xml_list(page, "Blob", "Name", "Content-Length", "db/", collect, &got, &err) == ARCH_OK,
	   "List Blobs page parses");
	is_str(arch_strdup(got.data), "wal/000000010000000000000001=16777216;base/x=7;",
		   "blob names lose the repository prefix, sizes come from Content-Length");
	is_str(arch_xml_find(page, "NextMarker"), "2!80!MDAwMDE1IWRiL3dhbC8w", "next marker found");
	tap_ok(arch_xml_find(last, "NextMarker") == NULL, "the last page's empty marker ends paging");
	arch_buf_free(&got);
}

int
main(void)
{
	test_put_blob_signature();
	test_list_signature();
	test_blocks_and_dates();
	test_listing();
	return tap_done();
}
