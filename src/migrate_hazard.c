/*-------------------------------------------------------------------------
 *
 * migrate_hazard.c
 *		The hazards of pending migrations: for each statement, from its
 *		parse tree, the lock it takes, whether it rewrites or scans a table,
 *		how big that table really is, an estimate of how long the lock
 *		would be held, and the safer form.
 *
 * Linters read migration files alone; dbops runs inside the database, so it
 * weighs each finding by what the table holds: rewriting a table of ten
 * rows is not rewriting one of ten million.  Statements are analysed in
 * order against the live catalog plus what the batch itself does before
 * them (a table the batch creates is empty and unseen by others, a name it
 * renames stays the live table, a NOT NULL check it adds and validates
 * proves a later SET NOT NULL).
 *
 * Lock levels come from PostgreSQL (AlterTableGetLockLevel() for ALTER
 * TABLE, the documented levels for the rest).  Whether a command rewrites
 * the table follows PostgreSQL 15's own rules: an added column rewrites for
 * a volatile default, an identity, a stored generated column or a domain
 * with constraints; a type change rewrites unless the planned conversion of
 * the old value is a relabelling (as for varchar(n) to text).  The test
 * suite checks these answers against a table_rewrite event trigger.  The
 * lock time is the table's size divided by dbops.hazard_rewrite_rate, and
 * is reported as an estimate.
 *
 * Levels: danger for a blocking rewrite or scan estimated at a second or
 * more, for dropping or truncating a table that has rows, and for dropping
 * a column that a dbops permission reads; warning for shorter blocking work
 * of 10 ms or more, other drops and renames (they break clients); info for
 * the rest.  Safe forms (NOT VALID constraints, VALIDATE CONSTRAINT,
 * CONCURRENTLY, defaults that need no rewrite, a SET NOT NULL proven by a
 * valid check) are not hazards.
 *
 * Statements run by functions or DO blocks are not seen.
 *
 * src/migrate_hazard.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/stratnum.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/tablecmds.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "optimizer/plancat.h"
#include "parser/parse_coerce.h"
#include "parser/parse_type.h"
#include "parser/parser.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "dbops.h"
#include "migrate.h"

/* Estimated lock times at which a blocking hazard becomes a warning, a danger */
#define HAZARD_WARNING_SECONDS	0.01
#define HAZARD_DANGER_SECONDS	1.0

/* A class of hazard: the name directives use, and its safer form */
typedef struct HazardClass
{
	const char *name;
	const char *safer;
} HazardClass;

static const HazardClass hazard_classes[] = {
	{"column-type-rewrite",
	"Add a column of the new type, fill it in batches and move readers to it; or change to a type the old one converts to without a rewrite (varchar(n) to a longer varchar or text, numeric(p,s) to a larger precision)."},
	{"add-column-rewrite",
	"Add the column without a default, or with a non-volatile one, and fill existing rows in batches."},
	{"set-not-null-scan",
	"Add CHECK (column IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT in a later migration, then SET NOT NULL, which the valid check proves without a scan."},
	{"index-build",
	"CREATE INDEX CONCURRENTLY in a migration of its own marked \"-- dbops:no-transaction\"; for a primary key or unique constraint, build the unique index concurrently, then ADD CONSTRAINT ... USING INDEX."},
	{"foreign-key-scan",
	"ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID, then VALIDATE CONSTRAINT in a later migration, which scans without blocking writes."},
	{"check-scan",
	"ADD CONSTRAINT ... CHECK (...) NOT VALID, then VALIDATE CONSTRAINT in a later migration, which scans without blocking writes."},
	{"drop-column",
	"Stop every client, and every dbops permission, from reading the column first; drop it in a later release."},
	{"drop-table",
	"Make sure nothing reads the table any more, and keep a copy of its rows."},
	{"truncate",
	"Make sure the rows are no longer needed, or delete them in batches."},
	{"rename",
	"Keep the old name working while clients move: a view with the old name, or a new column filled alongside the old one."},
	{"table-rewrite",
	"Run it when the table may be blocked for that long, or rewrite online with a tool such as pg_repack."},
	{"drop-index",
	"DROP INDEX CONCURRENTLY in a migration of its own marked \"-- dbops:no-transaction\"."},
};

typedef enum HazardId
{
	HZ_COLUMN_TYPE_REWRITE,
	HZ_ADD_COLUMN_REWRITE,
	HZ_SET_NOT_NULL_SCAN,
	HZ_INDEX_BUILD,
	HZ_FOREIGN_KEY_SCAN,
	HZ_CHECK_SCAN,
	HZ_DROP_COLUMN,
	HZ_DROP_TABLE,
	HZ_TRUNCATE,
	HZ_RENAME,
	HZ_TABLE_REWRITE,
	HZ_DROP_INDEX
} HazardId;

StaticAssertDecl(lengthof(hazard_classes) == HZ_DROP_INDEX + 1,
				 "hazard_classes must match HazardId");

/* What a hazard does to its table, which decides what its size means */
typedef enum HazardEffect
{
	EFFECT_REWRITE,				/* writes the whole table and its indexes */
	EFFECT_SCAN,				/* reads the whole table */
	EFFECT_INDEX_BUILD,			/* reads the whole table, sorts, writes */
	EFFECT_DATA_LOSS,
	EFFECT_BREAKS_CLIENTS,
	EFFECT_BRIEF				/* a lock, held briefly */
} HazardEffect;

static const char *const effect_names[] = {
	"rewrite", "scan", "index build", "data loss", "breaks clients", "brief lock"
};

/* A relation a statement names, as the batch will find it */
typedef struct HazardTarget
{
	Oid			relid;			/* live relation, or InvalidOid */
	bool		created;		/* created by the batch: empty, unseen */
	char	   *display;		/* quoted, qualified when known */
} HazardTarget;

