# Copyright (c) dbops contributors
#
# dbops_archive never answers a command line or a configuration it does not
# understand with exit 0 (PostgreSQL would recycle WAL that was never
# stored), nor with a crash: every unrecognized option, missing or extra
# argument, and every broken config file is a usage or configuration error,
# exit 2, for every command; wal-fetch answers 128 in archive recovery and
# 3 in standby mode instead, since 2 would read as "not in the archive".
# Files it reads (config, keys, spool) must be regular files: a FIFO would
# hang it.  Credentials in an endpoint URL are refused and never echoed, and
# a spool inside the data directory is refused.  A primary whose
# archive_command has a mistyped option archives nothing and counts
# failures, not successes.
use strict;
use warnings FATAL => 'all';

use Digest::SHA qw(sha256_hex);
use File::Path qw(rmtree);
use POSIX qw(mkfifo);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DbopsArchive;

my $tmp      = PostgreSQL::Test::Utils::tempdir('usage');
my $repo_dir = "$tmp/repo";
mkdir $repo_dir or die;
my %env = (DBOPS_ARCHIVE_REPO => "file://$repo_dir");

# A fake data directory: wal-push and wal-fetch run in PGDATA.
my $pgdata = "$tmp/pgdata";
mkdir $pgdata;
mkdir "$pgdata/pg_wal";
mkdir "$pgdata/pg_wal/archive_status";
PostgreSQL::Test::Utils::append_to_file("$pgdata/PG_VERSION", "15\n");
my $seg = '000000010000000000000007';
PostgreSQL::Test::Utils::append_to_file("$pgdata/pg_wal/$seg", wal_segment_bytes($seg, 'WAL'));

sub archive
{
	my ($e, @a) = @_;
	return run_archive({ env => { %env, %$e }, cwd => $pgdata }, @a);
}

# Each command with the arguments it takes.
my %commands = (
	'wal-push'  => ["pg_wal/$seg"],
	'wal-fetch' => [ $seg, 'pg_wal/RECOVERYXLOG' ],
	'check'     => [],
	'cleanup'   => []);
my ($rc, $out, $err);

# ---------------------------------------------------------------- usage

