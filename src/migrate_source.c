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

/* Does sql start with the no-transaction mark on a line of its own? */
bool
migrate_has_no_transaction_mark(const char *sql)
{
	size_t		marklen = strlen(MIGRATE_NO_TRANSACTION_MARK);
	const char *p;

	if (sql == NULL || strncmp(sql, MIGRATE_NO_TRANSACTION_MARK, marklen) != 0)
		return false;
	for (p = sql + marklen; *p == ' ' || *p == '\t' || *p == '\r'; p++)
		;
	return *p == '\n' || *p == '\0';
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
	if (migrate_has_no_transaction_mark(up_sql))
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
