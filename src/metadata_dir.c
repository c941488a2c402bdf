/*-------------------------------------------------------------------------
 *
 * metadata_dir.c
 *		A Hasura metadata directory, as Hasura's CLI writes it, read into
 *		the one JSON document that Hasura's own export would give:
 *		dbops.read_metadata_dir(source_dir text | files jsonb).
 *
 * Config version 2 keeps tables.yaml, functions.yaml and the like beside
 * version.yaml; config version 3 keeps databases/databases.yaml, whose
 * sources include their tables file by file.  Every file at the top is
 * either one Hasura writes, with the key it becomes, or refused: a
 * misnamed tables.yml must not read as "no tables", which an import would
 * carry out by dropping every permission.  actions.graphql, the one file
 * that is not YAML, is kept as text under "actions_graphql".  A project
 * directory (config.yaml beside metadata/) is read from its metadata
 * directory.
 *
 * src/metadata_dir.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "file_tree.h"
#include "metadata.h"
#include "metadata_json.h"

PG_FUNCTION_INFO_V1(dbops_read_metadata_dir);
PG_FUNCTION_INFO_V1(dbops_read_metadata_map);

/* A file at the top of a metadata directory, and the key it becomes */
typedef struct HasuraFile
{
	const char *name;
	const char *key;			/* NULL: its own keys (actions.yaml) */
	int			version;		/* 0: both config versions */
} HasuraFile;

static const HasuraFile hasura_files[] = {
	{"version.yaml", "version", 0},
	{"tables.yaml", "tables", 2},
	{"functions.yaml", "functions", 2},
	{"actions.yaml", NULL, 0},
	{"remote_schemas.yaml", "remote_schemas", 0},
	{"query_collections.yaml", "query_collections", 0},
	{"allow_list.yaml", "allowlist", 0},
	{"cron_triggers.yaml", "cron_triggers", 0},
	{"rest_endpoints.yaml", "rest_endpoints", 0},
	{"inherited_roles.yaml", "inherited_roles", 0},
	{"api_limits.yaml", "api_limits", 0},
	{"network.yaml", "network", 0},
	{"graphql_schema_introspection.yaml", "graphql_schema_introspection", 0},
	{"metrics_config.yaml", "metrics_config", 0},
	{"opentelemetry.yaml", "opentelemetry", 0},
	{"backend_configs.yaml", "backend_configs", 0},
};

#define SOURCES_FILE "databases/databases.yaml"
#define ACTIONS_GRAPHQL "actions.graphql"

static const HasuraFile *
hasura_file(const char *name)
{
	for (int i = 0; i < lengthof(hasura_files); i++)
	{
		if (strcmp(hasura_files[i].name, name) == 0)
			return &hasura_files[i];
	}
	return NULL;
}

static bool
has_suffix(const char *s, const char *suffix)
{
	size_t		len = strlen(s);
	size_t		slen = strlen(suffix);

	return len >= slen && strcmp(s + len - slen, suffix) == 0;
}

/* Says nothing: null, [], {}, or an object of such values */
static bool
is_empty(JsonbValue *v)
{
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	x;

	if (v->type == jbvNull)
		return true;
	if (v->type != jbvBinary)
		return false;
	if (JsonContainerIsArray(v->val.binary.data))
		return JsonContainerSize(v->val.binary.data) == 0;
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &x, true)) != WJB_DONE)
	{
		if (tok == WJB_VALUE && !is_empty(&x))
			return false;
	}
	return true;
}

/* The scalar of a one-value document, or its root as jbvBinary */
static JsonbValue *
doc_value(Jsonb *jb)
{
	JsonbValue *v = palloc(sizeof(JsonbValue));

	if (JB_ROOT_IS_SCALAR(jb))
	{
		(void) JsonbExtractScalar(&jb->root, v);
		return v;
	}
	return mdjson_root(jb);
}

static void
push_pair(JsonbParseState **st, const char *key, JsonbValue *v)
{
	if (is_empty(v))
		return;
	mdjson_push_key(st, key);
	pushJsonbValue(st, WJB_VALUE, v);
}

/* version.yaml: {"version": 2 or 3} */
static int
read_version(FileTree *tree, const char *path)
{
	JsonbValue *doc = doc_value(metadata_yaml_read(tree, path));
	JsonbValue *v = mdjson_is_object(doc) ? mdjson_get(doc, "version") : NULL;
	int			version = 0;

	if (v != NULL && v->type == jbvNumeric)
		version = DatumGetInt32(DirectFunctionCall1(numeric_int4,
													NumericGetDatum(v->val.numeric)));
	if (version != 2 && version != 3)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" does not say version 2 or 3", path),
				 errhint("Hasura's metadata directories of config version 2 and 3 are read; it holds \"version: 3\" or \"version: 2\".")));
	return version;
}

/*
 * Where the metadata is: the directory itself, or the metadata directory
 * of a project (config.yaml's "metadata_directory", default "metadata").
 * display names the directory in messages.
 */
