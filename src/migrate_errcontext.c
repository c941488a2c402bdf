/*-------------------------------------------------------------------------
 *
 * migrate_errcontext.c
 *		Error context for migration scripts: every message raised while a
 *		script is parsed or run says which migration, file and line it
 *		comes from ("migration 0042_add_users, up.sql line 17").
 *
 * Positions arrive in two forms.  raw_parser reports a syntax error as a
 * cursor position in the text it was given, which is the whole script.
 * SPI runs one statement at a time and turns a position into an "internal"
 * one, relative to that statement.  Both count characters, not bytes.  The
 * callback maps either to a line of the script and clears the plain cursor
 * position, which the client would otherwise apply to its own query.
 *
 * src/migrate_errcontext.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"

#include "migrate.h"

/* Byte offset of the character at 0-based index chars of s, within len */
static int
char_to_byte(const char *s, int len, int chars)
{
	int			off = 0;

	while (chars-- > 0 && off < len)
		off += pg_mblen(s + off);
	return Min(off, len);
}

/*
 * 1-based line number of byte offset in the script.  Notices get a context
 * too, and a long script may raise many, in order: counting on from the
 * last answer keeps that linear.
 */
static int
line_of(MigrationErrorContext *ctx, int offset)
{
	if (offset < ctx->counted_offset)
	{
		ctx->counted_offset = 0;
		ctx->counted_line = 1;
	}
	for (; ctx->counted_offset < offset && ctx->sql[ctx->counted_offset] != '\0';
		 ctx->counted_offset++)
		if (ctx->sql[ctx->counted_offset] == '\n')
			ctx->counted_line++;
	return ctx->counted_line;
}

static void
migrate_error_callback(void *arg)
{
	MigrationErrorContext *ctx = (MigrationErrorContext *) arg;
	int			offset = -1;
	int			pos;

	if ((pos = geterrposition()) > 0)
	{
		/* from raw_parser, relative to the whole script */
		offset = char_to_byte(ctx->sql, strlen(ctx->sql), pos - 1);
		errposition(0);
	}
	else if (ctx->stmt_offset >= 0)
	{
		const char *stmt = ctx->sql + ctx->stmt_offset;

		offset = ctx->stmt_offset;

		/*
		 * SPI made it internal, relative to the statement.  A function the
		 * statement called may have set an internal position in its own
		 * text instead; one that lies beyond the statement surely did, and
		 * then the statement's first line is the best answer.
		 */
		pos = getinternalerrposition();
		if (pos > 0 && pos <= pg_mbstrlen_with_len(stmt, ctx->stmt_length))
			offset += char_to_byte(stmt, ctx->stmt_length, pos - 1);
	}

	ctx->error_offset = offset;
	if (offset >= 0)
		errcontext("migration %s, %s line %d",
				   ctx->label, ctx->file, line_of(ctx, offset));
	else
		errcontext("migration %s, %s", ctx->label, ctx->file);
}

/* Report errors as coming from script sql, file file of migration label */
void
migrate_errcontext_push(MigrationErrorContext *ctx, const char *label,
						const char *file, const char *sql)
{
	ctx->label = label;
	ctx->file = file;
	ctx->sql = sql;
	ctx->stmt_offset = -1;
	ctx->stmt_length = 0;
	ctx->error_offset = -1;
	ctx->counted_offset = 0;
	ctx->counted_line = 1;
	ctx->callback.callback = migrate_error_callback;
	ctx->callback.arg = ctx;
	ctx->callback.previous = error_context_stack;
	error_context_stack = &ctx->callback;
}

void
migrate_errcontext_pop(MigrationErrorContext *ctx)
{
	error_context_stack = ctx->callback.previous;
}
