/*-------------------------------------------------------------------------
 *
 * ddl_log.c
 *		DDL capture: the event triggers that record every DDL command in
 *		dbops.ddl_log, so that schema drift (DDL made outside migrations) can
 *		be listed and refused, and that carry renames and drops of tracked
 *		tables and columns into the metadata catalog.
 *
 * Each command is recorded in its own transaction, with the role that ran
 * it, its tag, the object's identity and the statement text, and with the
 * version of the migration when a dbops apply ran it.  DDL that dbops makes
 * itself (grants and policies of metadata, as the extension owner or
 * dbops_grantor in a security-restricted operation) is not recorded, nor
 * are objects of extensions being created, temporary objects, and the
 * schemas and command tags the superuser lists in dbops.drift_ignore_schemas
 * and dbops.drift_ignore_commands.  User mappings, foreign servers and
 * subscriptions are recorded by tag and identity only: their statements
 * carry passwords.
 *
 * The log is written as the extension owner (the caller may not write it);
 * only dbops_admin reads it.  When a command renamed or dropped a table,
 * view or column that metadata names (dbops_internal.metadata_bindings),
 * dbops_internal.metadata_follow() runs too, as the owner, in the same
 * transaction (sql/install/26_metadata_follow.sql).
 *
 * src/ddl_log.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "tcop/cmdtag.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/varlena.h"

#include "ddl_log.h"
#include "identity.h"

PG_FUNCTION_INFO_V1(dbops_ddl_command_end);
PG_FUNCTION_INFO_V1(dbops_sql_drop);

/* The longest statement text recorded; longer ones are cut there */
#define DDL_LOG_MAX_STATEMENT 8192

static char *ddl_ignore_schemas = NULL;
static char *ddl_ignore_commands = NULL;

/* The migration a dbops apply is running, in TopMemoryContext, or NULL */
static char *ddl_migration = NULL;

/* Commands whose text may hold a password */
static const char *const secret_commands[] = {
	"CREATE USER MAPPING", "ALTER USER MAPPING", "CREATE SERVER", "ALTER SERVER",
	"CREATE SUBSCRIPTION", "ALTER SUBSCRIPTION", NULL
};

static bool
check_name_list(char **newval, void **extra, GucSource source)
{
	char	   *copy = pstrdup(*newval);
	List	   *names;
	bool		ok = SplitIdentifierString(copy, ',', &names);

	if (!ok)
		GUC_check_errdetail("List syntax is invalid.");
	pfree(copy);
	list_free(names);
	return ok;
}

/* A migration attributed to the DDL it runs ends with its transaction */
static void
ddl_log_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT)
		ddl_log_set_migration(NULL);
}

void
ddl_log_init(void)
{
	DefineCustomStringVariable("dbops.drift_ignore_schemas",
							   "Schemas whose DDL is not recorded as schema drift.",
							   "A comma-separated list of schema names.",
							   &ddl_ignore_schemas,
							   "",
							   PGC_SUSET,
							   GUC_LIST_INPUT,
							   check_name_list, NULL, NULL);
	DefineCustomStringVariable("dbops.drift_ignore_commands",
							   "Command tags whose DDL is not recorded as schema drift.",
							   "A comma-separated list of command tags, such as \"REFRESH MATERIALIZED VIEW\".",
							   &ddl_ignore_commands,
							   "",
							   PGC_SUSET,
							   GUC_LIST_INPUT,
							   check_name_list, NULL, NULL);
	RegisterXactCallback(ddl_log_xact_callback, NULL);
}

void
ddl_log_set_migration(const char *version)
{
	if (ddl_migration != NULL)
		pfree(ddl_migration);
	ddl_migration = version ? MemoryContextStrdup(TopMemoryContext, version) : NULL;
}

/*
 * Is this dbops's own DDL?  dbops makes grants and policies as the
 * extension owner or dbops_grantor, always in a security-restricted
 * operation (identity.c); a person's DDL never runs so.
 */
static bool
ddl_is_dbops_own(void)
{
	Oid			grantor;

	if (!InSecurityRestrictedOperation())
		return false;
	if (GetUserId() == identity_extension_owner())
		return true;
	grantor = get_role_oid("dbops_grantor", true);
	return OidIsValid(grantor) && GetUserId() == grantor;
}

