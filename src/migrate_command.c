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
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#include "dbops.h"
#include "ddl_log.h"
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

/* An applied migration to roll back, with its down SQL parsed */
typedef struct PlannedRollback
{
	AppliedMigration *a;
	MigrationScript *down;
} PlannedRollback;

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
 * Run a migration's script, and its verify script if any.  A SET in the
 * migration ends with it: rolling the GUC nest level back as on abort
 * reverts plain SETs too, which a commit would keep.  Returns how long it
 * took in microseconds, and when it started in *start.
 */
static int64
run_migration(MigrationScript *script, MigrationScript *verify,
			  const MigrationLimits *limits, TimestampTz *start)
{
	int			nestlevel;

	*start = GetCurrentTimestamp();
	nestlevel = NewGUCNestLevel();
	migrate_script_run(script, limits);
	if (verify)
		migrate_script_run_discarded(verify, limits);
	AtEOXact_GUC(false, nestlevel);
	return GetCurrentTimestamp() - *start;
}

/* A step of a batch for a migration of the source or of the catalog */
static MigrationStep *
new_step(const char *version, const char *name, const char *label, void *item)
{
	MigrationStep *step = palloc0(sizeof(MigrationStep));

	step->version = version;
	step->name = name;
	step->label = label;
	step->item = item;
	step->duration_us = -1;
	return step;
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
 * apply restore_lsn (NULL unless valid) and hazards (NULL unless given).
 */
static void
result_row(ReturnSetInfo *rsinfo, const char *version, const char *name,
		   const char *action, int64 duration_us, XLogRecPtr restore_lsn,
		   Jsonb *hazards)
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
	if (!XLogRecPtrIsInvalid(restore_lsn))
	{
		Assert(rsinfo->setDesc->natts == MIGRATE_RESULT_MAX_COLS);
		values[4] = LSNGetDatum(restore_lsn);
		nulls[4] = false;
	}
	if (hazards != NULL)
	{
		Assert(rsinfo->setDesc->natts == MIGRATE_RESULT_MAX_COLS);
		values[5] = JsonbPGetDatum(hazards);
		nulls[5] = false;
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
 * allowed) and, unless top_level_ok (the worker runs it), one that cannot
 * run in a transaction, and parses every script of the pending ones.
 */
static List *
plan_apply(List *pairs, Migration *target, bool allow_out_of_order,
		   bool top_level_ok)
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
		if (m->no_transaction && !top_level_ok)
			ereport(ERROR,
					(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
					 errmsg("migration \"%s\" cannot run inside a transaction",
							m->label),
					 errdetail_internal("%s", m->no_transaction),
					 errhint("Nothing was applied. Queue the migrations with dbops.submit_migrations(): the dbops worker runs this one outside a transaction block.")));

		pa = palloc0(sizeof(PlannedApply));
		pa->m = m;
		pa->top_level = m->no_transaction != NULL;
		pa->up = migrate_script_parse(m->label, m->up_file, m->up_sql,
									  pa->top_level ? MIGRATE_SCRIPT_TOP_LEVEL :
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
 * Run one pending migration of a batch, after its restore point, with its
 * DDL attributed to it (not schema drift), and record it as applied.
 */
static void
apply_step(MigrationStep *step, const MigrationLimits *limits)
{
	PlannedApply *pa = step->item;
	TimestampTz start;
	char	   *restore_point;

	step->restore_lsn = migrate_restore_point(pa->m->version, &restore_point);
	ddl_log_set_migration(pa->m->version);
	step->duration_us = run_migration(pa->up, pa->verify, limits, &start);
	ddl_log_set_migration(NULL);
	migrate_catalog_insert(pa->m, start, step->duration_us, false,
						   restore_point, step->restore_lsn);
}

/*
 * What on_drift (a DbopsDriftPolicy) says of DDL made outside migrations:
 * a WARNING naming it, or (error) a refusal before anything runs.
 */
static void
check_drift(int on_drift)
{
	int64		total;
	List	   *drift;
	StringInfoData detail;
	ListCell   *lc;

	if (on_drift == DBOPS_DRIFT_IGNORE)
		return;
	drift = migrate_catalog_drift(10, &total);
	if (total == 0)
		return;
	initStringInfo(&detail);
	foreach(lc, drift)
		appendStringInfo(&detail, "%s%s", detail.len > 0 ? "\n" : "", (char *) lfirst(lc));
	if (total > list_length(drift))
		appendStringInfo(&detail, "\n... and %lld more.", (long long) (total - list_length(drift)));
	ereport(on_drift == DBOPS_DRIFT_ERROR ? ERROR : WARNING,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg_plural("schema drift: %lld DDL command was made outside migrations",
						   "schema drift: %lld DDL commands were made outside migrations",
						   total, (long long) total),
			 errdetail_internal("%s", detail.data),
			 errhint("Review it with dbops.schema_drift(); put it in a migration, or accept it with dbops.acknowledge_drift().")));
}

/*
 * What dbops.hazard_policy says of the hazards of the planned migrations
 * (a list per migration): a WARNING per danger-level hazard, or for
 * "refuse" an error at the first migration with one that no directive of
 * it allows.  Nothing has run yet.
 */
static void
check_hazard_policy(List *plan, List *hazards)
{
	ListCell   *lc;
	ListCell   *hc;

	forboth(lc, plan, hc, hazards)
	{
		PlannedApply *pa = lfirst(lc);
		ListCell   *c;
		StringInfoData refused;
		MigrationHazard *first = NULL;

		initStringInfo(&refused);
		foreach(c, (List *) lfirst(hc))
		{
			MigrationHazard *h = lfirst(c);

			if (strcmp(h->level, "danger") != 0 || h->allowed)
				continue;
			if (dbops_hazard_policy == DBOPS_HAZARD_POLICY_WARN)
				ereport(WARNING,
						(errmsg("migration \"%s\" has hazard %s on \"%s\"",
								pa->m->label, h->hazard, h->relation),
						 errdetail_internal("%s", h->message),
						 errhint("Safer: %s", h->safer),
						 errcontext("migration %s, %s line %d", pa->m->label,
									h->file, h->line)));
			else
			{
				if (first == NULL)
					first = h;
				appendStringInfo(&refused, "%s%s line %d: %s on \"%s\". %s",
								 refused.len > 0 ? " " : "", h->file, h->line,
								 h->hazard, h->relation, h->message);
			}
		}
		if (first != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("migration \"%s\" is refused by dbops.hazard_policy",
							pa->m->label),
					 errdetail("Nothing was applied. %s", refused.data),
					 errhint("Safer: %s To accept the hazard, start the up SQL with the line \"%sallow-hazard %s\".",
							 first->safer, MIGRATE_DIRECTIVE_PREFIX, first->hazard),
					 errcontext("migration %s, %s line %d", pa->m->label,
								first->file, first->line)));
	}
}