/* A name the batch gives: a table it creates, or a live one it renames */
typedef struct BatchName
{
	char	   *schema;			/* NULL when not written */
	char	   *name;
	Oid			relid;			/* InvalidOid for a created table */
} BatchName;

/* A column of a live table the batch proved NOT NULL with a valid check */
typedef struct BatchNotNull
{
	Oid			relid;
	char	   *column;
	char	   *constraint;		/* the check's name */
	bool		validated;
} BatchNotNull;

/* What the batch did so far, in the analysis context */
typedef struct HazardBatch
{
	List	   *names;			/* BatchName */
	List	   *added_columns;	/* "relid/column" of live tables */
	List	   *not_null_checks;	/* BatchNotNull */
	MemoryContext cxt;
} HazardBatch;

/* Where the statement being analysed comes from */
typedef struct HazardStatement
{
	Migration  *m;
	int			line;
	List	  **out;			/* MigrationHazard list of the migration */
	HazardBatch *batch;
} HazardStatement;

bool
migrate_hazard_known(const char *name)
{
	for (int i = 0; i < lengthof(hazard_classes); i++)
	{
		if (strcmp(hazard_classes[i].name, name) == 0)
			return true;
	}
	return false;
}

/* What a lock mode blocks, in words */
static const char *
lock_blocks(LOCKMODE mode)
{
	if (mode >= AccessExclusiveLock)
		return "reads and writes";
	if (mode >= ShareLock)
		return "writes";
	if (mode >= ShareUpdateExclusiveLock)
		return "schema changes and VACUUM";
	return "nothing but exclusive locks";
}

/* The qualified, quoted name of a relation */
static char *
rel_display(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

static bool
batch_name_matches(BatchName *n, RangeVar *rv)
{
	return strcmp(n->name, rv->relname) == 0 &&
		(n->schema == NULL || rv->schemaname == NULL ||
		 strcmp(n->schema, rv->schemaname) == 0);
}

/* The relation rv names, where the batch has got to */
static HazardTarget
resolve(HazardBatch *batch, RangeVar *rv)
{
	HazardTarget t = {InvalidOid, false, NULL};
	ListCell   *lc;

	foreach(lc, batch->names)
	{
		BatchName  *n = lfirst(lc);

		if (batch_name_matches(n, rv))
		{
			t.relid = n->relid;
			t.created = !OidIsValid(n->relid);
			break;
		}
	}
	if (lc == NULL)
		t.relid = RangeVarGetRelid(rv, NoLock, true);
	t.display = OidIsValid(t.relid) ? rel_display(t.relid) :
		quote_qualified_identifier(rv->schemaname, rv->relname);
	return t;
}

/* Remember a name the batch gives, to relid (InvalidOid: a new table) */
static void
batch_add_name(HazardBatch *batch, RangeVar *rv, Oid relid)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(batch->cxt);
	BatchName  *n = palloc(sizeof(BatchName));

	n->schema = rv->schemaname ? pstrdup(rv->schemaname) : NULL;
	n->name = pstrdup(rv->relname);
	n->relid = relid;
	batch->names = lcons(n, batch->names);
	MemoryContextSwitchTo(oldcxt);
}

/* A table the batch creates, unless IF NOT EXISTS finds it live */
static void
batch_add_created(HazardBatch *batch, RangeVar *rv, bool if_not_exists)
{
	if (!if_not_exists || !OidIsValid(resolve(batch, rv).relid))
		batch_add_name(batch, rv, InvalidOid);
}

/*
 * The size of a relation and of its partitions or children, which a
 * rewrite or scan of it reaches too.  With an ACCESS SHARE lock that is
 * free at once, from the files themselves; otherwise (someone holds an
 * ACCESS EXCLUSIVE lock) from pg_class as of the last VACUUM or ANALYZE,
 * rather than waiting.  total includes TOAST and indexes, heap does not.
 */
static void
measure(Oid relid, int64 *total, int64 *heap, double *rows)
{
	List	   *rels = find_all_inheritors(relid, NoLock, NULL);
	ListCell   *lc;

	*total = *heap = 0;
	*rows = 0;
	foreach(lc, rels)
	{
		Oid			r = lfirst_oid(lc);

		if (ConditionalLockRelationOid(r, AccessShareLock))
		{
			Relation	rel = try_relation_open(r, NoLock);

			if (rel != NULL)
			{
				BlockNumber pages;
				double		tuples;
				double		allvisfrac;

				if (RELKIND_HAS_STORAGE(rel->rd_rel->relkind))
				{
					BlockNumber blocks = RelationGetNumberOfBlocks(rel);

					/*
					 * The planner's estimate, from the blocks the table has
					 * now; but it takes a table that was never vacuumed to
					 * have ten, and an empty one has no rows.
					 */
					*heap += (int64) blocks * BLCKSZ;
					tuples = 0;
					if (blocks > 0)
						estimate_rel_size(rel, NULL, &pages, &tuples, &allvisfrac);
					if (*rows >= 0)
						*rows += tuples;
				}
				relation_close(rel, NoLock);
				*total += DatumGetInt64(DirectFunctionCall1(pg_total_relation_size,
															ObjectIdGetDatum(r)));
			}
			UnlockRelationOid(r, AccessShareLock);
		}
		else
		{
			HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(r));

			if (HeapTupleIsValid(tup))
			{
				Form_pg_class cls = (Form_pg_class) GETSTRUCT(tup);

				*heap += (int64) cls->relpages * BLCKSZ;
				*total += (int64) cls->relpages * BLCKSZ;
				/* never analysed: the rows are unknown */
				if (cls->reltuples < 0 || *rows < 0)
					*rows = -1;
				else
					*rows += cls->reltuples;
				ReleaseSysCache(tup);
			}
		}
	}
}

