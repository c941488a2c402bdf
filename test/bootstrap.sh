#!/bin/bash
# test/bootstrap.sh: install what `make demo`, `make test` or `make bench`
# needs on Debian 12, and nothing that is already there.
#
# Usage: test/bootstrap.sh demo|test|bench
# Packages come from Debian; the Node tools (Azurite, dbmate, squawk) from
# npm into test/node_modules, pinned in test/package.json.  Must run as root
# when something is missing; says what is missing otherwise.
set -u
mode=${1:-test}
here=$(cd "$(dirname "$0")" && pwd)

# Build and run dbops at all (the demo needs nothing more); libpq-dev for
# the dbops client, libyaml-dev for Hasura metadata directories.
pkgs="postgresql-15 postgresql-server-dev-15 make gcc libc6-dev libpq-dev libyaml-dev
      libcurl4-openssl-dev libssl-dev libzstd-dev zstd curl ca-certificates iproute2"
npm_needed=no
case "$mode" in
	demo) ;;
	test)
		# TAP harness, object stores (Ceph RGW, Azurite), oracles, memory checks;
		# clang-14 builds the helper's fuzzers and sanitized unit tests, and its
		# libFuzzer and sanitizer runtimes come in libclang-rt-14-dev, which
		# clang-14 only recommends (and --no-install-recommends skips)
		pkgs="$pkgs libipc-run-perl radosgw ceph-mon ceph-osd awscli jq valgrind openssl python3
		      clang-14 libclang-rt-14-dev"
		npm_needed=yes ;;
	bench)
		# the backup benchmark also runs against Ceph RGW
		pkgs="$pkgs libipc-run-perl pgbackrest sqitch hyperfine time radosgw ceph-mon ceph-osd"
		npm_needed=yes ;;
	*) echo "usage: $0 demo|test|bench" >&2; exit 2 ;;
esac

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $p"
done
# Debian's npm conflicts with a nodejs that already ships npm (nodesource):
# ask for nodejs and npm only when there is no npm at all.
if [ "$npm_needed" = yes ] && ! command -v npm >/dev/null 2>&1; then
	missing="$missing nodejs npm"
fi

if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "bootstrap: missing packages:$missing" >&2
		echo "bootstrap: run as root, or: apt-get install -y$missing" >&2
		exit 1
	fi
	echo "bootstrap: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get -qq -o Dpkg::Use-Pty=0 update &&
	apt-get -qq -o Dpkg::Use-Pty=0 install -y --no-install-recommends $missing >/dev/null ||
		{ echo "bootstrap: apt-get install failed" >&2; exit 1; }
fi

if [ "$npm_needed" = yes ]; then
	# npm's lock file pins exact versions; install only when the tree is absent
	# or older than package.json.
	if [ ! -d "$here/node_modules" ] || [ "$here/package.json" -nt "$here/node_modules" ]; then
		echo "bootstrap: installing npm packages into test/node_modules"
		(cd "$here" && npm install --no-audit --no-fund --loglevel=error >/dev/null) ||
			{ echo "bootstrap: npm install failed" >&2; exit 1; }
		touch "$here/node_modules"
	fi
fi
exit 0
