/*-------------------------------------------------------------------------
 *
 * dbops.c
 *		Library entry point of the dbops extension: module magic, _PG_init
 *		and the settings (GUCs).
 *
 * Features (migrations, metadata, the worker) live in files of their own;
 * this file only ties them to the server.  Every setting of dbops is named
 * "dbops.*", and the prefix is reserved so that a misspelt setting is
 * reported instead of silently becoming a placeholder.
 *
 * src/dbops.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "archive_status.h"
#include "dbops.h"
#include "ddl_log.h"
#include "worker.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(dbops_version);

int			dbops_lock_timeout = 0;
int			dbops_lock_retries = 5;
int			dbops_statement_timeout = 0;
int			dbops_hazard_policy = DBOPS_HAZARD_POLICY_OFF;
int			dbops_hazard_rewrite_rate = 64 * 1024;
bool		dbops_report_progress = false;
int			dbops_on_drift = DBOPS_DRIFT_WARN;

static const struct config_enum_entry hazard_policy_options[] = {
	{"off", DBOPS_HAZARD_POLICY_OFF, false},
	{"warn", DBOPS_HAZARD_POLICY_WARN, false},
	{"refuse", DBOPS_HAZARD_POLICY_REFUSE, false},
	{NULL, 0, false}
};

static const struct config_enum_entry on_drift_options[] = {
	{"warn", DBOPS_DRIFT_WARN, false},
	{"ignore", DBOPS_DRIFT_IGNORE, false},
	{"error", DBOPS_DRIFT_ERROR, false},
	{NULL, 0, false}
};

/*
 * Module load callback
 */
void
_PG_init(void)
{
	/* the worker's transaction callback must run after ddl_log.c's: first */
	worker_init();
	ddl_log_init();
	archive_status_init();
	DefineCustomIntVariable("dbops.lock_timeout",
							"Lock timeout for every statement of a migration; on timeout the batch is retried.",
							"0 turns lock-safe apply off: statements wait as the session's lock_timeout says.",
							&dbops_lock_timeout,
							0, 0, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("dbops.lock_retries",
							"How many times a batch that hit dbops.lock_timeout is tried again.",
							NULL,
							&dbops_lock_retries,
							5, 0, DBOPS_MAX_LOCK_RETRIES,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("dbops.statement_timeout",
							"Time limit for every statement of a migration.",
							"0 means no limit beyond the session's statement_timeout.",
							&dbops_statement_timeout,
							0, 0, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomEnumVariable("dbops.hazard_policy",
							 "What apply_migrations does with the hazards of pending migrations.",
							 "off: nothing; warn: a WARNING per danger-level hazard; refuse: a batch with a danger-level hazard that no directive allows is refused.",
							 &dbops_hazard_policy,
							 DBOPS_HAZARD_POLICY_OFF, hazard_policy_options,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("dbops.hazard_rewrite_rate",
							"Bytes per second a table rewrite or scan is assumed to process, for estimates of lock time.",
							NULL,
							&dbops_hazard_rewrite_rate,
							64 * 1024, 1, INT_MAX,
							PGC_USERSET, GUC_UNIT_KB,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("dbops.report_progress",
							 "Report each migration of a batch as a NOTICE when it starts.",
							 NULL,
							 &dbops_report_progress,
							 false,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomEnumVariable("dbops.on_drift",
							 "What apply_migrations does when DDL was made outside migrations (dbops.schema_drift()).",
							 "warn: a WARNING naming it; ignore: nothing; error: the batch is refused. The argument on_drift overrides it.",
							 &dbops_on_drift,
							 DBOPS_DRIFT_WARN, on_drift_options,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
	MarkGUCPrefixReserved("dbops");
}

/*
 * dbops.version(): the version the loaded library was built as, which can
 * differ from pg_extension.extversion between an upgrade of the files and
 * ALTER EXTENSION ... UPDATE.
 */
Datum
dbops_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(DBOPS_VERSION));
}
