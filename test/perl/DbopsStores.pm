# Copyright (c) dbops contributors
#
# Object stores for the TAP tests: start Ceph RGW or Azurite through
# test/lib/object_stores.sh in a directory of the test's own, and stop
# everything that was started when the test ends (by the PID files that
# script writes, never by name), keeping the test's exit status.
package DbopsStores;

use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use Test::More;

our @EXPORT = qw(store_start store_gateway);

my $script = "$ENV{DBOPS_SRC}/test/lib/object_stores.sh";
my @started;

END
{
	local $?;
	system('bash', $script, 'stop', $_) for @started;
}

# Start a store; returns its settings (the name=value lines it prints).
sub store_start
{
	my ($command, $dir, @args) = @_;
	push @started, $dir;
	my $out = `bash $script $command $dir @args 2>&1`;
	if ($? != 0)
	{
		# diag reaches prove's output; the log of a dead test may be gone
		diag("$command $dir failed:\n$out");
		die "$command failed";
	}
	return { map { split /=/, $_, 2 } grep { /^[a-z_]+=/ } split /\n/, $out };
}

# Stop or start one gateway of a running store (rgw-stop-gateway, ...)
sub store_gateway
{
	my ($command, $dir) = @_;
	system('bash', $script, $command, $dir) == 0 or die "$command $dir failed";
}

1;
