/*-------------------------------------------------------------------------
 *
 * migrate_command.c
 *		The work of apply_migrations, rollback_migrations, migration_status,
 *		baseline and repair_migrations.
 *
 * Each pairs the source's migrations with the catalog's in version order,
 * checks everything it is about to do, and only then acts, so that an
 * error found in migration K of N is reported before migration 1 runs
 * where it can be (checksums, order, syntax, transaction control).
 * Everything happens in the caller's transaction under the migration lock:
 * a batch is all or nothing, bookkeeping included.
 *
 * src/migrate_command.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "identity.h"
#include "migrate.h"

/* Columns of the widest result, apply_migrations's */
#define MIGRATE_RESULT_MAX_COLS 6

/* A migration of the source, of the catalog, or both */
typedef struct MigrationPair
{
	Migration  *source;			/* NULL: missing from the source */
	AppliedMigration *applied;	/* NULL: not applied */
} MigrationPair;

/* A pending migration with its scripts parsed */
typedef struct PlannedApply
{
	Migration  *m;
	MigrationScript *up;
	MigrationScript *verify;	/* NULL when there is nothing to verify */
} PlannedApply;

/*
 * Merge the source's migrations and the applied ones, both sorted, into
 * one list of pairs in version order.
 */
static List *
pair_migrations(MigrationSource *source, List *applied)
{
	List	   *pairs = NIL;
	ListCell   *lc = list_head(applied);
	int			i = 0;

	while (i < source->count || lc != NULL)
	{
		MigrationPair *p = palloc0(sizeof(MigrationPair));
		int			c;

		if (i >= source->count)
			c = 1;
		else if (lc == NULL)
			c = -1;
		else
			c = migrate_version_cmp(source->items[i]->version,
									((AppliedMigration *) lfirst(lc))->version);
		if (c <= 0)
			p->source = source->items[i++];
		if (c >= 0)
		{
			p->applied = lfirst(lc);
			lc = lnext(applied, lc);
		}
		pairs = lappend(pairs, p);
	}
	return pairs;
}

static bool
is_modified(MigrationPair *p)
{
	return p->source && p->applied &&
		strcmp(p->source->checksum, p->applied->checksum) != 0;
}

/*
 * Start a command: the result set, SPI, the migration lock unless the
 * command only reads, and the source paired with the catalog.
 */
static List *
begin_command(FunctionCallInfo fcinfo, MigrationSource *source, bool lock,
			  bool with_sql)
{
	InitMaterializedSRF(fcinfo, 0);
	SPI_connect();
	if (lock)
		migrate_lock();
	return pair_migrations(source, migrate_catalog_read(with_sql));
}

/*
 * The memory context each migration of a batch runs in, reset as each
 * finishes: what running one costs is not kept for the rest of the batch.
 */
static MemoryContext
migration_context_create(void)
{
	return AllocSetContextCreate(CurrentMemoryContext, "dbops migration",
								 ALLOCSET_DEFAULT_SIZES);
}

/*
 * Run a migration's script, and its verify script if any.  A SET in the
 * migration ends with it: rolling the GUC nest level back as on abort
 * reverts plain SETs too, which a commit would keep.  Returns how long it
 * took in microseconds, and when it started in *start.
 */
static int64
run_migration(MigrationScript *script, MigrationScript *verify,
			  TimestampTz *start)
{
	int			nestlevel;

	*start = GetCurrentTimestamp();
	nestlevel = NewGUCNestLevel();
	migrate_script_run(script);
	if (verify)
		migrate_script_run_discarded(verify);
	AtEOXact_GUC(false, nestlevel);
	return GetCurrentTimestamp() - *start;
}

/* The migration of the source with version target, or an error */
static Migration *
source_target(MigrationSource *source, const char *target)
{
	Migration  *m = migrate_source_find(source, target);

	if (m == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("migration version \"%s\" is not in the source", target)));
	return m;
}

/*
 * One row of a command's result: version, name, action, duration, and for
 * apply the columns that nothing fills yet (restore_lsn, hazards), NULL.
 */
