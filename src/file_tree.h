/*-------------------------------------------------------------------------
 *
 * file_tree.h
 *		The files of a directory, on the server or sent by a client as a
 *		jsonb map of relative path to base64 content (file_tree.c): how
 *		migrations and Hasura metadata directories are read.
 *
 * src/file_tree.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DBOPS_FILE_TREE_H
#define DBOPS_FILE_TREE_H

#include "nodes/pg_list.h"
#include "utils/jsonb.h"

/* What a path of a tree names */
typedef enum FileEntryKind
{
	FILE_ENTRY_MISSING,
	FILE_ENTRY_FILE,
	FILE_ENTRY_DIR,
	FILE_ENTRY_OTHER			/* FIFO, device, socket */
} FileEntryKind;

/* How messages name what a tree holds: "migration file", ... */
typedef struct FileTreeNames
{
	const char *file;			/* "migration file" */
	const char *dir;			/* "migrations directory" */
	const char *map;			/* "migrations map" */
} FileTreeNames;

extern const FileTreeNames file_tree_migrations;
extern const FileTreeNames file_tree_metadata;

/*
 * The files of a directory.  Paths are relative to the directory, "" being
 * the directory itself, and are what messages name.
 */
typedef struct FileTree FileTree;
struct FileTree
{
	/* the names in directory dir, sorted, without those starting with "." */
	List	   *(*list) (FileTree *tree, const char *dir);
	FileEntryKind (*kind) (FileTree *tree, const char *path);
	/* a file's text: valid in the database encoding, byte order mark skipped */
	char	   *(*read) (FileTree *tree, const char *path);
	const FileTreeNames *names;
	/* what to add to the error about a name that fits no layout, or NULL */
	const char *no_layout_hint;
};

/*
 * A directory on the server: for superusers and members of
 * pg_read_server_files only; hint says what to do instead.
 */
extern FileTree *file_tree_open_dir(const char *path, const FileTreeNames *names,
									const char *hint);
extern FileTree *file_tree_open_map(Jsonb *files, const FileTreeNames *names);
extern char *file_tree_path(const char *dir, const char *name);
extern char *file_tree_read_optional(FileTree *tree, const char *path);

#endif							/* DBOPS_FILE_TREE_H */
