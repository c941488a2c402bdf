# Copyright (c) dbops contributors
#
# The migration queue: dbops.submit_migrations() queues migrations that the
# dbops worker applies as the submitting role.
# - A CREATE INDEX CONCURRENTLY migration runs at top level while another
#   session writes to the table (its open transaction makes the build wait,
#   and other writes go through meanwhile); the index is valid, and the
#   DDL is attributed to the migration (no schema drift).
# - One that fails mid-way is reported in dbops.migration_jobs, the
#   statements before it are recorded done, and submitting it again drops
#   the invalid index, builds it, and does not run the done ones again.
# - A job whose worker is ended with SIGTERM, killed with SIGKILL (crash
#   restart), or stopped by a fast shutdown while the build waits, is
#   resumed when the worker is back, and finishes.
# - Transactional migrations run as the submitter (never with more rights),
#   one transaction each or, with commit => 'batch', one for all; a role
#   that lost dbops_admin before its job started gets a failed job.
use strict;
use warnings FATAL => 'all';

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('queue');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'dbops'
dbops.databases = 'postgres'
restart_after_crash = on
max_prepared_transactions = 2
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION dbops;
CREATE ROLE app LOGIN IN ROLE dbops_admin;
GRANT CREATE ON SCHEMA public TO app;
});

my $n = 0;
# A jsonb document of one migration; $up is SQL
sub doc
{
	my ($version, $up) = @_;
	$up =~ s/\\/\\\\/g;
	$up =~ s/"/\\"/g;
	$up =~ s/\n/\\n/g;
	$up =~ s/'/''/g;
	return qq('[{"version": "$version", "name": "m$version", "up": "$up"}]'::jsonb);
}

# Submit as role app; returns the job id
sub submit
{
	my ($doc, $opts) = @_;
	$opts = $opts ? ", $opts" : '';
	return $node->safe_psql('postgres',
		"SET ROLE app; SELECT dbops.submit_migrations($doc$opts)");
}

sub job_state
{
	my ($id) = @_;
	return $node->safe_psql('postgres', "SELECT state FROM dbops.migration_jobs WHERE id = $id");
}

# Wait until job $id is done or failed; returns its state
sub job_end
{
	my ($id) = @_;
	$node->poll_query_until('postgres',
		"SELECT state IN ('done', 'failed') FROM dbops.migration_jobs WHERE id = $id")
	  or die "job $id did not end: " . job_state($id);
	return job_state($id);
}

sub worker_pid
{
	my $q = "SELECT pid FROM pg_stat_activity WHERE backend_type = 'dbops worker'";
	$node->poll_query_until('postgres', "SELECT EXISTS ($q)") or die 'no worker';
	return $node->safe_psql('postgres', $q);
}

# Wait until the worker waits for a lock (its build waits for $writer)
# The worker waits in the concurrent build, not in an earlier step (such as
# reading the job while its submitter's commit is still in progress): the
# statement is recorded as started
sub worker_waits
{
	my ($what) = @_;
	ok( $node->poll_query_until('postgres', q{
		SELECT EXISTS (SELECT FROM pg_locks l JOIN pg_stat_activity a USING (pid)
		WHERE a.backend_type = 'dbops worker' AND NOT l.granted)
		AND EXISTS (SELECT FROM dbops.migration_progress
		WHERE statement > 0 AND state = 'started')}),
		"$what: the build waits for the open transaction");
}

sub index_valid
{
	my ($name) = @_;
	return $node->safe_psql('postgres',
		"SELECT coalesce((SELECT indisvalid::text FROM pg_index WHERE indexrelid = to_regclass('$name')), 'missing')");
}

# Setup by hand, acknowledged as drift.
$node->safe_psql('postgres', q{
SET ROLE app;
CREATE TABLE items (id bigserial PRIMARY KEY, v integer, u integer);
INSERT INTO items (v, u) SELECT i % 100, i FROM generate_series(1, 1000) i;
});
$node->safe_psql('postgres', 'SELECT dbops.acknowledge_drift()');