static void
result_row(ReturnSetInfo *rsinfo, const char *version, const char *name,
		   const char *action, int64 duration_us)
{
	Datum		values[MIGRATE_RESULT_MAX_COLS] = {0};
	bool		nulls[MIGRATE_RESULT_MAX_COLS];

	Assert(rsinfo->setDesc->natts <= MIGRATE_RESULT_MAX_COLS);
	memset(nulls, true, sizeof(nulls));
	nulls[0] = nulls[1] = nulls[2] = false;
	nulls[3] = duration_us < 0;

	values[0] = CStringGetTextDatum(version);
	values[1] = CStringGetTextDatum(name);
	values[2] = CStringGetTextDatum(action);
	if (duration_us >= 0)
	{
		Interval   *iv = palloc0(sizeof(Interval));

		iv->time = duration_us;
		values[3] = IntervalPGetDatum(iv);
	}
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/* Parse a script of the source, or NULL when the source has none */
static MigrationScript *
parse_optional(Migration *m, const char *file, const char *sql,
			   MigrationScriptKind kind)
{
	MigrationScript *script;

	if (sql == NULL)
		return NULL;
	script = migrate_script_parse(m->label, file, sql, kind);
	return script->nstatements > 0 ? script : NULL;
}

/*
 * Check the pairs for apply and return what is to run: refuses a changed
 * applied migration, a pending one older than the latest applied (unless
 * allowed) and one that cannot run in a transaction, and parses every
 * script of the pending ones.
 */
static List *
plan_apply(List *pairs, Migration *target, bool allow_out_of_order)
{
	List	   *plan = NIL;
	AppliedMigration *latest = NULL;
	ListCell   *lc;

	foreach(lc, pairs)
	{
		MigrationPair *p = lfirst(lc);

		if (is_modified(p))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("applied migration \"%s\" has changed",
							p->source->label),
					 errdetail("Its up SQL now has checksum %s; %s was recorded when it was applied.",
							   p->source->checksum, p->applied->checksum),
					 errhint("Restore the original file, or accept the change with dbops.repair_migrations().")));
		if (p->applied)
			latest = p->applied;
	}

	foreach(lc, pairs)
	{
		MigrationPair *p = lfirst(lc);
		Migration  *m = p->source;
		PlannedApply *pa;

		if (m == NULL || p->applied != NULL)
			continue;
		if (target && migrate_version_cmp(m->version, target->version) > 0)
			break;
		if (latest && !allow_out_of_order &&
			migrate_version_cmp(m->version, latest->version) < 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("pending migration \"%s\" is older than applied migration \"%s\"",
							m->label, latest->label),
					 errhint("Pass allow_out_of_order => true to apply it anyway.")));
		if (m->no_transaction)
			ereport(ERROR,
					(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
					 errmsg("migration \"%s\" cannot run inside a transaction",
							m->label),
					 errdetail_internal("%s", m->no_transaction),
					 errhint("Nothing was applied. Run this migration's statements outside a transaction block (for example with psql), then record it with dbops.baseline(); apply the migrations before it first with target_version.")));

		pa = palloc0(sizeof(PlannedApply));
		pa->m = m;
		pa->up = migrate_script_parse(m->label, m->up_file, m->up_sql,
									  MIGRATE_SCRIPT_UP);
		pa->verify = parse_optional(m, m->verify_file, m->verify_sql,
									MIGRATE_SCRIPT_VERIFY);

		/*
		 * Down SQL is stored as written and parsed when a rollback is about
		 * to run it: real projects carry down files that do not parse, and
		 * their own tools apply them.  Say so now, since rollback will
		 * refuse it.
		 */
		if (m->down_sql != NULL)
			migrate_script_warn_unparsable(m->label, m->down_file, m->down_sql,
										   MIGRATE_SCRIPT_DOWN);
		plan = lappend(plan, pa);
	}
	return plan;
}

/*
 * Apply the pending migrations of source, up to and including target when
 * given, or only report them on a dry run.
 */
