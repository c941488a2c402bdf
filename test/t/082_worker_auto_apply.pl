# Copyright (c) dbops contributors
#
# Start-up apply: with dbops.auto_apply on, a worker that starts queues the
# pending migrations of dbops.migrations_dir as dbops.auto_apply_role, and
# the job applies them as that role; the outcome is logged and in
# dbops.migration_jobs.  A directory or file that others may write is
# refused (a failed job, a WARNING, nothing applied), and so is a missing
# role.
use strict;
use warnings FATAL => 'all';

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $dir = "$PostgreSQL::Test::Utils::tmp_check/auto_apply";
mkdir $dir or die "could not create directory \"$dir\": $!";
chmod 0755, $dir;
sub migration
{
	my ($name, $up) = @_;
	mkdir "$dir/$name" or die "could not create directory \"$dir/$name\": $!";
	append_to_file("$dir/$name/up.sql", $up);
	chmod 0755, "$dir/$name";
	chmod 0644, "$dir/$name/up.sql";
}
migration('001_a', "CREATE TABLE a (id int);\n");
migration('002_b', "-- dbops:no-transaction\nCREATE INDEX CONCURRENTLY a_id ON a (id);\n");

my $node = PostgreSQL::Test::Cluster->new('auto');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'dbops'
dbops.databases = 'postgres'
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION dbops;
CREATE ROLE deployer IN ROLE dbops_admin;
GRANT CREATE ON SCHEMA public TO deployer;
});

# The start-up job that came last, once it ended: "state|origin|error"
sub last_startup_job
{
	$node->poll_query_until('postgres', q{
		SELECT state IN ('done', 'failed') FROM dbops.migration_jobs
		WHERE origin = 'start-up' ORDER BY id DESC LIMIT 1})
	  or die 'no start-up job ended';
	return $node->safe_psql('postgres', q{
		SELECT state || '|' || coalesce(error_message, '') FROM dbops.migration_jobs
		WHERE origin = 'start-up' ORDER BY id DESC LIMIT 1});
}

# Restart the worker: start-up apply runs when it starts
sub restart_worker
{
	my $q = "SELECT pid FROM pg_stat_activity WHERE backend_type = 'dbops worker'";
	$node->poll_query_until('postgres', "SELECT EXISTS ($q)") or die 'no worker';
	my $pid = $node->safe_psql('postgres', $q);
	$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
	$node->poll_query_until('postgres', "SELECT EXISTS ($q AND pid <> $pid)")
	  or die 'worker not back';
}

$node->append_conf('postgresql.conf', qq{
dbops.auto_apply = on
dbops.migrations_dir = '$dir'
dbops.auto_apply_role = 'nobody_here'
});
$node->restart;
like(last_startup_job(), qr/^failed\|role "nobody_here" does not exist/,
	'a missing role: a failed start-up job');

$node->append_conf('postgresql.conf', "dbops.auto_apply_role = 'deployer'\n");
my $offset = -s $node->logfile;
$node->restart;
is(last_startup_job(), 'done|', 'start-up apply: the job is done');
is($node->safe_psql('postgres', q{SELECT string_agg(version || ':' || applied_by, ',' ORDER BY version) FROM dbops.schema_migrations}),
	'001:deployer,002:deployer', 'both migrations applied, as the role');
is($node->safe_psql('postgres', q{SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'a_id'}),
	'deployer', 'the objects belong to the role');
ok($node->log_contains(qr/dbops start-up apply: queued migration job \d+ for "\Q$dir\E"/, $offset),
	'the outcome is logged');

# Writable by others: refused, nothing applied.
migration('003_c', "CREATE TABLE c (id int);\n");
chmod 0666, "$dir/003_c/up.sql";
$offset = -s $node->logfile;
restart_worker();
like(last_startup_job(), qr/^failed\|start-up apply refused: ".*003_c\/up.sql" is writable by anyone/,
	'a file anyone may write: refused');
ok($node->log_contains(qr/WARNING:  dbops start-up apply failed: start-up apply refused/, $offset),
	'and logged as a WARNING');
chmod 0644, "$dir/003_c/up.sql";
chmod 0777, $dir;
restart_worker();
like(last_startup_job(), qr/^failed\|start-up apply refused: "\Q$dir\E" is writable by anyone/,
	'a directory anyone may write: refused');
chmod 0775, $dir;
restart_worker();
like(last_startup_job(), qr/^failed\|start-up apply refused: "\Q$dir\E" is writable by its group/,
	'a directory its group may write: refused');
is($node->safe_psql('postgres', q{SELECT to_regclass('c') IS NULL}), 't', 'nothing was applied');

chmod 0755, $dir;
restart_worker();
is(last_startup_job(), 'done|', 'made safe again, start-up apply goes on');
is($node->safe_psql('postgres', q{SELECT to_regclass('c') IS NOT NULL}), 't', 'the new migration applied');

$node->stop;
done_testing();
