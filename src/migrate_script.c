/*-------------------------------------------------------------------------
 *
 * migrate_script.c
 *		Split a migration script into statements with the server's own
 *		grammar, and refuse, before anything runs, what cannot run inside
 *		the one transaction that applies a batch.
 *
 * Files written for other tools hold transaction control: Sqitch and
 * golang-migrate wrap a file in BEGIN ... COMMIT, Hasura's console wraps a
 * few statements in the middle.  Since the batch is one transaction
 * already, a balanced BEGIN ... COMMIT pair is dropped (and, in a verify
 * script, BEGIN ... ROLLBACK, which is how Sqitch writes them: verify
 * scripts always run in a subtransaction that is rolled back).  Anything
 * else that would end or split the transaction is refused with the file and
 * line.  psql-only syntax (backslash commands, variables, COPY FROM STDIN
 * with inline data) is refused the same way instead of failing half-way.
 *
 * src/migrate_script.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/defrem.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"

#include "migrate.h"

/* Offset of the first token at or after offset: blanks and comments skipped */
int
migrate_skip_blanks(const char *sql, int offset, int end)
{
	while (offset < end)
	{
		if (isspace((unsigned char) sql[offset]))
			offset++;
		else if (sql[offset] == '-' && sql[offset + 1] == '-')
		{
			while (offset < end && sql[offset] != '\n')
				offset++;
		}
		else if (sql[offset] == '/' && sql[offset + 1] == '*')
		{
			/* block comments nest in SQL */
			int			depth = 0;

			do
			{
				if (sql[offset] == '/' && sql[offset + 1] == '*')
					depth++, offset += 2;
				else if (sql[offset] == '*' && sql[offset + 1] == '/')
					depth--, offset += 2;
				else
					offset++;
			} while (depth > 0 && offset < end);
		}
		else
			break;
	}
	return Min(offset, end);
}

static bool
is_copy_stdio(Node *stmt)
{
	return IsA(stmt, CopyStmt) &&
		((CopyStmt *) stmt)->filename == NULL &&
		!((CopyStmt *) stmt)->is_program;
}

static void
refuse_copy_stdio(MigrationErrorContext *ctx, CopyStmt *copy)
{
	if (copy->is_from)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("COPY FROM STDIN is not supported in migration \"%s\"",
						ctx->label),
				 errdetail("Inline COPY data is psql syntax; the server cannot read it."),
				 errhint("Use INSERT statements, or COPY from a file on the server.")));
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("COPY TO STDOUT is not supported in migration \"%s\"",
					ctx->label)));
}

/* raw_parser on sql, or NIL if it does not parse */
static List *
try_parse(const char *sql)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	List	   *volatile result = NIL;

	PG_TRY();
	{
		result = raw_parser(sql, RAW_PARSE_DEFAULT);
	}
	PG_CATCH();
	{
		/* raw_parser holds no resources: dropping the error is safe */
		MemoryContextSwitchTo(oldcxt);
		FlushErrorState();
	}
	PG_END_TRY();
	return result;
}

/*
 * raw_parser failed with a syntax error at byte offset of the script.  If
 * psql-only syntax caused it, say so: the error otherwise points at data or
 * at a backslash, which is not much help.  Returns if it was something else.
 */
