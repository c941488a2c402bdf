/*-------------------------------------------------------------------------
 *
 * cmd_new.c
 *		dbops migrate new NAME [DIR]: add an empty migration to a
 *		directory, in the layout the directory already uses.
 *
 * The client detects no layout: it sends the directory to the server
 * (dbops.migration_layout), which answers with the layout and version of
 * the latest migration; the new version follows that one's style
 * (sequential numbers stay sequential, timestamps stay timestamps).  An
 * empty directory, or --layout, gets the layout named and a timestamp
 * version, without asking the server.  Existing files are never
 * overwritten, and a failure removes what was created.
 *
 * client/cmd_new.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "common/logging.h"
#include "common/username.h"
#include "getopt_long.h"

/* At most this many paths are created by one migration */
#define MAX_CREATED 8

static const char *const layouts[] = {
	"hasura", "diesel", "golang-migrate", "flyway", "sqitch", NULL
};

/* What has been created so far, to remove it on failure */
typedef struct Created
{
	int			n;
	char	   *paths[MAX_CREATED];
	bool		is_dir[MAX_CREATED];
} Created;

void
dbops_migrate_new_help(const char *progname)
{
	printf("%s migrate new: add an empty migration to a directory, in its layout.\n\n", progname);
	printf("Usage:\n  %s migrate new NAME [DIR] [OPTION]...\n\n", progname);
	printf("DIR defaults to the current directory.  NAME is letters, digits, \"_\" and \"-\".\n");
	printf("The server tells the layout and latest version of DIR; the new version follows\n"
		   "the latest one's style.\n\nOptions:\n");
	printf("  -l, --layout=LAYOUT        hasura, diesel, golang-migrate, flyway or sqitch, with\n"
		   "                             a timestamp version, without asking the server (needed\n"
		   "                             for an empty directory)\n");
	dbops_common_options_help();
}

static bool
valid_name(const char *name)
{
	if (name[0] == '\0' || strlen(name) > 100)
		return false;
	for (const char *p = name; *p; p++)
	{
		if (!isalnum((unsigned char) *p) && *p != '_' && *p != '-')
			return false;
	}
	return true;
}

static bool
all_digits(const char *s)
{
	return s[0] != '\0' && strspn(s, "0123456789") == strlen(s);
}

/*
 * Compare versions as the server does: digit runs by value, other runs
 * bytewise.
 */
static int
version_cmp(const char *a, const char *b)
{
	while (*a && *b)
	{
		bool		ad = isdigit((unsigned char) *a);
		bool		bd = isdigit((unsigned char) *b);

		if (ad != bd)
			return ad ? -1 : 1;
		if (ad)
		{
			size_t		al;
			size_t		bl;
			int			c;

			while (*a == '0' && isdigit((unsigned char) a[1]))
				a++;
			while (*b == '0' && isdigit((unsigned char) b[1]))
				b++;
			al = strspn(a, "0123456789");
			bl = strspn(b, "0123456789");
			if (al != bl)
				return al < bl ? -1 : 1;
			if ((c = strncmp(a, b, al)) != 0)
				return c;
			a += al;
			b += bl;
		}
		else
		{
			if (*a != *b)
				return (unsigned char) *a < (unsigned char) *b ? -1 : 1;
			a++;
			b++;
		}
	}
	return *a ? 1 : (*b ? -1 : 0);
}

/* A timestamp version of now (UTC) in the style of layout */
static char *
timestamp_version(const char *layout)
{
	struct timeval tv;
	struct tm	tm;
	char		buf[32];

	gettimeofday(&tv, NULL);
	if (strcmp(layout, "hasura") == 0)
		return psprintf("%lld", (long long) tv.tv_sec * 1000 + tv.tv_usec / 1000);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(buf, sizeof(buf),
			 strcmp(layout, "diesel") == 0 ? "%Y-%m-%d-%H%M%S" : "%Y%m%d%H%M%S", &tm);
	return pg_strdup(buf);
}

/*
 * The version after latest (NULL: none known), in its style: a short
 * number grows by one, keeping its width; a timestamp stays one.
 */
static char *
next_version(const char *layout, const char *latest)
{
	if (strcmp(layout, "sqitch") == 0)
		return NULL;			/* a change's version is its place in the plan */
	if (latest != NULL && strcmp(layout, "golang-migrate") == 0 &&
		all_digits(latest) && strlen(latest) < 12)
		return psprintf("%0*llu", (int) strlen(latest),
						strtoull(latest, NULL, 10) + 1);
	if (latest != NULL && strcmp(layout, "flyway") == 0 &&
		isdigit((unsigned char) latest[0]) && strspn(latest, "0123456789") < 12)
		return psprintf("%llu", strtoull(latest, NULL, 10) + 1);
	return timestamp_version(layout);
}

