/*-------------------------------------------------------------------------
 *
 * migrate_sqitch.c
 *		Read a Sqitch project: sqitch.plan gives the order, deploy/,
 *		revert/ and verify/ hold the scripts.
 *
 * A plan line is a pragma (%syntax-version=1.0.0), a tag (@v1.0 ...), a
 * blank or comment line, or a change: its name first, then dependencies,
 * a timestamp, the planner and a note, none of which matters here since
 * the plan's order already satisfies the dependencies.  A change has no
 * version of its own, so its position in the plan (1, 2, ...) serves as
 * one and the change name as the migration's name.
 *
 * A reworked change appears twice; the scripts of its earlier appearance
 * are named after the first tag that follows it (deploy/users@v1.0.sql).
 *
 * src/migrate_sqitch.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "migrate.h"

typedef struct SqitchChange
{
	char	   *name;
	char	   *tag;			/* first tag after the change, or NULL */
} SqitchChange;

/* The first whitespace-delimited word of line */
static char *
first_word(const char *line)
{
	int			len = 0;

	while (line[len] != '\0' && !isspace((unsigned char) line[len]))
		len++;
	return pnstrdup(line, len);
}

/* The changes of sqitch.plan, in plan order, with the tag after each */
static List *
read_plan(FileTree *tree)
{
	char	   *plan = tree->read(tree, "sqitch.plan");
	List	   *changes = NIL;
	char	   *line = plan;
	int			untagged = 0;	/* changes at the end that await a tag */

	while (line != NULL && *line != '\0')
	{
		char	   *next = strchr(line, '\n');

		if (next != NULL)
			*next++ = '\0';
		while (isspace((unsigned char) *line))
			line++;

		if (*line == '@')
		{
			char	   *tag = first_word(line + 1);

			for (int i = list_length(changes) - untagged; i < list_length(changes); i++)
				((SqitchChange *) list_nth(changes, i))->tag = tag;
			untagged = 0;
		}
		else if (*line != '\0' && *line != '#' && *line != '%')
		{
			SqitchChange *c = palloc0(sizeof(SqitchChange));

			c->name = first_word(line);
			changes = lappend(changes, c);
			untagged++;
		}
		line = next;
	}
	return changes;
}

/* Is the change at index reworked later in the plan? */
static bool
reworked_later(List *changes, int index)
{
	const char *name = ((SqitchChange *) list_nth(changes, index))->name;

	for (int i = index + 1; i < list_length(changes); i++)
		if (strcmp(((SqitchChange *) list_nth(changes, i))->name, name) == 0)
			return true;
	return false;
}

/* Read the Sqitch project of a directory into a list of migrations */
List *
migrate_sqitch_read(FileTree *tree)
{
	List	   *changes = read_plan(tree);
	List	   *migrations = NIL;

	for (int i = 0; i < list_length(changes); i++)
	{
		SqitchChange *c = list_nth(changes, i);
		char	   *script = c->name;
		char	   *file;
		Migration  *m;

		if (reworked_later(changes, i))
		{
			if (c->tag == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("change \"%s\" in sqitch.plan is reworked without a tag in between",
								c->name)));
			script = psprintf("%s@%s", c->name, c->tag);
		}

		file = psprintf("deploy/%s.sql", script);
		m = migrate_source_new(psprintf("%d", i + 1), c->name, file,
							   tree->read(tree, file),
							   file);
		m->layout = "sqitch";
		m->down_file = psprintf("revert/%s.sql", script);
		m->down_sql = file_tree_read_optional(tree, m->down_file);
		m->verify_file = psprintf("verify/%s.sql", script);
		m->verify_sql = file_tree_read_optional(tree, m->verify_file);
		migrations = lappend(migrations, m);
	}
	return migrations;
}
