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
#include "utils/jsonb.h"

/* metadata_document.c: a document's shape checked, in normal form */
extern Jsonb *metadata_read_document(Jsonb *doc, Jsonb *role_map);

/* Parse filter text as exactly one SQL expression; errors otherwise. */
extern Node *metadata_parse_filter(const char *filter, const char *what);

#endif							/* DBOPS_METADATA_H */
