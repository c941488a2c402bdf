/*-------------------------------------------------------------------------
 *
 * fuzz_url.c
 *		libFuzzer harness: repository URLs and store endpoint URLs.
 *
 * The input is a URL.  Besides memory safety, the property that matters:
 * a URL holding userinfo or a query (a credential, a SAS token) is refused
 * and never quoted in the error.
 *
 * archive_helper/fuzz/fuzz_url.c
 *
 *-------------------------------------------------------------------------
 */
#include "fuzz.h"
#include "s3_request.h"

/* An error about text that may hold a secret must not quote it */
static void
check_not_echoed(const char *text, const ArchError *err)
{
	if (strlen(text) >= 8 && strpbrk(text, "@?#") != NULL)
		FUZZ_ASSERT(strstr(err->message, text) == NULL && strstr(err->detail, text) == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text = fuzz_text(data, size);
	ArchUrl		url;
	ArchError	err;
	S3Endpoint	ep;

	if (arch_url_parse(text, &url, &err) == ARCH_OK)
	{
		FUZZ_ASSERT(strpbrk(text, "@?#") == NULL);
		arch_url_free(&url);
	}
	else
		check_not_echoed(text, &err);

	for (int allow_path = 0; allow_path < 2; allow_path++)
	{
		char	   *origin;
		char	   *path;

		if (arch_endpoint_parse("s3-endpoint", text, allow_path, &origin, &path, &err) == ARCH_OK)
		{
			FUZZ_ASSERT(strpbrk(text, "@?#") == NULL);
			FUZZ_ASSERT(allow_path || path[0] == '\0');
			arch_free(origin);
			arch_free(path);
		}
		else
			check_not_echoed(text, &err);
	}

	if (s3_endpoint_build(text, "us-east-1", "walbucket", size % 2 == 0, &ep, &err) == ARCH_OK)
	{
		char	   *u = s3_url(&ep, "wal/x", NULL);

		arch_free(u);
		s3_endpoint_free(&ep);
	}
	arch_free(text);
	return 0;
}
