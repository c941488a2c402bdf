/*-------------------------------------------------------------------------
 *
 * migrate_dir.c
 *		Read migrations from a server-side directory, in the layouts other
 *		tools write:
 *
 *		<version>_<name>/up.sql, down.sql, verify.sql	Hasura, Diesel
 *		<version>_<name>.up.sql, .down.sql				golang-migrate
 *		V<version>__<desc>.sql, U<version>__<desc>.sql	Flyway
 *		sqitch.plan with deploy/, revert/, verify/		Sqitch (migrate_sqitch.c)
 *
 * Diesel's sidecar metadata.toml may say run_in_transaction = false, and
 * Flyway's V<version>__<desc>.sql.conf executeInTransaction=false, which
 * marks the migration like a first line "-- dbops:no-transaction".
 *
 * Layouts may be mixed.  Entries whose name starts with a dot are skipped;
 * any other entry that fits no layout is an error naming it, as is a down
 * script without an up script.  Messages name entries relative to the
 * directory.
 *
 * src/migrate_dir.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "catalog/pg_authid.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/acl.h"

#include "migrate.h"

/*
 * A file that belongs to an up script (a down script, or Flyway's script
 * configuration), waiting for the up script with the same pairing key
 */
typedef struct Companion
{
	char	   *key;
	char	   *file;
	char	   *text;
	bool		is_config;
} Companion;

static int
name_cmp(const ListCell *a, const ListCell *b)
{
	return strcmp(lfirst(a), lfirst(b));
}

/*
 * The SQLSTATE of a failed file call: PostgreSQL's mapping, plus what it
 * leaves as an internal error: a symlink loop counts as a missing file, a
 * path the system refuses as too long as a name that is too long.
 */
static int
file_errcode(void)
{
	if (errno == ELOOP)
		return errcode(ERRCODE_UNDEFINED_FILE);
	if (errno == ENAMETOOLONG)
		return errcode(ERRCODE_NAME_TOO_LONG);
	return errcode_for_file_access();
}

/*
 * The names in directory path, sorted, without those starting with a dot.
 * display names the directory in messages.
 */
static List *
list_dir(const char *path, const char *display)
{
	DIR		   *dir = AllocateDir(path);
	struct dirent *de;
	List	   *names = NIL;

	if (dir == NULL)
		ereport(ERROR,
				(file_errcode(),
				 errmsg("could not open migrations directory \"%s\": %m",
						display),
				 display[0] == '[' ?
				 errhint("To pass migrations as a document, cast the argument to jsonb.") : 0));
	while ((de = ReadDir(dir, path)) != NULL)
	{
		if (de->d_name[0] != '.')
			names = lappend(names, pstrdup(de->d_name));
	}
	FreeDir(dir);
	list_sort(names, name_cmp);
	return names;
}

/*
 * The whole content of file path as a string in the database encoding,
 * without a UTF-8 byte order mark.  display names it in messages.
 *
 * Only regular files are read: a FIFO would block the backend beyond
 * cancel and terminate, and a device such as /dev/zero would read as
 * anything.  Opening with O_NONBLOCK keeps the open itself from waiting
 * for a FIFO's writer; the file type is then checked on what was opened.
 */
char *
migrate_read_file(const char *path, const char *display)
{
	int			fd = OpenTransientFile(path, O_RDONLY | O_NONBLOCK | PG_BINARY);
	struct stat st;
	char	   *buf;
	size_t		len = 0;

	if (fd < 0)
		ereport(ERROR,
				(file_errcode(),
				 errmsg("could not open migration file \"%s\": %m", display)));
	if (fstat(fd, &st) < 0)
		ereport(ERROR,
				(file_errcode(),
				 errmsg("could not stat migration file \"%s\": %m", display)));
	if (!S_ISREG(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("migration file \"%s\" is not a regular file", display),
				 errdetail("Only regular files are read as migrations, not FIFOs, devices or sockets.")));
	if (st.st_size >= MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("migration file \"%s\" is too large", display)));

	buf = palloc(st.st_size + 1);
	while (len < (size_t) st.st_size)
	{
		ssize_t		n = read(fd, buf + len, st.st_size - len);

		if (n < 0)
			ereport(ERROR,
					(file_errcode(),
					 errmsg("could not read migration file \"%s\": %m", display)));
		if (n == 0)
			break;
		len += n;
	}
	CloseTransientFile(fd);
	buf[len] = '\0';

	/* a zero byte is invalid too, which text could not hold */
	if (!pg_verify_mbstr(GetDatabaseEncoding(), buf, len, true))
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("migration file \"%s\" is not valid %s",
						display, GetDatabaseEncodingName())));
	return (char *) migrate_skip_bom(buf);
}

/* The file at path, or NULL if there is none */
char *
migrate_read_optional(const char *path, const char *display)
{
	struct stat st;

	if (lstat(path, &st) != 0 && errno == ENOENT)
		return NULL;
	return migrate_read_file(path, display);
}