# 1. CREATE INDEX CONCURRENTLY while another session writes.
my $writer = $node->background_psql('postgres');
$writer->query_safe('SET ROLE app');
$writer->query_safe('BEGIN');
$writer->query_safe('INSERT INTO items (v, u) VALUES (1, 100001)');
my $id = submit(doc('1', "-- dbops:no-transaction\nCREATE INDEX CONCURRENTLY items_v ON items (v);"));
worker_waits('CIC');
is(job_state($id), 'running', 'the job runs while the build waits');
$node->safe_psql('postgres', 'SET ROLE app; INSERT INTO items (v, u) SELECT 2, 200000 + i FROM generate_series(1, 10) i');
ok(1, 'other sessions write to the table meanwhile');
$writer->query_safe('COMMIT');
is(job_end($id), 'done', 'the CIC job is done');
is(index_valid('items_v'), 'true', 'the index is valid');
is($node->safe_psql('postgres', q{SELECT applied_by || ' ' || supplier_name FROM dbops.schema_migrations WHERE version = '1'}),
	'app app', 'applied as the submitter');
is($node->safe_psql('postgres', 'SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = \'items_v\''),
	'app', 'the index built by the role that submitted it');
is($node->safe_psql('postgres', 'SELECT count(*) FROM dbops.schema_drift()'), '0',
	'the DDL of the job is attributed to its migration, not drift');
is($node->safe_psql('postgres', q{SELECT count(*) FROM dbops.ddl_log WHERE migration_version = '1' AND object_identity = 'public.items_v'}),
	'1', 'the CREATE INDEX is logged for migration 1');

# 2. A no-transaction migration that fails mid-way, then finishes.
$node->safe_psql('postgres', 'SET ROLE app; INSERT INTO items (v, u) VALUES (3, 5)');
my $two = doc('2', "-- dbops:no-transaction\nCREATE INDEX CONCURRENTLY items_vu ON items (v, u);\nCREATE UNIQUE INDEX CONCURRENTLY items_u ON items (u);\nVACUUM items;");
$id = submit($two);
is(job_end($id), 'failed', 'a duplicate key fails the unique build: job failed');
like($node->safe_psql('postgres', "SELECT error_code || ' ' || error_message || ' / ' || error_context FROM dbops.migration_jobs WHERE id = $id"),
	qr/^23505 could not create unique index "items_u".*migration 2_m2, up line 3/s,
	'the error, with the migration and line, is in migration_jobs');
is($node->safe_psql('postgres', q{SELECT string_agg(statement || ':' || state, ' ' ORDER BY statement) FROM dbops.migration_progress WHERE version = '2'}),
	'0:started 1:done 2:started', 'progress: statement 1 done, statement 2 started');
is(index_valid('items_u'), 'false', 'the failed build left an invalid index');
is($node->safe_psql('postgres', q{SELECT count(*) FROM dbops.schema_migrations WHERE version = '2'}), '0',
	'the migration is not recorded as applied');
$node->safe_psql('postgres', 'SET ROLE app; DELETE FROM items WHERE id = (SELECT max(id) FROM items WHERE u = 5)');
$id = submit($two);
is(job_end($id), 'done', 'submitted again, the job finishes');
is(index_valid('items_u'), 'true', 'the unique index was dropped and built again: valid');
is($node->safe_psql('postgres', q{SELECT count(*) FROM dbops.ddl_log WHERE command_tag = 'CREATE INDEX' AND object_identity = 'public.items_vu'}),
	'1', 'the statement done before was not run again');
is($node->safe_psql('postgres', q{SELECT count(*) FROM dbops.migration_progress}), '0',
	'the progress of an applied migration is forgotten');

