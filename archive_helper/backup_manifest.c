/*-------------------------------------------------------------------------
 *
 * backup_manifest.c
 *		Write and parse backup manifests (format in backup_manifest.h).
 *
 * A manifest comes from the repository, so the parser trusts nothing:
 * every line must be one of the records above, every number in range,
 * every path relative and free of "..", and the counts must add up.
 * Anything else is ARCH_CORRUPT naming the line.
 *
 * archive_helper/backup_manifest.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <limits.h>
#include <time.h>

#include "backup_manifest.h"
#include "object.h"
#include "wal_name.h"

#define MANIFEST_MAGIC "dbops-backup 1"

char *
backup_object(const char *label, const char *what)
{
	return psprintf(BACKUP_PREFIX "%s/%s", label, what);
}

bool
backup_label_valid(const char *label)
{
	/* 20261204T081500F: date, T, time, F (full) or I (incremental) */
	if (strlen(label) != 16 || label[8] != 'T' ||
		(label[15] != 'F' && label[15] != 'I'))
		return false;
	for (int i = 0; i < 15; i++)
		if (i != 8 && !isdigit((unsigned char) label[i]))
			return false;
	return true;
}

void
backup_format_time(int64_t t, char *out, size_t size)
{
	time_t		tt = (time_t) t;
	struct tm	tm;

	gmtime_r(&tt, &tm);
	strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

bool
backup_parse_time(const char *text, int64_t *t)
{
	struct tm	tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(text, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0')
		return false;
	*t = (int64_t) timegm(&tm);
	return true;
}

bool
backup_parse_lsn(const char *text, uint64_t *lsn)
{
	unsigned int hi;
	unsigned int lo;
	int			n = 0;

	if (sscanf(text, "%X/%X%n", &hi, &lo, &n) != 2 || text[n] != '\0' ||
		!isxdigit((unsigned char) text[0]))
		return false;
	*lsn = (uint64_t) hi << 32 | lo;
	return true;
}

/* %XX for what would break a line or a field, and for '%' itself */
static void
append_path(ArchBuf *out, const char *path)
{
	for (const unsigned char *p = (const unsigned char *) path; *p; p++)
	{
		if (*p <= ' ' || *p > '~' || *p == '%')
			arch_buf_appendf(out, "%%%02X", *p);
		else
			arch_buf_append(out, p, 1);
	}
}

static char *
unescape_path(const char *text)
{
	char	   *out = pg_malloc(strlen(text) + 1);
	char	   *o = out;

	for (const char *p = text; *p; p++)
	{
		unsigned int c;

		if (*p != '%')
		{
			*o++ = *p;
			continue;
		}
		if (!isxdigit((unsigned char) p[1]) || !isxdigit((unsigned char) p[2]) ||
			sscanf(p + 1, "%2x", &c) != 1 || c == 0)
		{
			pg_free(out);
			return NULL;
		}
		*o++ = (char) c;
		p += 2;
	}
	*o = '\0';
	return out;
}

/* A path a restore may write: relative, no "." or ".." component */
static bool
path_safe(const char *path)
{
	const char *p = path;

	if (path[0] == '\0' || path[0] == '/')
		return false;
	while (*p)
	{
		size_t		n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && strncmp(p, "..", 2) == 0))
			return false;
		p += n;
		if (*p == '/')
			p++;
	}
	return path[strlen(path) - 1] != '/';
}