for my $cmd (sort keys %commands)
{
	my @args = @{ $commands{$cmd} };
	my %bad = (
		'an unrecognized long option before the command' => [ '--compress-levl=5', $cmd, @args ],
		'an unrecognized long option after the command'  => [ $cmd, '--compress-levl=5', @args ],
		'an unrecognized short option'                   => [ '-x', $cmd, @args ],
		'an option that takes no value given one'        => [ '--verbose=1', $cmd, @args ],
		'a setting without its value'                    => [ $cmd, @args, '--repo' ],
		'an extra argument'                              => [ $cmd, @args, 'extra' ]);
	$bad{'a missing argument'} = [ $cmd, @args[ 0 .. $#args - 1 ] ] if @args;
	for my $case (sort keys %bad)
	{
		($rc, $out, $err) = archive({}, @{ $bad{$case} });
		is($rc, 2, "$cmd: $case exits 2");
		like($err, qr/error: .*\n.*hint: Try "dbops_archive --help" for more information\./,
			"... with an error and the hint");
	}
	ok(!-e "$repo_dir/wal", "$cmd: nothing was stored by any of them");

	for my $help ('--help', '-?')
	{
		($rc, $out, $err) = archive({}, $cmd, $help);
		is($rc, 0, "$cmd $help exits 0");
		like($out, qr/^dbops_archive $cmd /, "... and shows the command's help");
	}
}
($rc, $out, $err) = archive({}, '-?');
is($rc, 0, '-? alone exits 0');
like($out, qr/Commands:/, '... and shows the help');
($rc, $out, $err) = archive({}, 'frobnicate');
is($rc, 2, 'an unrecognized command exits 2');
($rc, $out, $err) = archive({});
is($rc, 2, 'no command exits 2');

# The value of a mistyped secret setting never reaches the log.
($rc, $out, $err) = archive({}, '--s3-secret-acess-key=SEKRIT', 'wal-push', "pg_wal/$seg");
is($rc, 2, 'a mistyped secret setting exits 2');
like($err, qr/unrecognized option "--s3-secret-acess-key"/, '... naming the option');
unlike($err . $out, qr/SEKRIT/, '... but not its value');

# wal-fetch must not answer "not in the archive" for a command line it
# does not understand.
PostgreSQL::Test::Utils::append_to_file("$pgdata/recovery.signal", '');
($rc, $out, $err) = archive({}, 'wal-fetch', '--compress-levl=5', $seg, 'pg_wal/RECOVERYXLOG');
is($rc, 128, 'wal-fetch usage error during archive recovery exits 128');
like($err, qr/Exit code 128 stops archive recovery on purpose/, '... saying why');
($rc, $out, $err) = archive({}, 'wal-fetch', $seg);
is($rc, 128, 'wal-fetch with a missing argument during archive recovery exits 128');
PostgreSQL::Test::Utils::append_to_file("$pgdata/standby.signal", '');
($rc, $out, $err) = archive({}, 'wal-fetch', '--compress-levl=5', $seg, 'pg_wal/RECOVERYXLOG');
is($rc, 3, 'wal-fetch usage error in standby mode exits 3 (PostgreSQL retries)');
unlink "$pgdata/standby.signal", "$pgdata/recovery.signal";

# ---------------------------------------------------------------- config files

my $key = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
sub config_file
{
	my ($path, $text, $mode) = @_;
	unlink $path;
	PostgreSQL::Test::Utils::append_to_file($path, $text);
	chmod $mode, $path;
	return $path;
}
my %configs = (
	'a missing config file' =>
	  [ "$tmp/missing.conf", qr/could not open config file "\Q$tmp\E\/missing.conf"/ ],
	'a config file with a secret, readable by others' => [
		config_file("$tmp/loose.conf", "encrypt-key = k1 $key\n", 0644),
		qr/config file ".*loose.conf" holds secrets and is accessible by group or others/ ],
	'a config file inside the data directory' => [
		config_file("$pgdata/archive.conf", "compress = zstd\n", 0600),
		qr/config file ".*archive.conf" is inside the data directory/ ],
	'a config file with an unrecognized setting' => [
		config_file("$tmp/unknown.conf", "compress = zstd\ncompress-levl = 5\n", 0600),
		qr/unrecognized setting "compress-levl" in config file ".*unknown.conf" line 2/ ],
	'a config file with a syntax error' => [
		config_file("$tmp/syntax.conf", "compress zstd\n", 0600),
		qr/syntax error in config file ".*syntax.conf" line 1/ ]);

for my $cmd (sort keys %commands)
{
	for my $case (sort keys %configs)
	{
		my ($file, $message) = @{ $configs{$case} };
		($rc, $out, $err) = archive({}, '--config', $file, $cmd, @{ $commands{$cmd} });
		is($rc, 2, "$cmd: $case exits 2");
		like($err, $message, '... saying why');
		unlike($err, qr/\Q$key\E/, '... without the secret') if $case =~ /secret/;
	}
}
ok(!-e "$repo_dir/wal", 'nothing was stored with a broken configuration');

PostgreSQL::Test::Utils::append_to_file("$pgdata/recovery.signal", '');
for my $case (sort keys %configs)
{
	($rc, $out, $err) = archive({}, '--config', $configs{$case}[0], 'wal-fetch', $seg,
		'pg_wal/RECOVERYXLOG');
	is($rc, 128, "wal-fetch during archive recovery: $case exits 128");
}
unlink "$pgdata/recovery.signal";

# ---------------------------------------------------------------- files it reads

# Opening a FIFO for reading waits for a writer: each of these hung.
mkfifo("$tmp/fifo.conf", 0600) or die;
($rc, $out, $err) = archive({}, '--config', "$tmp/fifo.conf", 'check');
is($rc, 2, 'a config file that is a FIFO is refused, exit 2');
like($err, qr/config file ".*fifo.conf" is not a regular file/, '... saying why');
mkfifo("$tmp/fifo.key", 0600) or die;
($rc, $out, $err) = archive({ DBOPS_ARCHIVE_ENCRYPT_KEY_FILE => "$tmp/fifo.key" },
	'wal-push', "pg_wal/$seg");
is($rc, 2, 'a key file that is a FIFO is refused, exit 2');
like($err, qr/key file ".*fifo.key" is not a regular file/, '... saying why');

# Spool entries: a marker of a segment pushed ahead, a prefetched segment.
my $spool = "$tmp/spool";
my $spool_id = substr(sha256_hex($env{DBOPS_ARCHIVE_REPO}), 0, 16);
mkdir $spool;
mkdir "$spool/push-$spool_id";
mkfifo("$spool/push-$spool_id/$seg.pushed", 0600) or die;
($rc, $out, $err) = archive({ DBOPS_ARCHIVE_SPOOL_PATH => $spool }, 'wal-push', "pg_wal/$seg");
is($rc, 0, 'a push marker that is a FIFO is ignored: the segment is pushed');
like($err, qr/spool file ".*$seg.pushed" is not a regular file/, '... with a warning');
ok(-f "$repo_dir/wal/0000000100000000/$seg", '... and stored');
mkdir "$spool/fetch-$spool_id";
mkfifo("$spool/fetch-$spool_id/$seg", 0600) or die;
($rc, $out, $err) = archive({ DBOPS_ARCHIVE_SPOOL_PATH => $spool }, 'wal-fetch', $seg,
	'pg_wal/RECOVERYXLOG');
ok(!-p "$pgdata/pg_wal/RECOVERYXLOG", 'a prefetched file that is a FIFO is never handed to PostgreSQL');
is($rc, 0, '... the segment is fetched from the repository instead');
ok(-f "$pgdata/pg_wal/RECOVERYXLOG"
	  && slurp_file("$pgdata/pg_wal/RECOVERYXLOG") eq slurp_file("$pgdata/pg_wal/$seg"),
	'... with its real content');
unlink "$pgdata/pg_wal/RECOVERYXLOG";
rmtree("$repo_dir/wal");

# A spool inside the data directory would be copied into base backups.
for my $cmd ('wal-push', 'wal-fetch')
{
	($rc, $out, $err) = archive({ DBOPS_ARCHIVE_SPOOL_PATH => "$pgdata/pg_wal/spool" },
		$cmd, @{ $commands{$cmd} });
	is($rc, 2, "$cmd: spool-path inside the data directory is refused, exit 2");
	like($err, qr/spool-path ".*" is inside the data directory/, '... saying why');
}
ok(!-e "$pgdata/pg_wal/spool", '... and nothing was created there');
($rc, $out, $err) = archive({ DBOPS_ARCHIVE_SPOOL_PATH => 'relative/spool' },
	'wal-push', "pg_wal/$seg");
is($rc, 2, 'a relative spool-path (under the data directory, the working directory) is refused');

# ---------------------------------------------------------------- endpoints

# Credentials and tokens in an endpoint URL: refused, and never echoed.
my %endpoints = (
	's3 endpoint with user information' =>
	  [ 's3://walbucket/x', { AWS_ENDPOINT_URL => 'http://AKIDUSER:S3CRETPASS@127.0.0.1:9' } ],
	's3 endpoint with a query string' =>
	  [ 's3://walbucket/x', { AWS_ENDPOINT_URL_S3 => 'http://127.0.0.1:9/?X-Amz-Security-Token=S3CRETPASS' } ],
	'Azure endpoint with user information' => [
		'azure://walc/x',
		{ AZURE_STORAGE_ENDPOINT => 'http://acct:S3CRETPASS@127.0.0.1:9/devstoreaccount1' } ],
	'Azure endpoint with a SAS token' => [
		'azure://walc/x',
		{ AZURE_STORAGE_ENDPOINT => 'http://127.0.0.1:9/devstoreaccount1?sv=2021&sig=S3CRETPASS' } ]);
for my $case (sort keys %endpoints)
{
	my ($repo, $e) = @{ $endpoints{$case} };
	($rc, $out, $err) = archive({ %$e, DBOPS_ARCHIVE_REPO => $repo,
			AWS_ACCESS_KEY_ID => 'k', AWS_SECRET_ACCESS_KEY => 's',
			AZURE_STORAGE_ACCOUNT => 'acct', AZURE_STORAGE_KEY => 'a2V5' },
		'wal-push', "pg_wal/$seg");
	is($rc, 2, "$case: refused, exit 2");
	like($err, qr/endpoint URL .* must not contain/, '... saying why');
	unlike($err . $out, qr/S3CRETPASS/, '... without echoing it');
}

# ---------------------------------------------------------------- a real archiver

# A typo in archive_command: PostgreSQL must see failures and keep its WAL.
my $node = PostgreSQL::Test::Cluster->new('typo');
$node->init(allows_streaming => 1);
my $typo = "DBOPS_ARCHIVE_REPO=file://$repo_dir " . archive_bin() . ' --compress-levl=5 wal-push %p';
$node->append_conf('postgresql.conf', "archive_mode = on\narchive_command = '$typo'\n");
$node->start;
for (1 .. 3)
{
	$node->safe_psql('postgres', 'CREATE TABLE t AS SELECT 1; DROP TABLE t; SELECT pg_switch_wal()');
}
$node->poll_query_until('postgres',
	'SELECT archived_count + failed_count > 0 FROM pg_stat_archiver')
  or die 'timed out waiting for the archiver';
is($node->safe_psql('postgres', 'SELECT archived_count FROM pg_stat_archiver'), '0',
	'a mistyped option in archive_command archives nothing');
ok($node->log_contains(qr/unrecognized option "--compress-levl"/),
	'the server log names the option');
ok(!-e "$repo_dir/wal", 'and the repository holds nothing');
$node->stop('immediate');

done_testing();
