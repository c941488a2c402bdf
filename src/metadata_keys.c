/*-------------------------------------------------------------------------
 *
 * metadata_keys.c
 *		What every key of a Hasura metadata document means to dbops: the one
 *		table that decides it (the README's table is written from this one).
 *
 * Hasura writes keys into its exports that have nothing to do with what
 * PostgreSQL enforces (comments, GraphQL names, event triggers), and a few
 * that restrict access in ways PostgreSQL cannot express (a row limit,
 * "only from the backend", a list of allowed root fields).  Refusing them
 * would refuse every real project; ignoring the restrictive ones would
 * grant more than the document says.  So:
 *   core         read and enforced by dbops;
 *   inert        kept in the catalog and exported back unchanged;
 *   restrictive  kept and exported back, but a permission that carries one
 *                (with a value that restricts) is not enforced at all, and
 *                is listed, unless the import accepts that key
 *                (accept_unenforced);
 *   anything else is refused with its JSON path (22023).
 *
 * src/metadata_keys.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "metadata.h"
#include "metadata_json.h"

/* For restrictive keys: values that restrict nothing */
typedef bool (*MetadataHarmless) (JsonbValue *v);

typedef struct MetadataKeyRule
{
	const char *where;			/* "document", "source", "table", ... */
	const char *key;
	MetadataKeyClass cls;
	MetadataHarmless harmless;	/* restrictive keys only */
} MetadataKeyRule;

static bool
is_null(JsonbValue *v)
{
	return v->type == jbvNull;
}

static bool
is_null_or_false(JsonbValue *v)
{
	return v->type == jbvNull || (v->type == jbvBool && !v->val.boolean);
}

static bool
is_null_or_true(JsonbValue *v)
{
	return v->type == jbvNull || (v->type == jbvBool && v->val.boolean);
}

static const MetadataKeyRule rules[] = {
	/* a version 2 document (and the top of a version 3 one) */
	{"document", "version", MDKEY_CORE},
	{"document", "tables", MDKEY_CORE},
	{"document", "sources", MDKEY_CORE},
	{"document", "functions", MDKEY_INERT},
	{"document", "remote_schemas", MDKEY_INERT},
	{"document", "query_collections", MDKEY_INERT},
	{"document", "allowlist", MDKEY_INERT},
	{"document", "actions", MDKEY_INERT},
	{"document", "custom_types", MDKEY_INERT},
	{"document", "cron_triggers", MDKEY_INERT},
	{"document", "rest_endpoints", MDKEY_INERT},
	{"document", "api_limits", MDKEY_INERT},
	{"document", "inherited_roles", MDKEY_INERT},
	{"document", "network", MDKEY_INERT},
	{"document", "backend_configs", MDKEY_INERT},
	{"document", "graphql_schema_introspection", MDKEY_INERT},
	{"document", "metrics_config", MDKEY_INERT},
	{"document", "opentelemetry", MDKEY_INERT},
	/* a metadata directory's actions.graphql, as text (metadata_dir.c) */
	{"document", "actions_graphql", MDKEY_INERT},

	/*
	 * A source of a version 3 document: its tables are read; the rest
	 * (connection settings among it) describes Hasura's own connection and
	 * is not kept.
	 */
	{"source", "name", MDKEY_CORE},
	{"source", "kind", MDKEY_CORE},
	{"source", "tables", MDKEY_CORE},
	{"source", "functions", MDKEY_INERT},
	{"source", "configuration", MDKEY_INERT},
	{"source", "customization", MDKEY_INERT},
	{"source", "query_tags", MDKEY_INERT},
	{"source", "health_check", MDKEY_INERT},
	{"source", "logical_models", MDKEY_INERT},
	{"source", "native_queries", MDKEY_INERT},
	{"source", "stored_procedures", MDKEY_INERT},

	{"table", "table", MDKEY_CORE},
	{"table", "object_relationships", MDKEY_CORE},
	{"table", "array_relationships", MDKEY_CORE},
	{"table", "select_permissions", MDKEY_CORE},
	{"table", "insert_permissions", MDKEY_CORE},
	{"table", "update_permissions", MDKEY_CORE},
	{"table", "delete_permissions", MDKEY_CORE},
	{"table", "configuration", MDKEY_INERT},
	{"table", "is_enum", MDKEY_INERT},
	{"table", "computed_fields", MDKEY_INERT},
	{"table", "remote_relationships", MDKEY_INERT},
	{"table", "event_triggers", MDKEY_INERT},
	{"table", "apollo_federation_config", MDKEY_INERT},

	{"relationship", "name", MDKEY_CORE},
	{"relationship", "using", MDKEY_CORE},
	{"relationship", "comment", MDKEY_INERT},

	{"permission", "role", MDKEY_CORE},
	{"permission", "permission", MDKEY_CORE},
	{"permission", "comment", MDKEY_INERT},

	{"select", "columns", MDKEY_CORE},
	{"select", "filter", MDKEY_CORE},
	{"select", "computed_fields", MDKEY_INERT},
	{"select", "limit", MDKEY_RESTRICTIVE, is_null},
	{"select", "allow_aggregations", MDKEY_RESTRICTIVE, is_null_or_true},
	{"select", "query_root_fields", MDKEY_RESTRICTIVE, is_null},
	{"select", "subscription_root_fields", MDKEY_RESTRICTIVE, is_null},

	{"insert", "columns", MDKEY_CORE},
	{"insert", "check", MDKEY_CORE},
	{"insert", "set", MDKEY_CORE},
	{"insert", "backend_only", MDKEY_RESTRICTIVE, is_null_or_false},
	{"insert", "validate_input", MDKEY_RESTRICTIVE, is_null},

	{"update", "columns", MDKEY_CORE},
	{"update", "filter", MDKEY_CORE},
	{"update", "check", MDKEY_CORE},
	{"update", "set", MDKEY_CORE},
	{"update", "backend_only", MDKEY_RESTRICTIVE, is_null_or_false},
	{"update", "validate_input", MDKEY_RESTRICTIVE, is_null},

	{"delete", "filter", MDKEY_CORE},
	{"delete", "backend_only", MDKEY_RESTRICTIVE, is_null_or_false},
	{"delete", "validate_input", MDKEY_RESTRICTIVE, is_null},
};

/*
 * The class of key (len bytes) of an object of kind where, whose value is
 * value: a restrictive key with a value that restricts nothing is inert.
 */
MetadataKeyClass
metadata_key_class(const char *where, const char *key, int len,
				   JsonbValue *value)
{
	for (int i = 0; i < lengthof(rules); i++)
	{
		const MetadataKeyRule *rule = &rules[i];

		if (strcmp(rule->where, where) != 0 ||
			(int) strlen(rule->key) != len || strncmp(rule->key, key, len) != 0)
			continue;
		if (rule->cls == MDKEY_RESTRICTIVE && rule->harmless(value))
			return MDKEY_INERT;
		return rule->cls;
	}
	return MDKEY_UNKNOWN;
}
