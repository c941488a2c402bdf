/*-------------------------------------------------------------------------
 *
 * output.c
 *		Results of the dbops client on standard output: an aligned table
 *		for people, or JSON for programs (--json).
 *
 * JSON is an array with one object per row, keyed by column name: jsonb
 * columns are embedded as they are, booleans and integers as JSON values,
 * NULL as null, everything else as a string.
 *
 * client/output.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "client.h"
#include "mb/pg_wchar.h"

/* Type OIDs that JSON output writes as they are (catalog/pg_type_d.h) */
#define BOOLOID		16
#define INT8OID		20
#define INT2OID		21
#define INT4OID		23
#define JSONOID		114
#define JSONBOID	3802

/* Display width of a UTF-8 string: its characters */
static int
display_width(const char *s)
{
	int			width = 0;

	for (; *s; s += pg_utf_mblen((const unsigned char *) s))
		width++;
	return width;
}

static void
print_cell(const char *s, int width, bool last)
{
	printf("%s", s);
	if (!last)
		printf("%*s", width - display_width(s), "");
}

/* The rows of res as an aligned table with a header, psql-like */
void
dbops_print_table(PGresult *res)
{
	int			ncols = PQnfields(res);
	int			nrows = PQntuples(res);
	int		   *widths = pg_malloc0(sizeof(int) * Max(ncols, 1));

	for (int c = 0; c < ncols; c++)
	{
		widths[c] = display_width(PQfname(res, c));
		for (int r = 0; r < nrows; r++)
			widths[c] = Max(widths[c], display_width(PQgetvalue(res, r, c)));
	}
	for (int c = 0; c < ncols; c++)
	{
		printf("%s", c > 0 ? "  " : "");
		print_cell(PQfname(res, c), widths[c], c == ncols - 1);
	}
	printf("\n");
	for (int c = 0; c < ncols; c++)
		printf("%s%.*s", c > 0 ? "  " : "", widths[c],
			   "----------------------------------------------------------------"
			   "----------------------------------------------------------------");
	printf("\n");
	for (int r = 0; r < nrows; r++)
	{
		for (int c = 0; c < ncols; c++)
		{
			printf("%s", c > 0 ? "  " : "");
			print_cell(PQgetvalue(res, r, c), widths[c], c == ncols - 1);
		}
		printf("\n");
	}
	free(widths);
}

/* s as a JSON string, appended to buf */
void
dbops_append_json_string(PQExpBuffer buf, const char *s)
{
	appendPQExpBufferChar(buf, '"');
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		if (*p == '"' || *p == '\\')
			appendPQExpBuffer(buf, "\\%c", *p);
		else if (*p < 0x20)
			appendPQExpBuffer(buf, "\\u%04x", *p);
		else
			appendPQExpBufferChar(buf, *p);
	}
	appendPQExpBufferChar(buf, '"');
}

/* s as a JSON string on standard output */
void
dbops_print_json_string(const char *s)
{
	PQExpBuffer buf = createPQExpBuffer();

	dbops_append_json_string(buf, s);
	fputs(buf->data, stdout);
	destroyPQExpBuffer(buf);
}

/* The rows of res as a JSON array of objects */
void
dbops_print_json(PGresult *res)
{
	int			ncols = PQnfields(res);

	printf("[");
	for (int r = 0; r < PQntuples(res); r++)
	{
		printf("%s\n  {", r > 0 ? "," : "");
		for (int c = 0; c < ncols; c++)
		{
			const char *v = PQgetvalue(res, r, c);
			Oid			type = PQftype(res, c);

			printf("%s", c > 0 ? ", " : "");
			dbops_print_json_string(PQfname(res, c));
			printf(": ");
			if (PQgetisnull(res, r, c))
				printf("null");
			else if (type == JSONBOID || type == JSONOID ||
					 type == INT2OID || type == INT4OID || type == INT8OID)
				printf("%s", v);
			else if (type == BOOLOID)
				printf("%s", v[0] == 't' ? "true" : "false");
			else
				dbops_print_json_string(v);
		}
		printf("}");
	}
	printf("%s]\n", PQntuples(res) > 0 ? "\n" : "");
}

/* A result of one text value, printed as it is, with a final newline */
void
dbops_print_value(PGresult *res)
{
	const char *v = PQgetvalue(res, 0, 0);

	printf("%s%s", v, v[0] != '\0' && v[strlen(v) - 1] != '\n' ? "\n" : "");
}
