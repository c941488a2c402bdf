/*-------------------------------------------------------------------------
 *
 * archive_status.c
 *		Health of WAL archiving in SQL (dbops.archive_status()), and the
 *		WARNING the launcher logs when archiving has been failing longer
 *		than dbops.archive_warn_after.
 *
 * Three sources, one row:
 *	- pg_stat_archiver: the last file archived and the last failure.  A
 *	  segment that dbops_archive dropped because of archive-push-queue-max
 *	  counts as archived there, since the command succeeded.
 *	- pg_wal/archive_status: the files waiting (.ready), their bytes, and
 *	  the lag: WAL written since the oldest segment not yet archived
 *	  began, and how long that segment has waited.
 *	- dbops_archive's status file (dbops.archive_status_file, the helper's
 *	  setting status-file): what was really stored last, what was dropped,
 *	  the last base backup.  Format: a comment line, then "key = value"
 *	  lines, times in UTC as 2026-12-04T08:15:00Z; a key missing means
 *	  never.  Keys this file does not know are left alone, so a newer
 *	  helper keeps working; a line that is not "key = value" is an error.
 *
 * The result has numbers, timestamps, booleans and text only, which
 * postgres_exporter turns into metrics (text as labels) as it stands.
 *
 * src/archive_status.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>
#include <sys/stat.h>

#include "access/htup_details.h"
#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "archive_status.h"

PG_FUNCTION_INFO_V1(dbops_archive_status);

/* The most of a status file that is read; the helper writes ~300 bytes */
#define STATUS_FILE_MAX 65536

static char *archive_status_file = NULL;
static int	archive_warn_after = 300;

/* Columns of dbops.archive_status() */
enum
{
	COL_LAST_ARCHIVED_WAL,
	COL_LAST_ARCHIVED_TIME,
	COL_ARCHIVED_COUNT,
	COL_LAST_FAILED_WAL,
	COL_LAST_FAILED_TIME,
	COL_FAILED_COUNT,
	COL_FAILING,
	COL_LAST_FAILURE_MESSAGE,
	COL_READY_COUNT,
	COL_READY_BYTES,
	COL_LAG_BYTES,
	COL_LAG_SECONDS,
	COL_LAST_PUSHED_WAL,
	COL_LAST_PUSHED_TIME,
	COL_DROPPED_COUNT,
	COL_LAST_DROPPED_WAL,
	COL_LAST_DROPPED_TIME,
	COL_LAST_BACKUP_NAME,
	COL_LAST_BACKUP_TIME,
	COL_WINDOW_START,
	COL_WINDOW_END,
	NUM_COLS
};

/* The status file's keys this reads, and the column each fills */
static const struct
{
	const char *key;
	int			column;
	bool		is_time;
}			status_keys[] =
{
	{"last-push-name", COL_LAST_PUSHED_WAL, false},
	{"last-push-time", COL_LAST_PUSHED_TIME, true},
	{"last-drop-name", COL_LAST_DROPPED_WAL, false},
	{"last-drop-time", COL_LAST_DROPPED_TIME, true},
	{"drop-count", COL_DROPPED_COUNT, false},
	{"last-failure-message", COL_LAST_FAILURE_MESSAGE, false},
	{"last-backup-name", COL_LAST_BACKUP_NAME, false},
	{"last-backup-time", COL_LAST_BACKUP_TIME, true},
};

