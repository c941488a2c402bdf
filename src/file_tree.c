/*-------------------------------------------------------------------------
 *
 * file_tree.c
 *		The files a directory holds, seen through one interface (FileTree)
 *		whether the directory is on the server or was sent by a client as a
 *		jsonb map of relative path to base64 content:
 *
 *		{"1_init/up.sql": "Q1JFQVRFIFRBQkxF...", "sqitch.plan": "...", ...}
 *
 * The readers of migration layouts (migrate_dir.c, migrate_sqitch.c) and
 * of Hasura metadata directories (metadata_dir.c) only ever use this
 * interface, so a directory means the same whichever side read it: the
 * same layouts, the same errors naming the same relative paths, and the
 * same text, checked as valid in the database encoding and without a UTF-8
 * byte order mark, hence the same checksums.
 *
 * A map names files only; directories are the prefixes of their paths.
 * Paths are relative and use "/": an absolute path, an empty component, "."
 * and ".." are refused, so a map cannot name anything outside itself.
 *
 * src/file_tree.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "catalog/pg_authid.h"
#include "common/base64.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/acl.h"
#include "utils/jsonb.h"

#include "file_tree.h"
#include "migrate.h"

/* A directory on the server */
typedef struct DirTree
{
	FileTree tree;
	const char *root;
} DirTree;

/* One file of a map: its path and its content, still base64 */
typedef struct MapFile
{
	char	   *path;
	const char *base64;
	int			base64_len;
} MapFile;

/* A jsonb map, its files sorted by path (strcmp) */
typedef struct MapTree
{
	FileTree tree;
	int			nfiles;
	MapFile    *files;
} MapTree;

const FileTreeNames file_tree_migrations = {
	"migration file", "migrations directory", "migrations map"
};
const FileTreeNames file_tree_metadata = {
	"metadata file", "metadata directory", "metadata map"
};

/* "dir/name", or name at the top */
char *
file_tree_path(const char *dir, const char *name)
{
	return dir[0] != '\0' ? psprintf("%s/%s", dir, name) : pstrdup(name);
}

/* The file at path, or NULL if there is none */
char *
file_tree_read_optional(FileTree *tree, const char *path)
{
	if (tree->kind(tree, path) == FILE_ENTRY_MISSING)
		return NULL;
	return tree->read(tree, path);
}

static int
name_cmp(const ListCell *a, const ListCell *b)
{
	return strcmp(lfirst(a), lfirst(b));
}

/*
 * The text of a script from its bytes: valid in the database encoding (a
 * zero byte is invalid too, which text could not hold), without a UTF-8
 * byte order mark.  buf has a terminating zero after len bytes.
 */
static char *
script_text(FileTree *tree, char *buf, size_t len, const char *display)
{
	if (!pg_verify_mbstr(GetDatabaseEncoding(), buf, len, true))
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("%s \"%s\" is not valid %s",
						tree->names->file, display, GetDatabaseEncodingName())));
	return (char *) migrate_skip_bom(buf);
}

/*
 * The SQLSTATE of a failed file call: PostgreSQL's mapping, plus what it
 * leaves as an internal error: a symlink loop counts as a missing file, a
 * path the system refuses as too long as a name that is too long.
 */
static int
file_errcode(void)
{
	if (errno == ELOOP)
		return errcode(ERRCODE_UNDEFINED_FILE);
	if (errno == ENAMETOOLONG)
		return errcode(ERRCODE_NAME_TOO_LONG);
	return errcode_for_file_access();
}

/* Where relative path rel of a server directory is */
static char *
dir_full_path(DirTree *t, const char *rel)
{
	return rel[0] != '\0' ? psprintf("%s/%s", t->root, rel) : pstrdup(t->root);
}

static List *
dir_list(FileTree *tree, const char *dir)
{
	DirTree    *t = (DirTree *) tree;
	char	   *path = dir_full_path(t, dir);
	const char *display = dir[0] != '\0' ? dir : t->root;
	DIR		   *d = AllocateDir(path);
	struct dirent *de;
	List	   *names = NIL;

	if (d == NULL)
		ereport(ERROR,
				(file_errcode(),
				 errmsg("could not open %s \"%s\": %m", tree->names->dir, display),
				 display[0] == '[' || display[0] == '{' ?
				 errhint("To pass a document or a map of files, cast the argument to jsonb.") : 0));
	while ((de = ReadDir(d, path)) != NULL)
	{
		if (de->d_name[0] != '.')
			names = lappend(names, pstrdup(de->d_name));
	}
	FreeDir(d);
	list_sort(names, name_cmp);
	return names;
}

/*
 * What path is, following symbolic links.  A link that leads nowhere is
 * an error, not a missing file: it names a file that is not there.
 */
