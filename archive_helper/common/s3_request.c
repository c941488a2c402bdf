/*-------------------------------------------------------------------------
 *
 * s3_request.c
 *		S3 URLs and request bodies (see s3_request.h).
 *
 * archive_helper/common/s3_request.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

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

bool
s3_time_parse(const char *text, time_t *out)
{
	struct tm	tm;
	int			consumed = 0;

	memset(&tm, 0, sizeof(tm));
	if (text == NULL ||
		sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
			   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
		consumed != 19)
		return false;
	/* fractions of a second, then the zone: UTC only */
	text += consumed;
	if (*text == '.')
		for (text++; *text >= '0' && *text <= '9'; text++)
			;
	if (strcmp(text, "Z") != 0 ||
		tm.tm_year < 1970 || tm.tm_mon < 1 || tm.tm_mon > 12 ||
		tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
		tm.tm_min > 59 || tm.tm_sec > 60)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = timegm(&tm);
	return true;
}

ArchStatus
s3_uploads_parse(const char *xml, S3Upload **uploads, int *n, char **next_key,
				 char **next_upload_id, ArchError *err)
{
	const char *cursor = xml ? xml : "";
	const char *end = cursor + strlen(cursor);
	char	   *item;
	char	   *truncated;

	*next_key = NULL;
	*next_upload_id = NULL;
	while ((item = arch_xml_next(&cursor, end, "Upload")) != NULL)
	{
		char	   *key = arch_xml_find(item, "Key");
		char	   *id = arch_xml_find(item, "UploadId");
		char	   *initiated = arch_xml_find(item, "Initiated");
		time_t		when;
		bool		ok = key && id && s3_time_parse(initiated, &when);

		arch_free(item);
		arch_free(initiated);
		if (!ok)
		{
			arch_free(key);
			arch_free(id);
			return arch_error(err, ARCH_FATAL,
							  "could not parse a list of multipart uploads: <Upload> without <Key>, <UploadId> or a valid <Initiated>");
		}
		*uploads = arch_realloc(*uploads, sizeof(S3Upload) * (*n + 1));
		(*uploads)[*n].key = key;
		(*uploads)[*n].upload_id = id;
		(*uploads)[*n].initiated = when;
		(*n)++;
	}
	truncated = arch_xml_find(xml, "IsTruncated");
	if (truncated && strcmp(truncated, "true") == 0)
	{
		*next_key = arch_xml_find(xml, "NextKeyMarker");
		*next_upload_id = arch_xml_find(xml, "NextUploadIdMarker");
		/* a truncated page must say where the next one starts */
		if (*next_key == NULL || *next_upload_id == NULL)
		{
			arch_free(truncated);
			arch_free(*next_key);
			arch_free(*next_upload_id);
			*next_key = *next_upload_id = NULL;
			return arch_error(err, ARCH_FATAL,
							  "could not parse a list of multipart uploads: truncated without markers");
		}
	}
	arch_free(truncated);
	return ARCH_OK;
}

void
s3_uploads_free(S3Upload *uploads, int n)
{
	for (int i = 0; i < n; i++)
	{
		arch_free(uploads[i].key);
		arch_free(uploads[i].upload_id);
	}
	arch_free(uploads);
}