void
backup_manifest_write(const BackupManifest *m, ArchBuf *out)
{
	char		start[32];
	char		stop[32];

	backup_format_time(m->start_time, start, sizeof(start));
	backup_format_time(m->stop_time, stop, sizeof(stop));
	arch_buf_reset(out);
	arch_buf_appendf(out, MANIFEST_MAGIC "\n");
	arch_buf_appendf(out, "label\t%s\ntype\t%s\nbase\t%s\n", m->label,
					 m->incremental ? "incr" : "full", m->base[0] ? m->base : "-");
	arch_buf_appendf(out, "start-time\t%s\nstop-time\t%s\n", start, stop);
	arch_buf_appendf(out, "start-lsn\t%X/%X\nstop-lsn\t%X/%X\n",
					 (unsigned) (m->start_lsn >> 32), (unsigned) m->start_lsn,
					 (unsigned) (m->stop_lsn >> 32), (unsigned) m->stop_lsn);
	arch_buf_appendf(out, "timeline\t%u\nstart-wal\t%s\nstop-wal\t%s\nwal-segment-size\t%llu\n",
					 m->timeline, m->start_wal, m->stop_wal,
					 (unsigned long long) m->wal_segment_size);
	arch_buf_appendf(out, "pg-version\t%d\nsystem-identifier\t%llu\n",
					 m->pg_version, (unsigned long long) m->sysid);
	arch_buf_appendf(out, "files\t%d\nsize\t%llu\n", m->nfiles,
					 (unsigned long long) m->size);
	for (int i = 0; i < m->ntablespaces; i++)
	{
		arch_buf_appendf(out, "tablespace\t");
		append_path(out, m->tablespaces[i].oid);
		arch_buf_appendf(out, "\t");
		append_path(out, m->tablespaces[i].path);
		arch_buf_appendf(out, "\n");
	}
	for (int i = 0; i < m->ndirs; i++)
	{
		arch_buf_appendf(out, "dir\t%o\t", (unsigned) m->dirs[i].mode);
		append_path(out, m->dirs[i].path);
		arch_buf_appendf(out, "\n");
	}
	for (int i = 0; i < m->nfiles; i++)
	{
		const BackupFile *f = &m->files[i];

		arch_buf_appendf(out, "file\t%o\t%lld\t%llu\t%d\t", (unsigned) f->mode,
						 (long long) f->mtime, (unsigned long long) f->size, f->nparts);
		append_path(out, f->path);
		arch_buf_appendf(out, "\n");
		for (int j = 0; j < f->nparts; j++)
		{
			char		hex[65];

			arch_hex(f->parts[j].sha256, 32, hex);
			arch_buf_appendf(out, "part\t%s\t%llu\t%llu\t%s\n", f->parts[j].object,
							 (unsigned long long) f->parts[j].offset,
							 (unsigned long long) f->parts[j].size, hex);
		}
	}
	arch_buf_appendf(out, "end\n");
}

BackupFile *
backup_manifest_add_file(BackupManifest *m, const char *path, mode_t mode,
						 int64_t mtime, uint64_t size)
{
	BackupFile *f;

	m->files = pg_realloc(m->files, sizeof(BackupFile) * (m->nfiles + 1));
	f = &m->files[m->nfiles++];
	memset(f, 0, sizeof(BackupFile));
	f->path = pg_strdup(path);
	f->mode = mode;
	f->mtime = mtime;
	f->size = size;
	return f;
}

BackupPart *
backup_file_add_part(BackupFile *f, const char *object, uint64_t offset,
					 uint64_t size)
{
	BackupPart *p;

	f->parts = pg_realloc(f->parts, sizeof(BackupPart) * (f->nparts + 1));
	p = &f->parts[f->nparts++];
	memset(p, 0, sizeof(BackupPart));
	p->object = pg_strdup(object);
	p->offset = offset;
	p->size = size;
	return p;
}

void
backup_manifest_add_dir(BackupManifest *m, const char *path, mode_t mode)
{
	m->dirs = pg_realloc(m->dirs, sizeof(BackupDir) * (m->ndirs + 1));
	m->dirs[m->ndirs].path = pg_strdup(path);
	m->dirs[m->ndirs++].mode = mode;
}

void
backup_manifest_free(BackupManifest *m)
{
	for (int i = 0; i < m->nfiles; i++)
	{
		for (int j = 0; j < m->files[i].nparts; j++)
			pg_free(m->files[i].parts[j].object);
		pg_free(m->files[i].parts);
		pg_free(m->files[i].path);
	}
	for (int i = 0; i < m->ndirs; i++)
		pg_free(m->dirs[i].path);
	for (int i = 0; i < m->ntablespaces; i++)
	{
		pg_free(m->tablespaces[i].oid);
		pg_free(m->tablespaces[i].path);
	}
	pg_free(m->files);
	pg_free(m->dirs);
	pg_free(m->tablespaces);
	memset(m, 0, sizeof(BackupManifest));
}

/* ---------------------------------------------------------------- parsing */

/* Split line (modified) at tabs into at most max fields; their number */
static int
split_fields(char *line, char **fields, int max)
{
	int			n = 0;

	while (n < max)
	{
		fields[n++] = line;
		line = strchr(line, '\t');
		if (line == NULL)
			break;
		*line++ = '\0';
	}
	return line == NULL ? n : max + 1;
}

