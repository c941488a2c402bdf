# Copyright (c) dbops contributors
#
# The failure contract of dbops_archive (README, "Exit codes") on a file://
# repository: re-pushes, differing content, missing keys, config files that
# expose secrets, unreachable stores in each recovery mode, the queue limit,
# and a corrupt object, which PostgreSQL must never replay.
use strict;
use warnings FATAL => 'all';

use Digest::SHA qw(sha256);
use File::Copy;
use IPC::Run;
use Time::HiRes;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DbopsArchive;

my $tmp      = PostgreSQL::Test::Utils::tempdir('faults');
my $repo_dir = "$tmp/repo";
my $repo     = "file://$repo_dir";
mkdir $repo_dir or die;
my %env = (DBOPS_ARCHIVE_REPO => $repo);

# A fake data directory: wal-push and wal-fetch run in PGDATA.
my $pgdata = "$tmp/pgdata";
mkdir $pgdata;
mkdir "$pgdata/pg_wal";
mkdir "$pgdata/pg_wal/archive_status";
my $seg = '000000010000000000000007';
my $obj = "$repo_dir/wal/0000000100000000/$seg";
my $wal = "$pgdata/pg_wal/$seg";
my $segment_bytes = wal_segment_bytes($seg, 'WAL' . ('x' x 1021));
PostgreSQL::Test::Utils::append_to_file($wal, $segment_bytes);

sub archive { my ($e, @a) = @_; return run_archive({ env => { %env, %$e }, cwd => $pgdata }, @a); }

my ($rc, $out, $err);

# --- push: identical re-push succeeds, different content never overwrites
($rc, $out, $err) = archive({}, 'wal-push', "pg_wal/$seg");
is($rc, 0, 'wal-push stores a segment');
my $stored = slurp_file($obj);
($rc, $out, $err) = archive({}, 'wal-push', "pg_wal/$seg");
is($rc, 0, 'identical re-push exits 0');

# Compression threads change nothing in the result the check relies on
($rc, $out, $err) = archive({ DBOPS_ARCHIVE_COMPRESS => 'none' }, 'wal-push', "pg_wal/$seg");
is($rc, 0, 'identical re-push with other settings exits 0 (compared by plaintext SHA-256)');
like($err, qr/already in repository .* with identical content/, '... and says so');

PostgreSQL::Test::Utils::append_to_file($wal, 'changed');
($rc, $out, $err) = archive({}, 'wal-push', "pg_wal/$seg");
is($rc, 4, 'different content exits 4');
like($err, qr/WAL file "$seg" differs from the copy already in repository "\Q$repo\E"/,
	'... naming the segment and the repository');
ok(slurp_file($obj) eq $stored, 'the stored object is unchanged');
unlink $wal;
PostgreSQL::Test::Utils::append_to_file($wal, $segment_bytes);

# --- an identical re-push needs no room in the repository.  A full file
# system needs root to make (a tiny tmpfs); what a write that fails on a
# full disk goes through is shown with the two failures a non-root test can
# cause: a directory that refuses new files (EACCES, as a read-only mount
# or a store that refuses writes) and a file-size limit (EFBIG once the
# temporary file reaches it, as ENOSPC would, mid-write).
my $full_dir = "$tmp/full";
mkdir $full_dir;
my %full = (DBOPS_ARCHIVE_REPO => "file://$full_dir");
my $rseg = '0000000100000000000000A0';
my $random = join('', map { chr(int(rand(256))) } 1 .. 300000);
PostgreSQL::Test::Utils::append_to_file("$pgdata/pg_wal/$rseg", $random);
($rc, $out, $err) = archive(\%full, 'wal-push', "pg_wal/$rseg");
is($rc, 0, 'push of an incompressible segment');
chmod 0555, "$full_dir/wal/0000000100000000";
($rc, $out, $err) = archive(\%full, 'wal-push', "pg_wal/$rseg");
is($rc, 0, 'identical re-push into a directory that refuses new files exits 0');
like($err, qr/already in repository .* with identical content/, '... having found the copy');
my $nseg = '0000000100000000000000A1';
PostgreSQL::Test::Utils::append_to_file("$pgdata/pg_wal/$nseg", $random);
($rc, $out, $err) = archive(\%full, 'wal-push', "pg_wal/$nseg");
is($rc, 2, '... while a new segment there fails (exit 2), never 0');
unlink "$pgdata/pg_wal/$rseg";
PostgreSQL::Test::Utils::append_to_file("$pgdata/pg_wal/$rseg", scalar reverse $random);
($rc, $out, $err) = archive(\%full, 'wal-push', "pg_wal/$rseg");
is($rc, 4, '... and other content under the stored name exits 4');
chmod 0755, "$full_dir/wal/0000000100000000";
unlink "$pgdata/pg_wal/$rseg";
PostgreSQL::Test::Utils::append_to_file("$pgdata/pg_wal/$rseg", $random);
my @limited = ('bash', '-c', 'ulimit -f 64; exec "$0" "$@"');
($rc, $out, $err) = run_archive({ env => { %env, %full }, cwd => $pgdata, prefix => \@limited },
	'wal-push', "pg_wal/$rseg");
