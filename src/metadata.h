/*-------------------------------------------------------------------------
 *
 * metadata.h
 *		Declarations shared by the metadata catalog's C files.
 *
 * The catalog itself and most of its logic are SQL (sql/install/
 * 20_metadata.sql); C does what SQL cannot do safely: switch identity
 * (extension owner, dbops_grantor) and turn filter text into a checked
 * expression tree without ever pasting it into a statement.
 *
 * src/metadata.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DBOPS_METADATA_H
#define DBOPS_METADATA_H

#include "nodes/nodes.h"

/* Parse filter text as exactly one SQL expression; errors otherwise. */
extern Node *metadata_parse_filter(const char *filter, const char *what);

#endif							/* DBOPS_METADATA_H */
