#!/bin/bash
# test/lib/object_stores.sh: private object stores for the archive tests.
#
# The S3 driver is tested against Ceph RGW (a real server that checks SigV4
# signatures, payload hashes and multipart rules) and the Azure driver
# against Azurite (which checks SharedKey and SAS).  Each test file starts
# its own servers in a directory of its own, on free ports of 127.0.0.1,
# and stops them through the PID files written here, never by name.
#
# Usage (as a command; each start prints the store's settings as
# name=value lines, also kept in DIR/store.env):
#   object_stores.sh rgw-start DIR [--tls] [BUCKET...]
#   object_stores.sh rgw-stop-gateway DIR     stop radosgw only (data kept)
#   object_stores.sh rgw-start-gateway DIR    start it again on the same ports
#   object_stores.sh azurite-start DIR [--tls] [CONTAINER...]
#   object_stores.sh azurite-stop-gateway DIR / azurite-start-gateway DIR
#   object_stores.sh stop DIR                 stop everything started in DIR
# RGW's DNS name is "localhost": curl resolves every *.localhost name to
# 127.0.0.1 by itself, so virtual-host URLs (http://BUCKET.localhost:PORT/)
# work without a resolver entry, and path-style URLs use 127.0.0.1 or
# localhost.  RGW keeps its objects in memory (memstore): a stopped gateway keeps them,
# a full stop loses them.  Azurite keeps them in DIR.
#
# Needs: radosgw ceph-mon ceph-osd (Debian), Azurite in test/node_modules,
# curl, openssl, ss.
set -u

os_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
os_azurite_bin=$os_here/../node_modules/.bin/azurite-blob
# The account and key every Azurite knows; not a secret.
os_az_account=devstoreaccount1
os_az_key='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
os_az_version=2021-08-06

os_fail() {
	echo "object_stores: $*" >&2
	exit 1
}

os_port_busy() {
	ss -Htln "sport = :$1" | grep -q .
}

# Print the first port of COUNT consecutive free ports, picked at random so
# that test files running side by side rarely collide.
os_free_ports() {
	local count=$1 base p ok
	for base in $(shuf -i 20000-45000 -n 100); do
		ok=1
		for ((p = base; p < base + count; p++)); do
			if os_port_busy "$p"; then
				ok=0
				break
			fi
		done
		[ $ok = 1 ] && { echo "$base"; return 0; }
	done
	return 1
}

# Wait until URL answers anything over HTTP(S) (a 403 counts: it is up).
os_wait_http() {
	local url=$1 seconds=$2 end=$((SECONDS + $2))
	while [ $SECONDS -lt $end ]; do
		curl -sk -o /dev/null --max-time 2 "$url" && return 0
		sleep 0.2
	done
	echo "object_stores: $url did not answer within ${seconds} s" >&2
	return 1
}

# Is the process in FILE running?  After os_wait_http it tells our server
# from another one that took the port in between.
os_alive() {
	[ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null && return 0
	echo "object_stores: the server of $1 is not running" >&2
	return 1
}

# TERM the process in FILE, wait up to 10 s, then KILL it; remove FILE.
os_stop_pidfile() {
	local file=$1 pid i
	[ -s "$file" ] || return 0
	pid=$(cat "$file")
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null
		for i in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
	fi
	rm -f "$file"
}

# A self-signed certificate for 127.0.0.1 and localhost, so TLS tests can
# show that verification is on by default and that a CA file fixes it.
os_make_cert() {
	local dir=$1
	mkdir -p "$dir"
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=localhost" \
		-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
		-keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null ||
		os_fail "could not create a certificate in $dir"
	chmod 644 "$dir/cert.pem"
}

# Split "[--tls] NAME..." into os_tls (0 or 1) and the array os_names.
os_parse_args() {
	local arg
	os_tls=0
	os_names=()
	for arg in "$@"; do
		case "$arg" in
		--tls) os_tls=1 ;;
		*) os_names+=("$arg") ;;
		esac
	done
}

os_write_env() {
	local dir=$1
	shift
	printf '%s\n' "$@" >"$dir/store.env"
	cat "$dir/store.env"
}

os_env_get() {
	sed -n "s/^$2=//p" "$1/store.env"
}

# ---------------------------------------------------------------- Ceph RGW