is($rc, 0, 'identical re-push whose write fails at a file-size limit exits 0');
($rc, $out, $err) = run_archive({ env => { %env, %full }, cwd => $pgdata, prefix => \@limited },
	'wal-push', "pg_wal/$nseg");
is($rc, 3, '... while a new segment fails (exit 3, not killed by SIGXFSZ)');
like($err, qr/could not write .*File too large/, '... saying why');
is(scalar(my @t = glob("$full_dir/wal/*/*.dbops.tmp.*")), 0, '... and leaves no temporary file');
unlink "$pgdata/pg_wal/$rseg", "$pgdata/pg_wal/$nseg";

# --- leftovers of a push killed mid-write are removed once older than
# cleanup-grace: by "dbops_archive cleanup", and by a later push into the
# same directory (one segment in 16).
my $sweep_dir = "$tmp/sweep";
mkdir $sweep_dir;
my %sweep = (DBOPS_ARCHIVE_REPO => "file://$sweep_dir", DBOPS_ARCHIVE_COMPRESS => 'none');
my $kseg = '0000000100000000000000B0';
my $kdir = "$sweep_dir/wal/0000000100000000";
# 64 MiB written and synced: time enough to catch the temporary file
PostgreSQL::Test::Utils::append_to_file("$pgdata/pg_wal/$kseg", "\0" x (64 << 20));
my @leftover;
for my $try (1 .. 50)
{
	local %ENV = (%ENV, %sweep);
	my $h = IPC::Run::start([ archive_bin(), 'wal-push', "pg_wal/$kseg" ],
		init => sub { chdir $pgdata or die }, '<', \undef, '>', \my $o, '2>', \my $e);
	while ($h->pumpable && !(@leftover = glob("$kdir/$kseg.dbops.tmp.*")))
	{
		Time::HiRes::usleep(500);
	}
	$h->signal('KILL') if @leftover;
	$h->finish;
	last if @leftover && -e $leftover[0];
	# it finished first: try again
	@leftover = ();
	unlink "$kdir/$kseg";
}
is(scalar(@leftover), 1, 'a push killed (SIGKILL) mid-write leaves its temporary file');
ok(!-e "$kdir/$kseg", '... and no object under the name');
($rc, $out, $err) = archive(\%sweep, 'cleanup');
is($rc, 0, 'cleanup of a repository with a fresh leftover');
like($out, qr/removed 0 leftovers of interrupted writes older than 24h from repository "file:\/\/\Q$sweep_dir\E"/,
	'... removes nothing younger than cleanup-grace (default 24h): a write may be in progress');
