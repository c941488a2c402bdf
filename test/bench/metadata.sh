#!/bin/bash
# test/bench/metadata.sh: import and export of metadata for 500 tables x 3
# roles x 4 actions, against the floor of running the equivalent ENABLE ROW
# LEVEL SECURITY / GRANT / CREATE POLICY statements with `psql -1 -f`.
# Each run starts from a fresh copy of the same database (CREATE DATABASE
# ... TEMPLATE, not timed); medians of RUNS runs.  Prints times and ratios.
# Environment: TABLES (500), RUNS (5), PG_BINDIR (pg_config --bindir).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/lib/cluster.sh"
. "$here/lib/timing.sh"

tables=${TABLES:-500}
runs=${RUNS:-5}
work=$(mktemp -d /tmp/dbops-bench-metadata.XXXXXX)
chmod 755 "$work"
[ -n "${KEEP:-}" ] || trap 'cluster_stop "$work"; rm -rf "$work"' EXIT
# this build, even while another checkout installs its own (cluster.sh)
cluster_private_install "$work"
cluster_start "$work" "shared_preload_libraries = 'dbops'" "fsync = off"
psql="$PG_BINDIR/psql -X -q -v ON_ERROR_STOP=1"
export PGOPTIONS="-c client_min_messages=warning"

roles="bench_reader bench_writer bench_auditor"
filter="owner = current_user"
check="qty >= 0"

# The template: tables, roles and the extension.
{
	for r in $roles; do echo "DROP ROLE IF EXISTS $r; CREATE ROLE $r;"; done
	echo "CREATE DATABASE bench_template;"
	echo "\\c bench_template"
	echo "CREATE EXTENSION dbops;"
	for i in $(seq 1 "$tables"); do
		echo "CREATE TABLE public.t$i (id int PRIMARY KEY, owner text, qty int, note text, price numeric);"
	done
} >"$work/schema.sql"
$psql -f "$work/schema.sql" >/dev/null

# The floor: what a person would run by hand for the same permissions.
{
	for i in $(seq 1 "$tables"); do
		echo "ALTER TABLE public.t$i ENABLE ROW LEVEL SECURITY;"
		for r in $roles; do
			echo "GRANT SELECT (id, owner, qty) ON public.t$i TO $r;"
			echo "CREATE POLICY dbops_select_$r ON public.t$i FOR SELECT TO $r USING ($filter);"
			echo "GRANT INSERT (id, owner, qty) ON public.t$i TO $r;"
			echo "CREATE POLICY dbops_insert_$r ON public.t$i FOR INSERT TO $r WITH CHECK ($check);"
			echo "GRANT UPDATE (qty) ON public.t$i TO $r;"
			echo "CREATE POLICY dbops_update_$r ON public.t$i FOR UPDATE TO $r USING ($filter) WITH CHECK ($check);"
			echo "GRANT DELETE ON public.t$i TO $r;"
			echo "CREATE POLICY dbops_delete_$r ON public.t$i FOR DELETE TO $r USING ($filter);"
		done
	done
} >"$work/floor.sql"

# The same permissions as one metadata document.
$psql -d bench_template -At >"$work/doc.json" <<EOF
SELECT jsonb_build_object('version', 2, 'tables', jsonb_agg(jsonb_build_object(
	'table', jsonb_build_object('schema', 'public', 'name', 't' || i),
	'select_permissions', (SELECT jsonb_agg(jsonb_build_object('role', r, 'permission',
		jsonb_build_object('columns', '["id", "owner", "qty"]'::jsonb, 'filter', '$filter'))) FROM unnest(string_to_array('$roles', ' ')) r),
	'insert_permissions', (SELECT jsonb_agg(jsonb_build_object('role', r, 'permission',
		jsonb_build_object('columns', '["id", "owner", "qty"]'::jsonb, 'check', '$check'))) FROM unnest(string_to_array('$roles', ' ')) r),
	'update_permissions', (SELECT jsonb_agg(jsonb_build_object('role', r, 'permission',
		jsonb_build_object('columns', '["qty"]'::jsonb, 'filter', '$filter', 'check', '$check'))) FROM unnest(string_to_array('$roles', ' ')) r),
	'delete_permissions', (SELECT jsonb_agg(jsonb_build_object('role', r, 'permission',
		jsonb_build_object('filter', '$filter'))) FROM unnest(string_to_array('$roles', ' ')) r))))
FROM generate_series(1, $tables) i
EOF
printf '\\set doc `cat %s`\nSELECT dbops.import_metadata(:'"'"'doc'"'"') = %s AS ok \\gset\n' \
	"$work/doc.json" "'[]'" >"$work/import.sql"
echo "SELECT dbops.export_metadata() \\g /dev/null" >"$work/export.sql"

floor_ms=$(for i in $(seq "$runs"); do time_ms bench_floor "$work/floor.sql"; done | median)
import_ms=$(for i in $(seq "$runs"); do time_ms bench_dbops "$work/import.sql"; done | median)
# the last import's database is kept for the export
export_ms=$(for i in $(seq "$runs"); do
	t0=$(now_ms); $psql -d bench_dbops -f "$work/export.sql" >/dev/null; t1=$(now_ms)
	echo $((t1 - t0))
done | median)

# Check that both paths produced the same policies and grants, and that
# exports are deterministic.
same=$(for db in bench_floor bench_dbops; do
	$psql -d "$db" -At -c "SELECT md5(string_agg(format('%s %s %s %s %s', tablename, policyname, roles, qual, with_check), ',' ORDER BY tablename, policyname)) FROM pg_policies"
done | uniq | wc -l)
a=$($psql -d bench_dbops -At -c "SELECT md5(jsonb_pretty(dbops.export_metadata()))")
b=$($psql -d bench_dbops -At -c "SELECT md5(jsonb_pretty(dbops.export_metadata()))")
perms=$((tables * 3 * 4))

printf 'metadata: %d tables x 3 roles x 4 actions = %d permissions, median of %d runs\n' "$tables" "$perms" "$runs"
printf '  floor  psql -1 -f (RLS + GRANT + CREATE POLICY)  %6d ms\n' "$floor_ms"
printf '  dbops  import_metadata (validate + enforce)      %6d ms  ratio %.2fx (target <= 2x)\n' \
	"$import_ms" "$(awk "BEGIN {print $import_ms / $floor_ms}")"
printf '  dbops  export_metadata                           %6d ms  (%s)\n' "$export_ms" \
	"$([ "$a" = "$b" ] && echo "two exports byte-identical" || echo "EXPORTS DIFFER")"
[ "$same" = 1 ] && echo "  policies of both paths identical" || echo "  POLICIES DIFFER between floor and dbops"