void
migrate_apply(FunctionCallInfo fcinfo, MigrationSource *source,
			  const char *target, bool dry_run, bool allow_out_of_order)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Migration  *target_m = target ? source_target(source, target) : NULL;
	List	   *plan;
	ListCell   *lc;
	MemoryContext each_cxt;

	plan = plan_apply(begin_command(fcinfo, source, true, false),
					  target_m, allow_out_of_order);

	each_cxt = migration_context_create();
	foreach(lc, plan)
	{
		PlannedApply *pa = lfirst(lc);
		MemoryContext oldcxt = MemoryContextSwitchTo(each_cxt);
		TimestampTz start;
		int64		duration;

		if (dry_run)
			result_row(rsinfo, pa->m->version, pa->m->name, "would apply", -1);
		else
		{
			duration = run_migration(pa->up, pa->verify, &start);
			migrate_catalog_insert(pa->m, start, duration, false);
			result_row(rsinfo, pa->m->version, pa->m->name, "applied", duration);
		}
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(each_cxt);
	}
	SPI_finish();
}

/* Does the role that supplied a's SQL still exist under its recorded name? */
static bool
supplier_exists(AppliedMigration *a)
{
	char	   *current = GetUserNameFromId(a->supplier, true);

	return current != NULL && strcmp(current, a->supplier_name) == 0;
}

/*
 * Stored down SQL runs as the role that supplied it, never with more
 * rights than that role nor than the caller: refuse unless the supplier
 * still exists (a role of the same OID but another name may be another
 * role, after a restore) and the caller is a member of it.
 */
static void
check_supplier(AppliedMigration *a)
{
	if (!supplier_exists(a))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role \"%s\" that supplied the down SQL of migration \"%s\" no longer exists",
						a->supplier_name, a->label),
				 errdetail("Stored SQL runs only as the role that supplied it; nothing was rolled back."),
				 errhint("Supply the down SQL again with dbops.repair_migrations(), which records you as its supplier.")));
	if (!is_member_of_role(GetUserId(), a->supplier))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to roll back migration \"%s\"", a->label),
				 errdetail("Its down SQL was supplied by role \"%s\" and runs as that role, but role \"%s\" is not a member of it; nothing was rolled back.",
						   a->supplier_name,
						   GetUserNameFromId(GetUserId(), false)),
				 errhint("Roll back as a member of role \"%s\".", a->supplier_name)));
}

/*
 * Roll back the latest applied migrations: down to target (which stays
 * applied), or the given number of steps.
 */
void
migrate_rollback(FunctionCallInfo fcinfo, const char *target, int steps,
				 bool dry_run)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	List	   *applied;
	List	   *todo = NIL;
	List	   *scripts = NIL;
	ListCell   *lc;
	ListCell   *sc;
	int			first;
	MemoryContext each_cxt;

	InitMaterializedSRF(fcinfo, 0);
	SPI_connect();
	migrate_lock();
	applied = migrate_catalog_read(true);

	if (target)
	{
		for (first = list_length(applied) - 1; first >= 0; first--)
			if (migrate_version_cmp(((AppliedMigration *) list_nth(applied, first))->version,
									target) == 0)
				break;
		if (first < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("migration version \"%s\" is not applied", target)));
		first++;
	}
	else
	{
		if (steps > list_length(applied))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg_plural("cannot roll back %d migration",
									"cannot roll back %d migrations",
									steps, steps),
					 errdetail_plural("Only %d migration is applied.",
									  "Only %d migrations are applied.",
									  list_length(applied),
									  list_length(applied))));
		first = list_length(applied) - steps;
	}

	/* newest first; check every down script before running any */
	for (int i = list_length(applied) - 1; i >= first; i--)
	{
		AppliedMigration *a = list_nth(applied, i);
		MigrationScript *down = NULL;

		check_supplier(a);
		if (a->down_sql)
		{
			if (migrate_has_no_transaction_mark(a->down_sql))
				ereport(ERROR,
						(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
						 errmsg("down SQL of migration \"%s\" cannot run inside a transaction",
								a->label),
						 errdetail("It starts with \"%s\"; nothing was rolled back.",
								   MIGRATE_NO_TRANSACTION_MARK)));
			down = migrate_script_parse(a->label, "down SQL", a->down_sql,
										MIGRATE_SCRIPT_DOWN);
		}
		if (down == NULL || down->nstatements == 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("migration \"%s\" has no down SQL", a->label),
					 errdetail(down == NULL ?
							   "No down SQL was recorded when it was applied; nothing was rolled back." :
							   "Its recorded down SQL holds only comments; nothing was rolled back.")));
		todo = lappend(todo, a);
		scripts = lappend(scripts, down);
	}

	each_cxt = migration_context_create();
	forboth(lc, todo, sc, scripts)
	{
		AppliedMigration *a = lfirst(lc);
		MemoryContext oldcxt = MemoryContextSwitchTo(each_cxt);
		TimestampTz start;
		int64		duration;
		IdentitySwitch sw;

		if (dry_run)
			result_row(rsinfo, a->version, a->name, "would roll back", -1);
		else
		{
			identity_become_supplier(a->supplier, &sw);
			duration = run_migration(lfirst(sc), NULL, &start);
			identity_restore(&sw);

			migrate_catalog_delete(a);
			migrate_catalog_event("rolled back", a->version, a->name,
								  a->checksum, NULL);
			result_row(rsinfo, a->version, a->name, "rolled back", duration);
		}
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(each_cxt);
	}
	SPI_finish();
}

