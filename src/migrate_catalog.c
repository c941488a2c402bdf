/*-------------------------------------------------------------------------
 *
 * migrate_catalog.c
 *		The migration lock and every read and write of dbops's migration
 *		catalog (dbops.schema_migrations, dbops.migration_events), and the
 *		one read of the metadata catalog that migrations need (which
 *		permissions read a column that a migration drops).
 *
 * Administrators may only read these tables, so that nobody can rewrite
 * the down SQL a later rollback will run.  The writes here therefore run as
 * the extension owner, switched through identity.c for the duration of one
 * statement (a security-restricted operation with search_path pinned to
 * pg_catalog, pg_temp), while migration SQL always runs as the caller; the
 * statements name their tables and operators with the schema besides.
 * Plans are prepared once per session.
 *
 * Each row records the role that supplied its SQL (apply, repair or
 * baseline), by OID and name: rollback runs the stored down SQL as that
 * role (migrate_command.c).
 *
 * src/migrate_catalog.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/pg_lsn.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "identity.h"
#include "migrate.h"

/*
 * Run the statement sql, prepared once into *plan, as the catalog owner
 * with a pinned search_path; returns the number of rows processed.  With a
 * valid snapshot, the statement reads as of that snapshot.
 */
static uint64
catalog_exec_snapshot(SPIPlanPtr *plan, const char *sql, int nargs,
					  Oid *types, Datum *values, const char *nulls,
					  Snapshot snapshot)
{
	IdentitySwitch sw;
	int			rc;

	identity_become_trusted(identity_extension_owner(), &sw);

	if (*plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare(sql, nargs, types);

		if (p == NULL)
			elog(ERROR, "SPI_prepare failed: %s",
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(p);
		*plan = p;
	}
	if (snapshot != InvalidSnapshot)
		rc = SPI_execute_snapshot(*plan, values, nulls, snapshot,
								  InvalidSnapshot, true, false, 0);
	else
		rc = SPI_execute_plan(*plan, values, nulls, false, 0);
	if (rc < 0)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));

	identity_restore(&sw);
	return SPI_processed;
}

/* The same without a snapshot of its own; for the worker's catalog too */
uint64
migrate_catalog_exec(SPIPlanPtr *plan, const char *sql, int nargs, Oid *types,
					 Datum *values, const char *nulls)
{
	return catalog_exec_snapshot(plan, sql, nargs, types, values, nulls,
								 InvalidSnapshot);
}

/*
 * A summary of the catalog as snapshot sees it: the applied versions with
 * their checksums, and the number of events, which grows with every
 * rollback, baseline and repair.
 */
static char *
catalog_summary(Snapshot snapshot)
{
	static SPIPlanPtr plan;
	char	   *summary;

	catalog_exec_snapshot(&plan,
						  "SELECT (SELECT count(*) FROM dbops.migration_events)::text "
						  "|| ' ' || coalesce((SELECT string_agg(version || ':' || checksum, ',' "
						  "ORDER BY version COLLATE \"C\") FROM dbops.schema_migrations), '')",
						  0, NULL, NULL, NULL, snapshot);
	summary = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	SPI_freetuptable(SPI_tuptable);
	return summary;
}

/*
 * Take the migration lock for the rest of the transaction: an EXCLUSIVE
 * lock on the empty table dbops.migration_lock.  Only its owner (and
 * superusers) may lock that table with LOCK TABLE, so unlike an advisory
 * key, no role that may not migrate can hold it to stall every migration.
 * dbops takes it from C, after EXECUTE on the function was checked.
 *
 * A transaction that works from one snapshot (REPEATABLE READ,
 * SERIALIZABLE) would not see what another transaction committed to the
 * catalog after that snapshot was taken, and would apply the same
 * migrations again.  It fails with a serialization failure instead, when it
 * had to wait for the lock or when the catalog changed since its snapshot.
 * The caller is connected to SPI.
 */
void
migrate_lock(void)
{
	Oid			relid = get_relname_relid("migration_lock",
										  get_namespace_oid("dbops", false));
	bool		waited = false;

	if (!OidIsValid(relid))
		elog(ERROR, "table dbops.migration_lock is missing");
	if (!ConditionalLockRelationOid(relid, ExclusiveLock))
	{
		LockRelationOid(relid, ExclusiveLock);
		waited = true;
	}

	if (IsolationUsesXactSnapshot() &&
		(waited || strcmp(catalog_summary(GetTransactionSnapshot()),
						  catalog_summary(GetLatestSnapshot())) != 0))
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to concurrent migrations"),
				 errdetail("Another transaction changed the migration catalog after this transaction's snapshot was taken."),
				 errhint("Retry the transaction.")));
}

/* A text Datum and its null flag from a string that may be NULL */
static void
set_text(Datum *values, char *nulls, int i, const char *s)
{
	values[i] = s ? CStringGetTextDatum(s) : (Datum) 0;
	nulls[i] = s ? ' ' : 'n';
}

