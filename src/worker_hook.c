/*-------------------------------------------------------------------------
 *
 * worker_hook.c
 *		Keep the dbops worker out of the way of commands that need a
 *		database nobody is connected to.
 *
 * DROP DATABASE, CREATE DATABASE ... TEMPLATE, ALTER DATABASE ... RENAME
 * and ALTER DATABASE ... SET TABLESPACE fail while another session is
 * connected to the database they act on, and a worker always is.  A
 * ProcessUtility hook asks the launcher to stop that database's worker,
 * waits until it is gone, runs the command and lets the launcher start the
 * worker again (it starts none for a database that no longer exists).  A
 * job the worker was running is resumed when it starts again.
 *
 * src/worker_hook.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/defrem.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"

#include "worker.h"

static ProcessUtility_hook_type prev_process_utility = NULL;

/* The database statement needs to itself, or NULL */
static const char *
database_needed(Node *stmt)
{
	ListCell   *lc;

	switch (nodeTag(stmt))
	{
		case T_DropdbStmt:
			return ((DropdbStmt *) stmt)->dbname;
		case T_CreatedbStmt:
			foreach(lc, ((CreatedbStmt *) stmt)->options)
			{
				DefElem    *opt = lfirst_node(DefElem, lc);

				if (strcmp(opt->defname, "template") == 0 && opt->arg != NULL)
					return defGetString(opt);
			}
			/* CREATE DATABASE copies template1 unless told otherwise */
			return "template1";
		case T_RenameStmt:
			if (((RenameStmt *) stmt)->renameType == OBJECT_DATABASE)
				return ((RenameStmt *) stmt)->subname;
			return NULL;
		case T_AlterDatabaseStmt:
			foreach(lc, ((AlterDatabaseStmt *) stmt)->options)
			{
				if (strcmp(lfirst_node(DefElem, lc)->defname, "tablespace") == 0)
					return ((AlterDatabaseStmt *) stmt)->dbname;
			}
			return NULL;
		default:
			return NULL;
	}
}

static void
worker_process_utility(PlannedStmt *pstmt, const char *queryString,
					   bool readOnlyTree, ProcessUtilityContext context,
					   ParamListInfo params, QueryEnvironment *queryEnv,
					   DestReceiver *dest, QueryCompletion *qc)
{
	const char *dbname = database_needed(pstmt->utilityStmt);
	char	   *paused = NULL;

	if (dbname != NULL && worker_shmem_pause(dbname))
		paused = pstrdup(dbname);
	PG_TRY();
	{
		if (paused != NULL)
			worker_shmem_wait_stopped(paused);
		if (prev_process_utility)
			prev_process_utility(pstmt, queryString, readOnlyTree, context,
								 params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		if (paused != NULL)
			worker_shmem_resume(paused);
	}
	PG_END_TRY();
}

/* From _PG_init: in every backend, so that any of them can pause a worker */
void
worker_hook_init(void)
{
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = worker_process_utility;
}