/*
 * Record a hazard of the statement on target.  Blocking work (a rewrite, a
 * scan, an index build) is weighed by the estimated lock time; drops by
 * whether there are rows to lose.
 */
static void
add_hazard(HazardStatement *hs, HazardId id, HazardTarget *target,
		   LOCKMODE mode, HazardEffect effect, const char *message,
		   bool reads_permission)
{
	MigrationHazard *h = palloc0(sizeof(MigrationHazard));
	int64		total = -1;
	int64		heap = -1;
	double		rows = -1;
	ListCell   *lc;

	h->version = hs->m->version;
	h->name = hs->m->name;
	h->file = hs->m->up_file;
	h->line = hs->line;
	h->hazard = hazard_classes[id].name;
	h->safer = hazard_classes[id].safer;
	h->relation = target->display;
	h->lock_mode = GetLockmodeName(DEFAULT_LOCKMETHOD, mode);
	h->blocks = lock_blocks(mode);
	h->effect = effect_names[effect];
	h->table_bytes = -1;
	h->table_rows = -1;
	h->estimated_seconds = -1;
	h->message = pstrdup(message);

	if (OidIsValid(target->relid))
	{
		measure(target->relid, &total, &heap, &rows);
		h->table_bytes = total;
		h->table_rows = rows;
	}

	switch (effect)
	{
		case EFFECT_REWRITE:
		case EFFECT_SCAN:
		case EFFECT_INDEX_BUILD:
			if (total < 0)
				h->level = "warning";	/* unknown size: not info */
			else
			{
				h->estimated_seconds = (double) (effect == EFFECT_REWRITE ? total : heap) /
					((double) dbops_hazard_rewrite_rate * 1024.0);
				h->level = h->estimated_seconds >= HAZARD_DANGER_SECONDS ? "danger" :
					h->estimated_seconds >= HAZARD_WARNING_SECONDS ? "warning" : "info";
			}
			break;
		case EFFECT_DATA_LOSS:
			/* a column's data is lost too, but only a reader makes it urgent */
			if (id == HZ_DROP_COLUMN)
				h->level = reads_permission ? "danger" : "warning";
			else
				h->level = rows != 0 ? "danger" : "warning";
			break;
		case EFFECT_BREAKS_CLIENTS:
			h->level = "warning";
			break;
		case EFFECT_BRIEF:
			h->level = "info";
			break;
	}

	foreach(lc, hs->m->directives.allow_hazards)
	{
		if (strcmp(lfirst(lc), h->hazard) == 0)
			h->allowed = true;
	}
	*hs->out = lappend(*hs->out, h);
}

/* The name of the column a ColumnRef names last */
static const char *
column_ref_name(Node *node)
{
	ColumnRef  *ref;
	Node	   *last;

	if (node == NULL || !IsA(node, ColumnRef))
		return NULL;
	ref = (ColumnRef *) node;
	last = llast(ref->fields);
	return IsA(last, String) ? strVal(last) : NULL;
}

static bool
column_ref_walker(Node *node, void *column)
{
	const char *name;

	if (node == NULL)
		return false;
	if ((name = column_ref_name(node)) != NULL && strcmp(name, column) == 0)
		return true;
	return raw_expression_tree_walker(node, column_ref_walker, column);
}

/*
 * Does the SQL expression text mention column?  Parsed as the select list
 * of PL/pgSQL, which takes any expression; a name in a subquery counts too,
 * which errs on the side of reporting.  Text that does not parse counts.
 */
static bool
expression_reads_column(const char *text, const char *column)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	List	   *volatile raw = NIL;
	volatile bool failed = false;
	ListCell   *lc;

	if (text == NULL)
		return false;
	PG_TRY();
	{
		raw = raw_parser(text, RAW_PARSE_PLPGSQL_EXPR);
	}
	PG_CATCH();
	{
		/* raw_parser holds no resources: dropping the error is safe */
		MemoryContextSwitchTo(oldcxt);
		FlushErrorState();
		failed = true;
	}
	PG_END_TRY();
	if (failed)
		return true;
	foreach(lc, raw)
	{
		if (column_ref_walker(lfirst_node(RawStmt, lc)->stmt, (void *) column))
			return true;
	}
	return false;
}

/*
 * The dbops permissions that read column of relid: its column list is NULL
 * (every column) or names it, or its filter or check mentions it.  As
 * "role (action)" strings.
 */
static List *
column_readers(Oid relid, const char *column)
{
	List	   *perms = migrate_catalog_permissions(get_namespace_name(get_rel_namespace(relid)),
													get_rel_name(relid), column);
	List	   *readers = NIL;
	ListCell   *lc;

	foreach(lc, perms)
	{
		MigrationPermission *p = lfirst(lc);

		if (p->lists_column || expression_reads_column(p->filter, column) ||
			expression_reads_column(p->check, column))
			readers = lappend(readers, psprintf("\"%s\" (%s)",
												p->role, p->action));
	}
	return readers;
}

static char *
join_strings(List *strings)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, strings)
		appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "",
						 (char *) lfirst(lc));
	return buf.data;
}

/*
 * Could the raw expression be volatile?  Every function it calls is looked
 * up by name; one of that name that is volatile, or none at all (created
 * later, perhaps by this batch), counts as volatile.
 */
static bool
raw_volatile_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, FuncCall))
	{
		FuncCandidateList c = FuncnameGetCandidates(((FuncCall *) node)->funcname,
													-1, NIL, false, false,
													false, true);

		if (c == NULL)
			return true;
		for (; c != NULL; c = c->next)
		{
			if (func_volatile(c->oid) == PROVOLATILE_VOLATILE)
				return true;
		}
	}
	return raw_expression_tree_walker(node, raw_volatile_walker, context);
}

