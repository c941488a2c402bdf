/*-------------------------------------------------------------------------
 *
 * test_s3_http.c
 *		Unit tests (TAP) of the HTTP layer's retries, and of the requests
 *		the S3 driver sends, against a scripted HTTP server in a child
 *		process on 127.0.0.1.
 *
 * Real stores cannot be made to answer 503 on demand, so the retry rules
 * (5xx and 429 retried, then given up; 4xx answered at once; error bodies
 * never streamed to the caller; a refused connection retried, then
 * transient) are checked here against a server that replays canned
 * answers, one connection each, the way pgBackRest tests its client.  The
 * server also records the requests, which shows what RGW cannot: the
 * session token is sent and signed, and no secret goes over the wire.
 *
 * archive_helper/test/test_s3_http.c
 *
 *-------------------------------------------------------------------------
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "http.h"
#include "tap.h"

/*
 * Serve one canned answer per connection, in order, then exit.  Each
 * answer closes its connection, so every attempt of the client is a new
 * connection and the script order is the attempt order.
 */
static pid_t
serve(const char *const *answers, int *port, FILE *log)
{
	struct sockaddr_in addr = {0};
	socklen_t	len = sizeof(addr);
	int			fd = socket(AF_INET, SOCK_STREAM, 0);
	pid_t		pid;

	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *) &addr, sizeof(addr)) != 0 ||
		listen(fd, 8) != 0 || getsockname(fd, (struct sockaddr *) &addr, &len) != 0)
	{
		perror("scripted server");
		exit(1);
	}
	*port = ntohs(addr.sin_port);
	/* else the child may print the parent's buffered TAP lines again */
	fflush(stdout);
	pid = fork();
	if (pid != 0)
	{
		close(fd);
		return pid;
	}
	for (int i = 0; answers[i]; i++)
	{
		int			c = accept(fd, NULL, NULL);
		char		req[8192];
		size_t		got = 0;
		size_t		want = 0;
		ssize_t		n;
		char	   *end = NULL;

		/* read the request head, then as much body as it announces */
		while (got < sizeof(req) - 1 &&
			   (end == NULL || got < (size_t) (end - req) + 4 + want) &&
			   (n = read(c, req + got, sizeof(req) - 1 - got)) > 0)
		{
			got += n;
			req[got] = '\0';
			if (end == NULL && (end = strstr(req, "\r\n\r\n")) != NULL)
			{
				char	   *cl = strcasestr(req, "\r\nContent-Length:");

				want = (cl && cl < end) ? strtoul(cl + 17, NULL, 10) : 0;
			}
		}
		if (log)
		{
			fprintf(log, "%s\n----\n", req);
			fflush(log);
		}
		if (write(c, answers[i], strlen(answers[i])) < 0)
			perror("scripted server");
		close(c);
	}
	close(fd);
	_exit(0);
}

/* Sink that appends to an ArchBuf */
static ArchStatus
to_buf(void *arg, const void *data, size_t len, ArchError *err)
{
	arch_buf_append(arg, data, len);
	return ARCH_OK;
}

static ArchStatus
get(int port, ArchBuf *sunk, ArchHttpResponse *resp, ArchError *err)
{
	ArchHttp   *http = arch_http_new(NULL);
	char	   *url = arch_psprintf("http://127.0.0.1:%d/walbucket/x", port);
	ArchHttpRequest req = {0};
	ArchStatus	st;

	req.method = "GET";
	req.url = url;
	req.sink = to_buf;
	req.sink_arg = sunk;
	st = arch_http_perform(http, &req, "download \"x\"", resp, err);
	arch_free(url);
	arch_http_free(http);
	return st;
}

/* The request heads the server recorded, as one string; caller frees */
static char *
read_log(FILE *log)
{
	ArchBuf		all = {0};
	char		chunk[4096];
	size_t		n;

	arch_buf_append(&all, "", 0);
	rewind(log);
	while ((n = fread(chunk, 1, sizeof(chunk), log)) > 0)
		arch_buf_append(&all, chunk, n);
	return all.data;
}

#define ANSWER(status, body) \
	"HTTP/1.1 " status "\r\nContent-Length: " body "\r\nConnection: close\r\n\r\n"

/*
 * What the S3 driver puts on the wire for a conditional PUT with
 * temporary credentials, and how it reads the answers 412 and 404.
 */
