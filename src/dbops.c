/*-------------------------------------------------------------------------
 *
 * dbops.c
 *		Library entry point of the dbops extension: module magic, _PG_init
 *		and the settings (GUCs) that belong to no single feature.
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

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "dbops.h"
#include "ddl_log.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(dbops_version);

/*
 * Module load callback
 */
void
_PG_init(void)
{
	ddl_log_init();
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
