/*-------------------------------------------------------------------------
 *
 * identity.h
 *		Running code as another role: the extension owner, dbops_grantor, or
 *		the role that supplied stored SQL.
 *
 * Every switch goes through these functions so that the rules of DESIGN
 * ("Running as the owner safely") hold in one place: the owner's code runs
 * as a security-restricted operation with search_path pinned to
 * "pg_catalog, pg_temp" (pg_temp last, so that a caller's temporary view
 * or type cannot stand in for a catalog object); stored SQL runs as its
 * supplier with SECURITY_LOCAL_USERID_CHANGE, which forbids SET ROLE and
 * SET SESSION AUTHORIZATION, so the script cannot climb back.
 *
 * An error restores the identity and the settings through (sub)transaction
 * abort; only the normal path calls identity_restore().
 *
 * src/identity.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DBOPS_IDENTITY_H
#define DBOPS_IDENTITY_H

/* What a switch saved, for identity_restore() */
typedef struct IdentitySwitch
{
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel; /* -1 when no setting was changed */
} IdentitySwitch;

/* The role that owns the dbops extension, and with it its catalog */
extern Oid	identity_extension_owner(void);

/*
 * Become role as a security-restricted operation with search_path pinned
 * to "pg_catalog, pg_temp": for code of dbops's own that runs with another
 * role's rights (the extension owner, dbops_grantor).
 */
extern void identity_become_trusted(Oid role, IdentitySwitch *sw);

/*
 * Become role for SQL that role supplied (stored down SQL): its rights,
 * never more, and no way to SET ROLE out of them.  Settings are the
 * caller's.
 */
extern void identity_become_supplier(Oid role, IdentitySwitch *sw);

extern void identity_restore(IdentitySwitch *sw);

#endif							/* DBOPS_IDENTITY_H */