static void
explain_psql_syntax(MigrationErrorContext *ctx, int offset)
{
	int			line_start = offset;

	while (line_start > 0 && ctx->sql[line_start - 1] != '\n')
		line_start--;

	/*
	 * Inline COPY data fails to parse on its first line: if the script up to
	 * that line parses and ends with COPY FROM STDIN, that is the culprit.
	 */
	if (line_start > 0)
	{
		List	   *prefix_stmts = try_parse(pnstrdup(ctx->sql, line_start));

		if (prefix_stmts != NIL)
		{
			RawStmt    *last = llast_node(RawStmt, prefix_stmts);

			if (is_copy_stdio(last->stmt))
			{
				ctx->stmt_offset = migrate_skip_blanks(ctx->sql, last->stmt_location,
											   line_start);
				refuse_copy_stdio(ctx, (CopyStmt *) last->stmt);
			}
		}
	}

	if (ctx->sql[offset] == '\\')
	{
		int			len = 1;

		while (ctx->sql[offset + len] != '\0' &&
			   !isspace((unsigned char) ctx->sql[offset + len]))
			len++;
		ctx->stmt_offset = offset;
		ctx->stmt_length = len;
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("psql meta-command \"%s\" is not supported in migration \"%s\"",
						pnstrdup(ctx->sql + offset, len), ctx->label),
				 errdetail("Backslash commands are read by psql; the server cannot run them.")));
	}

	/* :name, :'name' and :"name" are psql variables */
	if (ctx->sql[offset] == ':' &&
		(isalpha((unsigned char) ctx->sql[offset + 1]) ||
		 ctx->sql[offset + 1] == '_' || ctx->sql[offset + 1] == '\'' ||
		 ctx->sql[offset + 1] == '"'))
	{
		ctx->stmt_offset = offset;
		ctx->stmt_length = 1;
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("psql variable reference is not supported in migration \"%s\"",
						ctx->label),
				 errdetail("Variables are substituted by psql before it sends a statement; the server cannot substitute them.")));
	}
}

/* raw_parser on the whole script, with psql-only syntax explained */
static List *
parse_script(MigrationErrorContext *ctx)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	List	   *volatile result = NIL;

	PG_TRY();
	{
		result = raw_parser(ctx->sql, RAW_PARSE_DEFAULT);
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		int			offset = ctx->error_offset;

		/* the callback has added the line already; keep that error */
		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		if (edata->sqlerrcode == ERRCODE_SYNTAX_ERROR && offset >= 0)
			explain_psql_syntax(ctx, offset);
		ReThrowError(edata);
	}
	PG_END_TRY();
	return result;
}

/* Does REINDEX say CONCURRENTLY? */
bool
migrate_reindex_concurrent(ReindexStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->params)
	{
		DefElem    *opt = lfirst_node(DefElem, lc);

		if (strcmp(opt->defname, "concurrently") == 0 && defGetBoolean(opt))
			return true;
	}
	return false;
}

/*
 * Statements that PostgreSQL refuses inside a transaction block: name them
 * here, since inside a migration they would fail with a confusing message
 * about functions.  The worker runs them at top level (worker_exec.c).
 */
const char *
migrate_statement_top_level(Node *stmt)
{
	switch (nodeTag(stmt))
	{
		case T_VacuumStmt:
			return ((VacuumStmt *) stmt)->is_vacuumcmd ? "VACUUM" : NULL;
		case T_IndexStmt:
			return ((IndexStmt *) stmt)->concurrent ?
				"CREATE INDEX CONCURRENTLY" : NULL;
		case T_DropStmt:
			return ((DropStmt *) stmt)->concurrent ?
				"DROP INDEX CONCURRENTLY" : NULL;
		case T_ReindexStmt:
			{
				ReindexStmt *reindex = (ReindexStmt *) stmt;

				if (reindex->kind == REINDEX_OBJECT_SYSTEM ||
					reindex->kind == REINDEX_OBJECT_DATABASE)
					return "REINDEX DATABASE";
				return migrate_reindex_concurrent(reindex) ?
					"REINDEX CONCURRENTLY" : NULL;
			}
		case T_CreatedbStmt:
			return "CREATE DATABASE";
		case T_DropdbStmt:
			return "DROP DATABASE";
		case T_AlterSystemStmt:
			return "ALTER SYSTEM";
		case T_CreateTableSpaceStmt:
			return "CREATE TABLESPACE";
		case T_DropTableSpaceStmt:
			return "DROP TABLESPACE";
		default:
			return NULL;
	}
}

/*
 * A statement of a migration that runs outside a transaction block (kind
 * MIGRATE_SCRIPT_TOP_LEVEL), which the worker runs and resumes: what it
 * cannot resume is refused.  A concurrent index build needs a name, by
 * which a build cut short is found again; commands that act on the whole
 * cluster do not belong in one database's migrations.
 */
