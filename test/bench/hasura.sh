#!/bin/bash
# test/bench/hasura.sh: Hasura metadata with relationship filters.
#
# 1. Import of a document of 100 tables, 300 relationships and 600
#    permissions over 9 roles, most filtering through relationships (one and
#    two levels, object and array, foreign key and manual), against the
#    floor: the equivalent ENABLE ROW LEVEL SECURITY / GRANT / CREATE POLICY
#    statements, the relationships written by hand as EXISTS subqueries,
#    with `psql -1 -f`.  Each run starts from a fresh copy of the same
#    database (not timed); medians of RUNS runs.  Also: importing the same
#    document again (nothing changes) and a dry run.
# 2. The cost of a relationship filter at query time: 10 000 of 100 000
#    rows selected as a role whose policy filters through an object
#    relationship, against the owner running the same filter written by hand
#    as a join; pgbench, QUERIES executions each, average latency.
# Environment: RUNS (5), QUERIES (50), PG_BINDIR (pg_config --bindir).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/lib/cluster.sh"
. "$here/lib/timing.sh"

runs=${RUNS:-5}
queries=${QUERIES:-50}
tables=100
work=$(mktemp -d /tmp/dbops-bench-hasura.XXXXXX)
chmod 755 "$work"
[ -n "${KEEP:-}" ] || trap 'cluster_stop "$work"; rm -rf "$work"' EXIT
# this build, even while another checkout installs its own (cluster.sh)
cluster_private_install "$work"
cluster_start "$work" "shared_preload_libraries = 'dbops'" "fsync = off"
psql="$PG_BINDIR/psql -X -q -v ON_ERROR_STOP=1"
export PGOPTIONS="-c client_min_messages=warning"

roles="r_anon r_user r_member r_manager r_admin r_editor r_viewer r_support r_auditor"
others=(r_viewer r_auditor r_support r_anon r_member)

# The template: tables t1..t100, each with a parent (the one before), a
# reference (half-way round) and an org; the relationships' foreign keys.
{
	for r in $roles; do echo "DROP ROLE IF EXISTS $r; CREATE ROLE $r LOGIN;"; done
	echo "CREATE DATABASE bench_template;"
	echo "\\c bench_template"
	echo "CREATE EXTENSION dbops;"
	echo "CREATE SCHEMA app;"
	echo "GRANT USAGE ON SCHEMA app TO $(echo $roles | sed 's/ /, /g');"
	for i in $(seq 1 $tables); do
		echo "CREATE TABLE app.t$i (id int PRIMARY KEY, owner_id int, org_id int, parent_id int, ref_id int, title text);"
	done
	for i in $(seq 2 $tables); do
		echo "ALTER TABLE app.t$i ADD FOREIGN KEY (parent_id) REFERENCES app.t$((i - 1));"
	done
	for i in $(seq 1 $tables); do
		echo "ALTER TABLE app.t$i ADD FOREIGN KEY (ref_id) REFERENCES app.t$(((i + 49) % tables + 1));"
	done
} >"$work/schema.sql"
$psql -f "$work/schema.sql" >/dev/null

user="current_setting('hasura.user_id', true)::int"
org="current_setting('hasura.org_id', true)::int"
orgs="current_setting('hasura.org_ids', true)::int[]"

