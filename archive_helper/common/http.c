/*-------------------------------------------------------------------------
 *
 * http.c
 *		libcurl plumbing shared by the S3 and Azure drivers: reused
 *		connections, timeouts, bounded retries, canonical queries, upload
 *		buffering and a flat XML scanner.
 *
 * http.h says why this is one place.  Secrets reach libcurl (a SigV4
 * secret key, a SharedKey Authorization header, a SAS token in the URL)
 * but never an error text: messages here name the operation and the
 * reason, never the URL or a header.
 *
 * archive_helper/common/http.c
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "curl_loader.h"
#include "http.h"

struct ArchHttp
{
	CURL	   *curl;
	char	   *ca_file;
	char		errbuf[CURL_ERROR_SIZE];	/* libcurl's words for a failure */
};

/* Response bodies we keep in memory (XML answers, error texts) are small */
#define ARCH_HTTP_BODY_MAX (64 * 1024 * 1024)

/* ---------------------------------------------------------------- handles */

/*
 * Once per process: libcurl's global state, and SIGPIPE ignored.  With
 * CURLOPT_NOSIGNAL (needed with threads) libcurl leaves SIGPIPE to us, and
 * a store closing a TLS connection must not kill the process: a restore
 * killed by a signal would abort PostgreSQL's recovery.  Backends ignore
 * SIGPIPE already, so this changes nothing for the archive module.
 */
static void
arch_http_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	signal(SIGPIPE, SIG_IGN);
	srand((unsigned int) (time(NULL) ^ getpid()));
}

ArchHttp *
arch_http_new(const char *ca_file)
{
	ArchHttp   *http;

	http = arch_alloc0(sizeof(ArchHttp));
	http->ca_file = ca_file ? arch_strdup(ca_file) : NULL;
	return http;
}

void
arch_http_free(ArchHttp *http)
{
	if (http == NULL)
		return;
	if (http->curl)
		curl_easy_cleanup(http->curl);
	arch_free(http->ca_file);
	arch_free(http);
}

void
arch_http_response_free(ArchHttpResponse *resp)
{
	arch_buf_free(&resp->body);
	arch_buf_free(&resp->headers);
	resp->status = 0;
}

/* ---------------------------------------------------------------- transfer */

/* State of one attempt, seen by the libcurl callbacks */
typedef struct ArchHttpAttempt
{
	CURL	   *curl;
	const ArchHttpRequest *req;
	ArchHttpResponse *resp;
	bool		sink_used;		/* bytes reached the sink: no retry */
	ArchStatus	sink_status;
	ArchError  *err;
} ArchHttpAttempt;

static size_t
arch_http_on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	ArchHttpAttempt *at = arg;
	size_t		len = size * nmemb;
	long		status = 0;

	curl_easy_getinfo(at->curl, CURLINFO_RESPONSE_CODE, &status);

	/* Only a success streams to the caller; error texts stay with us */
	if (at->req->sink && status >= 200 && status < 300)
	{
		at->sink_used = true;
		at->sink_status = at->req->sink(at->req->sink_arg, data, len, at->err);
		return at->sink_status == ARCH_OK ? len : 0;
	}
	if (at->resp->body.len + len > ARCH_HTTP_BODY_MAX)
		return 0;
	arch_buf_append(&at->resp->body, data, len);
	return len;
}

static size_t
arch_http_on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	ArchHttpAttempt *at = arg;
	size_t		len = size * nmemb;

	/* A new status line starts a new header block (100 Continue) */
	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0)
		arch_buf_reset(&at->resp->headers);
	arch_buf_append(&at->resp->headers, data, len);
	return len;
}

/* Backoff before retry number n (1-based): doubling, capped, with jitter */
static void
arch_http_backoff(int n)
{
	long		ms = ARCH_HTTP_BACKOFF_FIRST_MS;
	struct timespec ts;

	for (int i = 1; i < n && ms < ARCH_HTTP_BACKOFF_MAX_MS; i++)
		ms *= 2;
	if (ms > ARCH_HTTP_BACKOFF_MAX_MS)
		ms = ARCH_HTTP_BACKOFF_MAX_MS;
	/* jitter, so parallel uploads do not retry in lockstep */
	ms = ms / 2 + rand() % (ms / 2 + 1);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}