static FileEntryKind
dir_kind(FileTree *tree, const char *rel)
{
	char	   *path = dir_full_path((DirTree *) tree, rel);
	struct stat st;

	if (stat(path, &st) != 0)
	{
		int			save_errno = errno;

		if (save_errno == ENOENT && lstat(path, &st) != 0 && errno == ENOENT)
			return FILE_ENTRY_MISSING;
		errno = save_errno;
		ereport(ERROR,
				(file_errcode(),
				 errmsg("could not stat file \"%s\" in %s: %m", rel, tree->names->dir)));
	}
	if (S_ISDIR(st.st_mode))
		return FILE_ENTRY_DIR;
	return S_ISREG(st.st_mode) ? FILE_ENTRY_FILE : FILE_ENTRY_OTHER;
}

/*
 * The whole content of a file of a server directory.
 *
 * Only regular files are read: a FIFO would block the backend beyond
 * cancel and terminate, and a device such as /dev/zero would read as
 * anything.  Opening with O_NONBLOCK keeps the open itself from waiting
 * for a FIFO's writer; the file type is then checked on what was opened.
 */
static char *
dir_read(FileTree *tree, const char *rel)
{
	char	   *path = dir_full_path((DirTree *) tree, rel);
	int			fd = OpenTransientFile(path, O_RDONLY | O_NONBLOCK | PG_BINARY);
	struct stat st;
	char	   *buf;
	size_t		len = 0;

	if (fd < 0)
		ereport(ERROR,
				(file_errcode(),
				 errmsg("could not open %s \"%s\": %m", tree->names->file, rel)));
	if (fstat(fd, &st) < 0)
		ereport(ERROR,
				(file_errcode(),
				 errmsg("could not stat %s \"%s\": %m", tree->names->file, rel)));
	if (!S_ISREG(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("%s \"%s\" is not a regular file", tree->names->file, rel),
				 errdetail("Only regular files are read, not FIFOs, devices or sockets.")));
	if (st.st_size >= MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s \"%s\" is too large", tree->names->file, rel)));

	buf = palloc(st.st_size + 1);
	while (len < (size_t) st.st_size)
	{
		ssize_t		n = read(fd, buf + len, st.st_size - len);

		if (n < 0)
			ereport(ERROR,
					(file_errcode(),
					 errmsg("could not read %s \"%s\": %m", tree->names->file, rel)));
		if (n == 0)
			break;
		len += n;
	}
	CloseTransientFile(fd);
	buf[len] = '\0';
	return script_text(tree, buf, len, rel);
}

/*
 * The directory path on the server.  Reading server files is reserved to
 * superusers and members of pg_read_server_files, as for pg_read_file().
 */
FileTree *
file_tree_open_dir(const char *path, const FileTreeNames *names, const char *hint)
{
	DirTree    *t;

	if (!superuser() && !has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to read %s \"%s\"", names->dir, path),
				 errdetail("Only superusers and roles with privileges of pg_read_server_files may read server-side directories."),
				 errhint("%s", hint)));
	t = palloc0(sizeof(DirTree));
	t->tree.names = names;
	t->tree.list = dir_list;
	t->tree.kind = dir_kind;
	t->tree.read = dir_read;
	t->root = pstrdup(path);
	return &t->tree;
}

static void map_error(const FileTreeNames *names, const char *path,
					  const char *detail) pg_attribute_noreturn();

static void
map_error(const FileTreeNames *names, const char *path, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid path \"%s\" in %s", path, names->map),
			 errdetail_internal("%s", detail)));
}

/*
 * Refuse a path that could name anything outside the map, or the same file
 * twice: absolute, with an empty component ("a//b", "a/"), "." or "..".
 */
