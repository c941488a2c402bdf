/*-------------------------------------------------------------------------
 *
 * metadata_yaml.c
 *		The YAML files of a Hasura metadata directory, read with libyaml
 *		into jsonb, with Hasura's "!include" and none of YAML's cleverness.
 *
 * Hasura's CLI splits metadata into YAML files that include each other:
 * a value that is the string "!include <file>" (or a scalar tagged
 * !include) stands for the content of that file, relative to the file
 * that names it.  The files are read through a FileTree, so that a
 * directory on the server and a map sent by a client mean the same, and
 * an include can never leave the tree.
 *
 * What YAML parsers disagree on is refused, not guessed: a plain scalar
 * that YAML 1.1 reads as a boolean or an octal number and YAML 1.2 as a
 * string or a decimal (yes, on, 0755), numbers JSON cannot hold (.inf,
 * 0x1f), anchors and aliases (an alias bomb costs nothing to write), tags
 * other than !include and !!str, merge keys, duplicate keys, and more
 * than one document in a file.  Include depth and the total size of what
 * is read (each inclusion counted) are limited.
 *
 * libyaml allocates with malloc: the parsers still open at an error are
 * freed on the way out.
 *
 * src/metadata_yaml.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <yaml.h>

#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "file_tree.h"
#include "metadata.h"

/* An include nests files; Hasura's own layouts need three levels */
#define YAML_MAX_INCLUDE_DEPTH 16

/*
 * The most text read for one document, every inclusion counted: the
 * document built holds about as much again (real projects' metadata is a
 * few megabytes)
 */
#define YAML_MAX_TOTAL_BYTES ((Size) 64 * 1024 * 1024)

#define INCLUDE_PREFIX "!include "

/* One file being parsed */
typedef struct YamlFile
{
	const char *path;			/* relative to the tree */
	yaml_parser_t parser;
	yaml_event_t event;			/* the last event parsed */
	bool		has_event;		/* event is to be deleted */
	char	   *utf8;			/* the text libyaml reads */
	struct YamlFile *outer;		/* the file that included this one */
} YamlFile;

typedef struct YamlReader
{
	FileTree *tree;
	JsonbParseState *state;
	JsonbValue *result;			/* the document, once its value is closed */
	YamlFile   *innermost;		/* files open, innermost first */
	int			depth;
	Size		total;
} YamlReader;

static void yaml_value(YamlReader *r, YamlFile *f, JsonbIteratorToken seq);

/* Free what libyaml holds for the files still open (after an error) */
static void
yaml_release(YamlReader *r)
{
	for (YamlFile *f = r->innermost; f != NULL; f = f->outer)
	{
		if (f->has_event)
			yaml_event_delete(&f->event);
		yaml_parser_delete(&f->parser);
	}
	r->innermost = NULL;
}

static int
yaml_line(yaml_mark_t mark)
{
	return (int) mark.line + 1;
}

/* Parse the next event of f into f->event */
static void
yaml_next(YamlFile *f)
{
	if (f->has_event)
	{
		yaml_event_delete(&f->event);
		f->has_event = false;
	}
	CHECK_FOR_INTERRUPTS();
	if (!yaml_parser_parse(&f->parser, &f->event))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid YAML in \"%s\" line %d: %s",
						f->path, yaml_line(f->parser.problem_mark),
						f->parser.problem ? f->parser.problem : "unknown error"),
				 f->parser.context ?
				 errdetail("The error was found %s, which starts on line %d.",
						   f->parser.context, yaml_line(f->parser.context_mark)) : 0));
	f->has_event = true;
}

static void yaml_refuse(YamlFile *f, int errcode_value, const char *what,
						const char *hint) pg_attribute_noreturn();

/* Refuse what the current event of f is (what: a phrase naming it) */
static void
yaml_refuse(YamlFile *f, int errcode_value, const char *what, const char *hint)
{
	ereport(ERROR,
			(errcode(errcode_value),
			 errmsg("%s in \"%s\" line %d is not supported",
					what, f->path, yaml_line(f->event.start_mark)),
			 hint ? errhint("%s", hint) : 0));
}

