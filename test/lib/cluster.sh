# test/lib/cluster.sh: throwaway PostgreSQL clusters for the demo and the
# benchmarks (TAP tests use PostgreSQL::Test::Cluster instead).
#
# Source it, then:
#   cluster_start DIR [conf lines...]   initdb + start as postgres on a free
#                                       port; sets PGHOST, PGPORT, PGUSER
#   cluster_stop DIR                    fast shutdown of that cluster only
#   free_port                           print a TCP port nobody listens on
# Everything runs as the postgres OS user (initdb refuses root).

PG_BINDIR=${PG_BINDIR:-$(pg_config --bindir)}

as_postgres() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

free_port() {
	local port
	for port in $(shuf -i 20000-40000 -n 50); do
		if ! ss -Htln "sport = :$port" | grep -q .; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

cluster_start() {
	local dir=$1; shift
	local port
	port=$(free_port) || { echo "no free port" >&2; return 1; }
	mkdir -p "$dir"
	[ "$(id -u)" = 0 ] && chown postgres: "$dir"
	as_postgres "$PG_BINDIR/initdb" -D "$dir/data" -A trust -U postgres --no-locale -E UTF8 >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; return 1; }
	{
		echo "port = $port"
		echo "listen_addresses = '127.0.0.1'"
		echo "unix_socket_directories = '$dir'"
		for line in "$@"; do echo "$line"; done
	} >>"$dir/data/postgresql.conf"
	as_postgres "$PG_BINDIR/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null ||
		{ tail -20 "$dir/server.log" >&2; return 1; }
	export PGHOST=$dir PGPORT=$port PGUSER=postgres PGDATABASE=postgres
}

cluster_stop() {
	local dir=$1
	[ -f "$dir/data/postmaster.pid" ] &&
		as_postgres "$PG_BINDIR/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
	return 0
}

# cluster_private_install WORK: a copy of the PostgreSQL installation under
# WORK/install with this tree's dbops installed into it (PostgreSQL finds
# lib/ and share/ relative to its executable), and PG_BINDIR pointing there,
# so a benchmark measures this build even while another checkout installs
# its own into the system.
cluster_private_install() {
	local work=$1 d
	for d in "$(dirname "$PG_BINDIR")" "$(pg_config --sharedir)"; do
		mkdir -p "$work/install$(dirname "$d")"
		cp -a "$d" "$work/install$(dirname "$d")/"
	done
	make -s install DESTDIR="$work/install" >/dev/null
	PG_BINDIR=$work/install$PG_BINDIR
}
