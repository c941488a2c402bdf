/*-------------------------------------------------------------------------
 *
 * url.c
 *		Parse the URLs dbops_archive is given: repository URLs
 *		(file:///path, s3://bucket/prefix, azure://container/prefix) and
 *		the endpoint URLs of object stores (http(s)://host[:port][/path]).
 *
 * A URL is echoed in error messages, so it must never carry a secret:
 * userinfo ("key:secret@"), a query string (an Azure SAS token, a signed
 * request's X-Amz-Security-Token) and fragments are refused here, before
 * the URL appears in any message, and credentials come from their own
 * settings instead.
 *
 * archive_helper/common/url.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "storage.h"

static const char *const arch_url_schemes[] = {"file", "s3", "azure", NULL};

/* Copy [start, end) with leading and trailing slashes removed */
static char *
arch_url_trim_slashes(const char *start, const char *end)
{
	char	   *out;

	while (start < end && *start == '/')
		start++;
	while (end > start && end[-1] == '/')
		end--;
	out = arch_alloc(end - start + 1);
	memcpy(out, start, end - start);
	out[end - start] = '\0';
	return out;
}

/*
 * arch_url_parse
 *
 * Fill url from text; on failure url holds nothing to free.  The text of
 * an error quotes the URL only when it cannot hold a secret.
 */
ArchStatus
arch_url_parse(const char *text, ArchUrl *url, ArchError *err)
{
	const char *sep;
	const char *rest;
	const char *slash;
	size_t		scheme_len;
	bool		known = false;

	memset(url, 0, sizeof(ArchUrl));
	if (text == NULL || text[0] == '\0')
		return arch_error(err, ARCH_FATAL, "no repository configured");

	/* Refuse secrets before the URL appears in any message */
	if (strpbrk(text, "?#@") != NULL)
	{
		arch_error(err, ARCH_FATAL,
				   "repository URL must not contain \"@\", \"?\" or \"#\"");
		return arch_error_detail(err, ARCH_FATAL,
								 "Credentials and SAS tokens belong in the settings, never in the URL.");
	}

	sep = strstr(text, "://");
	if (sep == NULL)
	{
		arch_error(err, ARCH_FATAL, "invalid repository URL \"%s\"", text);
		return arch_error_detail(err, ARCH_FATAL,
								 "A repository URL looks like file:///path, s3://bucket/prefix or azure://container/prefix.");
	}
	scheme_len = sep - text;
	for (int i = 0; arch_url_schemes[i] != NULL; i++)
		if (strlen(arch_url_schemes[i]) == scheme_len &&
			strncmp(arch_url_schemes[i], text, scheme_len) == 0)
			known = true;
	if (!known)
		return arch_error(err, ARCH_FATAL,
						  "unrecognized scheme in repository URL \"%s\"", text);

	rest = sep + 3;
	url->text = arch_strdup(text);
	url->scheme = arch_alloc(scheme_len + 1);
	memcpy(url->scheme, text, scheme_len);
	url->scheme[scheme_len] = '\0';

	if (strcmp(url->scheme, "file") == 0)
	{
		/* file:///abs/path: empty host, then an absolute path */
		char	   *tail;

		if (rest[0] != '/')
		{
			arch_url_free(url);
			arch_error(err, ARCH_FATAL, "invalid repository URL \"%s\"", text);
			return arch_error_detail(err, ARCH_FATAL,
									 "A file repository URL names an absolute path, as in file:///var/lib/dbops/archive.");
		}
		tail = arch_url_trim_slashes(rest, rest + strlen(rest));
		url->path = arch_psprintf("/%s", tail);
		arch_free(tail);
		url->prefix = arch_strdup("");
		return ARCH_OK;
	}

	/* s3:// and azure://: a container (bucket), then an optional prefix */
	slash = strchr(rest, '/');
	if (slash == NULL)
		slash = rest + strlen(rest);
	if (slash == rest)
	{
		arch_url_free(url);
		return arch_error(err, ARCH_FATAL,
						  "repository URL \"%s\" names no bucket or container", text);
	}
	url->container = arch_alloc(slash - rest + 1);
	memcpy(url->container, rest, slash - rest);
	url->container[slash - rest] = '\0';
	url->prefix = arch_url_trim_slashes(slash, slash + strlen(slash));
	return ARCH_OK;
}

void
arch_url_free(ArchUrl *url)
{
	arch_free(url->text);
	arch_free(url->scheme);
	arch_free(url->container);
	arch_free(url->prefix);
	arch_free(url->path);
	memset(url, 0, sizeof(ArchUrl));
}

ArchStatus
arch_endpoint_parse(const char *setting, const char *text, bool allow_path,
					char **origin, char **path, ArchError *err)
{
	const char *host;
	const char *slash;
	size_t		plen;

	*origin = NULL;
	*path = NULL;
	/* refuse secrets first, and never quote a URL that may hold one */
	if (strpbrk(text, "?#@") != NULL)
	{
		arch_error(err, ARCH_FATAL,
				   "endpoint URL of setting \"%s\" must not contain \"@\", \"?\" or \"#\"",
				   setting);
		return arch_error_detail(err, ARCH_FATAL,
								 "Credentials and tokens belong in their own settings, never in an endpoint URL; it is not shown here, in case it holds one.");
	}
	if (strncmp(text, "https://", 8) == 0)
		host = text + 8;
	else if (strncmp(text, "http://", 7) == 0)
		host = text + 7;
	else
		host = NULL;
	slash = host ? host + strcspn(host, "/") : text;
	/* a trailing slash is no path */
	plen = strlen(slash);
	while (plen > 0 && slash[plen - 1] == '/')
		plen--;
	if (host == NULL || slash == host || (plen > 0 && !allow_path))
	{
		arch_error(err, ARCH_FATAL, "invalid endpoint URL \"%s\" in setting \"%s\"",
				   text, setting);
		return arch_error_detail(err, ARCH_FATAL,
								 "An endpoint URL looks like http://host:port or https://host%s.",
								 allow_path ? ", with an optional path" : ", without a path");
	}
	*origin = arch_alloc(slash - text + 1);
	memcpy(*origin, text, slash - text);
	(*origin)[slash - text] = '\0';
	*path = arch_alloc(plen + 1);
	memcpy(*path, slash, plen);
	(*path)[plen] = '\0';
	return ARCH_OK;
}
