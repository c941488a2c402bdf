# Copyright (c) dbops contributors
#
# Helpers for the TAP tests of dbops_archive: find the executable, run it
# with a given environment and working directory, and report its exit code
# and output, so tests can assert the exit-code contract exactly.
package DbopsArchive;

use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use File::Spec;
use IPC::Run;
use PostgreSQL::Test::Utils ();

our @EXPORT = qw(archive_bin run_archive archive_command restore_command wal_segment_bytes);

# The dbops_archive on PATH (the private install during make test), as an
# absolute path, so archive_command does not depend on the server's PATH.
sub archive_bin
{
	for my $dir (File::Spec->path)
	{
		my $p = "$dir/dbops_archive";
		return $p if -x $p;
	}
	die "dbops_archive not found on PATH";
}

# run_archive({ env => {VAR => value}, cwd => dir, prefix => [cmd...] }, args...)
# returns (exit code, stdout, stderr).  A process killed by signal N counts
# as 128 + N, as a shell reports it to PostgreSQL: a crash must not read as
# exit 0.  prefix runs the executable through another command (sh -c ...).
# A call still running after the tests' default timeout is killed and
# reported as exit code "hung", so a hang fails its test instead of the run.
sub run_archive
{
	my ($opts, @args) = @_;
	my ($out, $err) = ('', '');
	local %ENV = %ENV;
	delete $ENV{$_} for grep { /^DBOPS_ARCHIVE_/ } keys %ENV;
	$ENV{$_} = $opts->{env}{$_} for keys %{ $opts->{env} || {} };
	my $cwd = $opts->{cwd};
	my $ok = eval {
		IPC::Run::run([ @{ $opts->{prefix} || [] }, archive_bin(), @args ],
			($cwd ? (init => sub { chdir $cwd or die "chdir $cwd: $!" }) : ()),
			'<', \undef, '>', \$out, '2>', \$err,
			IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
		1;
	};
	return ('hung', $out, $err) if !$ok && $@ =~ /timeout/;
	die $@ unless defined $ok;
	return (($? & 127) ? 128 + ($? & 127) : $? >> 8, $out, $err);
}

# Bytes of a 1 MiB WAL segment named $name whose first page has the long
# header PostgreSQL 15 writes (magic, long-header flag, timeline, start
# address, segment and block size; system identifier 0), filled with
# $fill: wal-fetch checks that header against the name, so fake segments
# must carry one.
sub wal_segment_bytes
{
	my ($name, $fill) = @_;
	my $seg_size = 1024 * 1024;
	my ($tli, $log, $seg) = map { hex } unpack('A8 A8 A8', $name);
	my $start = ($log * (2**32 / $seg_size) + $seg) * $seg_size;
	my $header = pack('S S L Q L x4 Q L L', 0xD110, 0x0002, $tli, $start, 0, 0,
		$seg_size, 8192);
	my $body = $fill x (int(($seg_size - length($header)) / length($fill)) + 1);
	return $header . substr($body, 0, $seg_size - length($header));
}

# The archive_command and restore_command for a repository URL, the
# configuration passed through the environment as the README shows.
sub archive_command
{
	my ($repo, $extra) = @_;
	$extra //= '';
	return "DBOPS_ARCHIVE_REPO=$repo $extra" . archive_bin() . " wal-push %p";
}

sub restore_command
{
	my ($repo, $extra) = @_;
	$extra //= '';
	return "DBOPS_ARCHIVE_REPO=$repo $extra" . archive_bin() . " wal-fetch %f %p";
}

1;
