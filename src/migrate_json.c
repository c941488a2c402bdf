/*-------------------------------------------------------------------------
 *
 * migrate_json.c
 *		Read migrations from a jsonb document, for clients that read the
 *		files on their own machine:
 *
 *		[{"version": "1", "name": "init", "up": "...", "down": "...",
 *		  "verify": "..."}, ...]
 *
 * version and up are required strings, name is an optional string, down
 * and verify optional strings or null.  Anything else is refused with the
 * JSON path of the offending value, so that a typo ("donw") is not
 * silently ignored.
 *
 * A jsonb object is the other form a client may send: a directory as a map
 * of relative path to base64 content, read by the directory layouts
 * (migrate_dir.c).  An array is a document, an object a directory; nothing
 * else is accepted.
 *
 * src/migrate_json.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/jsonb.h"

#include "migrate.h"

/* The members an element may have */
typedef enum
{
	MEMBER_VERSION,
	MEMBER_NAME,
	MEMBER_UP,
	MEMBER_DOWN,
	MEMBER_VERIFY,
	NUM_MEMBERS
} MigrationMember;

static const char *const member_names[NUM_MEMBERS] = {
	"version", "name", "up", "down", "verify"
};

/* "an object", "a string"... for messages */
static const char *
json_kind(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "a string";
		case jbvNumeric:
			return "a number";
		case jbvBool:
			return "a boolean";
		case jbvBinary:
			return JsonContainerIsObject(v->val.binary.data) ?
				"an object" : "an array";
		default:
			return "a value";
	}
}

static void
shape_error(const char *path, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid migrations document at %s", path),
			 errdetail_internal("%s", detail)));
}

/* The string value of a member, NULL for null when null is allowed */
static char *
member_string(JsonbValue *v, const char *path, bool null_ok)
{
	if (v->type == jbvString)
	{
		/* the same text a file with a byte order mark would give */
		int			bom = MIGRATE_BOM_LEN;

		if (v->val.string.len < bom ||
			memcmp(v->val.string.val, MIGRATE_BOM, bom) != 0)
			bom = 0;
		return pnstrdup(v->val.string.val + bom, v->val.string.len - bom);
	}
	if (v->type == jbvNull && null_ok)
		return NULL;
	shape_error(path, psprintf(null_ok ?
							   "Expected a string or null, found %s." :
							   "Expected a string, found %s.",
							   json_kind(v)));
	return NULL;				/* keep compiler quiet */
}

/* One element of the array, at $[index] */
static Migration *
read_element(JsonbValue *elem, int index)
{
	char	   *path = psprintf("$[%d]", index);
	char	   *values[NUM_MEMBERS] = {0};
	bool		present[NUM_MEMBERS] = {0};
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	v;
	Migration  *m;

	if (elem->type != jbvBinary || !JsonContainerIsObject(elem->val.binary.data))
		shape_error(path, psprintf("Expected a migration object, found %s.",
								   json_kind(elem)));

	it = JsonbIteratorInit(elem->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;
		int			member;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		for (member = 0; member < NUM_MEMBERS; member++)
			if (strcmp(key, member_names[member]) == 0)
				break;
		if (member == NUM_MEMBERS)
			shape_error(path,
						psprintf("Unrecognized member \"%s\"; a migration has version, name, up, down and verify.",
								 key));

		tok = JsonbIteratorNext(&it, &v, true);
		Assert(tok == WJB_VALUE);
		present[member] = true;
		values[member] = member_string(&v, psprintf("%s.%s", path, key),
									   member == MEMBER_DOWN ||
									   member == MEMBER_VERIFY);
	}

	if (!present[MEMBER_VERSION] || !present[MEMBER_UP])
		shape_error(path, psprintf("The member \"%s\" is required.",
								   present[MEMBER_VERSION] ? "up" : "version"));
	if (values[MEMBER_VERSION][0] == '\0')
		shape_error(psprintf("%s.version", path), "The version must not be empty.");

	m = migrate_source_new(values[MEMBER_VERSION],
						   values[MEMBER_NAME] ? values[MEMBER_NAME] : "",
						   path, values[MEMBER_UP], "up");
	m->layout = "document";
	m->down_sql = values[MEMBER_DOWN];
	m->down_file = "down";
	m->verify_sql = values[MEMBER_VERIFY];
	m->verify_file = "verify";
	return m;
}

/* Read and check the whole document, or the directory a map holds */
MigrationSource *
migrate_source_read_json(Jsonb *doc)
{
	List	   *migrations = NIL;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	v;
	int			index = 0;

	if (JB_ROOT_IS_OBJECT(doc))
		return migrate_source_read_map(doc);
	if (!JB_ROOT_IS_ARRAY(doc) || JB_ROOT_IS_SCALAR(doc))
		shape_error("$", "Expected an array of migrations, or an object mapping the paths of a directory's files to their content in base64; found a scalar.");

	it = JsonbIteratorInit(&doc->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_ELEM)
			migrations = lappend(migrations, read_element(&v, index++));
	}
	return migrate_source_from_list(migrations);
}