# The document (Hasura's version 2 export) and the floor, side by side.
{
	echo '{"version": 2, "tables": ['
	for i in $(seq 1 $tables); do
		p=$((i - 1)); c=$((i + 1)); ref=$(((i + 49) % tables + 1)); o=${others[$((i % 5))]}
		[ "$i" -gt 1 ] && echo ','
		echo "{\"table\": {\"schema\": \"app\", \"name\": \"t$i\"},"
		obj="{\"name\": \"ref\", \"using\": {\"foreign_key_constraint_on\": \"ref_id\"}}"
		[ "$i" -gt 1 ] && obj="$obj, {\"name\": \"parent\", \"using\": {\"foreign_key_constraint_on\": \"parent_id\"}}"
		[ "$i" -le 2 ] && obj="$obj, {\"name\": \"peer\", \"using\": {\"manual_configuration\": {\"remote_table\": {\"schema\": \"app\", \"name\": \"t$ref\"}, \"column_mapping\": {\"org_id\": \"org_id\"}}}}"
		echo "\"object_relationships\": [$obj],"
		[ "$i" -lt $tables ] &&
			echo "\"array_relationships\": [{\"name\": \"children\", \"using\": {\"foreign_key_constraint_on\": {\"column\": \"parent_id\", \"table\": {\"schema\": \"app\", \"name\": \"t$c\"}}}}],"
		if [ "$i" -gt 1 ]; then
			usel="{\"parent\": {\"owner_id\": {\"_eq\": \"X-Hasura-User-Id\"}}}"
		else
			usel="{\"owner_id\": {\"_eq\": \"X-Hasura-User-Id\"}}"
		fi
		if [ "$i" -lt $tables ]; then
			msel="{\"_or\": [{\"owner_id\": {\"_eq\": \"X-Hasura-User-Id\"}}, {\"children\": {\"org_id\": {\"_in\": \"X-Hasura-Org-Ids\"}}}]}"
		else
			msel="{\"owner_id\": {\"_eq\": \"X-Hasura-User-Id\"}}"
		fi
		osel="{\"ref\": {\"org_id\": {\"_eq\": \"X-Hasura-Org-Id\"}}}"
		if [ "$i" -gt 2 ]; then
			upd="{\"parent\": {\"parent\": {\"owner_id\": {\"_eq\": \"X-Hasura-User-Id\"}}}}"
		else
			upd="{\"owner_id\": {\"_eq\": \"X-Hasura-User-Id\"}}"
		fi
		echo "\"select_permissions\": ["
		echo " {\"role\": \"r_user\", \"permission\": {\"columns\": [\"id\", \"owner_id\", \"parent_id\", \"title\"], \"filter\": $usel}},"
		echo " {\"role\": \"r_manager\", \"permission\": {\"columns\": \"*\", \"filter\": $msel}},"
		echo " {\"role\": \"$o\", \"permission\": {\"columns\": [\"id\", \"title\"], \"filter\": $osel}}],"
		echo "\"insert_permissions\": [{\"role\": \"r_user\", \"permission\": {\"columns\": [\"id\", \"owner_id\", \"parent_id\", \"title\"], \"check\": {\"owner_id\": {\"_eq\": \"X-Hasura-User-Id\"}}}}],"
		echo "\"update_permissions\": [{\"role\": \"r_editor\", \"permission\": {\"columns\": [\"title\"], \"filter\": $upd, \"check\": {}}}],"
		echo "\"delete_permissions\": [{\"role\": \"r_admin\", \"permission\": {\"filter\": {}}}]}"
	done
	echo ']}'
} >"$work/doc.json"

{
	for i in $(seq 1 $tables); do
		p=$((i - 1)); c=$((i + 1)); ref=$(((i + 49) % tables + 1)); o=${others[$((i % 5))]}
		t="app.t$i"
		if [ "$i" -gt 1 ]; then
			usel="EXISTS (SELECT 1 FROM app.t$p r WHERE r.id = $t.parent_id AND r.owner_id = $user)"
		else
			usel="owner_id = $user"
		fi
		if [ "$i" -lt $tables ]; then
			msel="owner_id = $user OR EXISTS (SELECT 1 FROM app.t$c r WHERE r.parent_id = $t.id AND r.org_id = ANY ($orgs))"
		else
			msel="owner_id = $user"
		fi
		osel="EXISTS (SELECT 1 FROM app.t$ref r WHERE r.id = $t.ref_id AND r.org_id = $org)"
		if [ "$i" -gt 2 ]; then
			upd="EXISTS (SELECT 1 FROM app.t$p r JOIN app.t$((i - 2)) g ON g.id = r.parent_id WHERE r.id = $t.parent_id AND g.owner_id = $user)"
		else
			upd="owner_id = $user"
		fi
		echo "ALTER TABLE $t ENABLE ROW LEVEL SECURITY;"
		echo "GRANT SELECT (id, owner_id, parent_id, title) ON $t TO r_user;"
		echo "CREATE POLICY dbops_select_r_user ON $t FOR SELECT TO r_user USING ($usel);"
		echo "GRANT SELECT ON $t TO r_manager;"
		echo "CREATE POLICY dbops_select_r_manager ON $t FOR SELECT TO r_manager USING ($msel);"
		echo "GRANT SELECT (id, title) ON $t TO $o;"
		echo "CREATE POLICY dbops_select_$o ON $t FOR SELECT TO $o USING ($osel);"
		echo "GRANT INSERT (id, owner_id, parent_id, title) ON $t TO r_user;"
		echo "CREATE POLICY dbops_insert_r_user ON $t FOR INSERT TO r_user WITH CHECK (owner_id = $user);"
		echo "GRANT UPDATE (title) ON $t TO r_editor;"
		echo "CREATE POLICY dbops_update_r_editor ON $t FOR UPDATE TO r_editor USING ($upd);"
		echo "GRANT DELETE ON $t TO r_admin;"
		echo "CREATE POLICY dbops_delete_r_admin ON $t FOR DELETE TO r_admin USING (true);"
	done
} >"$work/floor.sql"