static void
map_check_path(const FileTreeNames *names, const char *path)
{
	const char *p = path;

	if (path[0] == '\0')
		map_error(names, path, "A path must not be empty.");
	if (path[0] == '/')
		map_error(names, path, "Paths are relative to the directory the map holds.");
	for (;;)
	{
		size_t		len = strcspn(p, "/");

		if (len == 0)
			map_error(names, path, "A path must not have an empty component.");
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			map_error(names, path, "A path must not have a \".\" or \"..\" component.");
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
}

static int
map_file_cmp(const void *a, const void *b)
{
	return strcmp(((const MapFile *) a)->path, ((const MapFile *) b)->path);
}

/* Index of the first file whose path is not below prefix in sort order */
static int
map_lower_bound(MapTree *t, const char *prefix)
{
	int			lo = 0;
	int			hi = t->nfiles;

	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (strcmp(t->files[mid].path, prefix) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Does some file of the map lie below directory dir? */
static bool
map_has_below(MapTree *t, const char *dir)
{
	char	   *prefix = psprintf("%s/", dir);
	int			i = map_lower_bound(t, prefix);

	return i < t->nfiles &&
		strncmp(t->files[i].path, prefix, strlen(prefix)) == 0;
}

static MapFile *
map_find(MapTree *t, const char *path)
{
	int			i = map_lower_bound(t, path);

	return i < t->nfiles && strcmp(t->files[i].path, path) == 0 ?
		&t->files[i] : NULL;
}

/*
 * The names directly in directory dir.  The paths below it are contiguous
 * in sort order, but their first components are not sorted by themselves
 * ("a b/x" sorts before "a/x"), hence the sort.
 */
static List *
map_list(FileTree *tree, const char *dir)
{
	MapTree    *t = (MapTree *) tree;
	char	   *prefix = dir[0] != '\0' ? psprintf("%s/", dir) : "";
	size_t		plen = strlen(prefix);
	List	   *names = NIL;
	List	   *unique = NIL;
	ListCell   *lc;

	for (int i = map_lower_bound(t, prefix);
		 i < t->nfiles && strncmp(t->files[i].path, prefix, plen) == 0; i++)
	{
		const char *rest = t->files[i].path + plen;

		if (rest[0] != '.')
			names = lappend(names, pnstrdup(rest, strcspn(rest, "/")));
	}
	list_sort(names, name_cmp);
	foreach(lc, names)
	{
		if (unique == NIL || strcmp(llast(unique), lfirst(lc)) != 0)
			unique = lappend(unique, lfirst(lc));
	}
	return unique;
}

static FileEntryKind
map_kind(FileTree *tree, const char *path)
{
	MapTree    *t = (MapTree *) tree;

	if (map_find(t, path) != NULL)
		return FILE_ENTRY_FILE;
	return map_has_below(t, path) ? FILE_ENTRY_DIR : FILE_ENTRY_MISSING;
}

static char *
map_read(FileTree *tree, const char *path)
{
	MapFile    *f = map_find((MapTree *) tree, path);
	char	   *b64;
	char	   *buf;
	int			b64_len = 0;
	int			len;

	if (f == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FILE),
				 errmsg("could not open %s \"%s\": not in the %s", tree->names->file,
						path, tree->names->map)));

	/* line breaks are allowed, as encode(..., 'base64') writes them */
	b64 = palloc(f->base64_len + 1);
	for (int i = 0; i < f->base64_len; i++)
	{
		if (!isspace((unsigned char) f->base64[i]))
			b64[b64_len++] = f->base64[i];
	}
	buf = palloc(pg_b64_dec_len(b64_len) + 1);
	len = pg_b64_decode(b64, b64_len, buf, pg_b64_dec_len(b64_len));
	if (len < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s \"%s\" in %s is not valid base64",
						tree->names->file, path, tree->names->map)));
	pfree(b64);
	buf[len] = '\0';
	return script_text(tree, buf, len, path);
}

/*
 * The files of a map: every value a string, every path safe, no path both
 * a file and a directory.  Content is decoded when read.
 */
FileTree *
file_tree_open_map(Jsonb *doc, const FileTreeNames *names)
{
	MapTree    *t = palloc0(sizeof(MapTree));
	JsonbIterator *it = JsonbIteratorInit(&doc->root);
	JsonbIteratorToken tok;
	JsonbValue	v;
	int			n = 0;

	if (!JB_ROOT_IS_OBJECT(doc) || JB_ROOT_IS_SCALAR(doc))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a %s must be a JSON object", names->map),
				 errdetail("It maps the relative path of each file to its content in base64.")));
	t->tree.names = names;
	t->files = palloc(Max(JB_ROOT_COUNT(doc), 1) * sizeof(MapFile));
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		MapFile    *f;

		if (tok != WJB_KEY)
			continue;
		f = &t->files[n++];
		f->path = pnstrdup(v.val.string.val, v.val.string.len);
		map_check_path(names, f->path);
		tok = JsonbIteratorNext(&it, &v, true);
		Assert(tok == WJB_VALUE);
		if (v.type != jbvString)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid content of file \"%s\" in %s", f->path, names->map),
					 errdetail("The value of a path must be the file's content in base64, a string.")));
		f->base64 = v.val.string.val;
		f->base64_len = v.val.string.len;
	}
	t->nfiles = n;
	qsort(t->files, n, sizeof(MapFile), map_file_cmp);
	for (int i = 0; i < n; i++)
	{
		if (map_has_below(t, t->files[i].path))
			map_error(names, t->files[i].path,
					  "The path names a file, and other paths name it as a directory.");
	}

	t->tree.list = map_list;
	t->tree.kind = map_kind;
	t->tree.read = map_read;
	/* an object that looks like one migration of a document was meant as one */
	if (map_find(t, "version") != NULL || map_find(t, "up") != NULL)
		t->tree.no_layout_hint = "A jsonb object is read as a directory, mapping the relative path of each file to its content in base64; a document of migrations is an array.";
	return &t->tree;
}