/* The type a TypeName names, with its typmod, or InvalidOid if unknown */
static Oid
lookup_type(TypeName *tn, int32 *typmod)
{
	Type		tup = LookupTypeName(NULL, tn, typmod, true);
	Oid			typid;

	if (tup == NULL)
		return InvalidOid;
	typid = typeTypeId(tup);
	ReleaseSysCache(tup);
	return typid;
}

/* serial and its kin: not types, but a column with a nextval() default */
static bool
is_serial(TypeName *tn)
{
	static const char *const serials[] = {
		"smallserial", "serial2", "serial", "serial4", "bigserial", "serial8"
	};
	const char *name;

	if (tn->names == NIL || list_length(tn->names) > 2 || tn->arrayBounds != NIL)
		return false;
	if (list_length(tn->names) == 2 &&
		strcmp(strVal(linitial(tn->names)), "pg_catalog") != 0)
		return false;
	name = strVal(llast(tn->names));
	for (int i = 0; i < lengthof(serials); i++)
	{
		if (strcmp(name, serials[i]) == 0)
			return true;
	}
	return false;
}

/* ALTER TABLE ... ADD COLUMN on a live table */
static void
analyse_add_column(HazardStatement *hs, HazardTarget *target, LOCKMODE mode,
				   ColumnDef *def)
{
	const char *why = NULL;
	bool		has_default = false;
	bool		not_null = false;
	int32		typmod;
	Oid			typid;
	ListCell   *lc;

	if (is_serial(def->typeName))
		why = "a serial column fills every row from a sequence";
	else if (OidIsValid(typid = lookup_type(def->typeName, &typmod)) &&
			 get_typtype(typid) == TYPTYPE_DOMAIN && DomainHasConstraints(typid))
		why = "its type is a domain with constraints, checked on every row";

	foreach(lc, def->constraints)
	{
		Constraint *con = lfirst_node(Constraint, lc);

		switch (con->contype)
		{
			case CONSTR_DEFAULT:
				has_default = true;
				if (why == NULL && raw_volatile_walker(con->raw_expr, NULL))
					why = "its default is volatile and is computed for every row";
				break;
			case CONSTR_IDENTITY:
				has_default = true;
				if (why == NULL)
					why = "an identity column fills every row";
				break;
			case CONSTR_GENERATED:
				has_default = true;
				if (why == NULL)
					why = "a stored generated column is computed for every row";
				break;
			case CONSTR_NOTNULL:
				not_null = true;
				break;
			case CONSTR_CHECK:
				add_hazard(hs, HZ_CHECK_SCAN, target, mode, EFFECT_SCAN,
						   psprintf("The CHECK constraint of new column \"%s\" is verified on every row.",
									def->colname), false);
				break;
			case CONSTR_PRIMARY:
			case CONSTR_UNIQUE:
				add_hazard(hs, HZ_INDEX_BUILD, target, mode, EFFECT_INDEX_BUILD,
						   psprintf("New column \"%s\" gets an index built from the whole table.",
									def->colname), false);
				break;
			case CONSTR_FOREIGN:
				add_hazard(hs, HZ_FOREIGN_KEY_SCAN, target, mode, EFFECT_SCAN,
						   psprintf("The foreign key of new column \"%s\" is verified on every row.",
									def->colname), false);
				break;
			default:
				break;
		}
	}
	if (why != NULL)
		add_hazard(hs, HZ_ADD_COLUMN_REWRITE, target, mode, EFFECT_REWRITE,
				   psprintf("Adding column \"%s\" rewrites the table: %s.",
							def->colname, why), false);
	else if (not_null && !has_default)
		add_hazard(hs, HZ_SET_NOT_NULL_SCAN, target, mode, EFFECT_SCAN,
				   psprintf("New column \"%s\" is NOT NULL without a default: every row is checked, and the command fails if the table has any.",
							def->colname), false);
}

/*
 * Does converting a value of the old column to the new type, as planned,
 * only relabel it?  Then the table keeps its data; anything else computes
 * every row again.  Converting between timestamp and timestamptz is a
 * relabelling while the session's time zone is UTC; a domain with
 * constraints checks every row.
 */
static bool
conversion_rewrites(Node *expr, AttrNumber attnum)
{
	while (expr != NULL)
	{
		switch (nodeTag(expr))
		{
			case T_Var:
				return ((Var *) expr)->varattno != attnum;
			case T_RelabelType:
				expr = (Node *) ((RelabelType *) expr)->arg;
				break;
			case T_CoerceToDomain:
				if (DomainHasConstraints(((CoerceToDomain *) expr)->resulttype))
					return true;
				expr = (Node *) ((CoerceToDomain *) expr)->arg;
				break;
			case T_FuncExpr:
				{
					FuncExpr   *f = (FuncExpr *) expr;

					if ((f->funcid != F_TIMESTAMP_TIMESTAMPTZ &&
						 f->funcid != F_TIMESTAMPTZ_TIMESTAMP) ||
						TimestampTimestampTzRequiresRewrite())
						return true;
					expr = linitial(f->args);
					break;
				}
			default:
				return true;
		}
	}
	return true;
}

/* Is column of a live table one the batch added? */
static bool
batch_added_column(HazardBatch *batch, Oid relid, const char *column)
{
	char	   *key = psprintf("%u/%s", relid, column);
	ListCell   *lc;

	foreach(lc, batch->added_columns)
	{
		if (strcmp(lfirst(lc), key) == 0)
			return true;
	}
	return false;
}