/* Is a libcurl failure worth another attempt? */
static bool
arch_http_curl_transient(CURLcode rc)
{
	switch (rc)
	{
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_CONNECT:
		case CURLE_OPERATION_TIMEDOUT:
		case CURLE_SEND_ERROR:
		case CURLE_RECV_ERROR:
		case CURLE_GOT_NOTHING:
		case CURLE_PARTIAL_FILE:
		case CURLE_HTTP2:
		case CURLE_HTTP2_STREAM:
		case CURLE_SSL_CONNECT_ERROR:
			return true;
		default:
			return false;
	}
}

/* Set up the reused handle for one attempt of req */
static ArchStatus
arch_http_prepare(ArchHttp *http, ArchHttpAttempt *at, struct curl_slist **list,
				  const char *what, ArchError *err)
{
	const ArchHttpRequest *req = at->req;
	CURL	   *c;

	if (http->curl == NULL)
	{
		static pthread_once_t once = PTHREAD_ONCE_INIT;

		/* the first request of the process loads libcurl */
		if (arch_curl_load(err) != ARCH_OK)
			return ARCH_FATAL;
		pthread_once(&once, arch_http_global_init);
		http->curl = curl_easy_init();
		if (http->curl == NULL)
			return arch_error(err, ARCH_FATAL, "could not %s: could not initialize libcurl", what);
	}
	c = http->curl;
	/* reset clears the options but keeps the connection cache */
	curl_easy_reset(c);
	at->curl = c;

	for (int i = 0; req->headers && req->headers[i]; i++)
		*list = curl_slist_append(*list, req->headers[i]);

	/*
	 * A body need not wait for "100 Continue": one round trip less.  Not
	 * with SigV4, though: libcurl 7.88 would sign the empty "Expect:" line
	 * and the store would not see it; there a short wait is the cost.
	 */
	if (req->aws_sigv4 == NULL)
		*list = curl_slist_append(*list, "Expect:");
	else
		curl_easy_setopt(c, CURLOPT_EXPECT_100_TIMEOUT_MS, 200L);

	http->errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, http->errbuf);
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, *list);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long) ARCH_HTTP_CONNECT_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long) ARCH_HTTP_LOW_SPEED_TIME_S);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (http->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, http->ca_file);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, arch_http_on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, at);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, arch_http_on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, at);

	if (strcmp(req->method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (strcmp(req->method, "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);

	/*
	 * Bodies are always in memory and always sent with a Content-Length:
	 * S3 and RGW refuse chunked uploads, and SigV4 signs the body's hash.
	 * Callers always give a Content-Type, so libcurl adds no form type that
	 * the signature did not cover.
	 */
	if (strcmp(req->method, "PUT") == 0 || strcmp(req->method, "POST") == 0)
	{
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body_len);
	}
	if (req->aws_sigv4)
	{
		curl_easy_setopt(c, CURLOPT_AWS_SIGV4, req->aws_sigv4);
		curl_easy_setopt(c, CURLOPT_USERNAME, req->user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, req->password);
	}
	return ARCH_OK;
}

ArchStatus
arch_http_perform(ArchHttp *http, const ArchHttpRequest *req,
				  const char *what, ArchHttpResponse *resp, ArchError *err)
{
	ArchHttpAttempt at;
	CURLcode	rc = CURLE_OK;
	int			attempt;
	const char *reason;

	for (attempt = 0;; attempt++)
	{
		struct curl_slist *list = NULL;
		ArchStatus	st;

		if (attempt > 0)
			arch_http_backoff(attempt);
		memset(&at, 0, sizeof(at));
		at.req = req;
		at.resp = resp;
		at.err = err;
		arch_buf_reset(&resp->body);
		arch_buf_reset(&resp->headers);
		resp->status = 0;

		st = arch_http_prepare(http, &at, &list, what, err);
		if (st != ARCH_OK)
			return st;
		rc = curl_easy_perform(http->curl);
		curl_slist_free_all(list);
		curl_easy_getinfo(http->curl, CURLINFO_RESPONSE_CODE, &resp->status);

		if (at.sink_used && at.sink_status != ARCH_OK)
			return at.sink_status;
		if (rc == CURLE_OK &&
			arch_http_status_class(resp->status) != ARCH_TRANSIENT)
			return ARCH_OK;

		/* Bytes handed to the sink cannot be taken back: no retry then */
		if (at.sink_used || attempt >= ARCH_HTTP_RETRIES ||
			(rc != CURLE_OK && !arch_http_curl_transient(rc)))
			break;
		arch_log(ARCH_LOG_DEBUG, "could not %s (%s), retrying", what,
				 rc != CURLE_OK ? curl_easy_strerror(rc) : "server busy");
	}

	if (rc == CURLE_OK)
		return ARCH_OK;			/* a 5xx after all retries: caller explains */

	/*
	 * libcurl's own text says more ("Failed to connect to host port 443")
	 * but could in principle quote a URL: cut it at any query string, where
	 * a SAS token would be.
	 */
	http->errbuf[strcspn(http->errbuf, "?")] = '\0';
	reason = http->errbuf[0] ? http->errbuf : curl_easy_strerror(rc);
	switch (rc)
	{
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_CERTPROBLEM:
			arch_error(err, ARCH_FATAL, "could not %s: %s", what, reason);
			return arch_error_detail(err, ARCH_FATAL,
									 "The store's TLS certificate could not be verified; name the CA that signed it in s3-ca-file (AWS_CA_BUNDLE) or azure-ca-file (DBOPS_ARCHIVE_AZURE_CA_FILE).");
		case CURLE_URL_MALFORMAT:
		case CURLE_UNSUPPORTED_PROTOCOL:
			return arch_error(err, ARCH_FATAL, "could not %s: %s (check the endpoint setting)",
							  what, reason);
		default:
			arch_error(err, ARCH_TRANSIENT, "could not %s: %s", what, reason);
			return arch_error_detail(err, ARCH_TRANSIENT,
									 "Gave up after %d attempt%s.", attempt + 1, attempt ? "s" : "");
	}
}

char *
arch_http_header(const ArchHttpResponse *resp, const char *name)
{
	size_t		nlen = strlen(name);
	const char *p = resp->headers.data;

	while (p && *p)
	{
		const char *eol = strchr(p, '\n');
		const char *end = eol ? eol : p + strlen(p);

		if ((size_t) (end - p) > nlen && strncasecmp(p, name, nlen) == 0 && p[nlen] == ':')
		{
			const char *v = p + nlen + 1;
			size_t		len;
			char	   *out;

			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			while (end > v && (end[-1] == '\r' || end[-1] == ' '))
				end--;
			len = end - v;
			out = arch_alloc(len + 1);
			memcpy(out, v, len);
			out[len] = '\0';
			return out;
		}
		p = eol ? eol + 1 : end;
	}
	return NULL;
}

ArchStatus
arch_http_status_class(long status)
{
	if (status >= 200 && status < 300)
		return ARCH_OK;
	if (status == 404)
		return ARCH_NOT_FOUND;
	if (status >= 500 || status == 408 || status == 429 || status == 0)
		return ARCH_TRANSIENT;
	return ARCH_FATAL;
}

/* ---------------------------------------------------------------- encoding */

char *
arch_uri_encode(const char *s, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	ArchBuf		out = {0};

	arch_buf_append(&out, "", 0);
	for (; *s; s++)
	{
		unsigned char ch = (unsigned char) *s;

		if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~' ||
			(keep_slash && ch == '/'))
			arch_buf_append(&out, s, 1);
		else
		{
			char		esc[3] = {'%', hex[ch >> 4], hex[ch & 15]};

			arch_buf_append(&out, esc, 3);
		}
	}
	return out.data;
}

void
arch_query_add(ArchQuery *q, const char *name, const char *value)
{
	if (q->n >= ARCH_QUERY_MAX)
		return;
	q->name[q->n] = name;
	q->value[q->n] = value ? value : "";
	q->n++;
}

char *
arch_query_canonical(const ArchQuery *q)
{
	int			order[ARCH_QUERY_MAX];
	ArchBuf		out = {0};

	/* insertion sort by name: there are a handful of parameters */
	for (int i = 0; i < q->n; i++)
	{
		int			j = i;

		while (j > 0 && strcmp(q->name[order[j - 1]], q->name[i]) > 0)
		{
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	arch_buf_append(&out, "", 0);
	for (int i = 0; i < q->n; i++)
	{
		char	   *name = arch_uri_encode(q->name[order[i]], false);
		char	   *value = arch_uri_encode(q->value[order[i]], false);

		arch_buf_appendf(&out, "%s%s=%s", i ? "&" : "", name, value);
		arch_free(name);
		arch_free(value);
	}
	return out.data;
}

/* ---------------------------------------------------------------- XML */

/* Decode the five predefined entities and numeric references in place */
static void
arch_xml_unescape(char *s)
{
	static const struct
	{
		const char *ent;
		char		ch;
	}			ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'},
	{"&quot;", '"'}, {"&apos;", '\''}};
	char	   *w = s;

	while (*s)
	{
		bool		done = false;

		if (*s == '&')
		{
			for (int i = 0; i < 5 && !done; i++)
			{
				size_t		n = strlen(ents[i].ent);

				if (strncmp(s, ents[i].ent, n) == 0)
				{
					*w++ = ents[i].ch;
					s += n;
					done = true;
				}
			}
			if (!done && s[1] == '#')
			{
				char	   *end;
				long		cp = (s[2] == 'x') ? strtol(s + 3, &end, 16) : strtol(s + 2, &end, 10);

				/* object names are ASCII in practice; keep others verbatim */
				if (*end == ';' && cp > 0 && cp < 128)
				{
					*w++ = (char) cp;
					s = end + 1;
					done = true;
				}
			}
		}
		if (!done)
			*w++ = *s++;
	}
	*w = '\0';
}

char *
arch_xml_next(const char **cursor, const char *end, const char *tag)
{
	char		open[64];
	char		close[64];
	const char *start;
	const char *stop;
	char	   *out;
	size_t		olen;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	olen = strlen(open);
	start = strstr(*cursor, open);
	if (start == NULL || start >= end)
		return NULL;
	start += olen;
	stop = strstr(start, close);
	if (stop == NULL || stop > end)
		return NULL;
	out = arch_alloc(stop - start + 1);
	memcpy(out, start, stop - start);
	out[stop - start] = '\0';
	arch_xml_unescape(out);
	*cursor = stop + strlen(close);
	return out;
}

char *
arch_xml_find(const char *xml, const char *tag)
{
	const char *cursor = xml ? xml : "";

	return arch_xml_next(&cursor, cursor + strlen(cursor), tag);
}

char *
arch_xml_escape(const char *s)
{
	ArchBuf		out = {0};

	arch_buf_append(&out, "", 0);
	for (; *s; s++)
	{
		switch (*s)
		{
			case '&':
				arch_buf_append(&out, "&amp;", 5);
				break;
			case '<':
				arch_buf_append(&out, "&lt;", 4);
				break;
			case '>':
				arch_buf_append(&out, "&gt;", 4);
				break;
			case '"':
				arch_buf_append(&out, "&quot;", 6);
				break;
			case '\'':
				arch_buf_append(&out, "&apos;", 6);
				break;
			default:
				arch_buf_append(&out, s, 1);
		}
	}
	return out.data;
}

ArchStatus
arch_xml_list(const char *xml, const char *item_tag, const char *name_tag,
			  const char *size_tag, const char *strip,
			  ArchListCallback callback, void *arg, ArchError *err)
{
	const char *cursor = xml ? xml : "";
	const char *end = cursor + strlen(cursor);
	char	   *item;
	size_t		strip_len = strlen(strip);

	while ((item = arch_xml_next(&cursor, end, item_tag)) != NULL)
	{
		char	   *name = arch_xml_find(item, name_tag);
		char	   *size = arch_xml_find(item, size_tag);
		char	   *stop = NULL;
		unsigned long long bytes = size ? strtoull(size, &stop, 10) : 0;
		ArchStatus	st = ARCH_OK;

		if (name == NULL || size == NULL || stop == size || *stop != '\0')
			st = arch_error(err, ARCH_FATAL,
							"could not parse a listing: <%s> without <%s> or <%s>",
							item_tag, name_tag, size_tag);
		else if (strncmp(name, strip, strip_len) == 0)
			st = callback(arg, name + strip_len, bytes, err);
		arch_free(name);
		arch_free(size);
		arch_free(item);
		if (st != ARCH_OK)
			return st;
	}
	return ARCH_OK;
}

char *
arch_object_key(const char *prefix, const char *name)
{
	if (prefix[0] == '\0')
		return arch_strdup(name);
	return arch_psprintf("%s/%s", prefix, name);
}

/* ---------------------------------------------------------------- uploads */

void
arch_upload_init(ArchUpload *up, size_t part_size, bool hold_first,
				 ArchUploadFlush flush_part, void *flush_arg)
{
	memset(up, 0, sizeof(ArchUpload));
	up->part_size = part_size;
	up->data = arch_alloc(part_size);
	up->hold_first = hold_first;
	up->flush_part = flush_part;
	up->flush_arg = flush_arg;
}

ArchStatus
arch_upload_write(ArchUpload *up, const void *data, size_t len, ArchError *err)
{
	const char *p = data;

	while (len > 0)
	{
		size_t		n;

		/*
		 * Flush a full buffer only when more data arrives, so an object of
		 * exactly one part size still goes up as one plain upload.  A held
		 * first part changes places with a fresh buffer.
		 */
		if (up->len == up->part_size)
		{
			if (up->hold_first && up->parts_sent == 0)
			{
				up->first = up->data;
				up->data = arch_alloc(up->part_size);
			}
			else
			{
				ArchStatus	st = up->flush_part(up->flush_arg, up->parts_sent,
												up->data, up->len, err);

				if (st != ARCH_OK)
					return st;
			}
			up->parts_sent++;
			up->len = 0;
		}
		n = up->part_size - up->len;
		if (n > len)
			n = len;
		memcpy(up->data + up->len, p, n);
		up->len += n;
		p += n;
		len -= n;
	}
	return ARCH_OK;
}

bool
arch_upload_head(ArchUpload *up, const void *data, size_t len)
{
	char	   *target = up->parts_sent == 0 ? up->data : up->first;
	size_t		have = up->parts_sent == 0 ? up->len : up->part_size;

	if (target == NULL || len > have)
		return false;
	memcpy(target, data, len);
	return true;
}

ArchStatus
arch_upload_finish(ArchUpload *up, int *nparts, ArchError *err)
{
	ArchStatus	st;

	*nparts = up->parts_sent + 1;
	st = up->flush_part(up->flush_arg, up->parts_sent, up->data, up->len, err);
	if (st == ARCH_OK && up->first != NULL)
		st = up->flush_part(up->flush_arg, 0, up->first, up->part_size, err);
	return st;
}

void
arch_upload_free(ArchUpload *up)
{
	arch_free(up->data);
	arch_free(up->first);
	up->data = NULL;
	up->first = NULL;
}

/* ---------------------------------------------------------------- digests */

void
arch_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

void
arch_md5_base64(const void *data, size_t len, char out[25])
{
	unsigned char md[16];
	unsigned int mdlen = 0;

	EVP_Digest(data, len, md, &mdlen, EVP_md5(), NULL);
	EVP_EncodeBlock((unsigned char *) out, md, 16);
}
