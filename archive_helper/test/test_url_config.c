/*-------------------------------------------------------------------------
 *
 * test_url_config.c
 *		Unit tests: repository URLs, settings and config files.
 *
 * archive_helper/test/test_url_config.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "local_file.h"
#include "tap.h"

static char tmpdir[] = "/tmp/dbops_test_config.XXXXXX";

static void
test_urls(void)
{
	ArchUrl		u;
	ArchError	err;

	tap_ok(arch_url_parse("file:///var/lib/archive/", &u, &err) == ARCH_OK &&
		   strcmp(u.scheme, "file") == 0 && strcmp(u.path, "/var/lib/archive") == 0,
		   "file URL: absolute path, trailing slash dropped");
	arch_url_free(&u);
	tap_ok(arch_url_parse("file:///", &u, &err) == ARCH_OK && strcmp(u.path, "/") == 0,
		   "file URL: the root directory");
	arch_url_free(&u);
	tap_ok(arch_url_parse("s3://bucket/a/b/", &u, &err) == ARCH_OK &&
		   strcmp(u.container, "bucket") == 0 && strcmp(u.prefix, "a/b") == 0,
		   "s3 URL: bucket and prefix");
	arch_url_free(&u);
	tap_ok(arch_url_parse("azure://walc", &u, &err) == ARCH_OK &&
		   strcmp(u.container, "walc") == 0 && strcmp(u.prefix, "") == 0,
		   "azure URL without prefix");
	arch_url_free(&u);

	tap_ok(arch_url_parse("file://relative/path", &u, &err) == ARCH_FATAL,
		   "file URL with a host refused");
	tap_ok(arch_url_parse("s3:///prefix", &u, &err) == ARCH_FATAL,
		   "s3 URL without bucket refused");
	tap_ok(arch_url_parse("gs://bucket", &u, &err) == ARCH_FATAL,
		   "unknown scheme refused");
	tap_like(err.message, "unrecognized scheme", "... with an unrecognized-scheme message");
	tap_ok(arch_url_parse("azure://c/p?sig=SECRETSIG", &u, &err) == ARCH_FATAL,
		   "URL with a query (SAS token) refused");
	tap_ok(strstr(err.message, "SECRETSIG") == NULL && strstr(err.detail, "SECRETSIG") == NULL,
		   "... and the message does not repeat it");
	tap_ok(arch_url_parse("s3://key:SECRETKEY@bucket/p", &u, &err) == ARCH_FATAL &&
		   strstr(err.message, "SECRETKEY") == NULL,
		   "URL with userinfo refused without echoing it");
	tap_ok(arch_url_parse("", &u, &err) == ARCH_FATAL, "empty URL refused");
}

static void
test_endpoints(void)
{
	char	   *origin;
	char	   *path;
	ArchError	err;

	tap_ok(arch_endpoint_parse("azure-endpoint", "http://127.0.0.1:10000/devstoreaccount1/",
							   true, &origin, &path, &err) == ARCH_OK &&
		   strcmp(origin, "http://127.0.0.1:10000") == 0 &&
		   strcmp(path, "/devstoreaccount1") == 0,
		   "endpoint: origin and path, trailing slash dropped");
	arch_free(origin);
	arch_free(path);
	tap_ok(arch_endpoint_parse("s3-endpoint", "https://s3.example.net/", false,
							   &origin, &path, &err) == ARCH_OK &&
		   strcmp(origin, "https://s3.example.net") == 0 && path[0] == '\0',
		   "endpoint without a path");
	arch_free(origin);
	arch_free(path);
	tap_ok(arch_endpoint_parse("s3-endpoint", "https://h/p", false, &origin, &path,
							   &err) == ARCH_FATAL, "a path refused where none is allowed");
	tap_ok(arch_endpoint_parse("s3-endpoint", "http:///p", true, &origin, &path,
							   &err) == ARCH_FATAL, "an endpoint without host refused");
	tap_ok(arch_endpoint_parse("s3-endpoint", "http://AKID:S3CRET@h:9", false, &origin,
							   &path, &err) == ARCH_FATAL &&
		   strstr(err.message, "S3CRET") == NULL && strstr(err.detail, "S3CRET") == NULL,
		   "userinfo refused without being echoed");
	tap_like(err.message, "setting \"s3-endpoint\"", "... naming the setting");
	tap_ok(arch_endpoint_parse("azure-endpoint", "http://h/acct?sig=S3CRET", true, &origin,
							   &path, &err) == ARCH_FATAL &&
		   strstr(err.message, "S3CRET") == NULL, "a query (SAS) refused without being echoed");
}

static void
test_paths(void)
{
	char	   *data = arch_psprintf("%s/pgdata", tmpdir);
	char	   *link = arch_psprintf("%s/link", tmpdir);
	char	   *p;

	mkdir(data, 0700);
	if (symlink(data, link) != 0)
		printf("# symlink failed\n");
	tap_ok(arch_path_is_under(data, data), "a directory is under itself");
	p = arch_psprintf("%s/not/yet/made", data);
	tap_ok(arch_path_is_under(p, data), "a path that does not exist yet is judged");
	arch_free(p);
	p = arch_psprintf("%s/spool", link);
	tap_ok(arch_path_is_under(p, data), "a symbolic link to the directory is followed");
	arch_free(p);
	p = arch_psprintf("%s/missing/../../spool", data);
	tap_ok(!arch_path_is_under(p, data), "\"..\" after a missing directory leads out");
	arch_free(p);
	p = arch_psprintf("%s/x/../pgdata2", tmpdir);
	tap_ok(!arch_path_is_under(p, data), "a sibling with the same prefix is not under it");
	arch_free(p);
	unlink(link);
	rmdir(data);
	arch_free(link);
	arch_free(data);
}

static char *
write_file(const char *name, const char *text, mode_t mode)
{
	char	   *path = arch_psprintf("%s/%s", tmpdir, name);
	FILE	   *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
	chmod(path, mode);
	return path;
}

static void
test_config(void)
{
	ArchConfig *cfg;
	ArchError	err;
	char	   *path;
	char	   *datadir;
	int64_t		i;
	uint64_t	size;
	bool		secret;

	unsetenv("DBOPS_ARCHIVE_REPO");
	unsetenv("DBOPS_ARCHIVE_COMPRESS_LEVEL");
	unsetenv(ARCH_CONFIG_ENV);

	path = write_file("plain.conf",
					  "# comment\n\nrepo = file:///from/file   # trailing comment\n"
					  "compress-level = 7\ncompress = \"none\"\n", 0644);
	tap_ok(arch_config_load(path, NULL, &cfg, &err) == ARCH_OK,
		   "config file without secrets may be world-readable");
	tap_is_str(arch_config_get(cfg, "repo"), "file:///from/file", "file value, comment stripped");
	tap_is_str(arch_config_get(cfg, "compress"), "none", "quoted value unquoted");
	tap_is_str(arch_config_source(cfg, "repo"), "config file", "source: config file");
	tap_is_str(arch_config_get(cfg, "compress-threads"), "0", "default when unset");

	setenv("DBOPS_ARCHIVE_REPO", "file:///from/env", 1);
	tap_is_str(arch_config_get(cfg, "repo"), "file:///from/env", "environment beats file");
	tap_ok(arch_config_set_option(cfg, "repo", "file:///from/option", &err) == ARCH_OK,
		   "option accepted");
	tap_is_str(arch_config_get(cfg, "repo"), "file:///from/option", "option beats environment");
	tap_is_str(arch_config_source(cfg, "repo"), "option", "source: option");
	unsetenv("DBOPS_ARCHIVE_REPO");

	tap_ok(arch_config_get_int(cfg, "compress-level", 1, 19, &i, &err) == ARCH_OK && i == 7,
		   "integer setting");
	arch_config_set_option(cfg, "compress-level", "30", &err);
	tap_ok(arch_config_get_int(cfg, "compress-level", 1, 19, &i, &err) == ARCH_FATAL,
		   "integer out of range refused");
	tap_like(err.message, "compress-level", "... naming the setting");

	arch_config_set_option(cfg, "archive-push-queue-max", "2GB", &err);
	tap_ok(arch_config_get_size(cfg, "archive-push-queue-max", &size, &err) == ARCH_OK &&
		   size == (uint64_t) 2 << 30, "size with unit");
	arch_config_set_option(cfg, "archive-push-queue-max", "12 MB", &err);
	tap_ok(arch_config_get_size(cfg, "archive-push-queue-max", &size, &err) == ARCH_OK &&
		   size == (uint64_t) 12 << 20, "size with a space before the unit");
	arch_config_set_option(cfg, "archive-push-queue-max", "12 parsecs", &err);
	tap_ok(arch_config_get_size(cfg, "archive-push-queue-max", &size, &err) == ARCH_FATAL,
		   "size with an unknown unit refused");

	tap_ok(arch_config_get_duration(cfg, "cleanup-grace", &i, &err) == ARCH_OK && i == 86400,
		   "duration default 24h");
	arch_config_set_option(cfg, "cleanup-grace", "90 min", &err);
	tap_ok(arch_config_get_duration(cfg, "cleanup-grace", &i, &err) == ARCH_OK && i == 5400,
		   "duration with a unit");
	arch_config_set_option(cfg, "cleanup-grace", "off", &err);
	tap_ok(arch_config_get_duration(cfg, "cleanup-grace", &i, &err) == ARCH_OK && i == -1,
		   "duration off");
	arch_config_set_option(cfg, "cleanup-grace", "99999999999d", &err);
	tap_ok(arch_config_get_duration(cfg, "cleanup-grace", &i, &err) == ARCH_FATAL,
		   "a duration beyond ten years is refused");
	arch_config_set_option(cfg, "allow-unencrypted", "yes", &err);
	tap_ok(arch_config_get_bool(cfg, "allow-unencrypted", &secret, &err) == ARCH_OK && secret,
		   "boolean yes");
	arch_config_set_option(cfg, "allow-unencrypted", "maybe", &err);
	tap_ok(arch_config_get_bool(cfg, "allow-unencrypted", &secret, &err) == ARCH_FATAL,
		   "boolean maybe refused");

	tap_ok(arch_config_set_option(cfg, "encrypt-key", "k1 00", &err) == ARCH_FATAL,
		   "a secret is refused on the command line");
	tap_like(err.detail, "DBOPS_ARCHIVE_ENCRYPT_KEY", "... with a hint at its variable");
	tap_ok(arch_config_set_option(cfg, "no-such", "x", &err) == ARCH_FATAL,
		   "unknown option refused");
	arch_config_free(cfg);
	arch_free(path);

	/* secrets */
	path = write_file("secret.conf",
					  "repo = file:///x\nencrypt-key = k1 0000000000000000000000000000000000000000000000000000000000000000\n",
					  0644);
	tap_ok(arch_config_load(path, NULL, &cfg, &err) == ARCH_FATAL,
		   "config file with a secret and mode 0644 refused");
	tap_like(err.message, "holds secrets", "... saying why");
	tap_ok(strstr(err.message, "0000000000") == NULL && strstr(err.detail, "0000000000") == NULL,
		   "... without the secret");
	chmod(path, 0640);
	tap_ok(arch_config_load(path, NULL, &cfg, &err) == ARCH_FATAL,
		   "config file with a secret and mode 0640 refused");
	chmod(path, 0600);
	tap_ok(arch_config_load(path, NULL, &cfg, &err) == ARCH_OK,
		   "config file with a secret and mode 0600 accepted");
	arch_config_free(cfg);

	/* DBOPS_ARCHIVE_CONFIG names the file when --config does not */
	setenv(ARCH_CONFIG_ENV, path, 1);
	tap_ok(arch_config_load(NULL, NULL, &cfg, &err) == ARCH_OK &&
		   strcmp(arch_config_get(cfg, "repo"), "file:///x") == 0,
		   "DBOPS_ARCHIVE_CONFIG names the config file");
	arch_config_free(cfg);
	unsetenv(ARCH_CONFIG_ENV);
	arch_free(path);

	/* inside the data directory */
	datadir = arch_psprintf("%s/pgdata", tmpdir);
	mkdir(datadir, 0700);
	path = write_file("pgdata/archive.conf", "repo = file:///x\n", 0600);
	tap_ok(arch_config_load(path, datadir, &cfg, &err) == ARCH_FATAL,
		   "config file inside the data directory refused");
	tap_like(err.message, "inside the data directory", "... saying why");
	unlink(path);
	arch_free(path);
	rmdir(datadir);
	arch_free(datadir);

	path = write_file("bad.conf", "repo = file:///x\nbogus-setting = 1\n", 0600);
	tap_ok(arch_config_load(path, NULL, &cfg, &err) == ARCH_FATAL,
		   "unknown setting in a file refused");
	tap_like(err.message, "line 2", "... naming the line");
	arch_free(path);
	path = write_file("syntax.conf", "repo file:///x\n", 0600);
	tap_ok(arch_config_load(path, NULL, &cfg, &err) == ARCH_FATAL,
		   "line without '=' refused");
	arch_free(path);

	tap_ok(arch_config_load("/nonexistent/dbops.conf", NULL, &cfg, &err) == ARCH_FATAL,
		   "a config file that was asked for must exist");

	path = arch_psprintf("%s/fifo.conf", tmpdir);
	mkfifo(path, 0600);
	tap_ok(arch_config_load(path, NULL, &cfg, &err) == ARCH_FATAL,
		   "a FIFO as config file is refused (not waited on)");
	tap_like(err.message, "is not a regular file", "... saying why");
	unlink(path);
	arch_free(path);

	cfg = arch_config_new();
	tap_ok(arch_config_parse(cfg, "repo = x\n\0compress = none\n", 26, &secret, &err) == ARCH_FATAL,
		   "a NUL byte in a config file is refused");
	tap_ok(arch_config_parse(cfg, "compress = none", 15, &secret, &err) == ARCH_OK &&
		   strcmp(arch_config_get(cfg, "compress"), "none") == 0 && !secret,
		   "the last line needs no newline");
	arch_config_free(cfg);
}

int
main(void)
{
	char		cmd[128];

	if (mkdtemp(tmpdir) == NULL)
		return 1;
	test_urls();
	test_endpoints();
	test_paths();
	test_config();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmpdir);
	return tap_done();
}
