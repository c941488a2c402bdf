/*-------------------------------------------------------------------------
 *
 * migrate.h
 *		Declarations shared by the migration files of dbops (migrate_*.c).
 *
 * A migration source (a directory in one of several layouts, or a jsonb
 * document) is read into a MigrationSource: its migrations in natural
 * version order, each with its SQL texts and the checksum of its up SQL.
 * Scripts are split into statements before anything runs, the catalog
 * (dbops.schema_migrations) is read and written only by migrate_catalog.c,
 * and migrate_command.c combines the pieces into apply, rollback, status,
 * baseline and repair.
 *
 * src/migrate.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIGRATE_H
#define MIGRATE_H

#include "access/xlogdefs.h"
#include "executor/spi.h"
#include "datatype/timestamp.h"
#include "fmgr.h"
#include "funcapi.h"
#include "nodes/parsenodes.h"
#include "nodes/pg_list.h"
#include "utils/jsonb.h"

#include "file_tree.h"

/* Length of a hex SHA-256 digest, without the terminating zero */
#define MIGRATE_CHECKSUM_LEN	64
#define MIGRATE_CHECKSUM_ALGORITHM	"sha256"

/* The UTF-8 byte order mark, skipped at the start of scripts */
#define MIGRATE_BOM "\xEF\xBB\xBF"
#define MIGRATE_BOM_LEN 3

/* Directives: a leading block of lines that start with this */
#define MIGRATE_DIRECTIVE_PREFIX "-- dbops:"
/* The directive that marks a migration which cannot run in a transaction */
#define MIGRATE_NO_TRANSACTION_MARK "-- dbops:no-transaction"

/* The directives of a script (migrate_directives_parse) */
typedef struct MigrationDirectives
{
	bool		no_transaction;
	List	   *allow_hazards;	/* hazard names (char *) the policy lets pass */
} MigrationDirectives;

/* One migration of a source */
typedef struct Migration
{
	char	   *version;
	char	   *name;			/* may be empty */
	char	   *label;			/* "<version>_<name>", for messages */
	char	   *origin;			/* where the source defines it, for messages */
	char	   *up_sql;
	char	   *down_sql;		/* NULL when the source has none */
	char	   *verify_sql;		/* NULL when the source has none */
	/* how the source calls each script in messages ("up.sql", "up") */
	const char *up_file;
	const char *down_file;
	const char *verify_file;
	char		checksum[MIGRATE_CHECKSUM_LEN + 1];
	/* how the migration is marked to run outside a transaction, or NULL */
	const char *no_transaction;
	MigrationDirectives directives; /* of its up SQL */
	/* the layout it was read in: hasura, diesel, golang-migrate, ... */
	const char *layout;
} Migration;

/* All migrations of a source, sorted by version */
typedef struct MigrationSource
{
	int			count;
	Migration **items;
} MigrationSource;

/* One row of dbops.schema_migrations */
typedef struct AppliedMigration
{
	char	   *version;
	char	   *name;
	char	   *label;
	char	   *checksum;
	char	   *down_sql;		/* only filled in when asked for */
	char	   *verify_sql;		/* likewise */
	TimestampTz applied_at;
	char	   *applied_by;
	Oid			supplier;		/* the role that supplied its SQL */
	char	   *supplier_name;	/* its name then */
} AppliedMigration;

/* What a script is for: it decides which transaction control is accepted */
typedef enum MigrationScriptKind
{
	MIGRATE_SCRIPT_UP,
	MIGRATE_SCRIPT_DOWN,
	MIGRATE_SCRIPT_VERIFY,
	/* up SQL of a no-transaction migration, which the worker runs */
	MIGRATE_SCRIPT_TOP_LEVEL
} MigrationScriptKind;

/* A statement of a script: a byte range of its text */
typedef struct MigrationStatement
{
	int			offset;
	int			length;
} MigrationStatement;