/* ALTER TABLE ... ALTER COLUMN ... TYPE on a live table */
static void
analyse_column_type(HazardStatement *hs, HazardTarget *target, LOCKMODE mode,
					const char *column, ColumnDef *def)
{
	HeapTuple	tup = SearchSysCacheAttName(target->relid, column);
	const char *why = NULL;

	if (!HeapTupleIsValid(tup))
		why = batch_added_column(hs->batch, target->relid, column) ?
			"the column is added by this batch, so its type is not known yet" :
			NULL;
	else
	{
		Form_pg_attribute att = (Form_pg_attribute) GETSTRUCT(tup);
		int32		typmod;
		Oid			typid = lookup_type(def->typeName, &typmod);
		const char *using_col = column_ref_name(def->raw_default);

		if (def->raw_default != NULL &&
			(using_col == NULL || strcmp(using_col, column) != 0))
			why = "the USING expression computes every row";
		else if (!OidIsValid(typid))
			why = "the new type is not known yet";
		else
		{
			Node	   *conv = coerce_to_target_type(NULL,
													 (Node *) makeVar(1, att->attnum, att->atttypid,
																	  att->atttypmod, att->attcollation, 0),
													 att->atttypid, typid, typmod,
													 COERCION_ASSIGNMENT,
													 COERCE_IMPLICIT_CAST, -1);

			/* no conversion: the command will fail, and rewrites nothing */
			if (conv != NULL &&
				conversion_rewrites((Node *) expression_planner((Expr *) conv),
									att->attnum))
				why = psprintf("%s to %s is not a binary-compatible change",
							   format_type_with_typemod(att->atttypid, att->atttypmod),
							   format_type_with_typemod(typid, typmod));
		}
		ReleaseSysCache(tup);
	}
	if (why != NULL)
		add_hazard(hs, HZ_COLUMN_TYPE_REWRITE, target, mode, EFFECT_REWRITE,
				   psprintf("Changing the type of column \"%s\" rewrites the table and its indexes: %s.",
							column, why), false);
}

/*
 * Is column of relid proven NOT NULL: declared so, or implied by the
 * table's valid CHECK constraints (as PostgreSQL proves it for SET NOT
 * NULL), or by a check the batch added and validated?
 */
