/*-------------------------------------------------------------------------
 *
 * dbops.h
 *		Declarations shared by the dbops extension's source files.
 *
 * src/dbops.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DBOPS_H
#define DBOPS_H

/* PostgreSQL 15's fmgr.h does not declare it, and PGXS warns on a missing prototype. */
extern void _PG_init(void);

#endif							/* DBOPS_H */