/* Ask the server for the layout and latest version of dir */
static int
ask_layout(DbopsArgs *a, const char *dir, char **layout, char **latest)
{
	PQExpBuffer map = createPQExpBuffer();
	const char *values[1];
	PGconn	   *conn;
	PGresult   *res;
	int			rc = DBOPS_EXIT_OK;

	if (!dbops_read_dir_map(dir, map))
	{
		destroyPQExpBuffer(map);
		return DBOPS_EXIT_USAGE;
	}
	if ((conn = dbops_connect(a, &rc)) == NULL)
	{
		destroyPQExpBuffer(map);
		return rc;
	}
	values[0] = map->data;
	res = dbops_query(conn,
					  "SELECT layout, latest_version FROM dbops.migration_layout($1::jsonb)",
					  1, values, &rc);
	destroyPQExpBuffer(map);
	if (res != NULL)
	{
		if (PQgetisnull(res, 0, 0))
		{
			pg_log_error("directory \"%s\" holds no migration, so its layout is not known", dir);
			pg_log_error_hint("Name the layout with --layout.");
			rc = DBOPS_EXIT_USAGE;
		}
		else
		{
			*layout = pg_strdup(PQgetvalue(res, 0, 0));
			*latest = pg_strdup(PQgetvalue(res, 0, 1));
		}
		PQclear(res);
	}
	dbops_disconnect(conn);
	return rc;
}

/* Create an empty directory, or use one that exists */
static bool
make_dir(const char *path, bool must_be_new, Created *created)
{
	if (mkdir(path, 0777) == 0)
	{
		created->is_dir[created->n] = true;
		created->paths[created->n++] = pg_strdup(path);
		return true;
	}
	if (errno == EEXIST && !must_be_new)
		return true;
	pg_log_error("could not create directory \"%s\": %m", path);
	return false;
}

/* Create file path with content; an existing file is an error */
static bool
make_file(const char *path, const char *content, Created *created)
{
	int			fd = open(path, O_WRONLY | O_CREAT | O_EXCL | PG_BINARY, 0666);
	size_t		len = strlen(content);

	if (fd < 0)
	{
		pg_log_error("could not create file \"%s\": %m", path);
		return false;
	}
	created->is_dir[created->n] = false;
	created->paths[created->n++] = pg_strdup(path);
	if (write(fd, content, len) != (ssize_t) len || close(fd) != 0)
	{
		pg_log_error("could not write file \"%s\": %m", path);
		return false;
	}
	return true;
}

/* Append the change's line to sqitch.plan, creating the plan if need be */
static bool
add_to_plan(const char *dir, const char *name)
{
	char	   *plan = psprintf("%s/sqitch.plan", dir);
	int			fd = open(plan, O_RDWR | O_APPEND | PG_BINARY);
	PQExpBuffer line = createPQExpBuffer();
	char	   *errstr = NULL;
	const char *user = get_user_name(&errstr);
	char		host[256] = "localhost";
	char		stamp[32];
	time_t		now = time(NULL);
	struct tm	tm;
	bool		ok;

	if (fd < 0 && errno == ENOENT)
	{
		const char *base = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;

		fd = open(plan, O_RDWR | O_APPEND | O_CREAT | O_EXCL | PG_BINARY, 0666);
		appendPQExpBuffer(line, "%%syntax-version=1.0.0\n%%project=%s\n\n",
						  base[0] && strcmp(base, ".") != 0 ? base : "project");
	}
	else if (fd >= 0)
	{
		char		last = '\n';

		/* a plan without a final newline gets one first */
		if (lseek(fd, -1, SEEK_END) >= 0 && read(fd, &last, 1) == 1 && last != '\n')
			appendPQExpBufferChar(line, '\n');
	}
	if (fd < 0)
	{
		pg_log_error("could not open file \"%s\": %m", plan);
		return false;
	}
	(void) gethostname(host, sizeof(host) - 1);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	appendPQExpBuffer(line, "%s %s %s <%s@%s> # Added by dbops migrate new.\n",
					  name, stamp, user ? user : "dbops", user ? user : "dbops", host);
	ok = write(fd, line->data, line->len) == (ssize_t) line->len;
	if (close(fd) != 0 || !ok)
	{
		pg_log_error("could not write file \"%s\": %m", plan);
		ok = false;
	}
	destroyPQExpBuffer(line);
	return ok;
}

