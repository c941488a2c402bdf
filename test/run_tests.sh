#!/bin/bash
# test/run_tests.sh: `make test`.  Builds dbops with warnings as errors,
# installs it into a private copy of the PostgreSQL installation (so the
# system's files are never touched by a test run, and two checkouts can test
# side by side), then runs every suite as the postgres user (initdb refuses
# root) on a copy of the tree that user can write:
#   regress  pg_regress, sql/*.sql against expected/*.out
#   fuzz     the helper's C unit tests under AddressSanitizer and
#            UndefinedBehaviorSanitizer, then a short seeded run of each of
#            its fuzzers (clang-14)
#   tap      prove test/t/*.pl (PostgreSQL::Test::Cluster)
# Environment: SUITES="regress tap" picks suites; PROVE_TESTS="test/t/010_x.pl"
# picks TAP files; KEEP=1 keeps the work directory for inspection.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
bash test/bootstrap.sh test || exit 1

suites=${SUITES:-regress unit fuzz tap}
export COPT="-Wextra -Wno-unused-parameter -Wno-sign-compare -Wno-missing-field-initializers -Werror"
make -s >/dev/null || { echo "make test: build failed" >&2; exit 1; }

bindir=$(pg_config --bindir)
sharedir=$(pg_config --sharedir)
pkglibdir=$(pg_config --pkglibdir)
pgxs_dir=$(cd "$(dirname "$(pg_config --pgxs)")/../.." && pwd)

# TMPDIR must be a directory the postgres user can write to (pg_regress
# puts its socket there too)
work=$(mktemp -d "${TMPDIR:-/tmp}/dbops-test.XXXXXX")
chmod 755 "$work"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT

# PostgreSQL finds share/ and lib/ relative to its own executable, so a copy
# of the installation plus `make install DESTDIR=` is a self-contained server.
inst=$work/install
mkdir -p "$inst$(dirname "$bindir")" "$inst$(dirname "$sharedir")"
cp -a "$(dirname "$bindir")/." "$inst$(dirname "$bindir")/"
cp -a "$sharedir" "$inst$(dirname "$sharedir")/"
make -s install DESTDIR="$inst" >/dev/null || { echo "make test: install failed" >&2; exit 1; }
ibin=$inst$bindir

# The tests write into the tree (results/, tmp_check/): give postgres a copy.
tree=$work/tree
mkdir "$tree"
tar -C "$src" --exclude=.git --exclude=tmp_check --exclude=tmp_regress -cf - . | tar -C "$tree" -xf -
as_pg() {
	if [ "$(id -u)" = 0 ]; then
		chown -R postgres: "$work"
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}
export PATH="$ibin:$PATH" PG_REGRESS="$pgxs_dir/src/test/regress/pg_regress"
export DBOPS_SRC="$tree" TESTDIR="$tree/test" PGHOST= PGPORT=

failed=""
for suite in $suites; do
	case "$suite" in
	regress)
		tests=$(cd "$tree/sql" && ls *.sql | grep -v '^dbops--' | sed 's/\.sql$//' | sort)
		echo "== pg_regress: $(echo $tests | wc -w) tests"
		if ! (cd "$tree" && as_pg "$PG_REGRESS" --bindir="$ibin" --inputdir=. \
				--temp-instance=./tmp_regress --temp-config=test/dbops.conf \
				--no-locale --encoding=UTF8 --load-extension=dbops --dbname=contrib_regression $tests </dev/null); then
			failed="$failed regress"
			[ -f "$tree/regression.diffs" ] && cat "$tree/regression.diffs"
		fi ;;
	unit)
		# C unit tests of the helper's pure parts, TAP output, if any exist
		if [ -d "$tree/archive_helper/test" ]; then
			echo "== unit tests (archive_helper/test)"
			if ! (cd "$tree/archive_helper" && as_pg make -s unit-test </dev/null); then
				failed="$failed unit"
			fi
		fi ;;
	fuzz)
		echo "== sanitizers and fuzz smoke (archive_helper)"
		# clang compiles the helper again: it needs the system's pg_config for
		# the server headers (the private installation's has none)
		if ! (cd "$tree/archive_helper" &&
				as_pg make -s PG_CONFIG="$bindir/pg_config" unit-test-asan fuzz-smoke </dev/null); then
			failed="$failed fuzz"
		fi ;;
	tap)
		files=${PROVE_TESTS:-$(cd "$tree" && ls test/t/*.pl)}
		echo "== TAP: $(echo $files | wc -w) files"
		if ! (cd "$tree" && as_pg prove -I "$pgxs_dir/src/test/perl" -I test/perl $files </dev/null); then
			failed="$failed tap"
			for f in "$tree"/test/tmp_check/log/regress_log_*; do
				[ -f "$f" ] && grep -qE '^not ok|Bail out|died' "$f" && { echo "--- $f"; tail -n 60 "$f"; }
			done
		fi ;;
	*) echo "make test: unknown suite $suite" >&2; failed="$failed $suite" ;;
	esac
done

if [ -n "$failed" ]; then
	echo "make test: FAILED:$failed"
	[ -n "${KEEP:-}" ] && echo "work directory kept: $work"
	exit 1
fi
echo "make test: all suites passed ($suites)"
