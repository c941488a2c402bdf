/*-------------------------------------------------------------------------
 *
 * migrate_funcs.c
 *		SQL-callable migration functions: argument checks, then the source
 *		is read and the work handed to migrate_command.c.
 *
 * Every function exists twice, once for a server-side directory (text) and
 * once for jsonb, a document (an array of migrations) or a directory's
 * files sent by a client (an object); they differ only in how the source
 * is read.
 *
 * src/migrate_funcs.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "dbops.h"
#include "migrate.h"
#include "worker.h"

PG_FUNCTION_INFO_V1(dbops_apply_migrations_dir);
PG_FUNCTION_INFO_V1(dbops_apply_migrations_json);
PG_FUNCTION_INFO_V1(dbops_rollback_migrations);
PG_FUNCTION_INFO_V1(dbops_migration_status_dir);
PG_FUNCTION_INFO_V1(dbops_migration_status_json);
PG_FUNCTION_INFO_V1(dbops_baseline_dir);
PG_FUNCTION_INFO_V1(dbops_baseline_json);
PG_FUNCTION_INFO_V1(dbops_repair_migrations_dir);
PG_FUNCTION_INFO_V1(dbops_repair_migrations_json);
PG_FUNCTION_INFO_V1(dbops_migration_hazards_dir);
PG_FUNCTION_INFO_V1(dbops_migration_hazards_json);
PG_FUNCTION_INFO_V1(dbops_migration_layout_dir);
PG_FUNCTION_INFO_V1(dbops_migration_layout_json);
PG_FUNCTION_INFO_V1(dbops_submit_migrations_dir);
PG_FUNCTION_INFO_V1(dbops_submit_migrations_json);

/*
 * Read the source given as the function's first argument: a directory for
 * the text forms, a document or a map of files for the jsonb forms.
 */
static MigrationSource *
source_arg(FunctionCallInfo fcinfo, bool is_dir)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("migration source must not be null")));
	if (is_dir)
		return migrate_source_read_dir(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	return migrate_source_read_json(PG_GETARG_JSONB_P(0));
}

/* An optional text argument: NULL stays NULL */
static const char *
optional_text_arg(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL :
		text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/* An optional boolean argument: NULL means false */
static bool
optional_bool_arg(FunctionCallInfo fcinfo, int argno)
{
	return !PG_ARGISNULL(argno) && PG_GETARG_BOOL(argno);
}

/* apply_migrations' on_drift: NULL means the setting dbops.on_drift */
static DbopsDriftPolicy
on_drift_arg(FunctionCallInfo fcinfo, int argno)
{
	const char *on_drift = optional_text_arg(fcinfo, argno);

	if (on_drift == NULL)
		return dbops_on_drift;
	if (strcmp(on_drift, "warn") == 0)
		return DBOPS_DRIFT_WARN;
	if (strcmp(on_drift, "ignore") == 0)
		return DBOPS_DRIFT_IGNORE;
	if (strcmp(on_drift, "error") == 0)
		return DBOPS_DRIFT_ERROR;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for on_drift: \"%s\"", on_drift),
			 errhint("Valid values are \"warn\", \"ignore\" and \"error\".")));
	return DBOPS_DRIFT_WARN;	/* keep compiler quiet */
}

/*
 * The limits of apply_migrations and submit_migrations: the settings, or
 * their arguments lock_timeout (5) and lock_retries (6)
 */
static void
limits_args(FunctionCallInfo fcinfo, MigrationLimits *limits)
{
	int			lock_retries = PG_ARGISNULL(6) ? 0 : PG_GETARG_INT32(6);

	migrate_limits_init(limits,
						PG_ARGISNULL(5) ? NULL : PG_GETARG_INTERVAL_P(5),
						PG_ARGISNULL(6) ? NULL : &lock_retries);
}

static Datum
apply_common(FunctionCallInfo fcinfo, bool is_dir)
{
	MigrationSource *source;
	MigrationLimits limits;
	DbopsDriftPolicy on_drift = on_drift_arg(fcinfo, 4);

	limits_args(fcinfo, &limits);
	source = source_arg(fcinfo, is_dir);

	migrate_apply(fcinfo, source,
				  optional_text_arg(fcinfo, 1),
				  optional_bool_arg(fcinfo, 2),
				  optional_bool_arg(fcinfo, 3),
				  on_drift, &limits);
	return (Datum) 0;
}

/*
 * apply_migrations(source_dir text | migrations jsonb, target_version text,
 *					dry_run boolean, allow_out_of_order boolean,
 *					on_drift text, lock_timeout interval,
 *					lock_retries integer)
 */
Datum
dbops_apply_migrations_dir(PG_FUNCTION_ARGS)
{
	return apply_common(fcinfo, true);
}