ok(-e $leftover[0], '... the temporary file is still there');
utime(time - 2 * 86400, time - 2 * 86400, $leftover[0]);
PostgreSQL::Test::Utils::append_to_file("$kdir/$kseg.dbops.tmp.4000000", 'a fresh one');
($rc, $out, $err) = archive(\%sweep, 'cleanup');
like($out, qr/removed 1 leftover of interrupted writes/, 'cleanup removes it once older than cleanup-grace');
ok(!-e $leftover[0] && -e "$kdir/$kseg.dbops.tmp.4000000", '... and only that one');
# a later push sweeps the directory it writes to
my $old_tmp = "$kdir/0000000100000000000000B1.dbops.tmp.4000001";
PostgreSQL::Test::Utils::append_to_file($old_tmp, 'left by a killed push');
utime(time - 2 * 86400, time - 2 * 86400, $old_tmp);
PostgreSQL::Test::Utils::append_to_file("$pgdata/pg_wal/0000000100000000000000B1", 'x' x 100);
($rc, $out, $err) = archive(\%sweep, 'wal-push', 'pg_wal/0000000100000000000000B1');
ok($rc == 0 && -e $old_tmp, 'a push of a segment not due for a sweep (B1) leaves it');
($rc, $out, $err) = archive(\%sweep, 'wal-push', "pg_wal/$kseg");
is($rc, 0, 'the push of B0 (one segment in 16) succeeds');
ok(!-e $old_tmp, '... and removed the old leftover in its directory');
like($err, qr/removed 1 leftover of interrupted writes under "wal\/0000000100000000\/"/, '... saying so');
($rc, $out, $err) = archive({ %sweep, DBOPS_ARCHIVE_CLEANUP_GRACE => '3 fortnights' }, 'cleanup');
is($rc, 2, 'an invalid cleanup-grace is a configuration error');
($rc, $out, $err) = archive({ %sweep, DBOPS_ARCHIVE_CLEANUP_GRACE => 'off' }, 'cleanup');
is($rc, 2, 'cleanup with cleanup-grace off is refused');
unlink "$pgdata/pg_wal/$kseg", "$pgdata/pg_wal/0000000100000000000000B1";

# --- fetch: missing is 1; other failures depend on the recovery mode
($rc, $out, $err) = archive({}, 'wal-fetch', '000000010000000000000099', 'pg_wal/RECOVERYXLOG');
is($rc, 1, 'wal-fetch of a missing segment exits 1');
($rc, $out, $err) = archive({}, 'wal-fetch', $seg, 'pg_wal/RECOVERYXLOG');
is($rc, 0, 'wal-fetch restores');
ok(slurp_file("$pgdata/pg_wal/RECOVERYXLOG") eq slurp_file($wal), 'restored bytes are the original');
ok(!-e "$pgdata/pg_wal/RECOVERYXLOG.dbops.tmp", 'no temporary file left');

my %gone = (DBOPS_ARCHIVE_REPO => "file://$tmp/unmounted");
($rc, $out, $err) = archive(\%gone, 'wal-fetch', $seg, 'pg_wal/RECOVERYXLOG');
is($rc, 2, 'unreachable repository outside recovery exits 2, not 1');
like($err, qr/repository directory "\Q$tmp\E\/unmounted" does not exist/, '... saying why');
PostgreSQL::Test::Utils::append_to_file("$pgdata/recovery.signal", '');
($rc, $out, $err) = archive(\%gone, 'wal-fetch', $seg, 'pg_wal/RECOVERYXLOG');
is($rc, 128, 'unreachable repository during archive recovery exits 128');
like($err, qr/Exit code 128 stops archive recovery on purpose/, '... and the log says why');
($rc, $out, $err) = archive({}, 'wal-fetch', '000000010000000000000099', 'pg_wal/RECOVERYXLOG');
is($rc, 1, 'a missing segment is still 1 during archive recovery');
PostgreSQL::Test::Utils::append_to_file("$pgdata/standby.signal", '');
($rc, $out, $err) = archive(\%gone, 'wal-fetch', $seg, 'pg_wal/RECOVERYXLOG');
is($rc, 3, 'unreachable repository in standby mode exits 3 (PostgreSQL retries)');
unlink "$pgdata/standby.signal", "$pgdata/recovery.signal";

# --- wal-push never exits 126 or more; the queue limit drops WAL loudly
($rc, $out, $err) = archive(\%gone, 'wal-push', "pg_wal/$seg");
is($rc, 2, 'push to an unreachable repository exits 2');
PostgreSQL::Test::Utils::append_to_file("$pgdata/pg_wal/archive_status/$seg.ready", '');
($rc, $out, $err) = archive({ %gone, DBOPS_ARCHIVE_PUSH_QUEUE_MAX => '1GB' },
	'wal-push', "pg_wal/$seg");