/* Create the files of the new migration in layout */
static bool
create_migration(const char *dir, const char *layout, const char *version,
				 const char *name, Created *created)
{
	if (strcmp(layout, "hasura") == 0 || strcmp(layout, "diesel") == 0)
	{
		char	   *sub = psprintf("%s/%s_%s", dir, version, name);

		return make_dir(sub, true, created) &&
			make_file(psprintf("%s/up.sql", sub), psprintf("-- %s: up\n", name), created) &&
			make_file(psprintf("%s/down.sql", sub), psprintf("-- %s: down\n", name), created);
	}
	if (strcmp(layout, "golang-migrate") == 0)
		return make_file(psprintf("%s/%s_%s.up.sql", dir, version, name),
						 psprintf("-- %s: up\n", name), created) &&
			make_file(psprintf("%s/%s_%s.down.sql", dir, version, name),
					  psprintf("-- %s: down\n", name), created);
	if (strcmp(layout, "flyway") == 0)
		return make_file(psprintf("%s/V%s__%s.sql", dir, version, name),
						 psprintf("-- %s: up\n", name), created) &&
			make_file(psprintf("%s/U%s__%s.sql", dir, version, name),
					  psprintf("-- %s: down\n", name), created);
	/* sqitch */
	return make_dir(psprintf("%s/deploy", dir), false, created) &&
		make_dir(psprintf("%s/revert", dir), false, created) &&
		make_dir(psprintf("%s/verify", dir), false, created) &&
		make_file(psprintf("%s/deploy/%s.sql", dir, name),
				  psprintf("-- Deploy %s\n", name), created) &&
		make_file(psprintf("%s/revert/%s.sql", dir, name),
				  psprintf("-- Revert %s\n", name), created) &&
		make_file(psprintf("%s/verify/%s.sql", dir, name),
				  psprintf("-- Verify %s\n", name), created) &&
		add_to_plan(dir, name);
}

int
dbops_migrate_new(int argc, char **argv, const char *progname)
{
	static const struct option long_options[] = {
		{"dbname", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{"layout", required_argument, NULL, 'l'},
		{NULL, 0, NULL, 0}
	};
	DbopsArgs	a;
	const char *name;
	const char *dir;
	char	   *layout = NULL;
	char	   *latest = NULL;
	char	   *version;
	Created		created;
	int			c;
	int			rc;

	memset(&a, 0, sizeof(a));
	memset(&created, 0, sizeof(created));
	a.progname = progname;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:l:", long_options, NULL)) != -1)
	{
		if (dbops_parse_common(c, optarg, &a))
			continue;
		switch (c)
		{
			case 'h':
				dbops_migrate_new_help(progname);
				return DBOPS_EXIT_OK;
			case 'l':
				layout = optarg;
				break;
			default:
				return dbops_bad_option(c, argv, progname, "migrate new");
		}
	}
	if (argc - optind < 1 || argc - optind > 2)
	{
		pg_log_error(argc - optind < 1 ? "migrate new needs NAME" :
					 "too many arguments for \"migrate new\"");
		pg_log_error_hint("Try \"%s migrate new --help\" for more information.", progname);
		return DBOPS_EXIT_USAGE;
	}
	name = argv[optind];
	dir = argc - optind == 2 ? argv[optind + 1] : ".";
	if (!valid_name(name))
	{
		pg_log_error("invalid migration name \"%s\"", name);
		pg_log_error_detail("A name is 1 to 100 letters, digits, \"_\" and \"-\".");
		return DBOPS_EXIT_USAGE;
	}
	if (layout != NULL)
	{
		int			i;

		for (i = 0; layouts[i] != NULL && strcmp(layouts[i], layout) != 0; i++)
			;
		if (layouts[i] == NULL)
		{
			pg_log_error("invalid layout \"%s\"", layout);
			pg_log_error_hint("Layouts are hasura, diesel, golang-migrate, flyway and sqitch.");
			return DBOPS_EXIT_USAGE;
		}
	}
	else if ((rc = ask_layout(&a, dir, &layout, &latest)) != DBOPS_EXIT_OK)
		return rc;

	version = next_version(layout, latest);
	if (version != NULL && latest != NULL && version_cmp(version, latest) <= 0)
	{
		pg_log_error("new version \"%s\" would not sort after the latest one, \"%s\"",
					 version, latest);
		pg_log_error_hint("Check the clock, or the versions in \"%s\".", dir);
		return DBOPS_EXIT_USAGE;
	}
	if (!create_migration(dir, layout, version, name, &created))
	{
		/* leave nothing half made: newest first, directories once empty */
		for (int i = created.n - 1; i >= 0; i--)
			(void) (created.is_dir[i] ? rmdir(created.paths[i]) : unlink(created.paths[i]));
		return DBOPS_EXIT_USAGE;
	}

	if (a.json)
	{
		printf("{\"layout\": ");
		dbops_print_json_string(layout);
		printf(", \"version\": ");
		if (version)
			dbops_print_json_string(version);
		else
			printf("null");
		printf(", \"files\": [");
		for (int i = 0, n = 0; i < created.n; i++)
		{
			if (created.is_dir[i])
				continue;
			printf("%s", n++ > 0 ? ", " : "");
			dbops_print_json_string(created.paths[i]);
		}
		printf("]}\n");
	}
	else
	{
		for (int i = 0; i < created.n; i++)
			if (!created.is_dir[i])
				printf("created %s\n", created.paths[i]);
	}
	return DBOPS_EXIT_OK;
}