/* The migrations of a plan */
static List *
planned_migrations(List *plan)
{
	List	   *migrations = NIL;
	ListCell   *lc;

	foreach(lc, plan)
		migrations = lappend(migrations, ((PlannedApply *) lfirst(lc))->m);
	return migrations;
}

/*
 * The pending migrations of source, up to and including target when
 * given, checked and parsed (plan_apply), and with checks set, after the
 * check of schema drift and, when dbops.hazard_policy is on, of their
 * hazards.  The caller is connected to SPI and holds the migration lock if
 * it is to run them.
 */
List *
migrate_plan(MigrationSource *source, const char *target,
			 bool allow_out_of_order, int on_drift, bool top_level_ok,
			 bool checks)
{
	Migration  *target_m = target ? source_target(source, target) : NULL;
	List	   *plan;

	plan = plan_apply(pair_migrations(source, migrate_catalog_read(false)),
					  target_m, allow_out_of_order, top_level_ok);
	if (!checks)
		return plan;
	if (plan != NIL)
		check_drift(on_drift);
	if (dbops_hazard_policy != DBOPS_HAZARD_POLICY_OFF)
		check_hazard_policy(plan, migrate_hazards_analyse(planned_migrations(plan)));
	return plan;
}

/*
 * Run the planned migrations (none of them top-level) as one batch in the
 * current transaction; returns the steps, with their durations and restore
 * points.
 */
List *
migrate_apply_planned(List *plan, const MigrationLimits *limits)
{
	List	   *steps = NIL;
	ListCell   *lc;

	foreach(lc, plan)
	{
		PlannedApply *pa = lfirst(lc);

		Assert(!pa->top_level);
		steps = lappend(steps, new_step(pa->m->version, pa->m->name,
										pa->m->label, pa));
	}
	migrate_batch_run(steps, apply_step, "applying", limits);
	return steps;
}

/*
 * Apply the pending migrations of source, up to and including target when
 * given, or only report them, with their hazards, on a dry run.
 */