static bool
parse_u64(const char *text, uint64_t *v)
{
	char	   *end;

	if (!isdigit((unsigned char) text[0]))
		return false;
	errno = 0;
	*v = strtoull(text, &end, 10);
	return errno == 0 && *end == '\0';
}

static bool
parse_mode(const char *text, mode_t *mode)
{
	char	   *end;
	unsigned long v;

	errno = 0;
	v = strtoul(text, &end, 8);
	if (errno != 0 || *end != '\0' || end == text || v > 07777)
		return false;
	*mode = (mode_t) v;
	return true;
}

/* The header fields, in the order they must come */
static const char *const header_keys[] = {
	"label", "type", "base", "start-time", "stop-time", "start-lsn", "stop-lsn",
	"timeline", "start-wal", "stop-wal", "wal-segment-size", "pg-version", "system-identifier",
	"files", "size"
};

static bool
parse_header_field(int i, const char *value, BackupManifest *m,
				   uint64_t *nfiles)
{
	uint64_t	v;

	switch (i)
	{
		case 0:
			return strlen(value) <= BACKUP_LABEL_LEN && strcpy(m->label, value);
		case 1:
			m->incremental = strcmp(value, "incr") == 0;
			return m->incremental || strcmp(value, "full") == 0;
		case 2:
			if (strcmp(value, "-") == 0)
				return !m->incremental;
			return m->incremental && backup_label_valid(value) && strcpy(m->base, value);
		case 3:
			return backup_parse_time(value, &m->start_time);
		case 4:
			return backup_parse_time(value, &m->stop_time);
		case 5:
			return backup_parse_lsn(value, &m->start_lsn);
		case 6:
			return backup_parse_lsn(value, &m->stop_lsn) && m->stop_lsn >= m->start_lsn;
		case 7:
			if (!parse_u64(value, &v) || v == 0 || v > UINT32_MAX)
				return false;
			m->timeline = (uint32_t) v;
			return true;
		case 8:
		case 9:
			if (strlen(value) != 24 || strspn(value, "0123456789ABCDEF") != 24)
				return false;
			strcpy(i == 8 ? m->start_wal : m->stop_wal, value);
			return true;
		case 10:
			/* a power of two from 1 MiB to 1 GiB, as initdb allows */
			return parse_u64(value, &m->wal_segment_size) &&
				arch_wal_segment_size_valid(m->wal_segment_size);
		case 11:
			if (!parse_u64(value, &v) || v > 999999)
				return false;
			m->pg_version = (int) v;
			return true;
		case 12:
			return parse_u64(value, &m->sysid);
		case 13:
			return parse_u64(value, nfiles) && *nfiles < INT_MAX;
		case 14:
			return parse_u64(value, &m->size);
	}
	return false;
}