static char *
get_text(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

static int
applied_cmp(const ListCell *a, const ListCell *b)
{
	const AppliedMigration *aa = lfirst(a);
	const AppliedMigration *ab = lfirst(b);

	return migrate_version_cmp(aa->version, ab->version);
}

/*
 * Every applied migration, in natural version order.  The stored down and
 * verify SQL is fetched only when with_sql is set.
 */
List *
migrate_catalog_read(bool with_sql)
{
	static SPIPlanPtr plans[2];
	List	   *result = NIL;

	migrate_catalog_exec(&plans[with_sql ? 1 : 0], with_sql ?
				 "SELECT version, name, checksum, applied_at, applied_by, "
				 "supplier, supplier_name, down_sql, verify_sql "
				 "FROM dbops.schema_migrations" :
				 "SELECT version, name, checksum, applied_at, applied_by, "
				 "supplier, supplier_name, NULL, NULL "
				 "FROM dbops.schema_migrations",
				 0, NULL, NULL, NULL);

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		AppliedMigration *a = palloc0(sizeof(AppliedMigration));
		bool		isnull;

		a->version = get_text(tup, desc, 1);
		a->name = get_text(tup, desc, 2);
		a->label = a->name[0] != '\0' ?
			psprintf("%s_%s", a->version, a->name) : a->version;
		a->checksum = get_text(tup, desc, 3);
		a->applied_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 4, &isnull));
		a->applied_by = get_text(tup, desc, 5);
		a->supplier = DatumGetObjectId(SPI_getbinval(tup, desc, 6, &isnull));
		a->supplier_name = pstrdup(NameStr(*DatumGetName(SPI_getbinval(tup, desc, 7,
																		 &isnull))));
		a->down_sql = get_text(tup, desc, 8);
		a->verify_sql = get_text(tup, desc, 9);
		result = lappend(result, a);
	}
	SPI_freetuptable(SPI_tuptable);

	list_sort(result, applied_cmp);
	return result;
}

/*
 * Record migration m as applied (or baselined), with the restore point
 * written before it (NULL and InvalidXLogRecPtr: none)
 */
void
migrate_catalog_insert(Migration *m, TimestampTz applied_at,
					   int64 duration_us, bool baseline,
					   const char *restore_point, XLogRecPtr restore_lsn)
{
	static SPIPlanPtr plan;
	Oid			types[15] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
		TEXTOID, TEXTOID, TIMESTAMPTZOID, TEXTOID, INTERVALOID, BOOLOID,
	OIDOID, TEXTOID, TEXTOID, PG_LSNOID};
	Datum		values[15];
	char		nulls[15];
	Interval   *duration = palloc0(sizeof(Interval));

	set_text(values, nulls, 0, m->version);
	set_text(values, nulls, 1, m->name);
	set_text(values, nulls, 2, MIGRATE_CHECKSUM_ALGORITHM);
	set_text(values, nulls, 3, m->checksum);
	set_text(values, nulls, 4, m->up_sql);
	set_text(values, nulls, 5, m->down_sql);
	set_text(values, nulls, 6, m->verify_sql);
	values[7] = TimestampTzGetDatum(applied_at);
	nulls[7] = ' ';
	set_text(values, nulls, 8, migrate_current_user_name());
	duration->time = duration_us;
	values[9] = IntervalPGetDatum(duration);
	nulls[9] = baseline ? 'n' : ' ';
	values[10] = BoolGetDatum(baseline);
	nulls[10] = ' ';
	values[11] = ObjectIdGetDatum(GetUserId());
	nulls[11] = ' ';
	set_text(values, nulls, 12, migrate_current_user_name());
	set_text(values, nulls, 13, restore_point);
	values[14] = LSNGetDatum(restore_lsn);
	nulls[14] = XLogRecPtrIsInvalid(restore_lsn) ? 'n' : ' ';

	migrate_catalog_exec(&plan,
				 "INSERT INTO dbops.schema_migrations (version, name, checksum_algorithm, "
				 "checksum, up_sql, down_sql, verify_sql, applied_at, applied_by, "
				 "duration, baseline, supplier, supplier_name, restore_point, restore_lsn) "
				 "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
				 15, types, values, nulls);
}

/* Forget applied migration a, after its down SQL ran */
void
migrate_catalog_delete(AppliedMigration *a)
{
	static SPIPlanPtr plan;
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	char		nulls[1];

	set_text(values, nulls, 0, a->version);
	if (migrate_catalog_exec(&plan,
					 "DELETE FROM dbops.schema_migrations "
					 "WHERE version OPERATOR(pg_catalog.=) $1",
					 1, types, values, nulls) != 1)
		elog(ERROR, "migration \"%s\" vanished from dbops.schema_migrations",
			 a->version);
}

/*
 * Store the source's current SQL and checksum for applied migration a,
 * supplied by the current user
 */