is($rc, 2, 'queue below archive-push-queue-max: the failure stands');
($rc, $out, $err) = archive({ %gone, DBOPS_ARCHIVE_PUSH_QUEUE_MAX => '512kB' },
	'wal-push', "pg_wal/$seg");
is($rc, 0, 'queue above archive-push-queue-max: the segment is dropped, exit 0');
like($err, qr/warning: dropped WAL file "$seg" from the archive: 1048576 bytes await archiving/,
	'... with a loud WARNING');
like($err, qr/The archive now has a gap/, '... that says what it means');

# --- pushing ahead through a spool: one call pushes what is .ready after it
my %ahead = (DBOPS_ARCHIVE_REPO => "file://$tmp/ahead", DBOPS_ARCHIVE_SPOOL_PATH => "$tmp/spool");
mkdir "$tmp/ahead";
my @segs = map { sprintf('0000000100000000000000%02X', $_) } (0x20 .. 0x23);
for my $s (@segs)
{
	PostgreSQL::Test::Utils::append_to_file("$pgdata/pg_wal/$s", "$s " x 1000);
	PostgreSQL::Test::Utils::append_to_file("$pgdata/pg_wal/archive_status/$s.ready", '');
}
($rc, $out, $err) = archive(\%ahead, 'wal-push', "pg_wal/$segs[0]");
is($rc, 0, 'push with a spool');
is(scalar(grep { -f "$tmp/ahead/wal/0000000100000000/$_" } @segs), 4,
	'the call also pushed the three segments ready after it');
is(scalar(my @m = glob("$tmp/spool/push-*/*.pushed")), 3, 'one marker per segment pushed ahead');
($rc, $out, $err) = archive(\%ahead,
	'--verbose', 'wal-push', "pg_wal/$segs[1]");
is($rc, 0, 'the call for a segment pushed ahead succeeds');
like($err, qr/WAL file "$segs[1]" was pushed ahead/, '... from its marker');
PostgreSQL::Test::Utils::append_to_file("$pgdata/pg_wal/$segs[2]", 'changed since');
($rc, $out, $err) = archive(\%ahead, 'wal-push', "pg_wal/$segs[2]");
is($rc, 4, 'a marker is not trusted for a file changed since: pushed again, and it differs');
unlink "$pgdata/pg_wal/archive_status/$_.ready" for @segs;

# --- encryption keys
my $key = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
my $keyfile = "$tmp/archive.key";
PostgreSQL::Test::Utils::append_to_file($keyfile, "# dbops_archive key ring\nk2026 $key\n");
chmod 0600, $keyfile;
my $seg2 = '000000010000000000000008';
PostgreSQL::Test::Utils::append_to_file("$pgdata/pg_wal/$seg2",
	wal_segment_bytes($seg2, 'WAL' . ('x' x 1021)));
($rc, $out, $err) = archive({ DBOPS_ARCHIVE_ENCRYPT_KEY_FILE => "$tmp/missing.key" },
	'wal-push', "pg_wal/$seg2");
is($rc, 2, 'missing key file: push fails with exit 2');
like($err, qr/could not open key file "\Q$tmp\E\/missing.key"/, '... naming the key file');
ok(!-e "$repo_dir/wal/0000000100000000/$seg2", '... and stores nothing');
($rc, $out, $err) = archive({ DBOPS_ARCHIVE_ENCRYPT_KEY_FILE => $keyfile }, 'wal-push', "pg_wal/$seg2");
is($rc, 0, 'encrypted push');
my $enc = slurp_file("$repo_dir/wal/0000000100000000/$seg2");
is(substr($enc, 0, 11), "DBOPSARC\x02\x01\x01", 'object header says version 2, zstd + AES-256-GCM');
ok(index($enc, 'WALxxxx') < 0, 'no plaintext in the encrypted object');
($rc, $out, $err) = archive({}, 'wal-fetch', $seg2, 'pg_wal/RECOVERYXLOG');
is($rc, 2, 'fetch of an encrypted object without a key fails (not "not found")');
like($err, qr/encrypted with key "k2026", which is not configured/, '... naming the key id');
($rc, $out, $err) = archive({ DBOPS_ARCHIVE_ENCRYPT_KEY => "k2026 $key" },
	'wal-fetch', $seg2, 'pg_wal/RECOVERYXLOG');
