# test/lib/timing.sh: timing helpers of the benchmarks that run SQL files
# on fresh copies of one template database.  Source it after cluster.sh,
# with $psql set to the psql command line.
#
#   now_ms                        milliseconds since the epoch
#   median                        the median of the numbers on stdin
#   time_ms DB FILE [again]       psql -1 -f FILE on DB, in ms; DB is first
#                                 made a fresh copy of bench_template (not
#                                 timed) unless the third argument is "again"

now_ms() { date +%s%3N; }

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

time_ms() {
	local db=$1 file=$2 t0 t1
	[ "${3:-}" = again ] ||
		$psql -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db TEMPLATE bench_template" >/dev/null
	t0=$(now_ms)
	$psql -1 -d "$db" -f "$file" >/dev/null
	t1=$(now_ms)
	echo $((t1 - t0))
}
