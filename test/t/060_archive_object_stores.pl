# Copyright (c) dbops contributors
#
# dbops_archive on real object stores: Ceph RGW for s3:// and Azurite for
# azure://, started here on free ports of 127.0.0.1 (test/lib/object_stores.sh).
# On each store a primary archives through wal-push under a pgbench load and
# a standby from a base backup replays only through wal-fetch, ending with
# the same tables.  Oracles that share no code with dbops_archive read what
# was written: awscli lists and downloads from RGW, curl with a SAS token
# made here downloads from Azurite, and each object is decoded with the
# README's format description only (header length at offset 12, then
# zstd -d).  Faults: the store stopped while PostgreSQL archives, a wrong
# secret, multipart/block uploads through a low threshold, TLS with a
# self-signed certificate, S3 virtual-host style and an Azure SAS token.
# The Azure round trip also pushes ahead and prefetches in parallel.
use strict;
use warnings FATAL => 'all';

use Digest::SHA qw(sha256_hex hmac_sha256_base64);
use IPC::Run;
use JSON::PP;
use MIME::Base64;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DbopsArchive;
use DbopsStores;

# Short paths: Ceph's admin sockets must fit in a socket address.
my $tmp    = PostgreSQL::Test::Utils::tempdir_short();
my $rgw = store_start('rgw-start', "$tmp/rgw", '--tls', 'walbucket');
my $az = store_start('azurite-start', "$tmp/az", 'walc');
my $az_tls = store_start('azurite-start', "$tmp/aztls", '--tls', 'walc');

my %s3_env = (
	AWS_ACCESS_KEY_ID     => $rgw->{access_key},
	AWS_SECRET_ACCESS_KEY => $rgw->{secret_key},
	AWS_ENDPOINT_URL      => $rgw->{endpoint},
	AWS_REGION            => 'us-east-1');
my %az_env = (
	AZURE_STORAGE_ACCOUNT  => $az->{account},
	AZURE_STORAGE_KEY      => $az->{key},
	AZURE_STORAGE_ENDPOINT => $az->{endpoint});

# ---------------------------------------------------------------- oracles

# Run a command; its stdout, byte for byte; dies when it fails.
sub oracle
{
	my @cmd = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run(\@cmd, '<', \undef, '>', \$out, '2>', \$err)
	  or die "@cmd[0..1] failed: $err";
	return $out;
}

# awscli against RGW; returns stdout, dies on failure.
sub aws
{
	my @args = @_;
	local %ENV = (%ENV, %s3_env, AWS_DEFAULT_REGION => 'us-east-1',
		AWS_EC2_METADATA_DISABLED => 'true', HOME => $tmp);
	return oracle('/usr/bin/aws', '--endpoint-url', $rgw->{endpoint}, @args);
}

sub s3_keys
{
	my ($prefix) = @_;
	my $json = aws('s3api', 'list-objects-v2', '--bucket', 'walbucket', '--prefix', $prefix);
	return () if $json !~ /\S/;
	return map { $_->{Key} } @{ decode_json($json)->{Contents} || [] };
}

# A container SAS for Azurite, signed here (service SAS, version 2021-08-06).
sub az_sas
{
	my ($store, $permissions) = @_;
	my ($sv, $se) = ('2021-08-06', '2030-01-01T00:00:00Z');
	my $sts = join("\n", $permissions, '', $se, "/blob/$store->{account}/walc",
		'', '', '', $sv, 'c', '', '', '', '', '', '', '');
	my $sig = hmac_sha256_base64($sts, decode_base64($store->{key}));
	$sig .= '=' while length($sig) % 4;
	$sig =~ s/([^A-Za-z0-9])/sprintf('%%%02X', ord($1))/ge;
	return "sv=$sv&sr=c&sp=$permissions&se=" . ($se =~ s/:/%3A/gr) . "&sig=$sig";
}