is($rc, 0, 'fetch with the key from the environment');
ok(slurp_file("$pgdata/pg_wal/RECOVERYXLOG") eq slurp_file("$pgdata/pg_wal/$seg2"),
	'... restores the plaintext');
chmod 0644, $keyfile;
($rc, $out, $err) = archive({ DBOPS_ARCHIVE_ENCRYPT_KEY_FILE => $keyfile }, 'wal-push', "pg_wal/$seg2");
is($rc, 2, 'key file readable by others refused');
like($err, qr/key file ".*" is accessible by group or others/, '... saying why');

# --- with a key configured, an unencrypted object is refused
unlink "$pgdata/pg_wal/RECOVERYXLOG";
($rc, $out, $err) = archive({ DBOPS_ARCHIVE_ENCRYPT_KEY => "k2026 $key" },
	'wal-fetch', $seg, 'pg_wal/RECOVERYXLOG');
is($rc, 2, 'with a key, an unencrypted object is not restored (configuration error)');
like($err, qr/object "wal\/0000000100000000\/$seg" is not encrypted, but encryption keys are configured/,
	'... saying why');
ok(!-e "$pgdata/pg_wal/RECOVERYXLOG", '... and nothing reaches PostgreSQL');
($rc, $out, $err) = archive({ DBOPS_ARCHIVE_ENCRYPT_KEY => "k2026 $key",
		DBOPS_ARCHIVE_ALLOW_UNENCRYPTED => 'on' }, 'wal-fetch', $seg, 'pg_wal/RECOVERYXLOG');
is($rc, 0, '... unless allow-unencrypted is on (moving a repository to encryption)');
unlink "$pgdata/pg_wal/RECOVERYXLOG";

# --- objects are bound to their names: one copied over another is refused
my $copied = "$repo_dir/wal/0000000100000000/000000010000000000000009";
copy($obj, $copied) or die;
($rc, $out, $err) = archive({}, 'wal-fetch', '000000010000000000000009', 'pg_wal/RECOVERYXLOG');
isnt($rc, 0, 'an object copied under another segment\'s name is not restored');
like($err, qr/object "wal\/0000000100000000\/000000010000000000000009" was stored as "wal\/0000000100000000\/$seg"/,
	'... naming both names');
ok(!-e "$pgdata/pg_wal/RECOVERYXLOG", '... and nothing reaches PostgreSQL');
PostgreSQL::Test::Utils::append_to_file("$pgdata/recovery.signal", '');
($rc, $out, $err) = archive({}, 'wal-fetch', '000000010000000000000009', 'pg_wal/RECOVERYXLOG');
is($rc, 128, '... exit 128 during archive recovery');
unlink "$pgdata/recovery.signal";
PostgreSQL::Test::Utils::append_to_file("$pgdata/pg_wal/000000010000000000000009", 'other');
($rc, $out, $err) = archive({}, 'wal-push', 'pg_wal/000000010000000000000009');
is($rc, 4, 'a push onto a copied object reports a differing copy, exit 4');
unlink $copied, "$pgdata/pg_wal/000000010000000000000009";

# --- config files
my $conf = "$tmp/archive.conf";
PostgreSQL::Test::Utils::append_to_file($conf, "repo = $repo\nencrypt-key = k2026 $key\n");
chmod 0644, $conf;
($rc, $out, $err) = archive({ DBOPS_ARCHIVE_REPO => '' }, '--config', $conf, 'check');
is($rc, 2, 'config file with a secret and mode 0644 refused');
like($err, qr/config file "\Q$conf\E" holds secrets and is accessible by group or others \(mode 0644\)/,
	'... saying why');
