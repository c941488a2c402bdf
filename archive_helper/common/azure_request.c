/*-------------------------------------------------------------------------
 *
 * azure_request.c
 *		Azure Blob SharedKey signing, dates and block lists.
 *
 * The format is Microsoft's "Authorize with Shared Key" for the Blob
 * service: the verb, eleven standard headers in a fixed order (empty when
 * absent), the x-ms-* headers sorted, then the canonical resource.  Every
 * one of those headers that the request sends must be signed exactly as
 * sent, which is why the driver sets Content-Type itself.
 *
 * archive_helper/common/azure_request.c
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "azure_request.h"

/* The standard headers of the string-to-sign, in their order */
static const char *const arch_azure_std_headers[] = {
	"Content-Encoding", "Content-Language", "Content-Length", "Content-MD5",
	"Content-Type", "Date", "If-Modified-Since", "If-Match", "If-None-Match",
	"If-Unmodified-Since", "Range", NULL
};

/* The value of header name in headers, or NULL (not a copy) */
static const char *
arch_azure_header_value(const char *const *headers, const char *name, size_t *len)
{
	size_t		nlen = strlen(name);

	for (int i = 0; headers && headers[i]; i++)
	{
		if (strncasecmp(headers[i], name, nlen) == 0 && headers[i][nlen] == ':')
		{
			const char *v = headers[i] + nlen + 1;

			while (*v == ' ')
				v++;
			*len = strlen(v);
			return v;
		}
	}
	return NULL;
}

/* Sort x-ms-* header indexes by lower-cased name */
static int
arch_azure_xms_cmp(const char *a, const char *b)
{
	for (; *a && *a != ':' && *b && *b != ':'; a++, b++)
	{
		int			d = tolower((unsigned char) *a) - tolower((unsigned char) *b);

		if (d)
			return d;
	}
	return (*a == ':' ? 0 : *a) - (*b == ':' ? 0 : *b);
}

char *
arch_azure_string_to_sign(const char *method, const char *const *headers,
						  size_t content_length, const char *account,
						  const char *path, const ArchQuery *query)
{
	ArchBuf		sts = {0};
	int			xms[32];
	int			nxms = 0;
	int			order[ARCH_QUERY_MAX];

	arch_buf_appendf(&sts, "%s\n", method);
	for (int i = 0; arch_azure_std_headers[i]; i++)
	{
		const char *name = arch_azure_std_headers[i];
		size_t		len = 0;
		const char *v;

		if (strcmp(name, "Content-Length") == 0)
		{
			if (content_length > 0)
				arch_buf_appendf(&sts, "%zu", content_length);
		}
		else if ((v = arch_azure_header_value(headers, name, &len)) != NULL)
			arch_buf_append(&sts, v, len);
		arch_buf_append(&sts, "\n", 1);
	}

	/* x-ms-* headers, lower-cased names, sorted, "name:value\n" */
	for (int i = 0; headers && headers[i] && nxms < 32; i++)
	{
		if (strncasecmp(headers[i], "x-ms-", 5) == 0)
		{
			int			j = nxms++;

			while (j > 0 && arch_azure_xms_cmp(headers[xms[j - 1]], headers[i]) > 0)
			{
				xms[j] = xms[j - 1];
				j--;
			}
			xms[j] = i;
		}
	}
	for (int i = 0; i < nxms; i++)
	{
		const char *h = headers[xms[i]];
		const char *colon = strchr(h, ':');
		const char *v = colon + 1;

		for (const char *p = h; p < colon; p++)
		{
			char		ch = tolower((unsigned char) *p);

			arch_buf_append(&sts, &ch, 1);
		}
		while (*v == ' ')
			v++;
		arch_buf_appendf(&sts, ":%s\n", v);
	}

	/*
	 * Canonical resource: "/" + account + the URL path.  With an emulator's
	 * path-style URL the account then appears twice, which is what Azurite
	 * expects; on real Azure the path starts with the container.
	 */
	arch_buf_appendf(&sts, "/%s%s", account, path);
	for (int i = 0; query && i < query->n; i++)
	{
		int			j = i;

		while (j > 0 && strcasecmp(query->name[order[j - 1]], query->name[i]) > 0)
		{
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	for (int i = 0; query && i < query->n; i++)
	{
		arch_buf_append(&sts, "\n", 1);
		for (const char *p = query->name[order[i]]; *p; p++)
		{
			char		ch = tolower((unsigned char) *p);

			arch_buf_append(&sts, &ch, 1);
		}
		arch_buf_appendf(&sts, ":%s", query->value[order[i]]);
	}
	return sts.data;
}

char *
arch_azure_authorization(const char *account, const char *key_b64,
						 const char *string_to_sign)
{
	size_t		b64len = strlen(key_b64);
	unsigned char *key = arch_alloc(b64len + 1);
	int			keylen;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char		sig[EVP_MAX_MD_SIZE * 2];
	char	   *out;

	keylen = EVP_DecodeBlock(key, (const unsigned char *) key_b64, (int) b64len);
	if (keylen < 0 || b64len % 4 != 0)
	{
		arch_free(key);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes: drop them */
	if (b64len >= 1 && key_b64[b64len - 1] == '=')
		keylen--;
	if (b64len >= 2 && key_b64[b64len - 2] == '=')
		keylen--;
	HMAC(EVP_sha256(), key, keylen, (const unsigned char *) string_to_sign,
		 strlen(string_to_sign), mac, &maclen);
	EVP_EncodeBlock((unsigned char *) sig, mac, (int) maclen);
	out = arch_psprintf("Authorization: SharedKey %s:%s", account, sig);
	/* the decoded key is a secret: do not leave it in freed memory */
	memset(key, 0, b64len + 1);
	arch_free(key);
	return out;
}

void
arch_azure_date(time_t t, char out[32])
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm	tm;

	/* by hand, not strftime: the names must not follow the locale */
	gmtime_r(&t, &tm);
	snprintf(out, 32, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
			 tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
			 tm.tm_min, tm.tm_sec);
}

char *
arch_azure_block_id(int n)
{
	char		raw[16];
	char		b64[32];

	snprintf(raw, sizeof(raw), "dbops-%06d", n);
	EVP_EncodeBlock((unsigned char *) b64, (const unsigned char *) raw, (int) strlen(raw));
	return arch_strdup(b64);
}

char *
arch_azure_block_list_body(int nblocks)
{
	ArchBuf		body = {0};

	arch_buf_appendf(&body, "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
	for (int i = 0; i < nblocks; i++)
	{
		char	   *id = arch_azure_block_id(i);

		arch_buf_appendf(&body, "<Latest>%s</Latest>", id);
		arch_free(id);
	}
	arch_buf_appendf(&body, "</BlockList>");
	return body.data;
}