static bool
has_name(List *names, const char *name)
{
	ListCell   *lc;

	foreach(lc, names)
	{
		if (strcmp(lfirst(lc), name) == 0)
			return true;
	}
	return false;
}

static void no_layout(const char *display, bool in_migration_dir) pg_attribute_noreturn();

static void
no_layout(const char *display, bool in_migration_dir)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("file \"%s\" in migrations directory fits no layout",
					display),
			 in_migration_dir ?
			 errdetail("A migration directory holds up.sql, down.sql, verify.sql and metadata.toml.") :
			 errdetail("Expected <version>_<name>.up.sql or .down.sql (golang-migrate), V<version>__<description>.sql or U<version>__<description>.sql (Flyway), or a directory <version>_<name> with up.sql (Hasura, Diesel); versions start with a digit.")));
}

/*
 * Split "<version>_<name>" at its first underscore.  Returns false unless
 * the version starts with a digit.
 */
static bool
split_version(const char *stem, char **version, char **name)
{
	const char *sep = strchr(stem, '_');

	if (!isdigit((unsigned char) stem[0]))
		return false;
	*version = sep ? pnstrdup(stem, sep - stem) : pstrdup(stem);
	*name = pstrdup(sep ? sep + 1 : "");
	return true;
}

/*
 * Does a configuration file set key to false?  Diesel's metadata.toml
 * (run_in_transaction = false) and Flyway's script configuration
 * (executeInTransaction=false) both write one "key = value" per line, and
 * only that key matters here, so a line-wise look suffices: key, "=",
 * false, and perhaps a comment.
 */
static bool
config_sets_false(const char *text, const char *key)
{
	size_t		keylen = strlen(key);
	const char *line = text;

	while (line != NULL && *line != '\0')
	{
		const char *p = line;

		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, key, keylen) == 0)
		{
			for (p += keylen; *p == ' ' || *p == '\t'; p++)
				;
			if (*p++ == '=')
			{
				while (*p == ' ' || *p == '\t')
					p++;
				if (strncmp(p, "false", 5) == 0)
				{
					for (p += 5; *p == ' ' || *p == '\t' || *p == '\r'; p++)
						;
					return *p == '\n' || *p == '#' || *p == '\0';
				}
			}
		}
		line = strchr(line, '\n');
		if (line != NULL)
			line++;
	}
	return false;
}

/* A Hasura or Diesel migration: directory <version>_<name> */
static Migration *
read_migration_dir(const char *path, const char *dirname)
{
	char	   *subdir = psprintf("%s/%s", path, dirname);
	char	   *version;
	char	   *name;
	List	   *files;
	ListCell   *lc;
	Migration  *m;

	if (!split_version(dirname, &version, &name))
		no_layout(dirname, false);

	files = list_dir(subdir, dirname);
	foreach(lc, files)
	{
		char	   *f = lfirst(lc);

		if (strcmp(f, "up.sql") != 0 && strcmp(f, "down.sql") != 0 &&
			strcmp(f, "verify.sql") != 0 && strcmp(f, "metadata.toml") != 0)
			no_layout(psprintf("%s/%s", dirname, f), true);
	}
	if (!has_name(files, "up.sql"))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("migration directory \"%s\" has no up.sql", dirname)));

	m = migrate_source_new(version, name, dirname,
						   migrate_read_file(psprintf("%s/up.sql", subdir),
											 psprintf("%s/up.sql", dirname)),
						   "up.sql");
	m->down_file = "down.sql";
	if (has_name(files, "down.sql"))
		m->down_sql = migrate_read_file(psprintf("%s/down.sql", subdir),
										psprintf("%s/down.sql", dirname));
	m->verify_file = "verify.sql";
	if (has_name(files, "verify.sql"))
		m->verify_sql = migrate_read_file(psprintf("%s/verify.sql", subdir),
										  psprintf("%s/verify.sql", dirname));
	if (has_name(files, "metadata.toml") &&
		config_sets_false(migrate_read_file(psprintf("%s/metadata.toml", subdir),
											psprintf("%s/metadata.toml", dirname)),
						  "run_in_transaction"))
		m->no_transaction = "Its metadata.toml sets run_in_transaction = false.";
	return m;
}

/* Does name end with suffix?  Then *stem is what comes before it. */
static bool
strip_suffix(const char *name, const char *suffix, char **stem)
{
	size_t		len = strlen(name);
	size_t		slen = strlen(suffix);

	if (len <= slen || strcmp(name + len - slen, suffix) != 0)
		return false;
	*stem = pnstrdup(name, len - slen);
	return true;
}

/*
 * What pairs a down script with its up script: the stem for golang-migrate
 * (1_init of 1_init.up.sql), the version for Flyway (V1 of U1__init.sql).
 */
static char *
pairing_key(const char *file)
{
	char	   *stem;

	if (strip_suffix(file, ".up.sql", &stem) ||
		strip_suffix(file, ".down.sql", &stem))
		return stem;
	return psprintf("V%s", pnstrdup(file + 1, strstr(file, "__") - (file + 1)));
}