void
archive_status_init(void)
{
	DefineCustomStringVariable("dbops.archive_status_file",
							   "Status file that dbops_archive writes (its setting status-file), read by dbops.archive_status().",
							   "Empty: dbops.archive_status() reports from pg_stat_archiver and pg_wal only.",
							   &archive_status_file,
							   "",
							   PGC_SIGHUP, 0,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("dbops.archive_warn_after",
							"How long WAL archiving may fail before the dbops launcher logs a WARNING.",
							"0 turns the warning off.",
							&archive_warn_after,
							300, 0, INT_MAX / 1000,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);
}

/* Has archiving failed since it last succeeded? */
static bool
archiver_failing(PgStat_ArchiverStats *stats)
{
	return stats->last_failed_timestamp != 0 &&
		stats->last_failed_timestamp > stats->last_archived_timestamp;
}

/*
 * The files waiting in pg_wal/archive_status: how many, their bytes, the
 * oldest segment among them (or 0) and when it became ready (or 0).
 */
static void
scan_ready(int64 *count, int64 *bytes, XLogSegNo *oldest, TimestampTz *since)
{
	const char *dirname = XLOGDIR "/archive_status";
	DIR		   *dir = AllocateDir(dirname);
	struct dirent *de;

	*count = *bytes = 0;
	*oldest = 0;
	*since = 0;
	while ((de = ReadDir(dir, dirname)) != NULL)
	{
		size_t		len = strlen(de->d_name);
		char	   *name;
		struct stat st;

		if (len <= 6 || strcmp(de->d_name + len - 6, ".ready") != 0)
			continue;
		name = pnstrdup(de->d_name, len - 6);
		(*count)++;
		if (IsXLogFileName(name))
		{
			TimeLineID	tli;
			XLogSegNo	segno;

			XLogFromFileName(name, &tli, &segno, wal_segment_size);
			*bytes += wal_segment_size;
			if (*oldest == 0 || segno < *oldest)
				*oldest = segno;
		}
		else if (stat(psprintf(XLOGDIR "/%s", name), &st) == 0)
			*bytes += st.st_size;
		if (stat(psprintf("%s/%s", dirname, de->d_name), &st) == 0)
		{
			TimestampTz t = time_t_to_timestamptz(st.st_mtime);

			if (*since == 0 || t < *since)
				*since = t;
		}
	}
	FreeDir(dir);
}

/* A time of the status file, line lineno, as a timestamptz */
static Datum
status_time(const char *value, int lineno)
{
	Datum		result = (Datum) 0;
	MemoryContext oldcxt = CurrentMemoryContext;

	PG_TRY();
	{
		result = DirectFunctionCall3(timestamptz_in, CStringGetDatum(value),
									 ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		FlushErrorState();
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid time \"%s\" in line %d of archive status file \"%s\"",
						value, lineno, archive_status_file)));
	}
	PG_END_TRY();
	return result;
}

/*
 * Fill the status file's columns of values/nulls.  No file configured, or
 * none written yet, leaves them NULL.
 */
static void
read_status_file(Datum *values, bool *nulls)
{
	struct stat st;
	FILE	   *f;
	char	   *buf;
	size_t		len;
	char	   *line;
	char	   *next;
	int			lineno = 0;

	if (archive_status_file == NULL || archive_status_file[0] == '\0')
		return;
	if (stat(archive_status_file, &st) != 0)
	{
		if (errno == ENOENT)
			return;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat archive status file \"%s\": %m", archive_status_file)));
	}
	if (!S_ISREG(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("archive status file \"%s\" is not a regular file", archive_status_file)));
	f = AllocateFile(archive_status_file, "r");
	if (f == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open archive status file \"%s\": %m", archive_status_file)));
	buf = palloc(STATUS_FILE_MAX + 1);
	len = fread(buf, 1, STATUS_FILE_MAX + 1, f);
	if (ferror(f) || len > STATUS_FILE_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("could not read archive status file \"%s\"", archive_status_file),
				 errdetail("It must be a readable file of at most %d bytes.", STATUS_FILE_MAX)));
	FreeFile(f);
	buf[len] = '\0';

	for (line = buf; line != NULL && *line != '\0'; line = next)
	{
		char	   *eq;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		lineno++;
		if (line[0] == '\0' || line[0] == '#')
			continue;
		eq = strstr(line, " = ");
		if (eq == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("invalid line %d in archive status file \"%s\"",
							lineno, archive_status_file),
					 errdetail("Lines are \"key = value\" or comments.")));
		*eq = '\0';
		for (int k = 0; k < lengthof(status_keys); k++)
		{
			int			col = status_keys[k].column;
			const char *value = eq + 3;

			if (strcmp(line, status_keys[k].key) != 0)
				continue;
			if (status_keys[k].is_time)
				values[col] = status_time(value, lineno);
			else if (col == COL_DROPPED_COUNT)
				values[col] = DirectFunctionCall1(int8in, CStringGetDatum(value));
			else
				values[col] = CStringGetTextDatum(value);
			nulls[col] = false;
		}
	}
}

/*
 * dbops.archive_status(): one row on the health of WAL archiving (see the
 * file header; the README lists the columns).
 */