/* One record after the header; false when it is not a valid one */
static bool
parse_record(char **f, int n, BackupManifest *m, BackupFile **last,
			 int *parts_due)
{
	uint64_t	v1;
	uint64_t	v2;
	uint64_t	v3;
	mode_t		mode;
	char	   *path;

	if (*parts_due > 0)
	{
		BackupPart *p;

		/* part OBJECT OFFSET SIZE SHA256 */
		if (n != 5 || strcmp(f[0], "part") != 0 ||
			!arch_object_name_valid(f[1], strlen(f[1])) ||
			strncmp(f[1], BACKUP_PREFIX, strlen(BACKUP_PREFIX)) != 0 ||
			!parse_u64(f[2], &v1) || !parse_u64(f[3], &v2) ||
			strlen(f[4]) != 64 || strspn(f[4], "0123456789abcdef") != 64)
			return false;
		p = backup_file_add_part(*last, f[1], v1, v2);
		for (int i = 0; i < 32; i++)
		{
			unsigned int b;

			sscanf(f[4] + 2 * i, "%2x", &b);
			p->sha256[i] = (uint8_t) b;
		}
		(*parts_due)--;
		return true;
	}
	if (n == 3 && strcmp(f[0], "tablespace") == 0)
	{
		char	   *oid = unescape_path(f[1]);

		path = unescape_path(f[2]);
		if (oid == NULL || path == NULL || path[0] != '/' || strspn(oid, "0123456789") != strlen(oid))
		{
			pg_free(oid);
			pg_free(path);
			return false;
		}
		m->tablespaces = pg_realloc(m->tablespaces,
									sizeof(BackupTablespace) * (m->ntablespaces + 1));
		m->tablespaces[m->ntablespaces].oid = oid;
		m->tablespaces[m->ntablespaces++].path = path;
		return true;
	}
	if (n == 3 && strcmp(f[0], "dir") == 0)
	{
		path = unescape_path(f[2]);
		if (path == NULL || !path_safe(path) || !parse_mode(f[1], &mode))
		{
			pg_free(path);
			return false;
		}
		backup_manifest_add_dir(m, path, mode);
		pg_free(path);
		return true;
	}
	if (n == 6 && strcmp(f[0], "file") == 0)
	{
		path = unescape_path(f[5]);
		if (path == NULL || !path_safe(path) || !parse_mode(f[1], &mode) ||
			!parse_u64(f[2], &v1) || !parse_u64(f[3], &v2) || !parse_u64(f[4], &v3) ||
			v3 > 1000000 || (v3 == 0) != (v2 == 0))
		{
			pg_free(path);
			return false;
		}
		*last = backup_manifest_add_file(m, path, mode, (int64_t) v1, v2);
		*parts_due = (int) v3;
		pg_free(path);
		return true;
	}
	return false;
}

/*
 * Are the parts of a file in order, apart, not empty, and does the last
 * one end the file?  (A file truncated while it was backed up may leave a
 * gap: zeros on restore, which WAL replay overwrites.)
 */
static bool
parts_cover(const BackupFile *f)
{
	uint64_t	at = 0;

	for (int i = 0; i < f->nparts; i++)
	{
		if (f->parts[i].offset < at || f->parts[i].size == 0)
			return false;
		at = f->parts[i].offset + f->parts[i].size;
	}
	return at == f->size;
}

ArchStatus
backup_manifest_parse(const char *label, const char *text, size_t len,
					  BackupManifest *m, ArchError *err)
{
	char	   *copy = pg_malloc(len + 1);
	char	   *line = copy;
	int			lineno = 0;
	uint64_t	nfiles = 0;
	uint64_t	total = 0;
	BackupFile *last = NULL;
	int			parts_due = 0;
	bool		ended = false;
	bool		trailing;
	bool		ok = true;

	memset(m, 0, sizeof(BackupManifest));
	memcpy(copy, text, len);
	copy[len] = '\0';
	while (ok && *line && !ended)
	{
		char	   *nl = strchr(line, '\n');
		char	   *f[7];
		int			n;

		lineno++;
		if (nl == NULL)
		{
			ok = false;
			break;
		}
		*nl = '\0';
		if (lineno == 1)
			ok = strcmp(line, MANIFEST_MAGIC) == 0;
		else if (lineno - 2 < (int) lengthof(header_keys))
		{
			n = split_fields(line, f, 2);
			ok = n == 2 && strcmp(f[0], header_keys[lineno - 2]) == 0 &&
				parse_header_field(lineno - 2, f[1], m, &nfiles);
		}
		else if (parts_due == 0 && strcmp(line, "end") == 0)
			ended = true;
		else
		{
			n = split_fields(line, f, 6);
			ok = n <= 6 && parse_record(f, n, m, &last, &parts_due);
		}
		line = nl + 1;
	}
	for (int i = 0; ok && i < m->nfiles; i++)
	{
		ok = parts_cover(&m->files[i]);
		total += m->files[i].size;
	}
	/* nothing after "end", not even a NUL byte */
	trailing = (size_t) (line - copy) != len;
	pg_free(copy);
	if (!ok)
	{
		backup_manifest_free(m);
		return arch_error(err, ARCH_CORRUPT, "manifest of backup \"%s\" is corrupt at line %d",
						  label, lineno);
	}
	if (!ended || trailing || (uint64_t) m->nfiles != nfiles || total != m->size ||
		strcmp(m->label, label) != 0)
	{
		backup_manifest_free(m);
		return arch_error(err, ARCH_CORRUPT,
						  "manifest of backup \"%s\" is corrupt: truncated, or its counts or label do not match",
						  label);
	}
	return ARCH_OK;
}