void
migrate_catalog_repair(Migration *m, AppliedMigration *a)
{
	static SPIPlanPtr plan;
	Oid			types[8] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
	OIDOID, TEXTOID};
	Datum		values[8];
	char		nulls[8];

	set_text(values, nulls, 0, a->version);
	set_text(values, nulls, 1, m->name);
	set_text(values, nulls, 2, m->checksum);
	set_text(values, nulls, 3, m->up_sql);
	set_text(values, nulls, 4, m->down_sql);
	set_text(values, nulls, 5, m->verify_sql);
	values[6] = ObjectIdGetDatum(GetUserId());
	nulls[6] = ' ';
	set_text(values, nulls, 7, migrate_current_user_name());
	if (migrate_catalog_exec(&plan,
					 "UPDATE dbops.schema_migrations "
					 "SET name = $2, checksum_algorithm = '" MIGRATE_CHECKSUM_ALGORITHM "', "
					 "checksum = $3, up_sql = $4, down_sql = $5, verify_sql = $6, "
					 "supplier = $7, supplier_name = $8 "
					 "WHERE version OPERATOR(pg_catalog.=) $1",
					 8, types, values, nulls) != 1)
		elog(ERROR, "migration \"%s\" vanished from dbops.schema_migrations",
			 a->version);
}

/* Record a rollback, baseline or repair in dbops.migration_events */
void
migrate_catalog_event(const char *action, const char *version,
					  const char *name, const char *before, const char *after)
{
	static SPIPlanPtr plan;
	Oid			types[7] = {TIMESTAMPTZOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
		TEXTOID, TEXTOID};
	Datum		values[7];
	char		nulls[7];

	values[0] = TimestampTzGetDatum(GetCurrentTimestamp());
	nulls[0] = ' ';
	set_text(values, nulls, 1, migrate_current_user_name());
	set_text(values, nulls, 2, action);
	set_text(values, nulls, 3, version);
	set_text(values, nulls, 4, name);
	set_text(values, nulls, 5, before);
	set_text(values, nulls, 6, after);
	migrate_catalog_exec(&plan,
				 "INSERT INTO dbops.migration_events (event_at, event_by, action, "
				 "version, name, checksum_before, checksum_after) "
				 "VALUES ($1, $2, $3, $4, $5, $6, $7)",
				 7, types, values, nulls);
}

/* The role migrations run as, recorded as applied_by */
char *
migrate_current_user_name(void)
{
	return GetUserNameFromId(GetUserId(), false);
}

/*
 * The dbops permissions on table schema.table (dbops.metadata_permissions,
 * the metadata catalog, read only), each saying whether its column list
 * includes column; a NULL list means every column.
 */
List *
migrate_catalog_permissions(const char *schema, const char *table,
							const char *column)
{
	static SPIPlanPtr plan;
	Oid			types[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum		values[3];
	char		nulls[3];
	List	   *result = NIL;

	set_text(values, nulls, 0, schema);
	set_text(values, nulls, 1, table);
	set_text(values, nulls, 2, column);
	migrate_catalog_exec(&plan,
				 "SELECT role_name::pg_catalog.text, action, "
				 "columns IS NULL OR $3::pg_catalog.name OPERATOR(pg_catalog.=) ANY (columns), "
				 "filter, \"check\" "
				 "FROM dbops.metadata_permissions "
				 "WHERE table_schema OPERATOR(pg_catalog.=) $1::pg_catalog.name "
				 "AND table_name OPERATOR(pg_catalog.=) $2::pg_catalog.name "
				 "ORDER BY role_name, action",
				 3, types, values, nulls);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		MigrationPermission *p = palloc(sizeof(MigrationPermission));
		bool		isnull;

		p->role = get_text(tup, desc, 1);
		p->action = get_text(tup, desc, 2);
		p->lists_column = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
		p->filter = get_text(tup, desc, 4);
		p->check = get_text(tup, desc, 5);
		result = lappend(result, p);
	}
	SPI_freetuptable(SPI_tuptable);
	return result;
}

/*
 * The schema drift (dbops.schema_drift()): the first limit commands, each
 * as "TAG identity (by role)", and how many there are in *total.
 */
List *
migrate_catalog_drift(int limit, int64 *total)
{
	static SPIPlanPtr plan;
	Oid			types[1] = {INT4OID};
	Datum		values[1];
	char		nulls[1] = {' '};
	List	   *result = NIL;

	values[0] = Int32GetDatum(limit);
	migrate_catalog_exec(&plan,
				 "SELECT pg_catalog.format('%s %s (by %s)', d.command_tag, "
				 "COALESCE(d.object_identity, '-'), d.role_name), "
				 "pg_catalog.count(*) OVER () "
				 "FROM dbops.schema_drift() d ORDER BY d.id LIMIT $1",
				 1, types, values, nulls);
	*total = 0;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		result = lappend(result, get_text(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
		*total = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc,
											 2, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);
	return result;
}
