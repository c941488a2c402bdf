/*-------------------------------------------------------------------------
 *
 * ddl_log.h
 *		DDL capture (ddl_log.c): the log of DDL that schema drift is read
 *		from, and the migration a dbops apply attributes DDL to.
 *
 * src/ddl_log.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DBOPS_DDL_LOG_H
#define DBOPS_DDL_LOG_H

/* Settings and the end-of-transaction reset; from _PG_init */
extern void ddl_log_init(void);

/*
 * Attribute the DDL that follows, until the end of the transaction or the
 * next call, to migration version (NULL: to none).
 */
extern void ddl_log_set_migration(const char *version);

#endif							/* DBOPS_DDL_LOG_H */