Datum
dbops_apply_migrations_json(PG_FUNCTION_ARGS)
{
	return apply_common(fcinfo, false);
}

/*
 * rollback_migrations(target_version text, steps integer, dry_run boolean)
 *
 * At most one of target_version and steps; neither means one step.
 */
Datum
dbops_rollback_migrations(PG_FUNCTION_ARGS)
{
	const char *target = optional_text_arg(fcinfo, 0);
	int			steps = 0;
	MigrationLimits limits;

	if (!PG_ARGISNULL(1))
	{
		steps = PG_GETARG_INT32(1);
		if (steps < 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("steps must be at least 1, not %d", steps)));
		if (target != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("target_version and steps cannot both be given")));
	}
	else if (target == NULL)
		steps = 1;

	migrate_limits_init(&limits, NULL, NULL);
	migrate_rollback(fcinfo, target, steps, optional_bool_arg(fcinfo, 2),
					 &limits);
	return (Datum) 0;
}

/* migration_status(source_dir text | migrations jsonb) */
Datum
dbops_migration_status_dir(PG_FUNCTION_ARGS)
{
	migrate_status(fcinfo, source_arg(fcinfo, true));
	return (Datum) 0;
}

Datum
dbops_migration_status_json(PG_FUNCTION_ARGS)
{
	migrate_status(fcinfo, source_arg(fcinfo, false));
	return (Datum) 0;
}

static Datum
baseline_common(FunctionCallInfo fcinfo, bool is_dir)
{
	MigrationSource *source = source_arg(fcinfo, is_dir);

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("baseline version must not be null")));
	migrate_baseline(fcinfo, source, optional_text_arg(fcinfo, 1));
	return (Datum) 0;
}

/* baseline(source_dir text | migrations jsonb, target_version text) */
Datum
dbops_baseline_dir(PG_FUNCTION_ARGS)
{
	return baseline_common(fcinfo, true);
}

Datum
dbops_baseline_json(PG_FUNCTION_ARGS)
{
	return baseline_common(fcinfo, false);
}

/* repair_migrations(source_dir text | migrations jsonb) */
Datum
dbops_repair_migrations_dir(PG_FUNCTION_ARGS)
{
	migrate_repair(fcinfo, source_arg(fcinfo, true));
	return (Datum) 0;
}

Datum
dbops_repair_migrations_json(PG_FUNCTION_ARGS)
{
	migrate_repair(fcinfo, source_arg(fcinfo, false));
	return (Datum) 0;
}

/* migration_hazards(source_dir text | migrations jsonb) */
Datum
dbops_migration_hazards_dir(PG_FUNCTION_ARGS)
{
	migrate_hazards(fcinfo, source_arg(fcinfo, true));
	return (Datum) 0;
}

Datum
dbops_migration_hazards_json(PG_FUNCTION_ARGS)
{
	migrate_hazards(fcinfo, source_arg(fcinfo, false));
	return (Datum) 0;
}

/* migration_layout(source_dir text | migrations jsonb) */
Datum
dbops_migration_layout_dir(PG_FUNCTION_ARGS)
{
	migrate_layout(fcinfo, source_arg(fcinfo, true));
	return (Datum) 0;
}

Datum
dbops_migration_layout_json(PG_FUNCTION_ARGS)
{
	migrate_layout(fcinfo, source_arg(fcinfo, false));
	return (Datum) 0;
}

static Datum
submit_common(FunctionCallInfo fcinfo, bool is_dir)
{
	const char *commit = optional_text_arg(fcinfo, 1);
	MigrationSource *source;
	MigrationLimits limits;
	DbopsDriftPolicy on_drift = on_drift_arg(fcinfo, 4);
	bool		batch = false;

	if (commit != NULL && strcmp(commit, "batch") == 0)
		batch = true;
	else if (commit != NULL && strcmp(commit, "migration") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for commit: \"%s\"", commit),
				 errhint("Valid values are \"migration\" and \"batch\".")));
	limits_args(fcinfo, &limits);
	source = source_arg(fcinfo, is_dir);
	PG_RETURN_INT64(worker_submit(source, batch, optional_text_arg(fcinfo, 2),
								  optional_bool_arg(fcinfo, 3), on_drift,
								  &limits, "submit"));
}

/*
 * submit_migrations(source_dir text | migrations jsonb, commit text,
 *					 target_version text, allow_out_of_order boolean,
 *					 on_drift text, lock_timeout interval,
 *					 lock_retries integer)
 */
Datum
dbops_submit_migrations_dir(PG_FUNCTION_ARGS)
{
	return submit_common(fcinfo, true);
}

Datum
dbops_submit_migrations_json(PG_FUNCTION_ARGS)
{
	return submit_common(fcinfo, false);
}
