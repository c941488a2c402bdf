/*-------------------------------------------------------------------------
 *
 * identity.c
 *		Switching to another role safely (see identity.h).
 *
 * This is what a SECURITY DEFINER function with "SET search_path =
 * pg_catalog, pg_temp" does, written once for C: dbops's catalog writes,
 * the metadata functions that run as the extension owner, and the grants
 * made as dbops_grantor all come through here.
 *
 * src/identity.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/syscache.h"

#include "identity.h"

Oid
identity_extension_owner(void)
{
	Oid			extoid = get_extension_oid("dbops", false);
	HeapTuple	tuple;
	Oid			owner;

	tuple = SearchSysCache1(EXTENSIONOID, ObjectIdGetDatum(extoid));
	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for extension %u", extoid);
	owner = ((Form_pg_extension) GETSTRUCT(tuple))->extowner;
	ReleaseSysCache(tuple);
	return owner;
}

void
identity_become_trusted(Oid role, IdentitySwitch *sw)
{
	GetUserIdAndSecContext(&sw->save_userid, &sw->save_sec_context);
	SetUserIdAndSecContext(role, sw->save_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);

	/*
	 * pg_temp named last: left out, it would be searched first for
	 * relations and types.  Functions and operators are never looked up in
	 * pg_temp, so pg_catalog's always win.
	 */
	sw->save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
}

void
identity_become_supplier(Oid role, IdentitySwitch *sw)
{
	GetUserIdAndSecContext(&sw->save_userid, &sw->save_sec_context);
	SetUserIdAndSecContext(role, sw->save_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE);
	sw->save_nestlevel = -1;
}

void
identity_restore(IdentitySwitch *sw)
{
	if (sw->save_nestlevel >= 0)
		AtEOXact_GUC(true, sw->save_nestlevel);
	SetUserIdAndSecContext(sw->save_userid, sw->save_sec_context);
}
