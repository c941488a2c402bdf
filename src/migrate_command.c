/*-------------------------------------------------------------------------
 *
 * migrate_command.c
 *		Temporary: the SQL signatures are in place, the work follows in the
 *		next commits.  Every function reports that it is not implemented.
 *
 * src/migrate_command.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "migrate.h"

static void
not_yet(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("migrations are not implemented yet")));
}

MigrationSource *
migrate_source_read_dir(const char *path)
{
	not_yet();
	return NULL;
}

MigrationSource *
migrate_source_read_json(Jsonb *doc)
{
	not_yet();
	return NULL;
}

void
migrate_apply(FunctionCallInfo fcinfo, MigrationSource *source,
			  const char *target, bool dry_run, bool allow_out_of_order)
{
	not_yet();
}

void
migrate_rollback(FunctionCallInfo fcinfo, const char *target, int steps,
				 bool dry_run)
{
	not_yet();
}

void
migrate_status(FunctionCallInfo fcinfo, MigrationSource *source)
{
	not_yet();
}

void
migrate_baseline(FunctionCallInfo fcinfo, MigrationSource *source,
				 const char *target)
{
	not_yet();
}

void
migrate_repair(FunctionCallInfo fcinfo, MigrationSource *source)
{
	not_yet();
}
