/*-------------------------------------------------------------------------
 *
 * fuzz_store_answer.c
 *		libFuzzer harness: what S3 and Azure answer (XML listings, error
 *		bodies and codes, lists of multipart uploads, response headers).
 *
 * The input is one answer: it is read as the XML body of every kind of
 * answer, and as the raw header block of a response.  A page of multipart
 * uploads that parses names both markers of the next page or neither.
 *
 * archive_helper/fuzz/fuzz_store_answer.c
 *
 *-------------------------------------------------------------------------
 */
#include "fuzz.h"
#include "http_store.h"
#include "s3_request.h"

static ArchStatus
listed(void *arg, const char *name, uint64_t size, ArchError *err)
{
	FUZZ_ASSERT(name != NULL);
	return ARCH_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text = fuzz_text(data, size);
	ArchHttpResponse resp = {0};
	S3Upload   *uploads = NULL;
	int			n = 0;
	char	   *next_key;
	char	   *next_id;
	char	   *found;
	time_t		t;
	ArchError	err;

	/* listings, S3 (ListObjectsV2) and Azure (List Blobs) */
	arch_xml_list(text, "Contents", "Key", "Size", "db1/", listed, NULL, &err);
	arch_xml_list(text, "Blob", "Name", "Content-Length", "", listed, NULL, &err);
	found = arch_xml_find(text, "NextContinuationToken");
	arch_free(found);

	/* multipart uploads */
	if (s3_uploads_parse(text, &uploads, &n, &next_key, &next_id, &err) == ARCH_OK)
	{
		FUZZ_ASSERT((next_key == NULL) == (next_id == NULL));
		arch_free(next_key);
		arch_free(next_id);
	}
	s3_uploads_free(uploads, n);
	s3_time_parse(text, &t);

	/* an error answer: its code in the body (S3) or a header (Azure) */
	arch_buf_append(&resp.body, data, size);
	arch_buf_append(&resp.headers, data, size);
	found = arch_store_error_code(&resp);
	arch_free(found);
	found = arch_http_header(&resp, "Content-Range");
	arch_free(found);
	arch_http_response_free(&resp);
	arch_free(text);
	return 0;
}