Datum
dbops_archive_status(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[NUM_COLS] = {0};
	bool		nulls[NUM_COLS];
	PgStat_ArchiverStats *stats;
	int64		ready_count;
	int64		ready_bytes;
	XLogSegNo	oldest;
	TimestampTz since;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	memset(nulls, true, sizeof(nulls));

	stats = pgstat_fetch_stat_archiver();
	if (stats->last_archived_wal[0] != '\0')
	{
		values[COL_LAST_ARCHIVED_WAL] = CStringGetTextDatum(stats->last_archived_wal);
		values[COL_LAST_ARCHIVED_TIME] = TimestampTzGetDatum(stats->last_archived_timestamp);
		nulls[COL_LAST_ARCHIVED_WAL] = nulls[COL_LAST_ARCHIVED_TIME] = false;
	}
	if (stats->last_failed_wal[0] != '\0')
	{
		values[COL_LAST_FAILED_WAL] = CStringGetTextDatum(stats->last_failed_wal);
		values[COL_LAST_FAILED_TIME] = TimestampTzGetDatum(stats->last_failed_timestamp);
		nulls[COL_LAST_FAILED_WAL] = nulls[COL_LAST_FAILED_TIME] = false;
	}
	values[COL_ARCHIVED_COUNT] = Int64GetDatum(stats->archived_count);
	values[COL_FAILED_COUNT] = Int64GetDatum(stats->failed_count);
	values[COL_FAILING] = BoolGetDatum(archiver_failing(stats));
	nulls[COL_ARCHIVED_COUNT] = nulls[COL_FAILED_COUNT] = nulls[COL_FAILING] = false;

	scan_ready(&ready_count, &ready_bytes, &oldest, &since);
	values[COL_READY_COUNT] = Int64GetDatum(ready_count);
	values[COL_READY_BYTES] = Int64GetDatum(ready_bytes);
	values[COL_LAG_SECONDS] = Float8GetDatum(since == 0 ? 0.0 :
											 (GetCurrentTimestamp() - since) / 1000000.0);
	nulls[COL_READY_COUNT] = nulls[COL_READY_BYTES] = nulls[COL_LAG_SECONDS] = false;

	/* WAL written since the oldest segment not archived yet began */
	if (XLogArchivingActive() && !RecoveryInProgress())
	{
		XLogRecPtr	insert = GetXLogInsertRecPtr();
		XLogRecPtr	start;

		if (oldest == 0)
			XLByteToSeg(insert, oldest, wal_segment_size);
		XLogSegNoOffsetToRecPtr(oldest, 0, wal_segment_size, start);
		values[COL_LAG_BYTES] = Int64GetDatum(insert > start ? insert - start : 0);
		nulls[COL_LAG_BYTES] = false;
	}

	read_status_file(values, nulls);

	/*
	 * The window the newest backup can recover: from it to the last segment
	 * stored, or to a segment dropped after it, where recovery would stop.
	 */
	if (!nulls[COL_LAST_BACKUP_TIME])
	{
		values[COL_WINDOW_START] = values[COL_LAST_BACKUP_TIME];
		nulls[COL_WINDOW_START] = false;
		if (!nulls[COL_LAST_DROPPED_TIME] &&
			DatumGetTimestampTz(values[COL_LAST_DROPPED_TIME]) >
			DatumGetTimestampTz(values[COL_LAST_BACKUP_TIME]))
		{
			values[COL_WINDOW_END] = values[COL_LAST_DROPPED_TIME];
			nulls[COL_WINDOW_END] = false;
		}
		else if (!nulls[COL_LAST_PUSHED_TIME])
		{
			values[COL_WINDOW_END] = values[COL_LAST_PUSHED_TIME];
			nulls[COL_WINDOW_END] = false;
		}
	}

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc),
													  values, nulls)));
}

/*
 * The launcher, every loop: when archiving has been failing (failed since
 * it last succeeded) for dbops.archive_warn_after, counted from the first
 * failure the launcher saw, log a WARNING once, and a LOG line when it
 * works again.  One launcher per cluster: the WARNING is logged once.
 */
void
archive_status_watch(void)
{
	static TimestampTz failing_since = 0;
	static bool warned = false;
	PgStat_ArchiverStats *stats;

	/* the launcher has no transaction to end the statistics snapshot */
	pgstat_clear_snapshot();
	stats = pgstat_fetch_stat_archiver();
	if (!archiver_failing(stats))
	{
		if (warned)
			ereport(LOG,
					(errmsg("WAL archiving works again: \"%s\" was archived",
							stats->last_archived_wal)));
		failing_since = 0;
		warned = false;
		return;
	}
	if (failing_since == 0)
		failing_since = stats->last_failed_timestamp;
	if (warned || archive_warn_after <= 0 ||
		!TimestampDifferenceExceeds(failing_since, GetCurrentTimestamp(),
									archive_warn_after * 1000))
		return;
	ereport(WARNING,
			(errcode(ERRCODE_SYSTEM_ERROR),
			 errmsg("WAL archiving has been failing for more than %d seconds", archive_warn_after),
			 errdetail("The last failure was for \"%s\" at %s; %lld failures so far.",
					   stats->last_failed_wal,
					   timestamptz_to_str(stats->last_failed_timestamp),
					   (long long) stats->failed_count),
			 errhint("See the archive_command's messages in the server log and dbops.archive_status().")));
	warned = true;
}