static bool
not_null_proven(HazardBatch *batch, Oid relid, const char *column)
{
	HeapTuple	tup;
	Form_pg_attribute att;
	NullTest   *test;
	List	   *checks = NIL;
	Relation	conrel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	contup;
	ListCell   *lc;
	bool		proven;

	foreach(lc, batch->not_null_checks)
	{
		BatchNotNull *c = lfirst(lc);

		if (c->validated && c->relid == relid && strcmp(c->column, column) == 0)
			return true;
	}
	tup = SearchSysCacheAttName(relid, column);
	if (!HeapTupleIsValid(tup))
		return false;
	att = (Form_pg_attribute) GETSTRUCT(tup);
	if (att->attnotnull)
	{
		ReleaseSysCache(tup);
		return true;
	}

	test = makeNode(NullTest);
	test->arg = (Expr *) makeVar(1, att->attnum, att->atttypid, att->atttypmod,
								 att->attcollation, 0);
	test->nulltesttype = IS_NOT_NULL;
	test->argisrow = false;
	test->location = -1;
	ReleaseSysCache(tup);

	conrel = table_open(ConstraintRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_constraint_conrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(conrel, ConstraintRelidTypidNameIndexId, true,
							  NULL, 1, &key);
	while (HeapTupleIsValid(contup = systable_getnext(scan)))
	{
		Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(contup);
		bool		isnull;
		Datum		bin;
		Node	   *expr;

		if (con->contype != CONSTRAINT_CHECK || !con->convalidated)
			continue;
		bin = heap_getattr(contup, Anum_pg_constraint_conbin,
						   RelationGetDescr(conrel), &isnull);
		if (isnull)
			continue;
		expr = eval_const_expressions(NULL, stringToNode(TextDatumGetCString(bin)));
		expr = (Node *) canonicalize_qual((Expr *) expr, true);
		checks = list_concat(checks, make_ands_implicit((Expr *) expr));
	}
	systable_endscan(scan);
	table_close(conrel, AccessShareLock);

	proven = checks != NIL &&
		predicate_implied_by(list_make1(test), checks, false);
	return proven;
}

/* A NOT NULL check the batch adds: CHECK (column IS NOT NULL) */
static void
batch_note_check(HazardBatch *batch, Oid relid, Constraint *con)
{
	NullTest   *test = (NullTest *) con->raw_expr;
	const char *column;
	MemoryContext oldcxt;
	BatchNotNull *c;

	if (con->conname == NULL || test == NULL || !IsA(test, NullTest) ||
		test->nulltesttype != IS_NOT_NULL ||
		(column = column_ref_name((Node *) test->arg)) == NULL)
		return;
	oldcxt = MemoryContextSwitchTo(batch->cxt);
	c = palloc(sizeof(BatchNotNull));
	c->relid = relid;
	c->column = pstrdup(column);
	c->constraint = pstrdup(con->conname);
	c->validated = !con->skip_validation;
	batch->not_null_checks = lappend(batch->not_null_checks, c);
	MemoryContextSwitchTo(oldcxt);
}

static void
batch_validate_check(HazardBatch *batch, Oid relid, const char *conname)
{
	ListCell   *lc;

	foreach(lc, batch->not_null_checks)
	{
		BatchNotNull *c = lfirst(lc);

		if (c->relid == relid && strcmp(c->constraint, conname) == 0)
			c->validated = true;
	}
}

/* ALTER TABLE ... ADD CONSTRAINT on a live table */
static void
analyse_add_constraint(HazardStatement *hs, HazardTarget *target,
					   LOCKMODE mode, Constraint *con)
{
	const char *name = con->conname ?
		psprintf("\"%s\"", con->conname) : "without a name";

	switch (con->contype)
	{
		case CONSTR_CHECK:
			batch_note_check(hs->batch, target->relid, con);
			if (!con->skip_validation)
				add_hazard(hs, HZ_CHECK_SCAN, target, mode, EFFECT_SCAN,
						   psprintf("CHECK constraint %s is verified on every row.",
									name), false);
			break;
		case CONSTR_FOREIGN:
			if (!con->skip_validation)
				add_hazard(hs, HZ_FOREIGN_KEY_SCAN, target, mode, EFFECT_SCAN,
						   psprintf("Foreign key %s to \"%s\" is verified on every row; writes to both tables wait for it.",
									name,
									quote_qualified_identifier(con->pktable->schemaname,
															   con->pktable->relname)),
						   false);
			break;
		case CONSTR_PRIMARY:
		case CONSTR_UNIQUE:
		case CONSTR_EXCLUSION:
			if (con->indexname == NULL)
				add_hazard(hs, HZ_INDEX_BUILD, target, mode, EFFECT_INDEX_BUILD,
						   psprintf("Constraint %s builds its index from the whole table.",
									name), false);
			break;
		default:
			break;
	}
}

/* ALTER TABLE ... DROP COLUMN on a live table */
static void
analyse_drop_column(HazardStatement *hs, HazardTarget *target, LOCKMODE mode,
					const char *column)
{
	List	   *readers = column_readers(target->relid, column);

	add_hazard(hs, HZ_DROP_COLUMN, target, mode, EFFECT_DATA_LOSS,
			   readers != NIL ?
			   psprintf("Column \"%s\" is dropped with its data, and dbops permissions read it: %s.",
						column, join_strings(readers)) :
			   psprintf("Column \"%s\" is dropped with its data; clients that read it fail.",
						column),
			   readers != NIL);
}

static void
analyse_alter_table(HazardStatement *hs, AlterTableStmt *stmt)
{
	HazardTarget target = resolve(hs->batch, stmt->relation);
	LOCKMODE	mode;
	ListCell   *lc;

	if (target.created || !OidIsValid(target.relid) ||
		(!RELKIND_HAS_STORAGE(get_rel_relkind(target.relid)) &&
		 get_rel_relkind(target.relid) != RELKIND_PARTITIONED_TABLE))
		return;
	mode = AlterTableGetLockLevel(stmt->cmds);

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		switch (cmd->subtype)
		{
			case AT_AddColumn:
				analyse_add_column(hs, &target, mode, (ColumnDef *) cmd->def);
				hs->batch->added_columns =
					lappend(hs->batch->added_columns,
							MemoryContextStrdup(hs->batch->cxt,
												psprintf("%u/%s", target.relid,
														 ((ColumnDef *) cmd->def)->colname)));
				break;
			case AT_AlterColumnType:
				analyse_column_type(hs, &target, mode, cmd->name,
									(ColumnDef *) cmd->def);
				break;
			case AT_SetNotNull:
				if (!not_null_proven(hs->batch, target.relid, cmd->name))
					add_hazard(hs, HZ_SET_NOT_NULL_SCAN, &target, mode, EFFECT_SCAN,
							   psprintf("SET NOT NULL on column \"%s\" checks every row: no valid CHECK constraint proves it.",
										cmd->name), false);
				break;
			case AT_AddConstraint:
				analyse_add_constraint(hs, &target, mode, (Constraint *) cmd->def);
				break;
			case AT_ValidateConstraint:
				batch_validate_check(hs->batch, target.relid, cmd->name);
				break;
			case AT_DropColumn:
				analyse_drop_column(hs, &target, mode, cmd->name);
				break;
			case AT_SetTableSpace:
			case AT_SetLogged:
			case AT_SetUnLogged:
			case AT_SetAccessMethod:
				add_hazard(hs, HZ_TABLE_REWRITE, &target, mode, EFFECT_REWRITE,
						   "The command copies the whole table and its indexes.",
						   false);
				break;
			default:
				break;
		}
	}
}

/* ALTER TABLE ... RENAME (TO, COLUMN) */
static void
analyse_rename(HazardStatement *hs, RenameStmt *stmt)
{
	HazardTarget target;
	List	   *readers = NIL;

	if (stmt->relation == NULL ||
		(stmt->renameType != OBJECT_TABLE && stmt->renameType != OBJECT_VIEW &&
		 stmt->renameType != OBJECT_MATVIEW &&
		 stmt->renameType != OBJECT_FOREIGN_TABLE &&
		 stmt->renameType != OBJECT_COLUMN))
		return;
	target = resolve(hs->batch, stmt->relation);
	if (stmt->renameType != OBJECT_COLUMN)
	{
		/* later statements of the batch name the table by its new name */
		RangeVar   *renamed = makeRangeVar(stmt->relation->schemaname,
										   stmt->newname, -1);

		batch_add_name(hs->batch, renamed, target.relid);
	}
	if (target.created || !OidIsValid(target.relid))
		return;
	if (stmt->renameType == OBJECT_COLUMN)
		readers = column_readers(target.relid, stmt->subname);
	add_hazard(hs, HZ_RENAME, &target, AccessExclusiveLock, EFFECT_BREAKS_CLIENTS,
			   stmt->renameType == OBJECT_COLUMN ?
			   psprintf("Column \"%s\" becomes \"%s\"; clients that use the old name fail.%s%s",
						stmt->subname, stmt->newname,
						readers != NIL ? " dbops permissions read it: " : "",
						readers != NIL ? psprintf("%s.", join_strings(readers)) : "") :
			   psprintf("The relation becomes \"%s\"; clients that use the old name fail.",
						stmt->newname),
			   false);
}