/* Anchors, aliases and tags, which only !include and !!str may use */
static void
yaml_check_node(YamlFile *f, const yaml_char_t *anchor, const yaml_char_t *tag,
				const char *own_tag)
{
	if (anchor != NULL)
		yaml_refuse(f, ERRCODE_FEATURE_NOT_SUPPORTED, "a YAML anchor",
					"Write the value out where it is used: Hasura metadata files have no anchors.");
	if (tag != NULL && strcmp((const char *) tag, "!") != 0 &&
		strcmp((const char *) tag, own_tag) != 0 &&
		strcmp((const char *) tag, "!include") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("YAML tag \"%s\" in \"%s\" line %d is not supported",
						(const char *) tag, f->path, yaml_line(f->event.start_mark)),
				 errhint("Only !include and !!str are read.")));
}

/*
 * The text of a scalar event, in the database encoding, in memory of ours
 * (libyaml frees the event's own with the next event)
 */
static char *
yaml_scalar_text(YamlFile *f)
{
	const char *value = (const char *) f->event.data.scalar.value;
	int			len = (int) f->event.data.scalar.length;
	char	   *text = pg_any_to_server(value, len, PG_UTF8);

	return text == value ? pnstrdup(value, len) : text;
}

static bool
is_one_of(const char *s, const char *const *words)
{
	for (; *words != NULL; words++)
	{
		if (strcmp(s, *words) == 0)
			return true;
	}
	return false;
}

/* s: [0-9]+ */
static bool
all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
	{
		if (!isdigit((unsigned char) *s))
			return false;
	}
	return true;
}

/* s: YAML 1.2's float, which JSON numbers are a part of */
static bool
is_float(const char *s)
{
	const char *p = s;
	bool		digits = false;

	while (isdigit((unsigned char) *p))
		p++, digits = true;
	if (*p == '.')
	{
		p++;
		while (isdigit((unsigned char) *p))
			p++, digits = true;
	}
	if (!digits)
		return false;
	if (*p == 'e' || *p == 'E')
	{
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!all_digits(p))
			return false;
		return true;
	}
	return *p == '\0';
}

/*
 * A plain (unquoted, untagged) scalar as YAML 1.2's core schema reads it,
 * refusing what YAML 1.1 (which Hasura's CLI follows in part) reads
 * otherwise.
 */
static void
yaml_plain(YamlFile *f, const char *s, JsonbValue *v)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
	static const char *const trues[] = {"true", "True", "TRUE", NULL};
	static const char *const falses[] = {"false", "False", "FALSE", NULL};
	static const char *const yaml11[] = {"y", "Y", "yes", "Yes", "YES", "n", "N",
	"no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", NULL};
	static const char *const nonfinite[] = {".inf", ".Inf", ".INF", ".nan",
	".NaN", ".NAN", NULL};
	const char *body = (s[0] == '-' || s[0] == '+') ? s + 1 : s;

	if (is_one_of(s, nulls))
	{
		v->type = jbvNull;
		return;
	}
	if (is_one_of(s, trues) || is_one_of(s, falses))
	{
		v->type = jbvBool;
		v->val.boolean = is_one_of(s, trues);
		return;
	}
	if (is_one_of(s, yaml11) ||
		(all_digits(body) && body[0] == '0' && body[1] != '\0') ||
		(isdigit((unsigned char) body[0]) && strchr(body, '_') != NULL) ||
		(body[0] == '0' && (body[1] == 'x' || body[1] == 'o')) ||
		is_one_of(body, nonfinite))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("YAML value \"%s\" in \"%s\" line %d is ambiguous",
						s, f->path, yaml_line(f->event.start_mark)),
				 errdetail("YAML parsers read it as different values (YAML 1.1 and 1.2 disagree), or JSON cannot hold it."),
				 errhint("Quote it if it is a string; write a number in plain decimal.")));
	if (is_float(body))
	{
		v->type = jbvNumeric;
		v->val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in,
															 CStringGetDatum(s),
															 ObjectIdGetDatum(InvalidOid),
															 Int32GetDatum(-1)));
		return;
	}
	v->type = jbvString;
	v->val.string.val = (char *) s;
	v->val.string.len = strlen(s);
}