sub az_curl
{
	my ($path_query, @curl) = @_;
	my $sas = az_sas($az, 'rl');
	my $sep = $path_query =~ /\?/ ? '&' : '?';
	return oracle('curl', '-sS', '-f', @curl, "$az->{endpoint}/walc/$path_query$sep$sas");
}

# Decode an object with the README's description only (format version 2):
# the header length is the big-endian uint32 at offset 12, the SHA-256 of
# the plaintext is at offset 24, the name's length at offset 72 and the
# name at the end of the header, and the rest is one zstd frame.
sub decode_object
{
	my ($file) = @_;
	my $raw = slurp_file($file);
	die "$file: not format version 2" unless substr($raw, 0, 9) eq "DBOPSARC\x02";
	my $header_len = unpack('N', substr($raw, 12, 4));
	my $sha = unpack('H*', substr($raw, 24, 32));
	my $name_len = unpack('n', substr($raw, 72, 2));
	my $name = substr($raw, $header_len - $name_len, $name_len);
	my $plain = oracle('bash', '-c', "tail -c +@{[ $header_len + 1 ]} '$file' | zstd -d");
	return ($plain, $sha, $name);
}

# ---------------------------------------------------------------- round trip

my $query = 'SELECT count(*), sum(abalance), sum(bbalance) FROM pgbench_accounts '
  . 'JOIN pgbench_branches USING (bid)';

sub env_prefix
{
	my ($env) = @_;
	return join('', map { "$_='$env->{$_}' " } sort keys %$env);
}

# Wait until everything up to now is archived; returns the last segment.
sub archive_all
{
	my ($node) = @_;
	my $last = $node->safe_psql('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn())');
	$node->safe_psql('postgres', 'SELECT pg_switch_wal()');
	$node->poll_query_until('postgres',
		"SELECT last_archived_wal >= '$last' FROM pg_stat_archiver")
	  or die "timed out waiting for $last to be archived";
	return $last;
}

# A primary archiving to repo under pgbench, and a standby that replays
# only through wal-fetch.  Returns the primary (still running) and the
# last segment archived.
sub round_trip
{
	my ($name, $repo, $env) = @_;
	my %primary_env = %$env;
	my %standby_env = %$env;

	# each node gets its own spool, when the store is tested with one
	if ($env->{DBOPS_ARCHIVE_SPOOL_PATH})
	{
		$primary_env{DBOPS_ARCHIVE_SPOOL_PATH} .= '/primary';
		$standby_env{DBOPS_ARCHIVE_SPOOL_PATH} .= '/standby';
	}
	my $extra = env_prefix(\%primary_env);

	my $primary = PostgreSQL::Test::Cluster->new("${name}_primary");
	$primary->init(allows_streaming => 1);
	$primary->append_conf('postgresql.conf', qq{
archive_mode = on
archive_command = '@{[ archive_command($repo, $extra) =~ s/'/''/gr ]}'
});
	$primary->start;
	my ($rc, $out, $err) = run_archive({ env => { DBOPS_ARCHIVE_REPO => $repo, %$env } }, 'check');
	is($rc, 0, "$name: check passes") or diag($err);

	$primary->backup('base');
	$primary->command_ok([ 'pgbench', '-i', '-s', '2', '-q', 'postgres' ], "$name: pgbench -i");
	$primary->command_ok([ 'pgbench', '-t', '300', '-c', '2', '-n', 'postgres' ], "$name: pgbench run");
	my $end_lsn = $primary->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
	my $last = archive_all($primary);
	is($primary->safe_psql('postgres', 'SELECT failed_count FROM pg_stat_archiver'),
		'0', "$name: no archive_command failed");

	my $standby = PostgreSQL::Test::Cluster->new("${name}_standby");
	$standby->init_from_backup($primary, 'base');
	$extra = env_prefix(\%standby_env);
	$standby->append_conf('postgresql.conf',
		"restore_command = '@{[ restore_command($repo, $extra) =~ s/'/''/gr ]}'");
	$standby->set_standby_mode;
	$standby->start;
	$standby->poll_query_until('postgres',
		"SELECT pg_last_wal_replay_lsn() >= '$end_lsn'::pg_lsn")
	  or die "$name: timed out waiting for the standby to replay the archive";
	is($standby->safe_psql('postgres', $query), $primary->safe_psql('postgres', $query),
		"$name: standby replayed through wal-fetch has the same pgbench tables");
	ok($standby->log_contains(qr/restored log file "$last" from archive/),
		"$name: the last segment came through restore_command");
	$standby->stop;
	return ($primary, $last);
}