# 3. The worker ends while the build waits: SIGTERM, SIGKILL, fast shutdown.
my $v = 3;
for my $how ('SIGTERM', 'SIGKILL', 'shutdown')
{
	$writer->query_safe('BEGIN');
	$writer->query_safe('INSERT INTO items (v, u) VALUES (1, 300000 + ' . $v . ')');
	my $index = "items_k$v";
	$id = submit(doc($v, "-- dbops:no-transaction\nCREATE INDEX CONCURRENTLY $index ON items (u, v);"));
	worker_waits($how);
	my $pid = worker_pid();
	if ($how eq 'SIGTERM')
	{
		$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
		$node->poll_query_until('postgres',
			"SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $pid)");
		$writer->query_safe('COMMIT');
	}
	elsif ($how eq 'SIGKILL')
	{
		kill 'KILL', $pid;
		# the crash restart ends every session, the writer's too
		$writer->quit;
		$node->poll_query_until('postgres', 'SELECT true') or die 'server not back';
	}
	else
	{
		# A fast shutdown ends the writer's session too, which would let
		# the build finish before the worker's turn: a prepared
		# transaction holds the lock across the restart instead.
		$writer->query_safe("PREPARE TRANSACTION 'hold'");
		$node->stop('fast');
		ok(1, 'fast shutdown while a job waits completes');
		$writer->quit;
		$node->start;
		worker_waits("$how, after the restart");
		$node->safe_psql('postgres', "COMMIT PREPARED 'hold'");
	}
	is(job_end($id), 'done', "$how: the job is resumed and done");
	is(index_valid($index), 'true', "$how: the index is valid");
	is($node->safe_psql('postgres', "SELECT attempts FROM dbops.migration_jobs WHERE id = $id"),
		'2', "$how: it was started twice");
	if ($how ne 'SIGTERM')
	{
		$writer = $node->background_psql('postgres');
		$writer->query_safe('SET ROLE app');
	}
	$v++;
}

# 4. Transactional migrations: as the submitter, per migration or batch.
my $three = q('[{"version": "10", "name": "a", "up": "CREATE TABLE ta (id int);"},
	{"version": "11", "name": "b", "up": "CREATE TABLE tb (id int);"},
	{"version": "12", "name": "c", "up": "SET ROLE postgres;"}]'::jsonb);
$id = submit($three);
is(job_end($id), 'failed', 'a migration that tries SET ROLE fails');
like($node->safe_psql('postgres', "SELECT error_message FROM dbops.migration_jobs WHERE id = $id"),
	qr/cannot set parameter "role" within security-definer function/, 'the submitter cannot climb back');
is($node->safe_psql('postgres', q{SELECT string_agg(version, ',' ORDER BY version) FROM dbops.schema_migrations WHERE version::int >= 10}),
	'10,11', "commit => 'migration': the migrations before the failure stay applied");
is($node->safe_psql('postgres', q{SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'ta'}),
	'app', 'tables created by the submitter');

$id = submit(q('[{"version": "20", "name": "a", "up": "CREATE TABLE tc (id int);"},
	{"version": "21", "name": "b", "up": "SELECT 1/0;"}]'::jsonb), "commit => 'batch'");
is(job_end($id), 'failed', 'batch: the failing migration fails the job');
is($node->safe_psql('postgres', q{SELECT count(*) FROM dbops.schema_migrations WHERE version = '20'}),
	'0', "commit => 'batch': one transaction, nothing applied");

# A role that lost dbops_admin between submit and start.
$node->safe_psql('postgres', 'CREATE ROLE gone LOGIN IN ROLE dbops_admin');
$id = $node->safe_psql('postgres', q{
BEGIN;
SET ROLE gone;
SELECT dbops.submit_migrations('[{"version": "30", "up": "SELECT 1;"}]'::jsonb);
RESET ROLE;
REVOKE dbops_admin FROM gone;
COMMIT;});
is(job_end($id), 'failed', 'a job of a role that may no longer migrate fails');
like($node->safe_psql('postgres', "SELECT error_message FROM dbops.migration_jobs WHERE id = $id"),
	qr/role "gone" that submitted migration job \d+ may no longer migrate/, 'and says why');

# Refused at submit: an unnamed concurrent index, and no worker.
my ($rc, $out, $err) = $node->psql('postgres',
	'SET ROLE app; SELECT dbops.submit_migrations(' . doc('40', "-- dbops:no-transaction\nCREATE INDEX CONCURRENTLY ON items (v);") . ')');
like($err, qr/CREATE INDEX CONCURRENTLY without an index name is not supported/, 'an unnamed CIC is refused at submit');
$node->safe_psql('postgres', 'CREATE DATABASE other');
$node->safe_psql('other', 'CREATE EXTENSION dbops');
($rc, $out, $err) = $node->psql('other', "SELECT dbops.submit_migrations('[]'::jsonb)");
like($err, qr/no dbops worker serves database "other"/, 'no worker for the database: refused');

$writer->quit;
$node->stop;
done_testing();