chmod 0600, $conf;
($rc, $out, $err) = archive({ DBOPS_ARCHIVE_REPO => '', DBOPS_ARCHIVE_CONFIG => $conf }, 'check');
is($rc, 0, 'the same file with mode 0600, named by DBOPS_ARCHIVE_CONFIG, works');
like($out, qr/\(encrypted\)/, '... with encryption on');
($rc, $out, $err) = archive({}, '--encrypt-key=k1', 'check');
is($rc, 2, 'a secret on the command line is refused');
unlike($err . $out, qr/$key/, 'no output ever shows the key');

PostgreSQL::Test::Utils::append_to_file("$pgdata/PG_VERSION", "15\n");
copy($conf, "$pgdata/archive.conf") or die;
chmod 0600, "$pgdata/archive.conf";
($rc, $out, $err) = archive({}, '--config', "$pgdata/archive.conf", 'check');
is($rc, 2, 'config file inside the data directory refused');
like($err, qr/is inside the data directory/, '... saying why');

# --- a primary whose repository is gone: with archive-push-queue-max, WAL is
# dropped from the archive (logged) instead of piling up in pg_wal
my $lost = PostgreSQL::Test::Cluster->new('lost');
$lost->init(allows_streaming => 1);
my $dropping = archive_command("file://$tmp/gone", 'DBOPS_ARCHIVE_PUSH_QUEUE_MAX=1MB ');
$lost->append_conf('postgresql.conf', "archive_mode = on\narchive_command = '$dropping'\n");
$lost->start;
my $dropped = $lost->safe_psql('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn())');
$lost->safe_psql('postgres', 'SELECT pg_switch_wal()');
$lost->poll_query_until('postgres',
	"SELECT last_archived_wal >= '$dropped' FROM pg_stat_archiver")
  or die 'timed out waiting for the archiver to drop WAL';
ok($lost->log_contains(qr/warning: dropped WAL file "$dropped" from the archive/),
	'the server log shows the WARNING for the dropped segment');
is($lost->safe_psql('postgres', 'SELECT failed_count FROM pg_stat_archiver'), '0',
	'PostgreSQL counts the dropped segment as archived, no failure');
$lost->stop;

# --- a corrupt object is never replayed
my $crepo_dir = "$tmp/crepo";
mkdir $crepo_dir;
my $crepo = "file://$crepo_dir";
my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf',
	"archive_mode = on\narchive_command = '@{[ archive_command($crepo) ]}'\n");
$primary->start;
$primary->backup('base');
$primary->safe_psql('postgres', 'CREATE TABLE t AS SELECT generate_series(1, 1000) AS i');
my $bad = $primary->safe_psql('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn())');
$primary->safe_psql('postgres', 'SELECT pg_switch_wal()');
$primary->safe_psql('postgres', 'INSERT INTO t SELECT generate_series(1001, 2000)');
my $end_lsn = $primary->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
my $last = $primary->safe_psql('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn())');
$primary->safe_psql('postgres', 'SELECT pg_switch_wal()');
$primary->poll_query_until('postgres',
	"SELECT last_archived_wal >= '$last' FROM pg_stat_archiver")
  or die 'timed out waiting for archiving';
$primary->stop;

my $bad_obj = "$crepo_dir/wal/" . substr($bad, 0, 16) . "/$bad";
my $good_bytes = slurp_file($bad_obj);
my $bad_bytes = $good_bytes;
substr($bad_bytes, length($bad_bytes) / 2, 1) ^= "\x01";
sub write_object
{
	my ($bytes) = @_;
	open my $fh, '>', $bad_obj or die;
	binmode $fh;
	print $fh $bytes;
	close $fh;
}
write_object($bad_bytes);

# Has the node's postmaster gone?  The startup process's FATAL (restore_command
# exited 128) ends it; waits up to the tests' default timeout.
sub stopped
{
	my ($node) = @_;
	for (1 .. $PostgreSQL::Test::Utils::timeout_default)
	{
		return 1 unless -e $node->data_dir . '/postmaster.pid';
		sleep 1;
	}
	return 0;
}

# A node in archive recovery from the base backup, through wal-fetch
sub recovering_node
{
	my ($name) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init_from_backup($primary, 'base');
	$node->append_conf('postgresql.conf', "restore_command = '@{[ restore_command($crepo) ]}'");
	$node->set_recovery_mode;
	$node->start(fail_ok => 1);
	return $node;
}