/* A comma-separated setting as a text[] datum */
static Datum
name_list_array(const char *setting)
{
	char	   *copy = pstrdup(setting ? setting : "");
	List	   *names = NIL;
	Datum	   *elems;
	int			n = 0;
	ListCell   *lc;

	(void) SplitIdentifierString(copy, ',', &names);
	elems = palloc(Max(list_length(names), 1) * sizeof(Datum));
	foreach(lc, names)
		elems[n++] = CStringGetTextDatum(lfirst(lc));
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * The query of one event trigger, prepared once per backend: it lists the
 * event's commands into dbops.ddl_log ($1..$7: role, statement, migration,
 * ignored schemas, ignored commands, commands without text, command tag)
 * and returns whether the event renamed or dropped what metadata names.
 * One statement, because it runs for every DDL command of every migration.
 */
typedef struct DdlLogQuery
{
	const char *record;			/* the INSERT */
	const char *touched;		/* the SELECT of a boolean */
	SPIPlanPtr	plan;			/* both */
	SPIPlanPtr	record_plan;	/* the INSERT alone */
} DdlLogQuery;

static DdlLogQuery command_end_query = {
	"INSERT INTO dbops.ddl_log (role_name, command_tag, object_type, object_identity, "
	"statement, migration_version) "
	"SELECT $1, c.command_tag, c.object_type, c.object_identity, "
	"CASE WHEN c.command_tag <> ALL ($6) THEN $2 END, $3 "
	"FROM pg_catalog.pg_event_trigger_ddl_commands() c "
	"WHERE NOT c.in_extension "
	"AND coalesce(c.schema_name <> ALL ($4), true) "
	"AND c.command_tag <> ALL ($5) "
	"AND coalesce(c.schema_name !~ '^pg_(toast_)?temp(_|$)', true)",
	/* a tracked table, view or column whose name changed */
	"SELECT EXISTS (SELECT FROM pg_catalog.pg_event_trigger_ddl_commands() c "
	"JOIN dbops_internal.metadata_bindings b ON b.relid OPERATOR(pg_catalog.=) c.objid "
	"JOIN pg_catalog.pg_class cl ON cl.oid OPERATOR(pg_catalog.=) b.relid "
	"JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) cl.relnamespace "
	"LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) b.relid "
	"AND a.attnum OPERATOR(pg_catalog.=) b.attnum "
	"WHERE c.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass "
	"AND CASE WHEN b.attnum OPERATOR(pg_catalog.=) 0 "
	"THEN (cl.relname, n.nspname) IS DISTINCT FROM (b.object_name, b.schema_name) "
	"ELSE a.attname IS DISTINCT FROM b.object_name END)"
};

static DdlLogQuery sql_drop_query = {
	"INSERT INTO dbops.ddl_log (role_name, command_tag, object_type, object_identity, "
	"statement, migration_version) "
	"SELECT $1, $7, d.object_type, d.object_identity, "
	"CASE WHEN $7 <> ALL ($6) THEN $2 END, $3 "
	"FROM pg_catalog.pg_event_trigger_dropped_objects() d "
	"WHERE (d.original OR d.normal) AND NOT d.is_temporary "
	"AND coalesce(d.schema_name <> ALL ($4), true) "
	"AND $7 <> ALL ($5)",
	/* a tracked table, view or column dropped */
	"SELECT EXISTS (SELECT FROM pg_catalog.pg_event_trigger_dropped_objects() d "
	"JOIN dbops_internal.metadata_bindings b ON b.relid OPERATOR(pg_catalog.=) d.objid "
	"AND b.attnum OPERATOR(pg_catalog.=) d.objsubid "
	"WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass)"
};

