# Copyright (c) dbops contributors
#
# Base backups on real object stores, one path each (the full matrix of
# targets runs on file://, 070): Ceph RGW for s3:// and Azurite for
# azure://, started here on free ports of 127.0.0.1.  A cluster under
# pgbench archives and is backed up with parts above the multipart (S3)
# or block (Azure) threshold, so the part holding each object's header goes
# up last; backup-fetch refuses a secret that restore_command would not
# have, restores with the secret in a config file to just before a
# migration (--target-migration, its LSN read from the source), and the
# restored cluster recovers from the store to the tables as they were
# before it.
use strict;
use warnings FATAL => 'all';

use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DbopsArchive;
use DbopsStores;

# Short paths: Ceph's admin sockets must fit in a socket address.
my $tmp = PostgreSQL::Test::Utils::tempdir_short();
my $rgw = store_start('rgw-start', "$tmp/rgw", 'bkbucket');
my $az  = store_start('azurite-start', "$tmp/az", 'bkc');

my $sums = 'SELECT (SELECT sum(abalance) FROM pgbench_accounts) || \'/\' || '
  . '(SELECT count(*) FROM pgbench_history) || \'/\' || '
  . '(SELECT md5(string_agg(v, \'\' ORDER BY id)) FROM noise)';

# One store: $env holds what may be in the environment, $secret the
# secret that must come from a config file; $threshold forces parts.
sub backup_round_trip
{
	my ($name, $repo, $env, $secret_name, $secret_env, $secret, $threshold) = @_;
	my $conf = "$tmp/$name.conf";
	PostgreSQL::Test::Utils::append_to_file($conf, "$secret_name = $secret\n$threshold\n");
	chmod 0600, $conf;
	my %with_conf = (%$env, DBOPS_ARCHIVE_REPO => $repo, DBOPS_ARCHIVE_CONFIG => $conf);

	my $node = PostgreSQL::Test::Cluster->new("${name}_primary");
	$node->init(allows_streaming => 1);
	my $prefix = join('', map { "$_='$with_conf{$_}' " } sort keys %with_conf);
	$node->append_conf('postgresql.conf', qq{
archive_mode = on
archive_command = '@{[ ($prefix . archive_bin() . ' wal-push %p') =~ s/'/''/gr ]}'
});
	$node->start;
	$node->command_ok([ 'pgbench', '-i', '-s', '1', '-q', 'postgres' ], "$name: pgbench -i");
	# a table that compresses little: its file goes up in several parts
	$node->safe_psql('postgres', 'CREATE TABLE noise AS SELECT g AS id, '
		  . 'md5(random()::text) || md5(random()::text) AS v FROM generate_series(1, 250000) g');
	my ($rc, $out, $err) = run_archive({ env => \%with_conf }, 'backup-push',
		'--dbname=' . $node->connstr('postgres'), '--json');
	is($rc, 0, "$name: backup-push") or diag($err);
	my $backup = decode_json($out || '{}');
	$node->command_ok([ 'pgbench', '-t', '200', '-c', '2', '-n', 'postgres' ], "$name: pgbench run");
	my $expected = $node->safe_psql('postgres', $sums);
	# a migration to undo: dbops writes its restore point, archiving being on
	$node->safe_psql('postgres', q{CREATE EXTENSION dbops;
		SELECT dbops.apply_migrations('[{"version": "7", "name": "mistake", "up": "DELETE FROM noise WHERE id % 2 = 0;"}]'::jsonb)});
	isnt($node->safe_psql('postgres', $sums), $expected, "$name: the migration changed the tables");
	my $last = $node->safe_psql('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn())');
	$node->safe_psql('postgres', 'SELECT pg_switch_wal()');
	$node->poll_query_until('postgres', "SELECT last_archived_wal >= '$last' FROM pg_stat_archiver")
	  or die "$name: archiving stalled";

	($rc, $out, $err) = run_archive({ env => { %with_conf, DBOPS_ARCHIVE_CONFIG => '',
				$secret_env => $secret } }, 'backup-list', '--json');
	is($rc, 0, "$name: backup-list") or diag($err);
	is(decode_json($out)->{backups}[0]{label}, $backup->{label}, "$name: lists the backup");
	ok($backup->{stored} > 10 * 1024 * 1024, "$name: $backup->{stored} bytes stored, above the threshold");

	my $restored = PostgreSQL::Test::Cluster->new("${name}_restored");
	($rc, $out, $err) = run_archive({ env => { %$env, DBOPS_ARCHIVE_REPO => $repo, $secret_env => $secret } },
		'backup-fetch', 'LATEST', $restored->data_dir);
	is($rc, 2, "$name: a secret only in the environment is refused for restore_command");
	like($err, qr/comes from the environment/, '... saying why');
	ok(!-e $restored->data_dir, '... before anything is written');

	($rc, $out, $err) = run_archive({ env => \%with_conf }, 'backup-fetch',
		'--target-action=promote', '--target-migration=7', '--dbname=' . $node->connstr('postgres'),
		'LATEST', $restored->data_dir);
	is($rc, 0, "$name: backup-fetch --target-migration with the secret in a config file") or diag($err);
	my $auto = slurp_file($restored->data_dir . '/postgresql.auto.conf');
	like($auto, qr/--config=''\Q$conf\E''/, '... restore_command names the config file');
	unlike($auto, qr/\Q$secret\E/, '... and holds no secret');
	$restored->append_conf('postgresql.conf', "port = " . $restored->port
		  . "\nunix_socket_directories = '" . $restored->host . "'\n");
	$restored->start;
	$restored->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
	  or die "$name: recovery did not end";
	is($restored->safe_psql('postgres', $sums), $expected,
		"$name: the restored cluster recovered through the store to the tables before the migration");
	is($restored->safe_psql('postgres', q{SELECT count(*) FROM dbops.schema_migrations WHERE version = '7'}),
		'0', "$name: ... which it does not record");
	$restored->stop;
	$node->stop;
}

backup_round_trip('s3', 's3://bkbucket/db1',
	{ AWS_ACCESS_KEY_ID => $rgw->{access_key}, AWS_ENDPOINT_URL => $rgw->{endpoint},
		AWS_REGION => 'us-east-1' },
	's3-secret-access-key', 'AWS_SECRET_ACCESS_KEY', $rgw->{secret_key},
	's3-multipart-threshold = 5MB');
# awscli, which shares no code with dbops_archive: a multipart object's
# ETag ends in -N
{
	local %ENV = (%ENV, AWS_ACCESS_KEY_ID => $rgw->{access_key},
		AWS_SECRET_ACCESS_KEY => $rgw->{secret_key}, AWS_DEFAULT_REGION => 'us-east-1',
		AWS_EC2_METADATA_DISABLED => 'true', HOME => $tmp);
	my $json = `/usr/bin/aws --endpoint-url $rgw->{endpoint} s3api list-objects-v2 --bucket bkbucket --prefix db1/backup/`;
	my @multipart = grep { $_->{ETag} =~ /-\d+"$/ } @{ decode_json($json)->{Contents} || [] };
	ok(@multipart > 0, 's3: ' . scalar(@multipart) . ' backup objects went up in parts (awscli)');
}
backup_round_trip('azure', 'azure://bkc/db1',
	{ AZURE_STORAGE_ACCOUNT => $az->{account}, AZURE_STORAGE_ENDPOINT => $az->{endpoint} },
	'azure-key', 'AZURE_STORAGE_KEY', $az->{key}, 'azure-block-threshold = 1MB');

done_testing();
