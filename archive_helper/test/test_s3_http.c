/*-------------------------------------------------------------------------
 *
 * test_s3_http.c
 *		Unit tests (TAP) of the HTTP layer's retries against a scripted
 *		HTTP server in a child process on 127.0.0.1.
 *
 * Real stores cannot be made to answer 503 on demand, so the retry rules
 * (5xx and 429 retried, then given up; 4xx answered at once; error bodies
 * never streamed to the caller; a refused connection retried, then
 * transient) are checked here against a server that replays canned
 * answers, one connection each, the way pgBackRest tests its client.
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

#include "http.h"
#include "tap.h"

/*
 * Serve one canned answer per connection, in order, then exit.  Each
 * answer closes its connection, so every attempt of the client is a new
 * connection and the script order is the attempt order.
 */
static pid_t
serve(const char *const *answers, int *port)
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
		ssize_t		n;

		/* read the request head; the tests send no bodies */
		while (got < sizeof(req) - 1 &&
			   (n = read(c, req + got, sizeof(req) - 1 - got)) > 0)
		{
			got += n;
			req[got] = '\0';
			if (strstr(req, "\r\n\r\n"))
				break;
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

#define ANSWER(status, body) \
	"HTTP/1.1 " status "\r\nContent-Length: " body "\r\nConnection: close\r\n\r\n"

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

	pid = serve(busy_then_ok, &port);
	arch_buf_append(&sunk, "", 0);
	st = get(port, &sunk, &resp, &err);
	tap_ok(st == ARCH_OK && resp.status == 200, "503 and 429 are retried until the answer is 200");
	tap_is_str(sunk.data, "hello", "only the successful body reaches the sink");
	waitpid(pid, NULL, 0);

	arch_buf_reset(&sunk);
	pid = serve(denied_then_ok, &port);
	st = get(port, &sunk, &resp, &err);
	tap_ok(st == ARCH_OK && resp.status == 403, "403 is answered at once, not retried");
	tap_is_str(sunk.data, "", "an error body never reaches the sink");
	tap_is_str(resp.body.data, "nope!", "... it stays in the response for the message");
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);

	pid = serve(always_busy, &port);
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
	return tap_done();
}