# Every segment from the first to the last archived is in names: no gap.
sub no_gap
{
	my ($label, @names) = @_;
	my @segs = sort grep { /^[0-9A-F]{24}$/ } map { (split m{/})[-1] } @names;
	my @gaps;
	for my $i (1 .. $#segs)
	{
		push @gaps, $segs[$i]
		  if hex(substr($segs[$i], 16)) != hex(substr($segs[ $i - 1 ], 16)) + 1;
	}
	ok(@segs > 3 && !@gaps, "$label: every segment archived, no gap") or diag("gaps before: @gaps");
}

# The store stops while PostgreSQL archives: wal-push fails (PostgreSQL
# retries), and once the store is back every segment arrives.
sub store_outage
{
	my ($name, $node, $dir, $stop, $start) = @_;
	my $before = $node->safe_psql('postgres', 'SELECT failed_count FROM pg_stat_archiver');
	store_gateway($stop, $dir);
	$node->safe_psql('postgres', 'CREATE TABLE outage AS SELECT generate_series(1, 1000) AS i');
	$node->safe_psql('postgres', 'SELECT pg_switch_wal()');
	$node->poll_query_until('postgres', "SELECT failed_count > $before FROM pg_stat_archiver")
	  or die "$name: archiving did not fail while the store was down";
	ok($node->log_contains(qr/archive command failed with exit code 3/),
		"$name: wal-push exits 3 (transient) while the store is down");
	store_gateway($start, $dir);
	my $last = archive_all($node);
	pass("$name: archiving resumed after the store came back, up to $last");
	return $last;
}

# A fake data directory with one real segment, for direct pushes.
my $pgdata = "$tmp/pgdata";
mkdir $pgdata;
mkdir "$pgdata/pg_wal";
mkdir "$pgdata/pg_wal/archive_status";

sub push_fetch
{
	my ($env, @args) = @_;
	return run_archive({ env => $env, cwd => $pgdata }, @args);
}

# Creation is conditional (If-None-Match: *): the same segment again is
# success, other bytes under the same name exit 4 and change nothing.
sub conditional_create
{
	my ($label, $env, $seg) = @_;
	my $other = "$tmp/other_$label";
	mkdir $other;
	mkdir "$other/pg_wal";
	mkdir "$other/pg_wal/archive_status";
	PostgreSQL::Test::Utils::append_to_file("$other/pg_wal/$seg",
		scalar reverse slurp_file("$pgdata/pg_wal/$seg"));

	my ($rc, $out, $err) = push_fetch($env, 'wal-push', "pg_wal/$seg");
	is($rc, 0, "$label: push to a new name");
	($rc, $out, $err) = push_fetch($env, 'wal-push', "pg_wal/$seg");
	is($rc, 0, "$label: the same segment again exits 0");
	like($err, qr/with identical content/, '... as an identical copy');
	($rc, $out, $err) = run_archive({ env => $env, cwd => $other }, 'wal-push', "pg_wal/$seg");
	is($rc, 4, "$label: other bytes under the same name exit 4");
	($rc, $out, $err) = push_fetch($env, 'wal-fetch', $seg, 'pg_wal/RECOVERYXLOG');
	ok(slurp_file("$pgdata/pg_wal/RECOVERYXLOG") eq slurp_file("$pgdata/pg_wal/$seg"),
		'... and the stored object is still the first one');
}

# A mistyped bucket or container is a configuration error, never "not in
# the archive": answering 1 would end an archive recovery early.  Only the
# store's "no such object" is exit 1.
sub missing_container
{
	my ($label, $kind, $env, $missing_repo, $good_repo) = @_;
	my %bad = (%$env, DBOPS_ARCHIVE_REPO => $missing_repo);
	my ($rc, $out, $err) = push_fetch(\%bad, 'wal-fetch', '000000010000000000000001', 'pg_wal/RECOVERYXLOG');
	is($rc, 2, "$label: wal-fetch from a missing $kind exits 2, not 1");
	like($err, qr/$kind "nosuch\w*" of repository "\Q$missing_repo\E" does not exist/, '... saying so');
	PostgreSQL::Test::Utils::append_to_file("$pgdata/recovery.signal", '');
	($rc, $out, $err) = push_fetch(\%bad, 'wal-fetch', '000000010000000000000001', 'pg_wal/RECOVERYXLOG');
	is($rc, 128, "$label: ... 128 during archive recovery");
	PostgreSQL::Test::Utils::append_to_file("$pgdata/standby.signal", '');
	($rc, $out, $err) = push_fetch(\%bad, 'wal-fetch', '000000010000000000000001', 'pg_wal/RECOVERYXLOG');
	is($rc, 3, "$label: ... 3 in standby mode");
	unlink "$pgdata/recovery.signal", "$pgdata/standby.signal";
	($rc, $out, $err) = push_fetch(\%bad, 'wal-push', "pg_wal/000000010000000000000001");
	is($rc, 2, "$label: wal-push to a missing $kind exits 2");
	($rc, $out, $err) = push_fetch({ %$env, DBOPS_ARCHIVE_REPO => $good_repo },
		'wal-fetch', '0000000100000000000000FE', 'pg_wal/RECOVERYXLOG');
	is($rc, 1, "$label: a missing object in an existing $kind still exits 1");
}
PostgreSQL::Test::Utils::append_to_file("$pgdata/pg_wal/000000010000000000000001", 'x' x 1000);
missing_container('s3', 'bucket', \%s3_env, 's3://nosuchbucket/db1', 's3://walbucket/db1');
missing_container('azure', 'container', \%az_env, 'azure://nosuchcontainer/db1', 'azure://walc/db1');
unlink "$pgdata/pg_wal/000000010000000000000001";

# ---------------------------------------------------------------- S3 on RGW

my ($s3_primary, $s3_last) =
  round_trip('s3', 's3://walbucket/db1', \%s3_env);

my @keys = s3_keys('db1/wal/');
ok(grep({ $_ eq "db1/wal/" . substr($s3_last, 0, 16) . "/$s3_last" } @keys),
	'awscli lists the last segment under db1/wal/TIMELINE+LOG/');
my $s3_key = "db1/wal/" . substr($s3_last, 0, 16) . "/$s3_last";
aws('s3api', 'get-object', '--bucket', 'walbucket', '--key', $s3_key, "$tmp/s3_object");
my ($plain, $sha, $stored_name) = decode_object("$tmp/s3_object");
is(length($plain), 16 * 1024 * 1024, 'object downloaded by awscli decodes to a 16 MB segment');
is("db1/$stored_name", $s3_key, 'its header names it, without the repository prefix');
is(sha256_hex($plain), $sha, "the decoded segment has the header's SHA-256");
my $head = decode_json(aws('s3api', 'head-object', '--bucket', 'walbucket', '--key', $s3_key));
is($head->{Metadata}{sha256}, $sha, 'object metadata x-amz-meta-sha256 is the plaintext SHA-256');
my ($rc, $out, $err) = push_fetch({ DBOPS_ARCHIVE_REPO => 's3://walbucket/db1', %s3_env },
	'wal-fetch', $s3_last, "pg_wal/$s3_last");
is($rc, 0, 'wal-fetch of the last segment');
ok(slurp_file("$pgdata/pg_wal/$s3_last") eq $plain, 'wal-fetch gives the bytes the oracle decoded');
conditional_create('s3', { %s3_env, DBOPS_ARCHIVE_REPO => 's3://walbucket/cc' }, $s3_last);

my $s3_resumed = store_outage('s3', $s3_primary, "$tmp/rgw", 'rgw-stop-gateway', 'rgw-start-gateway');
no_gap('s3', s3_keys('db1/wal/'));

# A direct push while the store is down: exit 3 and a message naming the bucket.
store_gateway('rgw-stop-gateway', "$tmp/rgw");
($rc, $out, $err) = push_fetch({ DBOPS_ARCHIVE_REPO => 's3://walbucket/down', %s3_env },
	'wal-push', "pg_wal/$s3_last");
is($rc, 3, 'wal-push to a stopped store exits 3 after its retries');
like($err, qr/bucket "walbucket".*Couldn't connect/s, '... naming the bucket and the reason');
my %fetch_env = (DBOPS_ARCHIVE_REPO => 's3://walbucket/db1', %s3_env);
PostgreSQL::Test::Utils::append_to_file("$pgdata/recovery.signal", '');
($rc, $out, $err) = push_fetch(\%fetch_env, 'wal-fetch', $s3_last, 'pg_wal/RECOVERYXLOG');
is($rc, 128, 'wal-fetch from a stopped store during archive recovery exits 128, not 1');
PostgreSQL::Test::Utils::append_to_file("$pgdata/standby.signal", '');
($rc, $out, $err) = push_fetch(\%fetch_env, 'wal-fetch', $s3_last, 'pg_wal/RECOVERYXLOG');
is($rc, 3, 'wal-fetch from a stopped store in standby mode exits 3');
unlink "$pgdata/recovery.signal", "$pgdata/standby.signal";
store_gateway('rgw-start-gateway', "$tmp/rgw");

# Wrong secret: a clear error that never shows the secret.
my $wrong = 'Wr0ngSecretWr0ngSecretWr0ngSecret';
($rc, $out, $err) = push_fetch({ DBOPS_ARCHIVE_REPO => 's3://walbucket/db1', %s3_env,
		AWS_SECRET_ACCESS_KEY => $wrong }, 'wal-push', "pg_wal/$s3_last");
is($rc, 2, 'wrong secret: wal-push exits 2 (not transient)');
like($err, qr/HTTP status 403 \(SignatureDoesNotMatch\)/, '... with the status and the store\'s error code');
like($err, qr/AWS_SECRET_ACCESS_KEY/, '... and a hint naming the variable');
unlike($err, qr/\Q$wrong\E|\Q$rgw->{secret_key}\E/, '... and no secret in the message');

# Multipart through a low threshold: 16 MB uncompressed in 5 MB parts.
my %mp_env = (%s3_env, DBOPS_ARCHIVE_REPO => 's3://walbucket/mp',
	DBOPS_ARCHIVE_COMPRESS => 'none', DBOPS_ARCHIVE_S3_MULTIPART_THRESHOLD => '5MB');
($rc, $out, $err) = push_fetch(\%mp_env, 'wal-push', "pg_wal/$s3_last");
is($rc, 0, 'wal-push above s3-multipart-threshold') or diag($err);
my $mp_key = "mp/wal/" . substr($s3_last, 0, 16) . "/$s3_last";
$head = decode_json(aws('s3api', 'head-object', '--bucket', 'walbucket', '--key', $mp_key));
like($head->{ETag}, qr/-4"$/, 'the object was stored as a 4-part multipart upload');
# streamed, its digest is known only after the first parts went up
ok(!defined $head->{Metadata}{sha256}, '... without SHA-256 metadata (readers never need it)');
($rc, $out, $err) = push_fetch(\%mp_env, 'wal-fetch', $s3_last, 'pg_wal/RECOVERYXLOG');
ok(slurp_file("$pgdata/pg_wal/RECOVERYXLOG") eq $plain, '... and fetches back identical');
($rc, $out, $err) = push_fetch(\%mp_env, 'wal-push', "pg_wal/$s3_last");
is($rc, 0, 'identical re-push of a multipart object exits 0');
my $uploads = aws('s3api', 'list-multipart-uploads', '--bucket', 'walbucket');
unlike($uploads, qr/"UploadId"/, 'no multipart upload left open');

# Unfinished multipart uploads of the repository (what a push or a backup
# killed mid-upload leaves) are aborted once older than cleanup-grace, by
# "cleanup" and by a push (one segment in 16); nobody else's, not even
# those of a repository whose prefix starts the same.
sub start_upload
{
	my ($key) = @_;
	my $id = decode_json(aws('s3api', 'create-multipart-upload', '--bucket', 'walbucket',
			'--key', $key))->{UploadId};
	aws('s3api', 'upload-part', '--bucket', 'walbucket', '--key', $key, '--part-number', '1',
		'--upload-id', $id, '--body', "$pgdata/pg_wal/$s3_last");
	return $id;
}
sub open_uploads
{
	my $json = aws('s3api', 'list-multipart-uploads', '--bucket', 'walbucket');
	return () if $json !~ /\S/;
	return sort map { $_->{Key} } @{ decode_json($json)->{Uploads} || [] };
}
start_upload('db1/wal/0000000100000000/0000000100000000000000C1');
my %foreign = ('other/wal/x' => start_upload('other/wal/x'), 'db10/wal/x' => start_upload('db10/wal/x'));
my %clean_env = (%s3_env, DBOPS_ARCHIVE_REPO => 's3://walbucket/db1');
($rc, $out, $err) = push_fetch(\%clean_env, 'cleanup');
is($rc, 0, 'cleanup on RGW') or diag($err);
like($out, qr/removed 0 leftovers/, '... keeps uploads younger than cleanup-grace (24h)');
($rc, $out, $err) = push_fetch({ %clean_env, DBOPS_ARCHIVE_CLEANUP_GRACE => '0' }, 'cleanup');
like($out, qr/removed 1 leftover of interrupted writes/, 'with cleanup-grace 0 the unfinished upload is aborted');
is(join(' ', open_uploads()), 'db10/wal/x other/wal/x', "... and only the repository's own");
start_upload('db1/wal/0000000100000000/0000000100000000000000C3');
PostgreSQL::Test::Utils::append_to_file("$pgdata/pg_wal/0000000100000000000000C0", 'x' x 100);
($rc, $out, $err) = push_fetch({ %clean_env, DBOPS_ARCHIVE_CLEANUP_GRACE => '0' },
	'wal-push', 'pg_wal/0000000100000000000000C0');
is($rc, 0, 'a push of segment C0 (one in 16)');
like($err, qr/removed 1 leftover of interrupted writes under "wal\/0000000100000000\/"/,
	'... aborted the unfinished upload in its directory');
is(join(' ', open_uploads()), 'db10/wal/x other/wal/x', '... as listed by awscli');
# Least privilege: without the right to list uploads the sweep fails, and
# the push does not.
aws('s3api', 'put-bucket-policy', '--bucket', 'walbucket', '--policy',
	encode_json({ Version => '2012-10-17', Statement => [ { Effect => 'Deny',
				Principal => '*', Action => 's3:ListBucketMultipartUploads',
				Resource => 'arn:aws:s3:::walbucket' } ] }));
PostgreSQL::Test::Utils::append_to_file("$pgdata/pg_wal/0000000100000000000000D0", 'x' x 100);
($rc, $out, $err) = push_fetch({ %clean_env, DBOPS_ARCHIVE_CLEANUP_GRACE => '0' },
	'wal-push', 'pg_wal/0000000100000000000000D0');
is($rc, 0, 'a push whose sweep is refused (403) succeeds');
like($err, qr/warning: could not list the multipart uploads under "wal\/0000000100000000\/".*HTTP status 403/,
	'... with a WARNING');
($rc, $out, $err) = push_fetch({ %clean_env, DBOPS_ARCHIVE_CLEANUP_GRACE => '0' }, 'cleanup');
is($rc, 2, '... while the cleanup command itself fails, exit 2');
aws('s3api', 'delete-bucket-policy', '--bucket', 'walbucket');
aws('s3api', 'abort-multipart-upload', '--bucket', 'walbucket', '--key', $_,
	'--upload-id', $foreign{$_}) for sort keys %foreign;
unlink map { "$pgdata/pg_wal/0000000100000000000000$_" } qw(C0 D0);

# TLS with a self-signed certificate: verification is on by default.
my %tls_env = (%s3_env, DBOPS_ARCHIVE_REPO => 's3://walbucket/tls',
	AWS_ENDPOINT_URL => $rgw->{tls_endpoint});
($rc, $out, $err) = push_fetch(\%tls_env, 'wal-push', "pg_wal/$s3_last");
is($rc, 2, 'TLS: an unknown CA fails (verification on by default)');
like($err, qr/certificate/, '... saying the certificate could not be verified');
($rc, $out, $err) = push_fetch({ %tls_env, AWS_CA_BUNDLE => $rgw->{ca_file} },
	'wal-push', "pg_wal/$s3_last");
is($rc, 0, 'TLS: succeeds with the CA file (AWS_CA_BUNDLE)') or diag($err);

# Virtual-host style: RGW's DNS name is localhost, and curl resolves
# walbucket.localhost to 127.0.0.1 by itself.
my %vh_env = (%s3_env, DBOPS_ARCHIVE_REPO => 's3://walbucket/vhost',
	AWS_ENDPOINT_URL => $rgw->{host_endpoint}, DBOPS_ARCHIVE_S3_URI_STYLE => 'host');
($rc, $out, $err) = push_fetch(\%vh_env, 'wal-push', "pg_wal/$s3_last");
is($rc, 0, 'virtual-host style push') or diag($err);
ok(grep({ /\Q$s3_last\E$/ } s3_keys('vhost/')), '... lands in the bucket (awscli, path style)');
($rc, $out, $err) = push_fetch(\%vh_env, 'wal-fetch', '000000010000000000000099', 'pg_wal/RECOVERYXLOG');
is($rc, 1, 'virtual-host style fetch of a missing segment exits 1');
$s3_primary->stop;

# ---------------------------------------------------------------- Azure on Azurite

# This round trip pushes ahead and prefetches in parallel threads.
my ($az_primary, $az_last) = round_trip('azure', 'azure://walc/db1',
	{ %az_env, DBOPS_ARCHIVE_SPOOL_PATH => "$tmp/spool", DBOPS_ARCHIVE_PARALLEL => '4',
		DBOPS_ARCHIVE_AHEAD => '8' });

my $az_key = "db1/wal/" . substr($az_last, 0, 16) . "/$az_last";
az_curl($az_key, '-o', "$tmp/az_object");
($plain, $sha, $stored_name) = decode_object("$tmp/az_object");
is("db1/$stored_name", $az_key, 'the blob\'s header names it');
is(length($plain), 16 * 1024 * 1024, 'blob downloaded with curl and a SAS decodes to a 16 MB segment');
is(sha256_hex($plain), $sha, "the decoded segment has the header's SHA-256");
my $props = az_curl($az_key, '-I');
like($props, qr/^x-ms-meta-sha256: $sha\r?$/mi, 'blob metadata x-ms-meta-sha256 is the plaintext SHA-256');
conditional_create('azure', { %az_env, DBOPS_ARCHIVE_REPO => 'azure://walc/cc' }, $s3_last);

store_outage('azure', $az_primary, "$tmp/az", 'azurite-stop-gateway', 'azurite-start-gateway');
my $listing = az_curl('?comp=list&restype=container&prefix=db1%2Fwal%2F');
no_gap('azure', $listing =~ m{<Name>([^<]+)</Name>}g);
$az_primary->stop;

# SAS instead of the account key, for reading and writing.
my %sas_env = (AZURE_STORAGE_ACCOUNT => $az->{account},
	AZURE_STORAGE_ENDPOINT => $az->{endpoint}, AZURE_STORAGE_SAS_TOKEN => '?' . az_sas($az, 'racwdl'),
	DBOPS_ARCHIVE_REPO => 'azure://walc/sas');
($rc, $out, $err) = push_fetch(\%sas_env, 'wal-push', "pg_wal/$s3_last");
is($rc, 0, 'push with a SAS token') or diag($err);
($rc, $out, $err) = push_fetch(\%sas_env, 'wal-fetch', $s3_last, 'pg_wal/RECOVERYXLOG');
is($rc, 0, 'fetch with a SAS token');
my $bad_sas = $sas_env{AZURE_STORAGE_SAS_TOKEN} =~ s/sig=/sig=AA/r;
($rc, $out, $err) = push_fetch({ %sas_env, AZURE_STORAGE_SAS_TOKEN => $bad_sas },
	'wal-fetch', $s3_last, 'pg_wal/RECOVERYXLOG');
is($rc, 2, 'a tampered SAS token: exit 2, not "not found"');
unlike($err, qr/sig=|\Q$bad_sas\E/, '... and the token is not in the message');

# Wrong account key.
my $wrong_key = encode_base64('w' x 64, '');
($rc, $out, $err) = push_fetch({ %az_env, DBOPS_ARCHIVE_REPO => 'azure://walc/db1',
		AZURE_STORAGE_KEY => $wrong_key }, 'wal-push', "pg_wal/$s3_last");
is($rc, 2, 'wrong account key: wal-push exits 2');
like($err, qr/container "walc".*HTTP status 403 \(AuthorizationFailure\)/s,
	'... naming the container, the status and the error code');
unlike($err, qr/\Q$wrong_key\E|\Q$az->{key}\E/, '... and no key in the message');

# Blocks through a low threshold: 16 MB uncompressed in 1 MB blocks.
my %blk_env = (%az_env, DBOPS_ARCHIVE_REPO => 'azure://walc/blocks',
	DBOPS_ARCHIVE_COMPRESS => 'none', DBOPS_ARCHIVE_AZURE_BLOCK_THRESHOLD => '1MB');
($rc, $out, $err) = push_fetch(\%blk_env, 'wal-push', "pg_wal/$s3_last");
is($rc, 0, 'wal-push above azure-block-threshold') or diag($err);
my $blocks = az_curl("blocks/wal/" . substr($s3_last, 0, 16) . "/$s3_last?blocklisttype=committed&comp=blocklist");
my $nblocks = () = $blocks =~ /<Block>/g;
ok($nblocks >= 16, "the blob was committed from $nblocks blocks");
($rc, $out, $err) = push_fetch(\%blk_env, 'wal-fetch', $s3_last, 'pg_wal/RECOVERYXLOG');
ok(slurp_file("$pgdata/pg_wal/RECOVERYXLOG") eq slurp_file("$pgdata/pg_wal/$s3_last"),
	'... and fetches back identical');

# TLS on the second Azurite.
my %aztls_env = (AZURE_STORAGE_ACCOUNT => $az_tls->{account}, AZURE_STORAGE_KEY => $az_tls->{key},
	AZURE_STORAGE_ENDPOINT => $az_tls->{endpoint}, DBOPS_ARCHIVE_REPO => 'azure://walc/tls');
($rc, $out, $err) = push_fetch(\%aztls_env, 'wal-push', "pg_wal/$s3_last");
is($rc, 2, 'Azure TLS: an unknown CA fails');
like($err, qr/certificate/, '... saying the certificate could not be verified');
($rc, $out, $err) = push_fetch({ %aztls_env, DBOPS_ARCHIVE_AZURE_CA_FILE => $az_tls->{ca_file} },
	'wal-push', "pg_wal/$s3_last");
is($rc, 0, 'Azure TLS: succeeds with the CA file') or diag($err);

done_testing();