/* A script split into the statements that will run */
typedef struct MigrationScript
{
	const char *label;			/* migration label */
	const char *file;			/* script name, for messages */
	const char *sql;
	MigrationScriptKind kind;
	int			nstatements;
	MigrationStatement *statements;
	/* a BEGIN ... COMMIT (or, in verify, ROLLBACK) pair was dropped */
	bool		dropped_transaction;
} MigrationScript;

/*
 * Where an error in a script comes from (migrate_errcontext.c).  The
 * current statement is a byte range of sql; without one, positions are
 * relative to the whole script.
 */
typedef struct MigrationErrorContext
{
	ErrorContextCallback callback;
	const char *label;
	const char *file;
	const char *sql;
	int			stmt_offset;	/* -1 when no statement is current */
	int			stmt_length;
	int			error_offset;	/* set by the callback: byte offset, or -1 */
	/* where line counting got to: byte offset and its line */
	int			counted_offset;
	int			counted_line;
} MigrationErrorContext;

/* Limits on every statement of a batch (migrate_exec.c, migrate_batch.c) */
typedef struct MigrationLimits
{
	int			lock_timeout_ms;	/* 0: lock-safe apply off */
	int			lock_retries;	/* tries after the first, on lock timeout */
	int			statement_timeout_ms;	/* 0: no limit of dbops's own */
} MigrationLimits;

/* One migration of a batch that apply or rollback runs */
typedef struct MigrationStep
{
	const char *version;
	const char *name;
	const char *label;
	void	   *item;			/* what the command's run function needs */
	int64		duration_us;	/* how long it took, once it ran */
	XLogRecPtr	restore_lsn;	/* apply: its restore point, if written */
	/* how messages name it; NULL: 'migration "<label>"' */
	const char *description;
} MigrationStep;


/* A pending migration with its scripts parsed */
typedef struct PlannedApply
{
	Migration  *m;
	MigrationScript *up;
	MigrationScript *verify;	/* NULL when there is nothing to verify */
	bool		top_level;		/* runs outside a transaction (the worker) */
} PlannedApply;

/* Run one step of a batch: its scripts and its catalog change */
typedef void (*MigrationStepRun) (MigrationStep *step,
								  const MigrationLimits *limits);

/* A hazard of a pending statement (migrate_hazard.c) */
typedef struct MigrationHazard
{
	const char *version;
	const char *name;
	const char *file;
	int			line;
	const char *hazard;			/* its class, as directives name it */
	const char *level;			/* info, warning, danger */
	bool		allowed;		/* by a directive of the migration */
	const char *relation;
	const char *lock_mode;
	const char *blocks;
	const char *effect;
	int64		table_bytes;	/* -1 when unknown */
	double		table_rows;		/* -1 when unknown */
	double		estimated_seconds;	/* -1 when not estimated */
	char	   *message;
	const char *safer;
} MigrationHazard;

/* The columns of dbops.migration_hazards */
#define MIGRATE_HAZARD_NCOLS 16

/* A dbops permission on a table, as far as dropping a column concerns it */
typedef struct MigrationPermission
{
	char	   *role;
	char	   *action;
	bool		lists_column;	/* its columns are all, or include the column */
	char	   *filter;
	char	   *check;
} MigrationPermission;

/* migrate_errcontext.c */
extern void migrate_errcontext_push(MigrationErrorContext *ctx,
									const char *label, const char *file,
									const char *sql);
extern void migrate_errcontext_pop(MigrationErrorContext *ctx);

/* migrate_order.c */
extern int	migrate_version_cmp(const char *a, const char *b);

/* migrate_source.c */
extern MigrationSource *migrate_source_from_list(List *migrations);
extern Migration *migrate_source_new(const char *version, const char *name,
									 const char *origin, char *up_sql,
									 const char *up_file);
extern const char *migrate_skip_bom(const char *sql);
extern void migrate_directives_parse(const char *label, const char *file,
									 const char *sql,
									 MigrationDirectives *out);
extern void migrate_source_checksum(const char *data, size_t len, char *hex);
extern Migration *migrate_source_find(MigrationSource *source,
									  const char *version);