printf '\\set doc `cat %s`\nSELECT dbops.import_metadata(:'"'"'doc'"'"') = %s AS ok \\gset\n' \
	"$work/doc.json" "'[]'" >"$work/import.sql"
printf '\\set doc `cat %s`\nSELECT dbops.import_metadata(:'"'"'doc'"'"', dry_run => true) \\g /dev/null\n' \
	"$work/doc.json" >"$work/dry_run.sql"

floor_ms=$(for i in $(seq "$runs"); do time_ms bench_floor "$work/floor.sql"; done | median)
import_ms=$(for i in $(seq "$runs"); do time_ms bench_dbops "$work/import.sql"; done | median)
again_ms=$(for i in $(seq "$runs"); do time_ms bench_dbops "$work/import.sql" again; done | median)
dry_ms=$(for i in $(seq "$runs"); do time_ms bench_dbops "$work/dry_run.sql" again; done | median)

counts=$($psql -d bench_dbops -At -c "SELECT (SELECT count(*) FROM dbops.metadata_tables) || ' tables, ' ||
	(SELECT count(*) FROM dbops.metadata_relationships) || ' relationships, ' ||
	(SELECT count(*) FROM dbops.metadata_permissions) || ' permissions, ' ||
	(SELECT count(DISTINCT role_name) FROM dbops.metadata_permissions) || ' roles; ' ||
	(SELECT count(*) FROM dbops.metadata_created WHERE cardinality(functions) > 0) ||
	' filter through relationships'")

# Query time: t2's rows whose parent (t1) the user owns, 10 000 of 100 000.
$psql -d bench_dbops >/dev/null <<'EOF'
INSERT INTO app.t1 (id, owner_id, org_id) SELECT g, g % 10, g % 7 FROM generate_series(1, 1000) g;
INSERT INTO app.t2 (id, owner_id, org_id, parent_id, title)
	SELECT g, g % 13, g % 7, 1 + g % 1000, 'row ' || g FROM generate_series(1, 100000) g;
VACUUM ANALYZE app.t1, app.t2;
EOF
echo 'SELECT id, owner_id, parent_id, title FROM app.t2;' >"$work/q_policy.sql"
echo 'SELECT c.id, c.owner_id, c.parent_id, c.title FROM app.t2 c JOIN app.t1 p ON p.id = c.parent_id WHERE p.owner_id = 1;' >"$work/q_join.sql"
rows_policy=$(PGOPTIONS="$PGOPTIONS -c hasura.user_id=1" $psql -d bench_dbops -U r_user -At -c 'SELECT count(*) FROM app.t2')
rows_join=$($psql -d bench_dbops -At -f "$work/q_join.sql" | wc -l)
latency() { awk '/latency average/ {print $4}'; }
pgbench="$PG_BINDIR/pgbench -n -t $queries -d bench_dbops"
policy_lat=$(PGOPTIONS="$PGOPTIONS -c hasura.user_id=1" $pgbench -U r_user -f "$work/q_policy.sql" 2>/dev/null | latency)
join_lat=$($pgbench -f "$work/q_join.sql" 2>/dev/null | latency)

printf 'hasura: %s, median of %d runs\n' "$counts" "$runs"
printf '  floor  psql -1 -f (RLS + GRANT + CREATE POLICY, EXISTS by hand)  %6d ms\n' "$floor_ms"
printf '  dbops  import_metadata (validate + enforce)                      %6d ms  ratio %.2fx (target <= 2x)\n' \
	"$import_ms" "$(awk "BEGIN {print $import_ms / $floor_ms}")"
printf '  dbops  import_metadata of the same document again (no change)    %6d ms\n' "$again_ms"
printf '  dbops  import_metadata(dry_run => true)                          %6d ms\n' "$dry_ms"
printf 'relationship filter at query time: %d rows as r_user (policy), %d by the join\n' "$rows_policy" "$rows_join"
printf '  owner, filter written as a join        %8.2f ms per query\n' "$join_lat"
printf '  r_user, dbops policy through "parent"  %8.2f ms per query  ratio %.2fx (target <= 3x)\n' \
	"$policy_lat" "$(awk "BEGIN {print $policy_lat / $join_lat}")"
