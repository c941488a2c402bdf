/*-------------------------------------------------------------------------
 *
 * migrate_dir.c
 *		Read migrations from a directory, on the server or sent by a client
 *		as a map of files (migrate_tree.c), in the layouts other tools write:
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

static void no_layout(FileTree *tree, const char *display,
					  bool in_migration_dir) pg_attribute_noreturn();

static void
no_layout(FileTree *tree, const char *display, bool in_migration_dir)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("file \"%s\" in migrations directory fits no layout",
					display),
			 in_migration_dir ?
			 errdetail("A migration directory holds up.sql, down.sql, verify.sql and metadata.toml.") :
			 errdetail("Expected <version>_<name>.up.sql or .down.sql (golang-migrate), V<version>__<description>.sql or U<version>__<description>.sql (Flyway), or a directory <version>_<name> with up.sql (Hasura, Diesel); versions start with a digit."),
			 tree->no_layout_hint ? errhint("%s", tree->no_layout_hint) : 0));
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

/*
 * Does a version look like Diesel's, a dashed date and time
 * (2019-02-26-002946), or its initial setup (00000000000000)?  Hasura's
 * are milliseconds since 1970.  Only a client that adds a migration cares.
 */
static bool
is_diesel_version(const char *version)
{
	static const char shape[] = "9999-99-99-999999";

	if (strspn(version, "0") == strlen(version) && strlen(version) == 14)
		return true;
	if (strlen(version) != strlen(shape))
		return false;
	for (int i = 0; shape[i] != '\0'; i++)
	{
		if (shape[i] == '9' ? !isdigit((unsigned char) version[i]) :
			version[i] != shape[i])
			return false;
	}
	return true;
}

/* A Hasura or Diesel migration: directory <version>_<name> */
static Migration *
read_migration_dir(FileTree *tree, const char *dirname)
{
	char	   *version;
	char	   *name;
	List	   *files;
	ListCell   *lc;
	Migration  *m;

	if (!split_version(dirname, &version, &name))
		no_layout(tree, dirname, false);

	files = tree->list(tree, dirname);
	foreach(lc, files)
	{
		char	   *f = lfirst(lc);

		if (strcmp(f, "up.sql") != 0 && strcmp(f, "down.sql") != 0 &&
			strcmp(f, "verify.sql") != 0 && strcmp(f, "metadata.toml") != 0)
			no_layout(tree, file_tree_path(dirname, f), true);
	}
	if (!has_name(files, "up.sql"))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("migration directory \"%s\" has no up.sql", dirname)));

	m = migrate_source_new(version, name, dirname,
						   tree->read(tree, file_tree_path(dirname, "up.sql")),
						   "up.sql");
	m->layout = is_diesel_version(version) ? "diesel" : "hasura";
	m->down_file = "down.sql";
	if (has_name(files, "down.sql"))
		m->down_sql = tree->read(tree, file_tree_path(dirname, "down.sql"));
	m->verify_file = "verify.sql";
	if (has_name(files, "verify.sql"))
		m->verify_sql = tree->read(tree, file_tree_path(dirname, "verify.sql"));
	if (has_name(files, "metadata.toml") &&
		config_sets_false(tree->read(tree, file_tree_path(dirname, "metadata.toml")),
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
read_migration_file(FileTree *tree, const char *file, List **ups,
					List **companions)
{
	char	   *stem;
	char	   *version;
	char	   *name;
	bool		up;
	const char *layout = "golang-migrate";
	Companion  *c;

	if ((up = strip_suffix(file, ".up.sql", &stem)) ||
		strip_suffix(file, ".down.sql", &stem))
	{
		if (!split_version(stem, &version, &name))
			no_layout(tree, file, false);
	}
	else
	{
		layout = "flyway";
		if (!flyway_name(file, &up, &version, &name))
		{
			/* Flyway's configuration of a V script: V1__init.sql.conf */
			if (!strip_suffix(file, ".conf", &stem) ||
				!flyway_name(stem, &up, &version, &name) || !up)
				no_layout(tree, file, false);
			up = false;
		}
	}

	if (up)
	{
		Migration  *m = migrate_source_new(version, name, file,
										   tree->read(tree, file), file);

		m->layout = layout;
		*ups = lappend(*ups, m);
		return;
	}
	c = palloc(sizeof(Companion));
	c->is_config = strip_suffix(file, ".conf", &stem);
	c->key = pairing_key(c->is_config ? stem : file);
	c->file = pstrdup(file);
	c->text = tree->read(tree, file);
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

/* Read the migrations of a directory, whichever side read its files */
static MigrationSource *
read_tree(FileTree *tree)
{
	List	   *names = tree->list(tree, "");
	List	   *ups = NIL;
	List	   *companions = NIL;
	ListCell   *lc;

	if (has_name(names, "sqitch.plan"))
		return migrate_source_from_list(migrate_sqitch_read(tree));

	foreach(lc, names)
	{
		char	   *name = lfirst(lc);

		switch (tree->kind(tree, name))
		{
			case FILE_ENTRY_DIR:
				ups = lappend(ups, read_migration_dir(tree, name));
				break;
			case FILE_ENTRY_FILE:
				read_migration_file(tree, name, &ups, &companions);
				break;
			default:
				no_layout(tree, name, false);
		}
	}
	attach_companions(ups, companions);
	return migrate_source_from_list(ups);
}

/* Read the migrations in directory path on the server */
MigrationSource *
migrate_source_read_dir(const char *path)
{
	return read_tree(file_tree_open_dir(path, &file_tree_migrations,
										path[0] == '[' || path[0] == '{' ?
										"To pass a document or a map of files, cast the argument to jsonb." :
										"Pass the migrations as a jsonb document or a map of files instead."));
}

/* Read the migrations of a directory a client sent as a map of its files */
MigrationSource *
migrate_source_read_map(Jsonb *files)
{
	return read_tree(file_tree_open_map(files, &file_tree_migrations));
}