/* migrate_dir.c: directory layouts (Hasura/Diesel, golang-migrate, Flyway) */
extern MigrationSource *migrate_source_read_dir(const char *path);
extern MigrationSource *migrate_source_read_map(Jsonb *files);

/* migrate_sqitch.c */
extern List *migrate_sqitch_read(FileTree *tree);

/* migrate_json.c */
extern MigrationSource *migrate_source_read_json(Jsonb *doc);

/* migrate_script.c */
extern MigrationScript *migrate_script_parse(const char *label,
											 const char *file,
											 const char *sql,
											 MigrationScriptKind kind);
extern void migrate_script_warn_unparsable(const char *label, const char *file,
										   const char *sql,
										   MigrationScriptKind kind);

extern int	migrate_skip_blanks(const char *sql, int offset, int end);
extern bool migrate_reindex_concurrent(ReindexStmt *stmt);
extern const char *migrate_statement_top_level(Node *stmt);

/* migrate_hazard.c */
extern const char *const migrate_hazard_columns[MIGRATE_HAZARD_NCOLS];
extern const Oid migrate_hazard_types[MIGRATE_HAZARD_NCOLS];
extern bool migrate_hazard_known(const char *name);
extern List *migrate_hazards_analyse(List *migrations);
extern Jsonb *migrate_hazards_jsonb(List *hazards);
extern void migrate_hazard_values(MigrationHazard *h, Datum *values,
								  bool *nulls);

/* migrate_exec.c */
extern void migrate_script_run(MigrationScript *script,
							   const MigrationLimits *limits);
extern void migrate_script_run_discarded(MigrationScript *script,
										 const MigrationLimits *limits);

/* migrate_batch.c */
extern void migrate_limits_init(MigrationLimits *limits,
								const Interval *lock_timeout,
								const int *lock_retries);
extern void migrate_batch_run(List *steps, MigrationStepRun run,
							  const char *verb, const MigrationLimits *limits);

/* migrate_catalog.c */
extern uint64 migrate_catalog_exec(SPIPlanPtr *plan, const char *sql,
								   int nargs, Oid *types, Datum *values,
								   const char *nulls);
extern void migrate_lock(void);
extern List *migrate_catalog_read(bool with_sql);
extern void migrate_catalog_insert(Migration *m, TimestampTz applied_at,
								   int64 duration_us, bool baseline,
								   const char *restore_point,
								   XLogRecPtr restore_lsn);
extern void migrate_catalog_delete(AppliedMigration *a);
extern void migrate_catalog_repair(Migration *m, AppliedMigration *a);
extern void migrate_catalog_event(const char *action, const char *version,
								  const char *name, const char *before,
								  const char *after);
extern char *migrate_current_user_name(void);
extern List *migrate_catalog_permissions(const char *schema, const char *table,
										 const char *column);
extern List *migrate_catalog_drift(int limit, int64 *total);

/* migrate_restore_point.c */
extern XLogRecPtr migrate_restore_point(const char *version, char **name);

/* migrate_command.c: the work of the SQL-callable functions */
extern List *migrate_plan(MigrationSource *source, const char *target,
						  bool allow_out_of_order, int on_drift,
						  bool top_level_ok, bool checks);
extern List *migrate_apply_planned(List *plan, const MigrationLimits *limits);
extern void migrate_apply(FunctionCallInfo fcinfo, MigrationSource *source,
						  const char *target, bool dry_run,
						  bool allow_out_of_order,
						  int on_drift,
						  const MigrationLimits *limits);
extern void migrate_rollback(FunctionCallInfo fcinfo, const char *target,
							 int count, bool dry_run,
							 const MigrationLimits *limits);
extern void migrate_status(FunctionCallInfo fcinfo, MigrationSource *source);
extern void migrate_baseline(FunctionCallInfo fcinfo, MigrationSource *source,
							 const char *target);
extern void migrate_repair(FunctionCallInfo fcinfo, MigrationSource *source);
extern void migrate_hazards(FunctionCallInfo fcinfo, MigrationSource *source);
extern void migrate_layout(FunctionCallInfo fcinfo, MigrationSource *source);

#endif							/* MIGRATE_H */