/* DROP TABLE, DROP INDEX */
static void
analyse_drop(HazardStatement *hs, DropStmt *stmt)
{
	ListCell   *lc;

	if (stmt->removeType != OBJECT_TABLE && stmt->removeType != OBJECT_INDEX)
		return;
	foreach(lc, stmt->objects)
	{
		RangeVar   *rv = makeRangeVarFromNameList(lfirst(lc));
		HazardTarget target = resolve(hs->batch, rv);

		if (target.created || !OidIsValid(target.relid))
			continue;
		if (stmt->removeType == OBJECT_TABLE)
			add_hazard(hs, HZ_DROP_TABLE, &target, AccessExclusiveLock,
					   EFFECT_DATA_LOSS,
					   "The table is dropped with its rows; clients that use it fail.",
					   false);
		else if (!stmt->concurrent &&
				 get_rel_relkind(target.relid) == RELKIND_INDEX)
		{
			HazardTarget table = target;

			table.relid = IndexGetRelation(target.relid, false);
			table.display = rel_display(table.relid);
			add_hazard(hs, HZ_DROP_INDEX, &table, AccessExclusiveLock,
					   EFFECT_BRIEF,
					   psprintf("Dropping index \"%s\" locks its table, briefly once the lock is granted.",
								target.display),
					   false);
		}
	}
}

/* One statement: what it does to which table, in batch order */
static void
analyse_statement(HazardStatement *hs, Node *stmt)
{
	ListCell   *lc;

	switch (nodeTag(stmt))
	{
		case T_CreateStmt:
			batch_add_created(hs->batch, ((CreateStmt *) stmt)->relation,
							  ((CreateStmt *) stmt)->if_not_exists);
			break;
		case T_CreateTableAsStmt:
			batch_add_created(hs->batch, ((CreateTableAsStmt *) stmt)->into->rel,
							  ((CreateTableAsStmt *) stmt)->if_not_exists);
			break;
		case T_SelectStmt:
			if (((SelectStmt *) stmt)->intoClause != NULL)
				batch_add_created(hs->batch, ((SelectStmt *) stmt)->intoClause->rel,
								  false);
			break;
		case T_AlterTableStmt:
			analyse_alter_table(hs, (AlterTableStmt *) stmt);
			break;
		case T_RenameStmt:
			analyse_rename(hs, (RenameStmt *) stmt);
			break;
		case T_DropStmt:
			analyse_drop(hs, (DropStmt *) stmt);
			break;
		case T_IndexStmt:
			{
				IndexStmt  *index = (IndexStmt *) stmt;
				HazardTarget target = resolve(hs->batch, index->relation);

				if (!index->concurrent && !target.created && OidIsValid(target.relid))
					add_hazard(hs, HZ_INDEX_BUILD, &target, ShareLock,
							   EFFECT_INDEX_BUILD,
							   "The index is built from the whole table.",
							   false);
				break;
			}
		case T_TruncateStmt:
			foreach(lc, ((TruncateStmt *) stmt)->relations)
			{
				HazardTarget target = resolve(hs->batch, lfirst(lc));

				if (!target.created && OidIsValid(target.relid))
					add_hazard(hs, HZ_TRUNCATE, &target, AccessExclusiveLock,
							   EFFECT_DATA_LOSS,
							   "Every row of the table is deleted.", false);
			}
			break;
		case T_ClusterStmt:
			{
				ClusterStmt *cluster = (ClusterStmt *) stmt;
				HazardTarget target;

				if (cluster->relation == NULL)
					break;
				target = resolve(hs->batch, cluster->relation);
				if (!target.created && OidIsValid(target.relid))
					add_hazard(hs, HZ_TABLE_REWRITE, &target, AccessExclusiveLock,
							   EFFECT_REWRITE,
							   "CLUSTER copies the whole table and its indexes.", false);
				break;
			}
		case T_RefreshMatViewStmt:
			{
				RefreshMatViewStmt *refresh = (RefreshMatViewStmt *) stmt;
				HazardTarget target = resolve(hs->batch, refresh->relation);

				if (!refresh->concurrent && !target.created && OidIsValid(target.relid))
					add_hazard(hs, HZ_TABLE_REWRITE, &target, AccessExclusiveLock,
							   EFFECT_REWRITE,
							   "REFRESH MATERIALIZED VIEW without CONCURRENTLY rebuilds it.",
							   false);
				break;
			}
		case T_ReindexStmt:
			{
				ReindexStmt *reindex = (ReindexStmt *) stmt;
				HazardTarget target;

				if (reindex->relation == NULL ||
					(reindex->kind != REINDEX_OBJECT_TABLE &&
					 reindex->kind != REINDEX_OBJECT_INDEX) ||
					migrate_reindex_concurrent(reindex))
					break;
				target = resolve(hs->batch, reindex->relation);
				if (target.created || !OidIsValid(target.relid))
					break;
				if (reindex->kind == REINDEX_OBJECT_INDEX)
				{
					target.relid = IndexGetRelation(target.relid, true);
					if (!OidIsValid(target.relid))
						break;
					target.display = rel_display(target.relid);
				}
				add_hazard(hs, HZ_INDEX_BUILD, &target, ShareLock,
						   EFFECT_INDEX_BUILD,
						   "REINDEX builds the index again from the whole table; reads that use the index wait too.",
						   false);
				break;
			}
		default:
			break;
	}
}

/* 1-based line of byte offset of sql */
static int
line_at(const char *sql, int offset)
{
	int			line = 1;

	for (int i = 0; i < offset && sql[i] != '\0'; i++)
		if (sql[i] == '\n')
			line++;
	return line;
}

/*
 * The hazards of each migration of a batch, in order: a list per
 * migration (MigrationHazard), in the caller's memory context.  Each up
 * script is parsed again, in a context that is reset after it.
 */
