#!/bin/bash
# test/bench.sh: `make bench`.  Installs the peers (sqitch, dbmate, pgbackrest,
# hyperfine), builds and installs dbops, then runs every benchmark in
# test/bench/*.sh, each of which runs dbops and its peer side by side in one
# run and prints times and ratios.  BENCH="migrations" runs only the named ones.
# Benchmarks report numbers; they never fail on a slow result.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
bash test/bootstrap.sh bench
make -s >/dev/null
if [ "$(id -u)" = 0 ]; then make -s install >/dev/null; fi
rc=0
for b in test/bench/*.sh; do
	name=$(basename "$b" .sh)
	if [ -n "${BENCH:-}" ] && ! echo " $BENCH " | grep -q " $name "; then continue; fi
	printf '\n==== benchmark: %s\n' "$name"
	bash "$b" || { echo "benchmark $name failed"; rc=1; }
done
exit $rc