/*
 * The path of an include: target relative to the directory of the file
 * that names it, with "." and ".." resolved; it may not leave the tree.
 */
static char *
yaml_include_path(YamlFile *f, const char *target)
{
	List	   *parts = NIL;
	char	   *dir = pstrdup(f->path);
	char	   *slash = strrchr(dir, '/');
	char	   *joined;
	char	   *tok;
	char	   *save;
	StringInfoData buf;
	ListCell   *lc;

	if (target[0] == '\0' || target[0] == '/')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("include \"%s\" in \"%s\" line %d is not a relative path",
						target, f->path, yaml_line(f->event.start_mark))));
	if (slash != NULL)
		*slash = '\0';
	else
		dir[0] = '\0';
	joined = dir[0] != '\0' ? psprintf("%s/%s", dir, target) : pstrdup(target);
	for (tok = strtok_r(joined, "/", &save); tok != NULL; tok = strtok_r(NULL, "/", &save))
	{
		if (strcmp(tok, ".") == 0)
			continue;
		if (strcmp(tok, "..") == 0)
		{
			if (parts == NIL)
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("include \"%s\" in \"%s\" line %d leaves the metadata directory",
								target, f->path, yaml_line(f->event.start_mark))));
			parts = list_delete_last(parts);
			continue;
		}
		parts = lappend(parts, tok);
	}
	initStringInfo(&buf);
	foreach(lc, parts)
		appendStringInfo(&buf, "%s%s", buf.len > 0 ? "/" : "", (char *) lfirst(lc));
	return buf.data;
}

static void yaml_file(YamlReader *r, YamlFile *outer, const char *path,
					  JsonbIteratorToken seq);

/* The value of an include of target, from the current event of f */
static void
yaml_include(YamlReader *r, YamlFile *f, const char *target, JsonbIteratorToken seq)
{
	char	   *path = yaml_include_path(f, target);
	int			line = yaml_line(f->event.start_mark);

	for (YamlFile *open = f; open != NULL; open = open->outer)
	{
		if (strcmp(open->path, path) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("\"%s\" includes itself", path),
					 errdetail("The include is in \"%s\" line %d.", f->path, line)));
	}
	if (r->depth >= YAML_MAX_INCLUDE_DEPTH)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("include of \"%s\" in \"%s\" line %d nests more than %d files deep",
						path, f->path, line, YAML_MAX_INCLUDE_DEPTH)));
	switch (r->tree->kind(r->tree, path))
	{
		case FILE_ENTRY_FILE:
			break;
		case FILE_ENTRY_MISSING:
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FILE),
					 errmsg("file \"%s\" included in \"%s\" line %d does not exist",
							path, f->path, line)));
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("\"%s\" included in \"%s\" line %d is not a regular file",
							path, f->path, line)));
	}
	yaml_file(r, f, path, seq);
}

/* pushJsonbValue, keeping the document once the outermost value closes */
static void
yaml_build(YamlReader *r, JsonbIteratorToken seq, JsonbValue *v)
{
	JsonbValue *res = pushJsonbValue(&r->state, seq, v);

	if (r->state == NULL)
		r->result = res;
}