# A one-node RADOS cluster (one monitor, one memstore OSD, no cephx inside
# it) under DIR, and radosgw in front of it.  Ceph has no ready-made
# single-node starter in Debian's packages, so it is assembled by hand.
# A cold start takes about 16 s.  A failed start (a port taken in
# between, a start-up race) is tried once more on fresh ports.
rgw_start() {
	local dir=$1
	shift
	os_parse_args "$@"
	rgw_start_once "$dir" $os_tls "${os_names[@]}" && return 0
	echo "object_stores: RGW did not start, trying once more; its logs ended with:" >&2
	tail -n 3 "$dir"/log/*.log >&2
	os_stop "$dir"
	rgw_start_once "$dir" $os_tls "${os_names[@]}" && return 0
	tail -n 3 "$dir"/log/*.log >&2
	os_stop "$dir"
	os_fail "could not start RGW (see $dir/log)"
}

rgw_start_once() {
	local dir=$1 tls=$2
	shift 2
	local base fsid uuid id frontends key secret b
	# Ports: base = HTTP, +1 = HTTPS, +2 = monitor, +3..+12 = the OSD's
	# messenger ports (it binds several).
	base=$(os_free_ports 13) || { echo "object_stores: no 13 free consecutive ports" >&2; return 1; }
	rm -rf "$dir"
	mkdir -p "$dir"/run "$dir"/log "$dir"/mon/a "$dir"/osd/0
	frontends="beast endpoint=127.0.0.1:$base"
	if [ $tls = 1 ]; then
		os_make_cert "$dir/tls"
		frontends="$frontends ssl_endpoint=127.0.0.1:$((base + 1)) ssl_certificate=$dir/tls/cert.pem ssl_private_key=$dir/tls/key.pem"
	fi
	fsid=$(cat /proc/sys/kernel/random/uuid)
	# The monitor address needs the explicit v1 form: a plain host:port
	# makes the OSD loop on "Address family not supported".
	cat >"$dir/ceph.conf" <<EOF
[global]
fsid = $fsid
mon host = [v1:127.0.0.1:$((base + 2))]
mon initial members = a
public network = 127.0.0.0/8
ms bind msgr2 = false
ms bind port min = $((base + 3))
ms bind port max = $((base + 12))
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon warn on pool no redundancy = false
mon data avail crit = 0
osd crush chooseleaf type = 0
osd class update on start = false
osd crush update on start = false
osd objectstore = memstore
memstore device bytes = 2147483648
run dir = $dir/run
admin socket = $dir/run/\$name.asok
pid file = $dir/run/\$name.pid
log file = $dir/log/\$name.log
keyring = $dir/keyring
mon data = $dir/mon/\$id
osd data = $dir/osd/\$id
[client.rgw.a]
rgw frontends = $frontends
rgw data = $dir/rgw
rgw dns name = localhost
EOF
	local conf=(-c "$dir/ceph.conf")
	ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null &&
		ceph-authtool "$dir/keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' >/dev/null &&
		monmaptool --create --addv a "[v1:127.0.0.1:$((base + 2))]" --fsid "$fsid" "$dir/monmap" >/dev/null &&
		ceph-mon "${conf[@]}" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/keyring" &&
		ceph-mon "${conf[@]}" -i a || return 1
	uuid=$(cat /proc/sys/kernel/random/uuid)
	id=$(timeout 60 ceph "${conf[@]}" osd new "$uuid") || return 1
	# The OSD would place itself in the CRUSH map at start, but Ceph 16
	# sometimes sends those commands before it knows the cluster's fsid,
	# and the monitor refuses them ("wrong fsid"): place it from here.
	timeout 60 ceph "${conf[@]}" osd crush add "osd.$id" 1.0 root=default host=localhost \
		>/dev/null 2>&1 || return 1
	ceph-osd "${conf[@]}" -i "$id" --mkfs --osd-uuid "$uuid" >/dev/null 2>&1 &&
		ceph-osd "${conf[@]}" -i "$id" </dev/null >/dev/null 2>&1 || return 1
	for _ in $(seq 120); do
		timeout 10 ceph "${conf[@]}" osd stat 2>/dev/null | grep -q '1 up' && break
		sleep 0.5
	done
	rgw_start_gateway "$dir" "$base" || return 1
	key=dbopsaccess$RANDOM
	secret=$(openssl rand -hex 20)
	radosgw-admin "${conf[@]}" user create --uid=dbops --display-name=dbops \
		--access-key="$key" --secret-key="$secret" >/dev/null 2>&1 || return 1
	for b in "$@"; do
		curl -sS -f -o /dev/null --aws-sigv4 "aws:amz:us-east-1:s3" --user "$key:$secret" \
			-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -X PUT "http://127.0.0.1:$base/$b" || return 1
	done
	os_write_env "$dir" "endpoint=http://127.0.0.1:$base" "port=$base" \
		"host_endpoint=http://localhost:$base" \
		"tls_endpoint=$([ $tls = 1 ] && echo "https://localhost:$((base + 1))")" \
		"ca_file=$([ $tls = 1 ] && echo "$dir/tls/cert.pem")" \
		"access_key=$key" "secret_key=$secret" "region=us-east-1"
}

# radosgw daemonizes and writes run/client.rgw.a.pid itself.
rgw_start_gateway() {
	local dir=$1 port=${2:-$(os_env_get "$1" port)}
	radosgw -c "$dir/ceph.conf" -n client.rgw.a || return 1
	os_wait_http "http://127.0.0.1:$port/" 120 && os_alive "$dir/run/client.rgw.a.pid"
}

rgw_stop_gateway() {
	os_stop_pidfile "$1/run/client.rgw.a.pid"
}

# ---------------------------------------------------------------- Azurite

azurite_start() {
	local dir=$1
	shift
	local port c scheme=http
	os_parse_args "$@"
	[ -x "$os_azurite_bin" ] || os_fail "Azurite is not installed (run test/bootstrap.sh test)"
	port=$(os_free_ports 1) || os_fail "no free port"
	rm -rf "$dir"
	mkdir -p "$dir/data"
	if [ $os_tls = 1 ]; then
		os_make_cert "$dir/tls"
		scheme=https
	fi
	os_write_env "$dir" "endpoint=$scheme://127.0.0.1:$port/$os_az_account" "port=$port" \
		"scheme=$scheme" "ca_file=$([ $os_tls = 1 ] && echo "$dir/tls/cert.pem")" \
		"account=$os_az_account" "key=$os_az_key" >/dev/null
	azurite_start_gateway "$dir" || exit 1
	for c in "${os_names[@]}"; do
		azurite_create_container "$dir" "$c" || exit 1
	done
	cat "$dir/store.env"
}

azurite_start_gateway() {
	local dir=$1 port scheme args
	port=$(os_env_get "$dir" port)
	scheme=$(os_env_get "$dir" scheme)
	args=(--blobHost 127.0.0.1 --blobPort "$port" --location "$dir/data"
		--disableTelemetry --skipApiVersionCheck --loose --silent)
	[ "$scheme" = https ] && args+=(--cert "$dir/tls/cert.pem" --key "$dir/tls/key.pem")
	# Azurite writes files into its working directory; cd first so that $!
	# is Azurite itself, not a subshell.
	cd "$dir/data" || return 1
	"$os_azurite_bin" "${args[@]}" >>"$dir/azurite.log" 2>&1 </dev/null &
	echo $! >"$dir/azurite.pid"
	cd - >/dev/null || return 1
	os_wait_http "$scheme://127.0.0.1:$port/" 60 && os_alive "$dir/azurite.pid"
}

azurite_stop_gateway() {
	os_stop_pidfile "$1/azurite.pid"
}

# Create a container with a SharedKey-signed request.  The canonical
# resource holds the account twice: once for the account, once because
# the emulator's URL path starts with it.
azurite_create_container() {
	local dir=$1 c=$2 date sig code hexkey port scheme
	port=$(os_env_get "$dir" port)
	scheme=$(os_env_get "$dir" scheme)
	date=$(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S GMT')
	hexkey=$(printf '%s' "$os_az_key" | base64 -d | od -An -tx1 | tr -d ' \n')
	sig=$(printf 'PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:%s\nx-ms-version:%s\n/%s/%s/%s\nrestype:container' \
		"$date" "$os_az_version" "$os_az_account" "$os_az_account" "$c" |
		openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hexkey" -binary | base64)
	code=$(curl -sk -o /dev/null -w '%{http_code}' -X PUT -H "x-ms-date: $date" \
		-H "x-ms-version: $os_az_version" -H "Authorization: SharedKey $os_az_account:$sig" \
		"$scheme://127.0.0.1:$port/$os_az_account/$c?restype=container")
	[ "$code" = 201 ] || [ "$code" = 409 ] || os_fail "could not create container $c: HTTP $code"
}

# ---------------------------------------------------------------- both

# Stop whatever was started in DIR: the gateways first, then the OSD and
# the monitor (they stop cleanly on TERM).
os_stop() {
	local dir=$1 f
	for f in "$dir"/azurite.pid "$dir"/run/client.rgw.*.pid "$dir"/run/osd.*.pid "$dir"/run/mon.*.pid; do
		[ -e "$f" ] && os_stop_pidfile "$f"
	done
	return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	[ $# -ge 2 ] || os_fail "usage: $0 rgw-start|azurite-start|...|stop DIR [ARG...]"
	cmd=$1
	shift
	case "$cmd" in
	rgw-start) rgw_start "$@" ;;
	rgw-stop-gateway) rgw_stop_gateway "$@" ;;
	rgw-start-gateway) rgw_start_gateway "$@" ;;
	azurite-start) azurite_start "$@" ;;
	azurite-stop-gateway) azurite_stop_gateway "$@" ;;
	azurite-start-gateway) azurite_start_gateway "$@" ;;
	stop) os_stop "$@" ;;
	*) os_fail "unrecognized command $cmd" ;;
	esac
fi
