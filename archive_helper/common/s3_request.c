/*-------------------------------------------------------------------------
 *
 * s3_request.c
 *		S3 URLs and request bodies (see s3_request.h).
 *
 * archive_helper/common/s3_request.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "s3_request.h"

ArchStatus
s3_endpoint_build(const char *endpoint, const char *region, const char *bucket,
				  bool host_style, S3Endpoint *out, ArchError *err)
{
	char	   *origin;
	char	   *path;
	const char *host;
	ArchStatus	st;

	memset(out, 0, sizeof(S3Endpoint));
	if (endpoint == NULL || endpoint[0] == '\0')
	{
		origin = arch_psprintf("https://s3.%s.amazonaws.com", region);
		path = arch_strdup("");
	}
	else if ((st = arch_endpoint_parse("s3-endpoint", endpoint, false, &origin,
									   &path, err)) != ARCH_OK)
		return st;
	host = strstr(origin, "://") + 3;

	if (host_style)
	{
		out->origin = arch_psprintf("%.*s%s.%s", (int) (host - origin), origin,
									bucket, host);
		out->bucket_path = arch_strdup("");
	}
	else
	{
		out->origin = arch_strdup(origin);
		out->bucket_path = arch_psprintf("/%s", bucket);
	}
	arch_free(origin);
	arch_free(path);
	return ARCH_OK;
}

void
s3_endpoint_free(S3Endpoint *ep)
{
	arch_free(ep->origin);
	arch_free(ep->bucket_path);
	memset(ep, 0, sizeof(S3Endpoint));
}

char *
s3_url(const S3Endpoint *ep, const char *key, const ArchQuery *q)
{
	char	   *path = arch_uri_encode(key, true);
	char	   *query = (q && q->n > 0) ? arch_query_canonical(q) : NULL;
	char	   *url;

	/* the bucket itself is "/bucket" path style, "/" host style */
	if (key[0] == '\0' && ep->bucket_path[0] != '\0')
		url = arch_psprintf("%s%s%s%s", ep->origin, ep->bucket_path,
							query ? "?" : "", query ? query : "");
	else
		url = arch_psprintf("%s%s/%s%s%s", ep->origin, ep->bucket_path, path,
							query ? "?" : "", query ? query : "");
	arch_free(path);
	arch_free(query);
	return url;
}

char *
s3_complete_body(int nparts, char *const *etags)
{
	ArchBuf		body = {0};

	arch_buf_appendf(&body, "<CompleteMultipartUpload>");
	for (int i = 0; i < nparts; i++)
	{
		char	   *etag = arch_xml_escape(etags[i]);

		arch_buf_appendf(&body, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>",
						 i + 1, etag);
		arch_free(etag);
	}
	arch_buf_appendf(&body, "</CompleteMultipartUpload>");
	return body.data;
}