static void
check_top_level_statement(MigrationErrorContext *ctx, Node *stmt,
						  const char *what)
{
	if (IsA(stmt, IndexStmt) && ((IndexStmt *) stmt)->concurrent &&
		((IndexStmt *) stmt)->idxname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("CREATE INDEX CONCURRENTLY without an index name is not supported in migration \"%s\"",
						ctx->label),
				 errdetail("The worker finds an index build that was cut short by its name, to drop it and build it again."),
				 errhint("Name the index.")));
	if (IsA(stmt, CreatedbStmt) || IsA(stmt, DropdbStmt) ||
		IsA(stmt, AlterSystemStmt) || IsA(stmt, CreateTableSpaceStmt) ||
		IsA(stmt, DropTableSpaceStmt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s is not supported in migration \"%s\"", what, ctx->label),
				 errdetail("It acts on the whole cluster, not on the database the migration is for.")));
}

static void
check_statement(MigrationErrorContext *ctx, MigrationScriptKind kind,
				Node *stmt)
{
	const char *what;

	if (is_copy_stdio(stmt))
		refuse_copy_stdio(ctx, (CopyStmt *) stmt);

	what = migrate_statement_top_level(stmt);
	if (kind == MIGRATE_SCRIPT_TOP_LEVEL)
	{
		if (what != NULL)
			check_top_level_statement(ctx, stmt, what);
		return;
	}
	if (what != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("%s cannot run inside a transaction block", what),
				 errdetail("Migration \"%s\" runs inside the caller's transaction.",
						   ctx->label),
				 kind == MIGRATE_SCRIPT_UP ?
				 errhint("Put it in a migration of its own whose up SQL starts with the line \"%s\", and queue it with dbops.submit_migrations(): the dbops worker runs it outside a transaction block.",
						 MIGRATE_NO_TRANSACTION_MARK) : 0));
}

/*
 * Transaction control: returns true for the statement that closes a
 * balanced pair, which is then dropped together with its BEGIN; raises an
 * error for everything that cannot be honoured.  *begin_offset tracks the
 * open BEGIN (-1 when none).
 */
static bool
check_transaction_stmt(MigrationErrorContext *ctx, MigrationScriptKind kind,
					   TransactionStmt *stmt, int *begin_offset)
{
	if (kind == MIGRATE_SCRIPT_TOP_LEVEL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("transaction control is not supported in migration \"%s\"",
						ctx->label),
				 errdetail("A migration marked to run outside a transaction runs each statement in a transaction of its own.")));
	switch (stmt->kind)
	{
		case TRANS_STMT_BEGIN:
		case TRANS_STMT_START:
			if (stmt->options != NIL)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("BEGIN with transaction options is not supported in migration \"%s\"",
								ctx->label),
						 errdetail("The whole batch runs in the caller's transaction, whose options are already set.")));
			if (*begin_offset >= 0)
				ereport(ERROR,
						(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
						 errmsg("BEGIN inside a BEGIN block in migration \"%s\"",
								ctx->label)));
			*begin_offset = ctx->stmt_offset;
			return false;

		case TRANS_STMT_COMMIT:
			if (stmt->chain)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("COMMIT AND CHAIN is not supported in migration \"%s\"",
								ctx->label)));
			if (*begin_offset < 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_TRANSACTION_TERMINATION),
						 errmsg("COMMIT without a matching BEGIN in migration \"%s\"",
								ctx->label),
						 errdetail("The whole batch runs in one transaction: a BEGIN and COMMIT pair is ignored, a lone COMMIT cannot be.")));
			*begin_offset = -1;
			return true;

		case TRANS_STMT_ROLLBACK:
			/* a verify script's effects are always rolled back anyway */
			if (kind == MIGRATE_SCRIPT_VERIFY && *begin_offset >= 0 &&
				!stmt->chain)
			{
				*begin_offset = -1;
				return true;
			}
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TRANSACTION_TERMINATION),
					 errmsg("ROLLBACK is not allowed in migration \"%s\"",
							ctx->label),
					 errdetail("The whole batch runs in one transaction, so a ROLLBACK would also undo the migrations before this one."),
					 errhint("To make a migration fail, raise an error.")));
			break;

		case TRANS_STMT_SAVEPOINT:
		case TRANS_STMT_RELEASE:
		case TRANS_STMT_ROLLBACK_TO:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("savepoint commands are not supported in migration \"%s\"",
							ctx->label),
					 errhint("Use a DO block with an EXCEPTION clause to undo part of a migration.")));
			break;

		default:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("two-phase commit commands are not supported in migration \"%s\"",
							ctx->label)));
	}
	return false;
}

