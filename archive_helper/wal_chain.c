/*-------------------------------------------------------------------------
 *
 * wal_chain.c
 *		Follow a backup's WAL through the archive (see wal_chain.h).
 *
 * archive_helper/wal_chain.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "backup_manifest.h"
#include "object_io.h"
#include "wal_chain.h"
#include "wal_name.h"

static int
seg_cmp(const void *a, const void *b)
{
	const WalSegment *x = a;
	const WalSegment *y = b;

	if (x->tli != y->tli)
		return x->tli < y->tli ? -1 : 1;
	if (x->segno != y->segno)
		return x->segno < y->segno ? -1 : 1;
	return 0;
}

uint64_t
wal_name_segno(const char *name, uint64_t seg_size)
{
	ArchWalName wal;

	if (!arch_wal_parse(name, &wal))
		return 0;
	return arch_wal_segno(&wal, seg_size);
}

/*
 * Parse a history file: "PARENT<tab>X/X<tab>reason" lines, '#' comments;
 * the parents in increasing order and below tli.
 */
static bool
history_parse(const char *text, WalHistory *h)
{
	const char *p = text;

	while (*p)
	{
		const char *nl = strchr(p, '\n');
		size_t		len = nl ? (size_t) (nl - p) : strlen(p);
		char		line[256];
		unsigned int parent;
		char		lsn[64];
		uint64_t	at;

		snprintf(line, sizeof(line), "%.*s", (int) Min(len, sizeof(line) - 1), p);
		p += len + (nl ? 1 : 0);
		if (line[0] == '#' || strspn(line, " \t\r") == strlen(line))
			continue;
		if (sscanf(line, "%u\t%63s", &parent, lsn) != 2 || !backup_parse_lsn(lsn, &at) ||
			parent >= h->tli || (h->n > 0 && parent <= h->parent[h->n - 1]))
			return false;
		h->parent = pg_realloc(h->parent, sizeof(uint32_t) * (h->n + 1));
		h->switch_lsn = pg_realloc(h->switch_lsn, sizeof(uint64_t) * (h->n + 1));
		h->parent[h->n] = parent;
		h->switch_lsn[h->n++] = at;
	}
	return true;
}

ArchStatus
wal_archive_load(ArchStorage *storage, const ArchDecodeOptions *dopts,
				 WalArchive *w, ArchError *err)
{
	ArchNameList names;
	ArchStatus	st;

	memset(w, 0, sizeof(WalArchive));
	st = arch_storage_list_names(storage, "wal/", &names, err);
	for (int i = 0; st == ARCH_OK && i < names.n; i++)
	{
		const char *file = strrchr(names.names[i], '/');
		ArchWalName wal;

		if (file == NULL || !arch_wal_parse(file + 1, &wal))
			continue;
		w->objects = pg_realloc(w->objects, sizeof(char *) * (w->nobjects + 1));
		w->objects[w->nobjects++] = pg_strdup(names.names[i]);
		if (wal.kind == ARCH_WAL_SEGMENT)
		{
			w->segs = pg_realloc(w->segs, sizeof(WalSegment) * (w->nsegs + 1));
			w->segs[w->nsegs].tli = wal.timeline;
			/* any size: log * 2^32 / size + seg, with the same size everywhere */
			w->segs[w->nsegs++].segno = ((uint64_t) wal.log << 32) | wal.seg;
		}
		else if (wal.kind == ARCH_WAL_TIMELINE_HISTORY)
		{
			ArchBuf		text = {0};
			WalHistory *h;

			st = arch_object_get_buf(storage, names.names[i], dopts, &text, err);
			if (st != ARCH_OK)
				break;
			w->hist = pg_realloc(w->hist, sizeof(WalHistory) * (w->nhist + 1));
			h = &w->hist[w->nhist++];
			memset(h, 0, sizeof(WalHistory));
			h->tli = wal.timeline;
			if (!history_parse(text.data, h))
				st = arch_error(err, ARCH_CORRUPT, "timeline history \"%s\" is not valid", names.names[i]);
			arch_buf_free(&text);
		}
	}
	arch_name_list_free(&names);
	if (w->nsegs > 1)
		qsort(w->segs, w->nsegs, sizeof(WalSegment), seg_cmp);
	if (st != ARCH_OK)
		wal_archive_free(w);
	return st;
}