void
migrate_apply(FunctionCallInfo fcinfo, MigrationSource *source,
			  const char *target, bool dry_run, bool allow_out_of_order,
			  int on_drift, const MigrationLimits *limits)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	List	   *plan;
	List	   *hazards = NIL;
	List	   *steps = NIL;
	ListCell   *lc;
	ListCell   *hc;

	if (!dry_run)
	{
		InitMaterializedSRF(fcinfo, 0);
		SPI_connect();
		migrate_lock();
		plan = migrate_plan(source, target, allow_out_of_order, on_drift, false,
							true);
		steps = migrate_apply_planned(plan, limits);
	}
	else
	{
		/* a dry run reports the hazards of each migration, [] for none */
		Migration  *target_m = target ? source_target(source, target) : NULL;

		plan = plan_apply(begin_command(fcinfo, source, true, false),
						  target_m, allow_out_of_order, false);
		if (plan != NIL)
			check_drift(on_drift);
		hazards = migrate_hazards_analyse(planned_migrations(plan));
		foreach(lc, plan)
		{
			PlannedApply *pa = lfirst(lc);

			steps = lappend(steps, new_step(pa->m->version, pa->m->name,
											pa->m->label, pa));
		}
	}

	hc = dry_run ? list_head(hazards) : NULL;
	foreach(lc, steps)
	{
		MigrationStep *step = lfirst(lc);

		result_row(rsinfo, step->version, step->name,
				   dry_run ? "would apply" : "applied", step->duration_us,
				   step->restore_lsn, hc ? migrate_hazards_jsonb(lfirst(hc)) : NULL);
		if (hc)
			hc = lnext(hazards, hc);
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

/* Run the down SQL of one migration of a batch, as its supplier */
static void
rollback_step(MigrationStep *step, const MigrationLimits *limits)
{
	PlannedRollback *pr = step->item;
	TimestampTz start;
	IdentitySwitch sw;

	identity_become_supplier(pr->a->supplier, &sw);
	ddl_log_set_migration(pr->a->version);
	step->duration_us = run_migration(pr->down, NULL, limits, &start);
	ddl_log_set_migration(NULL);
	identity_restore(&sw);

	migrate_catalog_delete(pr->a);
	migrate_catalog_event("rolled back", pr->a->version, pr->a->name,
						  pr->a->checksum, NULL);
}

/*
 * Roll back the latest applied migrations: down to target (which stays
 * applied), or the given number of them.
 */
void
migrate_rollback(FunctionCallInfo fcinfo, const char *target, int count,
				 bool dry_run, const MigrationLimits *limits)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	List	   *applied;
	List	   *steps = NIL;
	ListCell   *lc;
	int			first;

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
		if (count > list_length(applied))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg_plural("cannot roll back %d migration",
									"cannot roll back %d migrations",
									count, count),
					 errdetail_plural("Only %d migration is applied.",
									  "Only %d migrations are applied.",
									  list_length(applied),
									  list_length(applied))));
		first = list_length(applied) - count;
	}

	/* newest first; check every down script before running any */
	for (int i = list_length(applied) - 1; i >= first; i--)
	{
		AppliedMigration *a = list_nth(applied, i);
		MigrationScript *down = NULL;
		PlannedRollback *pr;

		check_supplier(a);
		if (a->down_sql)
		{
			MigrationDirectives directives;

			migrate_directives_parse(a->label, "down SQL", a->down_sql,
									 &directives);
			if (directives.no_transaction)
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
		pr = palloc(sizeof(PlannedRollback));
		pr->a = a;
		pr->down = down;
		steps = lappend(steps, new_step(a->version, a->name, a->label, pr));
	}

	if (!dry_run)
		migrate_batch_run(steps, rollback_step, "rolling back", limits);
	foreach(lc, steps)
	{
		MigrationStep *step = lfirst(lc);

		result_row(rsinfo, step->version, step->name,
				   dry_run ? "would roll back" : "rolled back",
				   step->duration_us, InvalidXLogRecPtr, NULL);
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
		migrate_catalog_insert(p->source, GetCurrentTimestamp(), 0, true, NULL,
							   InvalidXLogRecPtr);
		migrate_catalog_event("baselined", p->source->version, p->source->name,
							  NULL, p->source->checksum);
		result_row(rsinfo, p->source->version, p->source->name, "baselined", -1,
				   InvalidXLogRecPtr, NULL);
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
		result_row(rsinfo, p->applied->version, p->source->name, "repaired", -1,
				   InvalidXLogRecPtr, NULL);
	}
	SPI_finish();
}

/* The pending migrations of the source, in order */
static List *
pending_migrations(List *pairs)
{
	List	   *pending = NIL;
	ListCell   *lc;

	foreach(lc, pairs)
	{
		MigrationPair *p = lfirst(lc);

		if (p->source != NULL && p->applied == NULL)
			pending = lappend(pending, p->source);
	}
	return pending;
}

/*
 * The hazards of the source's pending migrations, one row each.  Reads
 * only: the migration lock is not taken.
 */
void
migrate_hazards(FunctionCallInfo fcinfo, MigrationSource *source)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	List	   *per_migration;
	ListCell   *lc;

	per_migration = migrate_hazards_analyse(pending_migrations(begin_command(fcinfo, source,
																			 false, false)));
	foreach(lc, per_migration)
	{
		ListCell   *hc;

		foreach(hc, (List *) lfirst(lc))
		{
			Datum		values[MIGRATE_HAZARD_NCOLS];
			bool		nulls[MIGRATE_HAZARD_NCOLS];

			migrate_hazard_values(lfirst(hc), values, nulls);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	SPI_finish();
}

/*
 * The layout of the source, for a client that adds a migration to it: the
 * layout of its latest migration (a directory may mix layouts; the next
 * one follows the last), that migration's version, and how many there
 * are.  An empty source gives NULLs and 0.
 */
void
migrate_layout(FunctionCallInfo fcinfo, MigrationSource *source)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[3] = {0};
	bool		nulls[3] = {true, true, false};

	InitMaterializedSRF(fcinfo, 0);
	if (source->count > 0)
	{
		Migration  *latest = source->items[source->count - 1];

		values[0] = CStringGetTextDatum(latest->layout);
		values[1] = CStringGetTextDatum(latest->version);
		nulls[0] = nulls[1] = false;
	}
	values[2] = Int32GetDatum(source->count);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}