# Archive recovery: wal-fetch exits 128 and PostgreSQL stops.
my $node = recovering_node('recovery');
ok(stopped($node), 'the server stopped');
ok($node->log_contains(qr/object "wal\/[0-9A-F]+\/$bad" is corrupt/),
	'wal-fetch found the corrupt object');
ok($node->log_contains(qr/could not restore file "$bad" from archive: child process exited with exit code 128/),
	'restore_command exited 128');
ok(!$node->log_contains(qr/restored log file "$bad"/), 'the corrupt segment was never restored');
ok(!$node->log_contains('archive recovery complete'), 'recovery did not end early');
$node->stop('immediate', fail_ok => 1);

# An object copied over another segment's name: a real PITR that replayed
# it would end recovery early (PostgreSQL takes the wrong page address for
# the end of WAL) and promote a server that misses data.  The object's name
# refuses it, and for objects of version 1, which have no name, the
# restored segment's first page does.
my $prev = sprintf('%s%08X', substr($bad, 0, 16), hex(substr($bad, 16)) - 1);
my $prev_obj = "$crepo_dir/wal/" . substr($prev, 0, 16) . "/$prev";
copy($prev_obj, $bad_obj) or die;
my $swapped = recovering_node('swapped');
ok(stopped($swapped), 'swapped object: the server stopped');
ok($swapped->log_contains(qr/object "wal\/[0-9A-F]+\/$bad" was stored as "wal\/[0-9A-F]+\/$prev"/),
	'swapped object: wal-fetch refused it by its name');
ok(!$swapped->log_contains('archive recovery complete'), 'swapped object: recovery did not end early');
$swapped->stop('immediate', fail_ok => 1);

# The same with a plain version 1 object (header of 56 bytes, raw payload,
# as the README describes it), made here from the previous segment.
my $pdir = "$tmp/prev";
mkdir $pdir;
($rc, $out, $err) = run_archive({ env => { DBOPS_ARCHIVE_REPO => $crepo }, cwd => $pdir },
	'wal-fetch', $prev, "$pdir/$prev");
is($rc, 0, 'the previous segment, fetched');
my $prev_bytes = slurp_file("$pdir/$prev");
write_object("DBOPSARC\x01\x00\x00\x00" . pack('N', 56) . pack('Q>', length($prev_bytes))
	  . sha256($prev_bytes) . $prev_bytes);
($rc, $out, $err) = run_archive({ env => { DBOPS_ARCHIVE_REPO => $crepo }, cwd => $pdir },
	'wal-fetch', $bad, "$pdir/$bad");
isnt($rc, 0, 'a version 1 object of another segment is not restored');
like($err, qr/restored file is not WAL file "$bad": page address [0-9A-F\/]+ instead of/,
	'... its first page names another segment');
ok(!-e "$pdir/$bad", '... and nothing reaches PostgreSQL');
write_object($bad_bytes);

# Standby mode: wal-fetch exits 3, PostgreSQL retries, and continues once
# the object is repaired.
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base');
$standby->append_conf('postgresql.conf', "restore_command = '@{[ restore_command($crepo) ]}'");
$standby->set_standby_mode;
$standby->start(fail_ok => 1);
for (1 .. $PostgreSQL::Test::Utils::timeout_default)
{
	last if $standby->log_contains(qr/is corrupt/);
	sleep 1;
}
ok($standby->log_contains(qr/object "wal\/[0-9A-F]+\/$bad" is corrupt/),
	'standby: wal-fetch found the corrupt object');
ok(!$standby->log_contains(qr/restored log file "$bad"/), 'standby: not restored');
write_object($good_bytes);
$standby->stop('immediate', fail_ok => 1);
$standby->start;
$standby->poll_query_until('postgres', "SELECT pg_last_wal_replay_lsn() >= '$end_lsn'::pg_lsn")
  or die 'timed out waiting for the standby after the repair';
is($standby->safe_psql('postgres', 'SELECT count(*) FROM t'), '2000',
	'standby replays once the object is repaired');
$standby->stop;

done_testing();