void
wal_archive_free(WalArchive *w)
{
	for (int i = 0; i < w->nhist; i++)
	{
		pg_free(w->hist[i].parent);
		pg_free(w->hist[i].switch_lsn);
	}
	for (int i = 0; i < w->nobjects; i++)
		pg_free(w->objects[i]);
	pg_free(w->objects);
	pg_free(w->hist);
	pg_free(w->segs);
	memset(w, 0, sizeof(WalArchive));
}

/* Is segment (log/seg form, as stored in segs) of tli in the archive? */
static bool
has_segment(const WalArchive *w, uint32_t tli, uint64_t key)
{
	WalSegment	s = {tli, key};

	return bsearch(&s, w->segs, w->nsegs, sizeof(WalSegment), seg_cmp) != NULL;
}

/* The log/seg key of segment number segno, for segments of seg_size */
static uint64_t
segno_key(uint64_t segno, uint64_t seg_size)
{
	uint64_t	per_log = ((uint64_t) 1 << 32) / seg_size;

	return ((segno / per_log) << 32) | (segno % per_log);
}

static uint64_t
key_segno(uint64_t key, uint64_t seg_size)
{
	uint64_t	per_log = ((uint64_t) 1 << 32) / seg_size;

	return (key >> 32) * per_log + (key & 0xFFFFFFFF);
}

/*
 * The timeline segment s is read from: the first ancestor (from entry
 * "from" of chain on) whose switch point lies beyond s's start, else the
 * end timeline.
 */
static uint32_t
timeline_of(const WalHistory *chain, int from, uint32_t end_tli, uint64_t s,
			uint64_t seg_size)
{
	for (int k = from; chain && k < chain->n; k++)
		if (s < chain->switch_lsn[k] / seg_size)
			return chain->parent[k];
	return end_tli;
}

void
wal_archive_reach(const WalArchive *w, uint32_t tli, uint64_t start_segno,
				  uint64_t seg_size, WalReach *r)
{
	const WalHistory *chain = NULL;
	int			from = 0;
	uint64_t	end = 0;
	bool		have_end = false;

	memset(r, 0, sizeof(WalReach));
	r->end_tli = tli;
	/* the newest timeline that descends from tli */
	for (int i = 0; i < w->nhist; i++)
		for (int j = 0; j < w->hist[i].n; j++)
			if (w->hist[i].parent[j] == tli && w->hist[i].tli > r->end_tli &&
				w->hist[i].switch_lsn[j] / seg_size >= start_segno)
			{
				r->end_tli = w->hist[i].tli;
				chain = &w->hist[i];
				from = j;
			}

	/* the end: the last segment any of them holds within its own range */
	for (int i = 0; i < w->nsegs; i++)
	{
		uint64_t	s = key_segno(w->segs[i].segno, seg_size);

		if (s < start_segno)
			continue;
		if (timeline_of(chain, from, r->end_tli, s, seg_size) == w->segs[i].tli && (!have_end || s > end))
		{
			end = s;
			have_end = true;
		}
	}
	if (!have_end)
		return;
	r->end.segno = end;
	r->end.tli = timeline_of(chain, from, r->end_tli, end, seg_size);
	for (uint64_t s = start_segno; s <= end; s++)
	{
		uint32_t	want = timeline_of(chain, from, r->end_tli, s, seg_size);

		if (!has_segment(w, want, segno_key(s, seg_size)))
		{
			r->gap = true;
			r->missing.tli = want;
			r->missing.segno = s;
			return;
		}
		r->any = true;
		r->last.tli = want;
		r->last.segno = s;
	}
}
