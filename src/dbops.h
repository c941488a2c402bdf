/*-------------------------------------------------------------------------
 *
 * dbops.h
 *		Declarations shared by the dbops extension's source files: the
 *		settings defined in dbops.c.
 *
 * src/dbops.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DBOPS_H
#define DBOPS_H

/* PostgreSQL 15's fmgr.h does not declare it, and PGXS warns on a missing prototype. */
extern void _PG_init(void);

/* dbops.hazard_policy */
typedef enum DbopsHazardPolicy
{
	DBOPS_HAZARD_POLICY_OFF,
	DBOPS_HAZARD_POLICY_WARN,
	DBOPS_HAZARD_POLICY_REFUSE
} DbopsHazardPolicy;

/* dbops.on_drift: what apply does about schema drift (dbops.schema_drift()) */
typedef enum DbopsDriftPolicy
{
	DBOPS_DRIFT_WARN,			/* a WARNING naming it */
	DBOPS_DRIFT_IGNORE,
	DBOPS_DRIFT_ERROR			/* refuse the batch */
} DbopsDriftPolicy;

/* The most tries after the first that a batch may make on lock timeouts */
#define DBOPS_MAX_LOCK_RETRIES 1000

extern PGDLLIMPORT int dbops_lock_timeout;	/* ms, 0 = off */
extern PGDLLIMPORT int dbops_lock_retries;
extern PGDLLIMPORT int dbops_statement_timeout; /* ms, 0 = off */
extern PGDLLIMPORT int dbops_hazard_policy;
extern PGDLLIMPORT int dbops_hazard_rewrite_rate;	/* kB per second */
extern PGDLLIMPORT bool dbops_report_progress;
extern PGDLLIMPORT int dbops_on_drift;

#endif							/* DBOPS_H */