/*
 * Split sql, the script file of migration label, into the statements that
 * will run, or raise an error naming the file and line.  A script that
 * holds nothing but comments gives no statement at all.
 *
 * Only the statements' byte ranges are kept: the parse trees live in a
 * memory context of their own, deleted before returning, so that a batch
 * of thousands of migrations does not hold thousands of trees.
 */
MigrationScript *
migrate_script_parse(const char *label, const char *file, const char *sql,
					 MigrationScriptKind kind)
{
	MigrationScript *script = palloc0(sizeof(MigrationScript));
	MemoryContext parse_cxt;
	MemoryContext oldcxt;
	MigrationErrorContext ctx;
	List	   *raw;
	ListCell   *lc;
	int			sql_len = strlen(sql);
	int			begin_offset = -1;

	script->label = label;
	script->file = file;
	script->sql = sql;
	script->kind = kind;

	parse_cxt = AllocSetContextCreate(CurrentMemoryContext,
									  "dbops migration parse",
									  ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(parse_cxt);
	migrate_errcontext_push(&ctx, label, file, sql);
	raw = parse_script(&ctx);
	script->statements = MemoryContextAlloc(oldcxt,
											Max(list_length(raw), 1) *
											sizeof(MigrationStatement));

	foreach(lc, raw)
	{
		RawStmt    *rs = lfirst_node(RawStmt, lc);
		int			end = rs->stmt_len > 0 ?
			rs->stmt_location + rs->stmt_len : sql_len;
		MigrationStatement *st;

		/* rs->stmt_location includes the comments before the statement */
		ctx.stmt_offset = migrate_skip_blanks(sql, rs->stmt_location, end);
		ctx.stmt_length = end - ctx.stmt_offset;

		if (IsA(rs->stmt, TransactionStmt))
		{
			if (check_transaction_stmt(&ctx, kind,
									   (TransactionStmt *) rs->stmt,
									   &begin_offset))
				script->dropped_transaction = true;
			continue;
		}
		check_statement(&ctx, kind, rs->stmt);

		st = &script->statements[script->nstatements++];
		st->offset = ctx.stmt_offset;
		st->length = ctx.stmt_length;
	}

	if (begin_offset >= 0)
	{
		ctx.stmt_offset = begin_offset;
		ctx.stmt_length = 0;
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_TERMINATION),
				 errmsg("BEGIN without a matching COMMIT in migration \"%s\"",
						label)));
	}
	migrate_errcontext_pop(&ctx);
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(parse_cxt);
	return script;
}

/*
 * Parse a script that will only run later (down SQL, at rollback) and, if
 * it would be refused then, say so now with a WARNING that names the file
 * and line, instead of failing the apply.  Parsing holds no resources but
 * memory, which the context below takes back, so the error can be caught
 * without a subtransaction.
 */
void
migrate_script_warn_unparsable(const char *label, const char *file,
							   const char *sql, MigrationScriptKind kind)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	MemoryContext check_cxt = AllocSetContextCreate(oldcxt,
													"dbops migration check",
													ALLOCSET_DEFAULT_SIZES);
	ErrorData  *edata = NULL;
	const char *where = file;

	MemoryContextSwitchTo(check_cxt);
	PG_TRY();
	{
		(void) migrate_script_parse(label, file, sql, kind);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
			ReThrowError(edata);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(check_cxt);

	if (edata == NULL)
		return;

	/*
	 * The line goes into the message itself: clients show the context of
	 * errors only.  The context's first line is "migration <label>, <file>
	 * line <n>" (migrate_errcontext.c).
	 */
	if (edata->context != NULL)
	{
		char	   *prefix = psprintf("migration %s, ", label);

		if (strncmp(edata->context, prefix, strlen(prefix)) == 0)
		{
			const char *rest = edata->context + strlen(prefix);

			where = pnstrdup(rest, strcspn(rest, "\n"));
		}
	}
	ereport(WARNING,
			(errcode(edata->sqlerrcode),
			 errmsg("%s of migration \"%s\" does not parse: %s",
					where, label, edata->message),
			 errdetail("It is stored as written; dbops.rollback_migrations() will refuse it until dbops.repair_migrations() stores a version that parses.")));
	FreeErrorData(edata);
}