/* A plan of q (with touched or not), prepared and kept on first use */
static SPIPlanPtr
ddl_log_plan(DdlLogQuery *q, bool touched, Oid *argtypes)
{
	SPIPlanPtr *plan = touched ? &q->plan : &q->record_plan;

	if (*plan == NULL)
	{
		char	   *query = touched ?
			psprintf("WITH recorded AS (%s RETURNING 1) %s", q->record, q->touched) :
			psprintf("WITH recorded AS (%s RETURNING 1) SELECT false", q->record);
		SPIPlanPtr	p = SPI_prepare(query, 7, argtypes);

		if (p == NULL || SPI_keepplan(p) != 0)
			elog(ERROR, "could not prepare \"%s\": %s", query,
				 SPI_result_code_string(SPI_result));
		*plan = p;
	}
	return *plan;
}

/*
 * Record the commands of the current event (tag: its command tag) as the
 * extension owner; then, when the event renamed or dropped what metadata
 * names (may_touch: it is a command that can), let the metadata follow.
 */
static void
ddl_log_record(DdlLogQuery *q, const char *tag, bool may_touch)
{
	Oid			argtypes[7] = {TEXTOID, TEXTOID, TEXTOID, TEXTARRAYOID, TEXTARRAYOID,
	TEXTARRAYOID, TEXTOID};
	Datum		values[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};
	const char *statement = debug_query_string;
	Datum	   *secret = palloc(sizeof(secret_commands) / sizeof(char *) * sizeof(Datum));
	int			nsecret = 0;
	IdentitySwitch sw;
	bool		isnull;

	values[0] = CStringGetTextDatum(GetUserNameFromId(GetUserId(), false));
	if (statement == NULL || ddl_migration != NULL)
		nulls[1] = 'n';			/* a migration's text is in schema_migrations */
	else
		values[1] = CStringGetTextDatum(pnstrdup(statement,
												 strnlen(statement, DDL_LOG_MAX_STATEMENT)));
	if (ddl_migration == NULL)
		nulls[2] = 'n';
	else
		values[2] = CStringGetTextDatum(ddl_migration);
	values[3] = name_list_array(ddl_ignore_schemas);
	values[4] = name_list_array(ddl_ignore_commands);
	for (const char *const *c = secret_commands; *c != NULL; c++)
		secret[nsecret++] = CStringGetTextDatum(*c);
	values[5] = PointerGetDatum(construct_array(secret, nsecret, TEXTOID, -1, false,
												TYPALIGN_INT));
	values[6] = CStringGetTextDatum(tag);

	identity_become_trusted(identity_extension_owner(), &sw);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* not read-only: the snapshot must see what the command just did */
	if (SPI_execute_plan(ddl_log_plan(q, may_touch, argtypes), values, nulls, false, 0) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not record DDL in dbops.ddl_log");
	if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) &&
		SPI_execute("SELECT dbops_internal.metadata_follow()", false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not carry DDL into the dbops metadata catalog");
	SPI_finish();
	identity_restore(&sw);
}

/*
 * The ddl_command_end event trigger: every command of the statement, as
 * pg_event_trigger_ddl_commands() lists them.
 */
Datum
dbops_ddl_command_end(PG_FUNCTION_ARGS)
{
	const char *tag;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" must be fired by an event trigger",
						"dbops_internal.ddl_command_end")));
	if (creating_extension || ddl_is_dbops_own())
		PG_RETURN_VOID();
	tag = GetCommandTagName(((EventTriggerData *) fcinfo->context)->tag);
	/* only an ALTER renames a table, a view or a column */
	ddl_log_record(&command_end_query, tag, strncmp(tag, "ALTER ", 6) == 0);
	PG_RETURN_VOID();
}

/*
 * The sql_drop event trigger: every object the statement dropped, but for
 * the parts PostgreSQL drops along with them (a table's type, its TOAST
 * table).
 */
Datum
dbops_sql_drop(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" must be fired by an event trigger",
						"dbops_internal.sql_drop")));
	trigdata = (EventTriggerData *) fcinfo->context;
	/* DROP EXTENSION dbops drops the log itself */
	if (creating_extension || trigdata->tag == CMDTAG_DROP_EXTENSION || ddl_is_dbops_own())
		PG_RETURN_VOID();
	ddl_log_record(&sql_drop_query, GetCommandTagName(trigdata->tag), true);
	PG_RETURN_VOID();
}