static void
yaml_push(YamlReader *r, JsonbIteratorToken seq, JsonbValue *v)
{
	if (seq == WJB_DONE)
	{
		/* a scalar document: jsonb holds it as a one-element raw array */
		JsonbValue	arr;

		arr.type = jbvArray;
		arr.val.array.rawScalar = true;
		arr.val.array.nElems = 1;
		yaml_build(r, WJB_BEGIN_ARRAY, &arr);
		yaml_build(r, WJB_ELEM, v);
		yaml_build(r, WJB_END_ARRAY, NULL);
		return;
	}
	yaml_build(r, seq, v);
}

static void
yaml_scalar(YamlReader *r, YamlFile *f, JsonbIteratorToken seq)
{
	yaml_event_t *ev = &f->event;
	const char *tag = (const char *) ev->data.scalar.tag;
	char	   *s;
	JsonbValue	v;

	yaml_check_node(f, ev->data.scalar.anchor, ev->data.scalar.tag, YAML_STR_TAG);
	s = yaml_scalar_text(f);
	if (tag != NULL && strcmp(tag, "!include") == 0)
	{
		yaml_include(r, f, s, seq);
		return;
	}
	if (tag == NULL && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
		yaml_plain(f, s, &v);
	else
	{
		v.type = jbvString;
		v.val.string.val = s;
		v.val.string.len = strlen(s);
	}
	/* Hasura's own form: a string value naming the file */
	if (v.type == jbvString && strncmp(s, INCLUDE_PREFIX, strlen(INCLUDE_PREFIX)) == 0)
	{
		yaml_include(r, f, s + strlen(INCLUDE_PREFIX), seq);
		return;
	}
	yaml_push(r, seq, &v);
}

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static void
yaml_mapping(YamlReader *r, YamlFile *f)
{
	char	  **keys = NULL;
	int			nkeys = 0;
	int			maxkeys = 0;
	int			start_line = yaml_line(f->event.start_mark);

	yaml_check_node(f, f->event.data.mapping_start.anchor,
					f->event.data.mapping_start.tag, YAML_MAP_TAG);
	yaml_build(r, WJB_BEGIN_OBJECT, NULL);
	for (;;)
	{
		JsonbValue	k;
		char	   *key;

		yaml_next(f);
		if (f->event.type == YAML_MAPPING_END_EVENT)
			break;
		if (f->event.type != YAML_SCALAR_EVENT)
			yaml_refuse(f, ERRCODE_FEATURE_NOT_SUPPORTED,
						"a YAML mapping key that is not a plain string", NULL);
		yaml_check_node(f, f->event.data.scalar.anchor, f->event.data.scalar.tag,
						YAML_STR_TAG);
		key = yaml_scalar_text(f);
		if (f->event.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
			strcmp(key, "<<") == 0)
			yaml_refuse(f, ERRCODE_FEATURE_NOT_SUPPORTED, "a YAML merge key",
						"Write the keys out: Hasura metadata files have no merge keys.");
		if (nkeys == maxkeys)
		{
			maxkeys = Max(8, maxkeys * 2);
			keys = keys ? repalloc(keys, maxkeys * sizeof(char *)) :
				palloc(maxkeys * sizeof(char *));
		}
		keys[nkeys++] = key;
		k.type = jbvString;
		k.val.string.val = key;
		k.val.string.len = strlen(key);
		yaml_build(r, WJB_KEY, &k);
		yaml_next(f);
		yaml_value(r, f, WJB_VALUE);
	}
	/* jsonb would keep the last of two equal keys: refuse instead */
	if (nkeys > 1)
	{
		qsort(keys, nkeys, sizeof(char *), key_cmp);
		for (int i = 1; i < nkeys; i++)
		{
			if (strcmp(keys[i - 1], keys[i]) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
						 errmsg("duplicate key \"%s\" in the mapping of \"%s\" line %d",
								keys[i], f->path, start_line)));
		}
	}
	yaml_build(r, WJB_END_OBJECT, NULL);
}