/* Every migration of the source and of the catalog, with its state */
void
migrate_status(FunctionCallInfo fcinfo, MigrationSource *source)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	List	   *pairs = begin_command(fcinfo, source, false, false);
	ListCell   *lc;

	foreach(lc, pairs)
	{
		MigrationPair *p = lfirst(lc);
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, false, false};
		const char *state;

		if (p->applied == NULL)
			state = "pending";
		else if (p->source == NULL)
			state = "missing";
		else
			state = is_modified(p) ? "modified" : "applied";

		values[0] = CStringGetTextDatum(p->applied ? p->applied->version :
										p->source->version);
		values[1] = CStringGetTextDatum(p->source ? p->source->name :
										p->applied->name);
		values[2] = CStringGetTextDatum(state);
		if (p->applied)
		{
			values[3] = TimestampTzGetDatum(p->applied->applied_at);
			values[4] = CStringGetTextDatum(p->applied->applied_by);
			values[5] = CStringGetTextDatum(p->applied->checksum);
		}
		else
		{
			nulls[3] = nulls[4] = true;
			values[5] = CStringGetTextDatum(p->source->checksum);
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
}

/*
 * Mark the source's migrations up to and including target as applied
 * without running them, with the checksums and SQL of the source.
 */
void
migrate_baseline(FunctionCallInfo fcinfo, MigrationSource *source,
				 const char *target)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Migration  *target_m = source_target(source, target);
	List	   *pairs = begin_command(fcinfo, source, true, false);
	ListCell   *lc;

	foreach(lc, pairs)
	{
		MigrationPair *p = lfirst(lc);

		if (p->source == NULL || p->applied != NULL)
			continue;
		if (migrate_version_cmp(p->source->version, target_m->version) > 0)
			break;
		migrate_catalog_insert(p->source, GetCurrentTimestamp(), 0, true);
		migrate_catalog_event("baselined", p->source->version, p->source->name,
							  NULL, p->source->checksum);
		result_row(rsinfo, p->source->version, p->source->name, "baselined", -1);
	}
	SPI_finish();
}

static bool
str_differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

/*
 * Accept the source's current scripts for applied migrations whose up SQL
 * changed, or whose down or verify SQL differs from the recorded one.
 */
void
migrate_repair(FunctionCallInfo fcinfo, MigrationSource *source)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	List	   *pairs = begin_command(fcinfo, source, true, true);
	ListCell   *lc;

	foreach(lc, pairs)
	{
		MigrationPair *p = lfirst(lc);

		if (p->source == NULL || p->applied == NULL)
			continue;
		if (!is_modified(p) &&
			!str_differs(p->source->down_sql, p->applied->down_sql) &&
			!str_differs(p->source->verify_sql, p->applied->verify_sql) &&
			supplier_exists(p->applied))
			continue;
		migrate_catalog_repair(p->source, p->applied);
		migrate_catalog_event("repaired", p->applied->version, p->source->name,
							  p->applied->checksum, p->source->checksum);
		result_row(rsinfo, p->applied->version, p->source->name, "repaired", -1);
	}
	SPI_finish();
}