List *
migrate_hazards_analyse(List *migrations)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	MemoryContext parse_cxt = AllocSetContextCreate(oldcxt,
													"dbops hazard analysis",
													ALLOCSET_DEFAULT_SIZES);
	HazardBatch batch = {NIL, NIL, NIL, oldcxt};
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, migrations)
	{
		Migration  *m = lfirst(lc);
		List	   *hazards = NIL;
		MigrationErrorContext ctx;
		List	   *raw;
		ListCell   *sc;

		MemoryContextSwitchTo(parse_cxt);
		migrate_errcontext_push(&ctx, m->label, m->up_file, m->up_sql);
		raw = raw_parser(m->up_sql, RAW_PARSE_DEFAULT);
		foreach(sc, raw)
		{
			RawStmt    *rs = lfirst_node(RawStmt, sc);
			HazardStatement hs;
			int			end = rs->stmt_len > 0 ?
				rs->stmt_location + rs->stmt_len : (int) strlen(m->up_sql);

			ctx.stmt_offset = migrate_skip_blanks(m->up_sql, rs->stmt_location, end);
			ctx.stmt_length = end - ctx.stmt_offset;
			hs.m = m;
			hs.line = line_at(m->up_sql, ctx.stmt_offset);
			hs.out = &hazards;
			hs.batch = &batch;

			/* the hazards outlive the parse trees */
			MemoryContextSwitchTo(oldcxt);
			analyse_statement(&hs, rs->stmt);
			MemoryContextSwitchTo(parse_cxt);
		}
		migrate_errcontext_pop(&ctx);
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(parse_cxt);
		result = lappend(result, hazards);
	}
	MemoryContextDelete(parse_cxt);
	return result;
}

/* A hazard as a jsonb object, for the hazards column of a dry run */
Jsonb *
migrate_hazards_jsonb(List *hazards)
{
	JsonbParseState *state = NULL;
	ListCell   *lc;

	pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	foreach(lc, hazards)
	{
		MigrationHazard *h = lfirst(lc);
		Datum		values[MIGRATE_HAZARD_NCOLS];
		bool		nulls[MIGRATE_HAZARD_NCOLS];

		migrate_hazard_values(h, values, nulls);
		pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
		for (int i = 2; i < MIGRATE_HAZARD_NCOLS; i++)
		{
			JsonbValue	key;
			JsonbValue	val;

			key.type = jbvString;
			key.val.string.val = (char *) migrate_hazard_columns[i];
			key.val.string.len = strlen(migrate_hazard_columns[i]);
			pushJsonbValue(&state, WJB_KEY, &key);
			if (nulls[i])
				val.type = jbvNull;
			else
			{
				Oid			typid = migrate_hazard_types[i];
				Oid			out;
				bool		varlena;

				if (typid == BOOLOID)
				{
					val.type = jbvBool;
					val.val.boolean = DatumGetBool(values[i]);
				}
				else if (typid == INT4OID || typid == INT8OID)
				{
					val.type = jbvNumeric;
					val.val.numeric = DatumGetNumeric(DirectFunctionCall1(typid == INT4OID ?
																		  int4_numeric : int8_numeric,
																		  values[i]));
				}
				else
				{
					getTypeOutputInfo(typid, &out, &varlena);
					val.type = jbvString;
					val.val.string.val = OidOutputFunctionCall(out, values[i]);
					val.val.string.len = strlen(val.val.string.val);
				}
			}
			pushJsonbValue(&state, WJB_VALUE, &val);
		}
		pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	}
	return JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_ARRAY, NULL));
}

/* Column names and types of dbops.migration_hazards, in order */
const char *const migrate_hazard_columns[MIGRATE_HAZARD_NCOLS] = {
	"version", "name", "file", "line", "hazard", "level", "allowed",
	"relation", "lock_mode", "blocks", "effect", "table_bytes", "table_rows",
	"estimated_lock_time", "message", "safer"
};
const Oid	migrate_hazard_types[MIGRATE_HAZARD_NCOLS] = {
	TEXTOID, TEXTOID, TEXTOID, INT4OID, TEXTOID, TEXTOID, BOOLOID,
	TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID, INT8OID,
	INTERVALOID, TEXTOID, TEXTOID
};

/* A hazard as the values of a row of dbops.migration_hazards */
void
migrate_hazard_values(MigrationHazard *h, Datum *values, bool *nulls)
{
	memset(nulls, false, MIGRATE_HAZARD_NCOLS * sizeof(bool));
	values[0] = CStringGetTextDatum(h->version);
	values[1] = CStringGetTextDatum(h->name);
	values[2] = CStringGetTextDatum(h->file);
	values[3] = Int32GetDatum(h->line);
	values[4] = CStringGetTextDatum(h->hazard);
	values[5] = CStringGetTextDatum(h->level);
	values[6] = BoolGetDatum(h->allowed);
	values[7] = CStringGetTextDatum(h->relation);
	values[8] = CStringGetTextDatum(h->lock_mode);
	values[9] = CStringGetTextDatum(h->blocks);
	nulls[10] = h->effect == NULL;
	values[10] = h->effect ? CStringGetTextDatum(h->effect) : (Datum) 0;
	nulls[11] = h->table_bytes < 0;
	values[11] = Int64GetDatum(h->table_bytes);
	nulls[12] = h->table_rows < 0;
	values[12] = Int64GetDatum((int64) h->table_rows);
	nulls[13] = h->estimated_seconds < 0;
	if (h->estimated_seconds >= 0)
	{
		Interval   *iv = palloc0(sizeof(Interval));

		/* whole milliseconds: an estimate claims no more */
		iv->time = (int64) (h->estimated_seconds * 1000.0 + 0.5) * 1000;
		values[13] = IntervalPGetDatum(iv);
	}
	values[14] = CStringGetTextDatum(h->message);
	values[15] = CStringGetTextDatum(h->safer);
}