static void
yaml_sequence(YamlReader *r, YamlFile *f)
{
	yaml_check_node(f, f->event.data.sequence_start.anchor,
					f->event.data.sequence_start.tag, YAML_SEQ_TAG);
	yaml_build(r, WJB_BEGIN_ARRAY, NULL);
	for (;;)
	{
		yaml_next(f);
		if (f->event.type == YAML_SEQUENCE_END_EVENT)
			break;
		yaml_value(r, f, WJB_ELEM);
	}
	yaml_build(r, WJB_END_ARRAY, NULL);
}

/*
 * The node whose first event is f's current one, pushed as seq (WJB_DONE:
 * the whole document).
 */
static void
yaml_value(YamlReader *r, YamlFile *f, JsonbIteratorToken seq)
{
	check_stack_depth();
	switch (f->event.type)
	{
		case YAML_SCALAR_EVENT:
			yaml_scalar(r, f, seq);
			break;
		case YAML_SEQUENCE_START_EVENT:
			yaml_sequence(r, f);
			break;
		case YAML_MAPPING_START_EVENT:
			yaml_mapping(r, f);
			break;
		case YAML_ALIAS_EVENT:
			yaml_refuse(f, ERRCODE_FEATURE_NOT_SUPPORTED, "a YAML alias",
						"Write the value out where it is used: Hasura metadata files have no aliases.");
			break;
		default:
			elog(ERROR, "unexpected YAML event %d in \"%s\"", f->event.type, f->path);
	}
}

/*
 * Read the file at path (a file of the tree) as one YAML document and push
 * its value as seq; outer is the file that includes it, or NULL.
 */
static void
yaml_file(YamlReader *r, YamlFile *outer, const char *path, JsonbIteratorToken seq)
{
	char	   *text = r->tree->read(r->tree, path);
	size_t		len = strlen(text);
	YamlFile   *f = palloc0(sizeof(YamlFile));

	r->total += len;
	if (r->total > YAML_MAX_TOTAL_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("metadata files read for one document exceed %d MB, at \"%s\"",
						(int) (YAML_MAX_TOTAL_BYTES / (1024 * 1024)), path),
				 errdetail("Each inclusion of a file counts.")));
	f->path = pstrdup(path);
	f->utf8 = pg_server_to_any(text, (int) len, PG_UTF8);
	f->outer = outer;
	if (!yaml_parser_initialize(&f->parser))
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	r->innermost = f;
	r->depth++;
	yaml_parser_set_encoding(&f->parser, YAML_UTF8_ENCODING);
	yaml_parser_set_input_string(&f->parser, (const unsigned char *) f->utf8,
								 strlen(f->utf8));

	yaml_next(f);				/* stream start */
	yaml_next(f);
	if (f->event.type == YAML_STREAM_END_EVENT)
	{
		/* no document at all: an empty file, null as in Hasura */
		JsonbValue	v = {.type = jbvNull};

		yaml_push(r, seq, &v);
	}
	else
	{
		yaml_next(f);			/* past the document start */
		yaml_value(r, f, seq);
		yaml_next(f);			/* document end */
		yaml_next(f);
		if (f->event.type != YAML_STREAM_END_EVENT)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("\"%s\" holds more than one YAML document",
							path),
					 errdetail("The second starts on line %d.",
							   yaml_line(f->event.start_mark))));
	}

	yaml_event_delete(&f->event);
	yaml_parser_delete(&f->parser);
	r->innermost = outer;
	r->depth--;
	/* what the document keeps was copied out of these */
	if (f->utf8 != text)
		pfree(f->utf8);
	pfree(text);
}

/*
 * The YAML file at path of tree as jsonb, its includes read from the same
 * tree.
 */
Jsonb *
metadata_yaml_read(FileTree *tree, const char *path)
{
	YamlReader *r = palloc0(sizeof(YamlReader));

	r->tree = tree;
	PG_TRY();
	{
		yaml_file(r, NULL, path, WJB_DONE);
	}
	PG_FINALLY();
	{
		yaml_release(r);
	}
	PG_END_TRY();
	return JsonbValueToJsonb(r->result);
}