static void
test_s3_requests(void)
{
	static const char *const answers[] = {
		ANSWER("200 OK", "0"), ANSWER("412 Precondition Failed", "0"),
		ANSWER("404 Not Found", "37") "<Error><Code>NoSuchKey</Code></Error>", NULL
	};
	const char *sha = "0123456789012345678901234567890123456789012345678901234567890123";
	ArchWriteOptions opts = {.if_absent = true, .size = 5, .sha256 = sha};
	FILE	   *log = tmpfile();
	ArchConfig *cfg = NULL;
	ArchStorage *storage = NULL;
	ArchObjectInfo info;
	ArchError	err;
	char	   *endpoint;
	char	   *heads;
	int			port;
	pid_t		pid;

	pid = serve(answers, &port, log);
	endpoint = arch_psprintf("http://127.0.0.1:%d", port);
	setenv("AWS_ENDPOINT_URL", endpoint, 1);
	setenv("AWS_REGION", "eu-test-1", 1);
	setenv("AWS_ACCESS_KEY_ID", "AKIDTEST", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "SeCrEtKeY", 1);
	setenv("AWS_SESSION_TOKEN", "ToKeN123", 1);
	/* the environment wins over any config file the machine may have */
	unsetenv("DBOPS_ARCHIVE_CONFIG");
	if (!tap_ok(arch_config_load(NULL, NULL, &cfg, &err) == ARCH_OK &&
				arch_storage_open("s3://walbucket/db1", cfg, &storage, &err) == ARCH_OK,
				"S3 repository opens from the AWS_* variables"))
	{
		printf("# %s\n", err.message);
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		arch_config_free(cfg);
		arch_free(endpoint);
		fclose(log);
		return;
	}

	tap_ok(arch_storage_put(storage, "wal/x", &opts, "hello", 5, &err) == ARCH_OK,
		   "a conditional PUT answered 200 is stored");
	tap_ok(arch_storage_put(storage, "wal/x", &opts, "hello", 5, &err) == ARCH_EXISTS,
		   "412 to a conditional PUT means the name is taken");
	tap_ok(arch_storage_info(storage, "wal/y", &info, &err) == ARCH_NOT_FOUND,
		   "404 NoSuchKey to a lookup is not found");
	waitpid(pid, NULL, 0);

	heads = read_log(log);
	tap_like(heads, "PUT /walbucket/db1/wal/x HTTP/1.1", "path-style URL with the prefix");
	tap_like(heads, "x-amz-content-sha256: 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
			 "the payload hash is the real SHA-256 of the body");
	tap_like(heads, "Content-Length: 5", "the body has a Content-Length");
	tap_like(heads, "If-None-Match: *", "creation is conditional");
	tap_like(heads, "x-amz-meta-sha256: 0123456789012345678901234567890123456789012345678901234567890123",
			 "the plaintext SHA-256 goes along as metadata");
	tap_like(heads, "x-amz-security-token: ToKeN123", "the session token is sent");
	tap_like(heads, "Credential=AKIDTEST/", "signed with the access key");
	tap_like(heads, "/eu-test-1/s3/aws4_request", "... for the configured region");
	tap_like(heads, "x-amz-content-sha256;x-amz-date;x-amz-meta-sha256;x-amz-security-token",
			 "the hash, metadata and token headers are signed");
	tap_ok(strstr(heads, "SeCrEtKeY") == NULL, "the secret key never goes over the wire");
	tap_like(heads, "GET /walbucket/db1/wal/y HTTP/1.1", "a GET for a lookup, so a 404 has a body");
	tap_like(heads, "Range: bytes=0-0", "... of one byte");

	arch_free(heads);
	arch_storage_close(storage);
	arch_config_free(cfg);
	arch_free(endpoint);
	fclose(log);
}

int
main(void)
{
	static const char *const busy_then_ok[] = {
		ANSWER("503 Slow Down", "0"), ANSWER("429 Too Many", "0"),
		ANSWER("200 OK", "5") "hello", NULL
	};
	static const char *const denied_then_ok[] = {
		ANSWER("403 Forbidden", "5") "nope!", ANSWER("200 OK", "5") "hello", NULL
	};
	static const char *const always_busy[] = {
		ANSWER("503 A", "0"), ANSWER("503 B", "0"), ANSWER("503 C", "0"),
		ANSWER("503 D", "0"), ANSWER("503 E", "0"), ANSWER("200 OK", "0"), NULL
	};
	ArchBuf		sunk = {0};
	ArchHttpResponse resp = {0};
	ArchError	err;
	ArchStatus	st;
	int			port;
	pid_t		pid;

	/*
	 * Each retry logs a debug line; without pg_logging_init every level is
	 * printed, and prove would show them all.
	 */
	if (freopen("/dev/null", "w", stderr) == NULL)
		return 1;

	pid = serve(busy_then_ok, &port, NULL);
	arch_buf_append(&sunk, "", 0);
	st = get(port, &sunk, &resp, &err);
	tap_ok(st == ARCH_OK && resp.status == 200, "503 and 429 are retried until the answer is 200");
	tap_is_str(sunk.data, "hello", "only the successful body reaches the sink");
	waitpid(pid, NULL, 0);

	arch_buf_reset(&sunk);
	pid = serve(denied_then_ok, &port, NULL);
	st = get(port, &sunk, &resp, &err);
	tap_ok(st == ARCH_OK && resp.status == 403, "403 is answered at once, not retried");
	tap_is_str(sunk.data, "", "an error body never reaches the sink");
	tap_is_str(resp.body.data, "nope!", "... it stays in the response for the message");
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);

	pid = serve(always_busy, &port, NULL);
	st = get(port, &sunk, &resp, &err);
	tap_ok(st == ARCH_OK && resp.status == 503,
		   "after 5 attempts a 503 is handed to the caller (who reports it as transient)");
	tap_ok(arch_http_status_class(resp.status) == ARCH_TRANSIENT, "... whose class is transient");
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);

	/* the last server is gone: its port now refuses connections */
	st = get(port, &sunk, &resp, &err);
	tap_ok(st == ARCH_TRANSIENT, "a refused connection is transient after the retries");
	tap_like(err.message, "could not download \"x\": Failed to connect to 127.0.0.1",
			 "... and the message quotes libcurl's reason");
	tap_is_str(err.detail, "Gave up after 5 attempts.", "... and says how often it tried");

	arch_http_response_free(&resp);
	arch_buf_free(&sunk);
	test_s3_requests();
	return tap_done();
}
