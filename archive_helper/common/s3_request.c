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
	char	   *given;
	const char *host;
	char	   *scheme;
	size_t		len;

	memset(out, 0, sizeof(S3Endpoint));
	if (endpoint == NULL || endpoint[0] == '\0')
		given = arch_psprintf("https://s3.%s.amazonaws.com", region);
	else
		given = arch_strdup(endpoint);
	len = strlen(given);
	while (len > 0 && given[len - 1] == '/')
		given[--len] = '\0';

	if (strncmp(given, "https://", 8) == 0)
		host = given + 8;
	else if (strncmp(given, "http://", 7) == 0)
		host = given + 7;
	else
		host = NULL;
	if (host == NULL || host[0] == '\0' || strpbrk(host, "/?#@") != NULL)
	{
		arch_error(err, ARCH_FATAL, "invalid S3 endpoint \"%s\"", given);
		arch_free(given);
		return arch_error_detail(err, ARCH_FATAL,
								 "An endpoint looks like http://host:port or https://host, without a path.");
	}
	scheme = arch_alloc(host - given + 1);
	memcpy(scheme, given, host - given);
	scheme[host - given] = '\0';

	if (host_style)
	{
		out->origin = arch_psprintf("%s%s.%s", scheme, bucket, host);
		out->bucket_path = arch_strdup("");
	}
	else
	{
		out->origin = arch_psprintf("%s%s", scheme, host);
		out->bucket_path = arch_psprintf("/%s", bucket);
	}
	arch_free(scheme);
	arch_free(given);
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
