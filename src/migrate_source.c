/*-------------------------------------------------------------------------
 *
 * migrate_source.c
 *		What every migration source shares, whatever it was read from:
 *		building a Migration, its checksum, sorting and duplicate checks.
 *
 * The checksum is the SHA-256 of the exact bytes of the up SQL, so the
 * same file gives the same checksum whether the server read it from a
 * directory or a client sent it in a jsonb document.
 *
 * src/migrate_source.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/cryptohash.h"
#include "common/sha2.h"
#include "lib/stringinfo.h"

#include "migrate.h"

/* Hex SHA-256 of data into hex, which has room for the digest and a zero */
void
migrate_source_checksum(const char *data, size_t len, char *hex)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	static const char digits[] = "0123456789abcdef";

	if (pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) data, len) < 0 ||
		pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		elog(ERROR, "could not compute SHA-256 checksum: %s",
			 pg_cryptohash_error(ctx));
	pg_cryptohash_free(ctx);

	for (int i = 0; i < PG_SHA256_DIGEST_LENGTH; i++)
	{
		hex[2 * i] = digits[digest[i] >> 4];
		hex[2 * i + 1] = digits[digest[i] & 0x0f];
	}
	hex[MIGRATE_CHECKSUM_LEN] = '\0';
}

/*
 * sql without a leading UTF-8 byte order mark, which editors on some
 * systems write and which the SQL grammar does not skip.  Checksums cover
 * the text after it, so a file and the same file sent by a client agree.
 */
const char *
migrate_skip_bom(const char *sql)
{
	if (sql != NULL && strncmp(sql, MIGRATE_BOM, MIGRATE_BOM_LEN) == 0)
		return sql + MIGRATE_BOM_LEN;
	return sql;
}

/*
 * Read the directives of a script: a leading block of lines that start
 * with "-- dbops:", in any order (the block ends at the first other line).
 *
 *		-- dbops:no-transaction				runs outside a transaction block
 *		-- dbops:allow-hazard NAME [NAME...]	dbops.hazard_policy lets it pass
 *
 * An unrecognized directive or hazard name is an error naming the file and
 * line: a misspelt directive silently ignored would do what the author
 * meant to prevent.
 */
void
migrate_directives_parse(const char *label, const char *file, const char *sql,
						 MigrationDirectives *out)
{
	size_t		prefix_len = strlen(MIGRATE_DIRECTIVE_PREFIX);
	const char *line = sql;
	MigrationErrorContext ctx;

	memset(out, 0, sizeof(MigrationDirectives));
	if (sql == NULL)
		return;
	migrate_errcontext_push(&ctx, label, file, sql);
	while (strncmp(line, MIGRATE_DIRECTIVE_PREFIX, prefix_len) == 0)
	{
		const char *end = line + strcspn(line, "\n");
		const char *p = line + prefix_len;
		size_t		wlen = strcspn(p, " \t\r\n");
		char	   *word = pnstrdup(p, wlen);
		List	   *args = NIL;

		ctx.stmt_offset = line - sql;
		ctx.stmt_length = end - line;
		for (p += wlen; p < end;)
		{
			size_t		alen;

			p += strspn(p, " \t\r,");
			alen = Min(strcspn(p, " \t\r,\n"), (size_t) (end - p));
			if (alen > 0)
				args = lappend(args, pnstrdup(p, alen));
			p += alen;
		}

		if (strcmp(word, "no-transaction") == 0 && args == NIL)
			out->no_transaction = true;
		else if (strcmp(word, "allow-hazard") == 0 && args != NIL)
		{
			ListCell   *lc;

			foreach(lc, args)
			{
				if (!migrate_hazard_known(lfirst(lc)))
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("unrecognized hazard \"%s\" in directive of migration \"%s\"",
									(char *) lfirst(lc), label),
							 errhint("The hazards are named in the column \"hazard\" of dbops.migration_hazards().")));
			}
			out->allow_hazards = list_concat(out->allow_hazards, args);
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid directive \"%s\" in migration \"%s\"",
							pnstrdup(line, end - line), label),
					 errdetail("The directives are \"-- dbops:no-transaction\" and \"-- dbops:allow-hazard\" followed by one or more hazard names.")));
		line = *end == '\n' ? end + 1 : end;
	}
	migrate_errcontext_pop(&ctx);
}

/*
 * A new migration with its up SQL.  origin says where the source defines it
 * (a file name, a JSON path), for messages about the source itself.
 */
Migration *
migrate_source_new(const char *version, const char *name, const char *origin,
				   char *up_sql, const char *up_file)
{
	Migration  *m = palloc0(sizeof(Migration));

	m->version = pstrdup(version);
	m->name = pstrdup(name);
	m->label = name[0] != '\0' ? psprintf("%s_%s", version, name) : m->version;
	m->origin = pstrdup(origin);
	m->up_sql = up_sql;
	m->up_file = pstrdup(up_file);
	migrate_source_checksum(up_sql, strlen(up_sql), m->checksum);
	migrate_directives_parse(m->label, m->up_file, up_sql, &m->directives);
	if (m->directives.no_transaction)
		m->no_transaction = psprintf("Its up SQL starts with \"%s\".",
									 MIGRATE_NO_TRANSACTION_MARK);
	return m;
}

static int
migration_cmp(const ListCell *a, const ListCell *b)
{
	const Migration *ma = lfirst(a);
	const Migration *mb = lfirst(b);

	return migrate_version_cmp(ma->version, mb->version);
}

/*
 * Sort the migrations by version into a MigrationSource, refusing two
 * migrations whose versions compare equal.
 */
MigrationSource *
migrate_source_from_list(List *migrations)
{
	MigrationSource *source = palloc0(sizeof(MigrationSource));
	ListCell   *lc;
	int			i = 0;

	list_sort(migrations, migration_cmp);
	source->count = list_length(migrations);
	source->items = palloc(Max(source->count, 1) * sizeof(Migration *));
	foreach(lc, migrations)
	{
		Migration  *m = lfirst(lc);

		if (i > 0 && migrate_version_cmp(source->items[i - 1]->version,
										 m->version) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("duplicate migration version \"%s\"", m->version),
					 errdetail("\"%s\" and \"%s\" have versions that compare equal.",
							   source->items[i - 1]->origin, m->origin),
					 errhint("Versions compare by the numeric value of their digits, so \"1\" and \"001\" are the same version.")));
		source->items[i++] = m;
	}
	return source;
}

/* The migration of the source whose version compares equal, or NULL */
Migration *
migrate_source_find(MigrationSource *source, const char *version)
{
	int			lo = 0;
	int			hi = source->count - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		int			c = migrate_version_cmp(source->items[mid]->version, version);

		if (c == 0)
			return source->items[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}