static char *
metadata_root(FileTree *tree, const char *display)
{
	JsonbValue *config;
	JsonbValue *dir;
	char	   *root = "metadata";

	/* the directory must be there: listing it says why when it is not */
	(void) tree->list(tree, "");
	if (tree->kind(tree, "version.yaml") != FILE_ENTRY_MISSING)
		return "";
	if (tree->kind(tree, "config.yaml") == FILE_ENTRY_FILE)
	{
		config = doc_value(metadata_yaml_read(tree, "config.yaml"));
		dir = mdjson_is_object(config) ? mdjson_get(config, "metadata_directory") : NULL;
		if (dir != NULL && mdjson_is_string(dir))
			root = mdjson_string(dir);
	}
	if (tree->kind(tree, file_tree_path(root, "version.yaml")) != FILE_ENTRY_FILE)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FILE),
				 errmsg("%s is not a Hasura metadata directory: it has no version.yaml, nor has \"%s\"",
						display, root),
				 errhint("Give the directory \"hasura metadata export\" writes, or the project directory that holds it.")));
	return root;
}

/*
 * The document of the metadata directory in tree, as Hasura's export of
 * the same metadata: {"version": N, "sources" or "tables": ..., ...}.
 */
static Jsonb *
metadata_dir_document(FileTree *tree, const char *display)
{
	char	   *root = metadata_root(tree, display);
	char	   *version_path = file_tree_path(root, "version.yaml");
	int			version;
	JsonbParseState *st = NULL;
	JsonbValue	num;
	ListCell   *lc;

	if (tree->kind(tree, version_path) != FILE_ENTRY_FILE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a regular file", version_path)));
	version = read_version(tree, version_path);

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	mdjson_push_key(&st, "version");
	num.type = jbvNumeric;
	num.val.numeric = int64_to_numeric(version);
	pushJsonbValue(&st, WJB_VALUE, &num);

	foreach(lc, tree->list(tree, root))
	{
		char	   *name = lfirst(lc);
		char	   *path = file_tree_path(root, name);
		const HasuraFile *hf = hasura_file(name);
		FileEntryKind kind = tree->kind(tree, path);

		if (kind == FILE_ENTRY_DIR || strcmp(name, "version.yaml") == 0)
			continue;
		if (strcmp(name, ACTIONS_GRAPHQL) == 0 && kind == FILE_ENTRY_FILE)
		{
			char	   *sdl = tree->read(tree, path);

			if (sdl[strspn(sdl, " \t\r\n")] != '\0')
			{
				mdjson_push_key(&st, "actions_graphql");
				mdjson_push_string(&st, WJB_VALUE, sdl);
			}
			continue;
		}
		if (!has_suffix(name, ".yaml") && !has_suffix(name, ".yml"))
			continue;			/* not metadata: README.md and the like */
		if (hf == NULL || (hf->version != 0 && hf->version != version))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("\"%s\" is not a file of Hasura's metadata version %d", path, version),
					 errhint("Rename or remove it; version 3 keeps tables and functions under databases/.")));
		if (kind != FILE_ENTRY_FILE)
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("\"%s\" is not a regular file", path)));
		if (hf->key != NULL)
			push_pair(&st, hf->key, doc_value(metadata_yaml_read(tree, path)));
		else
		{
			/* actions.yaml: {"actions": [...], "custom_types": {...}} */
			JsonbValue *actions = doc_value(metadata_yaml_read(tree, path));
			JsonbValue *v;

			if (actions->type == jbvNull)
				continue;
			if (!mdjson_is_object(actions) ||
				JsonContainerSize(actions->val.binary.data) >
				((mdjson_get(actions, "actions") != NULL) +
				 (mdjson_get(actions, "custom_types") != NULL)))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("\"%s\" must hold a mapping of \"actions\" and \"custom_types\"", path)));
			if ((v = mdjson_get(actions, "actions")) != NULL)
				push_pair(&st, "actions", v);
			if ((v = mdjson_get(actions, "custom_types")) != NULL)
				push_pair(&st, "custom_types", v);
		}
	}

	if (version == 3)
	{
		char	   *sources = file_tree_path(root, SOURCES_FILE);

		if (tree->kind(tree, sources) != FILE_ENTRY_FILE)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FILE),
					 errmsg("metadata directory of version 3 has no \"%s\"", sources)));
		mdjson_push_key(&st, "sources");
		pushJsonbValue(&st, WJB_VALUE, doc_value(metadata_yaml_read(tree, sources)));
	}
	return JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, NULL));
}

/*
 * dbops.read_metadata_dir(source_dir text): a directory on the server, for
 * superusers and members of pg_read_server_files (file_tree.c).
 */
Datum
dbops_read_metadata_dir(PG_FUNCTION_ARGS)
{
	char	   *path;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("metadata directory must not be null")));
	path = text_to_cstring(PG_GETARG_TEXT_PP(0));
	PG_RETURN_JSONB_P(metadata_dir_document(file_tree_open_dir(path, &file_tree_metadata,
															   path[0] == '{' ?
															   "To pass a map of files, cast the argument to jsonb." :
															   "Send the directory's files as a jsonb map instead, as the dbops command does."),
											psprintf("directory \"%s\"", path)));
}

/* dbops.read_metadata_dir(files jsonb): a map of relative path to base64 */
Datum
dbops_read_metadata_map(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("metadata file map must not be null")));
	PG_RETURN_JSONB_P(metadata_dir_document(file_tree_open_map(PG_GETARG_JSONB_P(0),
															   &file_tree_metadata),
											"the map of files"));
}
