#!/bin/bash
# test/bench/lock_impact.sh: what a migration that waits for a lock does to
# the other sessions, with and without lock-safe apply.
#
# pgbench reads and writes pgbench_accounts (1M rows, scale 10) from 4
# clients; a long transaction holds an ACCESS SHARE lock on that table for
# HOLD seconds; one second in, the dbops client applies a migration that
# adds a column to it, which needs ACCESS EXCLUSIVE.  Without a lock timeout
# the migration's lock request queues behind the long transaction and every
# query of pgbench queues behind the request; with --lock-timeout each try
# gives up after the timeout, the batch rolls back and backs off, so the
# queue never lasts longer than a try.  pgbench runs at a fixed rate (-R), so
# a latency counts from when a transaction was due, not from when a blocked
# client got round to it: a stall shows in every transaction it delays.
# Printed: transactions per second and latency percentiles of pgbench over
# the whole run, per case, next to a run with no migration at all.  Nothing
# fails on a slow result.
#
# Environment: HOLD (5 s), TIMEOUT (200ms), SECONDS_RUN (12), RATE (400 tps).
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
cd "$src"
. test/lib/cluster.sh

HOLD=${HOLD:-5}
TIMEOUT=${TIMEOUT:-200ms}
SECONDS_RUN=${SECONDS_RUN:-12}
RATE=${RATE:-400}

work=$(mktemp -d /tmp/dbops-bench-locks.XXXXXX)
chmod 755 "$work"
trap 'cluster_stop "$work/pg"; rm -rf "$work"' EXIT

# The server (and the dbops client) run from a private copy of the
# installation with this tree's dbops (test/lib/cluster.sh).
cluster_private_install "$work"

cluster_start "$work/pg" "shared_preload_libraries = 'dbops'" >/dev/null
psql_q() { "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
"$PG_BINDIR/pgbench" -q -i -s 10 >/dev/null 2>&1
psql_q -c 'CREATE EXTENSION dbops' -c 'VACUUM ANALYZE pgbench_accounts'

cat >"$work/load.sql" <<'EOF'
\set aid random(1, 1000000)
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;
EOF
mkdir -p "$work/migrations/1_add_note"
echo 'ALTER TABLE pgbench_accounts ADD COLUMN note text;' >"$work/migrations/1_add_note/up.sql"
echo 'ALTER TABLE pgbench_accounts DROP COLUMN note;' >"$work/migrations/1_add_note/down.sql"

# "tps p50 p99 max" of the per-transaction logs with prefix $1 (latency in
# microseconds is the third field), over the whole run
summary() {
	cat "$1".* | awk -v secs="$SECONDS_RUN" '{ print $3 }' | sort -n |
		awk -v secs="$SECONDS_RUN" '{ v[NR] = $1 } END {
			printf "%8.0f %10.1f %10.1f %10.1f", NR / secs, v[int(NR * 0.5)] / 1000,
				v[int(NR * 0.99)] / 1000, v[NR] / 1000 }'
}

# run CASE [dbops options...]: pgbench for SECONDS_RUN s; unless CASE is
# "none", a long transaction and the migration as described above.
run() {
	local name=$1 holder=
	shift
	rm -f "$work"/pgb_"$name".*
	"$PG_BINDIR/pgbench" -n -c 4 -j 2 -R "$RATE" -T "$SECONDS_RUN" -f "$work/load.sql" \
		-l --log-prefix="$work/pgb_$name" >/dev/null 2>"$work/pgbench_$name.err" &
	local load=$!
	if [ "$name" != none ]; then
		psql_q -c "BEGIN; SELECT count(*) FROM pgbench_accounts WHERE aid = 1; SELECT pg_sleep($HOLD); COMMIT;" >/dev/null &
		holder=$!
		sleep 1
		local t0=$EPOCHREALTIME
		"$PG_BINDIR/dbops" migrate apply "$work/migrations" "$@" >/dev/null 2>"$work/dbops_$name.err" ||
			{ echo "migration failed:"; cat "$work/dbops_$name.err"; }
		wait "$holder"
		printf '  %-22s migration took %5.1f s, %d waits reported\n' "$name" \
			"$(awk -v a="$EPOCHREALTIME" -v b="$t0" 'BEGIN { print a - b }')" \
			"$(grep -c 'waited' "$work/dbops_$name.err" || true)"
		"$PG_BINDIR/dbops" migrate rollback >/dev/null 2>&1
	fi
	wait "$load"
	RESULT[$name]=$(summary "$work/pgb_$name")
}

declare -A RESULT
echo "machine: $(nproc) cores, PostgreSQL $(psql_q -Atc 'SHOW server_version'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "pgbench: 4 clients at $RATE tps for ${SECONDS_RUN} s, read + update of pgbench_accounts (1M rows); long transaction: ${HOLD} s"
run none
run without_lock_timeout
run "lock_timeout_$TIMEOUT" --lock-timeout "$TIMEOUT" --lock-retries 100
echo
printf '  %-28s %8s %10s %10s %10s\n' case tps 'p50 ms' 'p99 ms' 'max ms'
for name in none without_lock_timeout "lock_timeout_$TIMEOUT"; do
	printf '  %-28s %s\n' "$name" "${RESULT[$name]}"
done
