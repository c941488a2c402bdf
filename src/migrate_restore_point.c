/*-------------------------------------------------------------------------
 *
 * migrate_restore_point.c
 *		A restore point before each migration, so that a base backup and
 *		the archived WAL can bring a server back to just before it
 *		("dbops_archive backup-fetch --target-migration V").
 *
 * The point is named "dbops:<version>", or "dbops:" and a SHA-256 prefix
 * of the version when that would not fit PostgreSQL's limit on restore
 * point names, and its LSN is recorded with the migration in
 * dbops.schema_migrations.  It is written only when WAL is archived (a
 * restore point without archived WAL restores nothing) and never during
 * recovery; otherwise the migration records none.  PostgreSQL's own
 * pg_create_restore_point() makes the same checks, but is reserved to
 * superusers: migrating is what gives the right here.
 *
 * src/migrate_restore_point.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "common/cryptohash.h"
#include "common/sha2.h"

#include "migrate.h"

#define RESTORE_POINT_PREFIX "dbops:"

/* The name of the restore point before migration version */
static char *
restore_point_name(const char *version)
{
	char	   *name = psprintf(RESTORE_POINT_PREFIX "%s", version);
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	char		hex[2 * PG_SHA256_DIGEST_LENGTH + 1];
	pg_cryptohash_ctx *ctx;

	if (strlen(name) < MAXFNAMELEN)
		return name;
	ctx = pg_cryptohash_create(PG_SHA256);
	if (pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) version, strlen(version)) < 0 ||
		pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(ctx));
	pg_cryptohash_free(ctx);
	for (int i = 0; i < PG_SHA256_DIGEST_LENGTH; i++)
		sprintf(hex + 2 * i, "%02x", digest[i]);
	/* as much of the digest as fits: MAXFNAMELEN counts the final zero */
	hex[MAXFNAMELEN - 1 - strlen(RESTORE_POINT_PREFIX)] = '\0';
	return psprintf(RESTORE_POINT_PREFIX "%s", hex);
}

/*
 * Write the restore point before migration version, when WAL is archived:
 * returns its LSN and its name in *name, or InvalidXLogRecPtr and NULL.
 */
XLogRecPtr
migrate_restore_point(const char *version, char **name)
{
	*name = NULL;
	if (RecoveryInProgress() || !XLogArchivingActive())
		return InvalidXLogRecPtr;
	*name = restore_point_name(version);
	return XLogRestorePoint(*name);
}
