/*-------------------------------------------------------------------------
 *
 * metadata.h
 *		Declarations shared by the metadata catalog's C files.
 *
 * The catalog and its set-based work (the checks against the database,
 * storing, enforcing, exporting) are SQL (sql/install/2*_metadata_*.sql);
 * C reads documents (their shape, fail-closed), switches identity
 * (extension owner, dbops_grantor) and turns filter text into a checked
 * expression tree without ever pasting it into a statement.
 *
 * src/metadata.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DBOPS_METADATA_H
#define DBOPS_METADATA_H

#include "nodes/nodes.h"
#include "nodes/pg_list.h"
#include "utils/array.h"
#include "utils/jsonb.h"

/* What a key of a metadata document means to dbops (metadata_keys.c) */
typedef enum MetadataKeyClass
{
	MDKEY_UNKNOWN,				/* refused (22023) */
	MDKEY_CORE,					/* read and enforced */
	MDKEY_INERT,				/* kept and exported back */
	MDKEY_RESTRICTIVE			/* kept; PostgreSQL cannot enforce it */
} MetadataKeyClass;

extern MetadataKeyClass metadata_key_class(const char *where, const char *key,
										   int len, JsonbValue *value);

/* metadata_document.c: a document's shape checked, in normal form */
extern Jsonb *metadata_read_document(Jsonb *doc, Jsonb *role_map,
									 List *accepted, const char *source_name);
extern List *metadata_text_array_list(ArrayType *arr);

/* metadata_yaml.c: a YAML file of a Hasura metadata directory, as jsonb */
struct FileTree;
extern Jsonb *metadata_yaml_read(struct FileTree *tree, const char *path);

/* metadata_boolexp_normal.c */
extern bool metadata_boolexp_is_operators(JsonbValue *v);
extern JsonbValue *metadata_boolexp_normalize(JsonbValue *e);

/*
 * metadata_boolexp.c: Hasura boolean expressions compiled into raw policy
 * expressions.  BOOLEXP_CHECK writes relationships as inline subqueries
 * (for type-checking); BOOLEXP_ENFORCE creates the functions that read
 * related tables as their owners.
 */
typedef enum BoolexpMode
{
	BOOLEXP_CHECK,
	BOOLEXP_ENFORCE
} BoolexpMode;

typedef struct BoolexpCompiler
{
	BoolexpMode mode;
	JsonbValue *relationships;	/* {schema: {table: {name: {"remote",
								 * "mapping"}}}} */
	char	   *path;			/* JSON path of what is being compiled */
	List	   *locations;		/* the path of each node's location */
	int			error_position; /* check: where parse analysis failed */
	const char *fn_stem;		/* enforce: names of generated functions */
	int			fn_count;
	List	   *functions;		/* enforce: signatures of those created */
	List	   *forced;			/* related tables with FORCE ROW LEVEL
								 * SECURITY */
	int			alias_count;
	Oid			root_relid;
	char	   *root_schema;
	char	   *root_table;
} BoolexpCompiler;

extern Node *metadata_boolexp_compile(BoolexpCompiler *c, Oid relid,
									  JsonbValue *e);
extern Node *metadata_boolexp_presets(BoolexpCompiler *c, Oid relid,
									  JsonbValue *presets);
extern char *metadata_boolexp_stem(const char *schema, const char *table,
								   const char *role, const char *action,
								   const char *which);

/* Parse filter text as exactly one SQL expression; errors otherwise. */
extern Node *metadata_parse_filter(const char *filter, const char *what);

/*
 * metadata_validate.c: the condition of a policy: SQL text, or a Hasura
 * expression (NULL, {} and null: no condition), and for a check the
 * presets; as a raw expression.
 */
extern Node *metadata_condition(BoolexpCompiler *c, Oid relid,
								const char *sql, JsonbValue *hasura,
								JsonbValue *presets, const char *what);

#endif							/* DBOPS_METADATA_H */