/*
 * Is file a Flyway script, V<version>__<desc>.sql or U<version>__<desc>.sql?
 * Then say which, with its version and description.
 */
static bool
flyway_name(const char *file, bool *up, char **version, char **name)
{
	char	   *stem;
	char	   *sep;

	if ((file[0] != 'V' && file[0] != 'U') ||
		!strip_suffix(file + 1, ".sql", &stem) ||
		(sep = strstr(stem, "__")) == NULL ||
		!isdigit((unsigned char) stem[0]))
		return false;
	*up = file[0] == 'V';
	*version = pnstrdup(stem, sep - stem);
	*name = pstrdup(sep + 2);
	return true;
}

/*
 * A file in the golang-migrate or Flyway layout.  An up script becomes a
 * migration, appended to *ups; a down script or a Flyway script
 * configuration is kept in *companions until every up script is known.
 */
static void
read_migration_file(const char *path, const char *file, List **ups,
					List **companions)
{
	char	   *full = psprintf("%s/%s", path, file);
	char	   *stem;
	char	   *version;
	char	   *name;
	bool		up;
	Companion  *c;

	if ((up = strip_suffix(file, ".up.sql", &stem)) ||
		strip_suffix(file, ".down.sql", &stem))
	{
		if (!split_version(stem, &version, &name))
			no_layout(file, false);
	}
	else if (!flyway_name(file, &up, &version, &name))
	{
		/* Flyway's configuration of a V script: V1__init.sql.conf */
		if (!strip_suffix(file, ".conf", &stem) ||
			!flyway_name(stem, &up, &version, &name) || !up)
			no_layout(file, false);
		up = false;
	}

	if (up)
	{
		*ups = lappend(*ups, migrate_source_new(version, name, file,
												migrate_read_file(full, file),
												file));
		return;
	}
	c = palloc(sizeof(Companion));
	c->is_config = strip_suffix(file, ".conf", &stem);
	c->key = pairing_key(c->is_config ? stem : file);
	c->file = pstrdup(file);
	c->text = migrate_read_file(full, file);
	*companions = lappend(*companions, c);
}

/*
 * Give each companion file to its up script.  The ups list also holds the
 * Hasura directories, whose up file "up.sql" pairs with nothing.
 */
static void
attach_companions(List *ups, List *companions)
{
	char	  **keys = palloc(Max(list_length(ups), 1) * sizeof(char *));
	ListCell   *lc;

	foreach(lc, ups)
	{
		Migration  *m = lfirst(lc);

		keys[foreach_current_index(lc)] =
			strcmp(m->up_file, "up.sql") != 0 ? pairing_key(m->up_file) : NULL;
	}

	foreach(lc, companions)
	{
		Companion  *c = lfirst(lc);
		Migration  *match = NULL;

		for (int i = 0; i < list_length(ups) && match == NULL; i++)
			if (keys[i] != NULL && strcmp(keys[i], c->key) == 0)
				match = list_nth(ups, i);
		if (match == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("file \"%s\" in migrations directory has no up file",
							c->file)));
		if (c->is_config)
		{
			if (config_sets_false(c->text, "executeInTransaction"))
				match->no_transaction =
					psprintf("Its %s sets executeInTransaction=false.", c->file);
			continue;
		}
		if (match->down_sql != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("migration \"%s\" has two down files in migrations directory",
							match->label),
					 errdetail("\"%s\" and \"%s\" are both its down file.",
							   match->down_file, c->file)));
		match->down_sql = c->text;
		match->down_file = c->file;
	}
}

/*
 * Read the migrations in directory path.  Reading server files is reserved
 * to superusers and members of pg_read_server_files, as for pg_read_file().
 */
MigrationSource *
migrate_source_read_dir(const char *path)
{
	List	   *names;
	List	   *ups = NIL;
	List	   *companions = NIL;
	ListCell   *lc;

	if (!superuser() && !has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to read migrations directory \"%s\"", path),
				 errdetail("Only superusers and roles with privileges of pg_read_server_files may read server-side directories."),
				 path[0] == '[' ?
				 errhint("To pass migrations as a document, cast the argument to jsonb.") :
				 errhint("Pass the migrations as a jsonb document instead.")));

	names = list_dir(path, path);
	if (has_name(names, "sqitch.plan"))
		return migrate_source_from_list(migrate_sqitch_read(path));

	foreach(lc, names)
	{
		char	   *name = lfirst(lc);
		char	   *full = psprintf("%s/%s", path, name);
		struct stat st;

		if (stat(full, &st) != 0)
			ereport(ERROR,
					(file_errcode(),
					 errmsg("could not stat file \"%s\" in migrations directory: %m",
							name)));
		if (S_ISDIR(st.st_mode))
			ups = lappend(ups, read_migration_dir(path, name));
		else if (S_ISREG(st.st_mode))
			read_migration_file(path, name, &ups, &companions);
		else
			no_layout(name, false);
	}
	attach_companions(ups, companions);
	return migrate_source_from_list(ups);
}
