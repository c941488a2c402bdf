# Copyright (c) dbops contributors
#
# The library loads through shared_preload_libraries, the extension installs
# in a real cluster, and the dbops_archive executable runs from the install.
use strict;
use warnings FATAL => 'all';

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'dbops'");
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION dbops');
is($node->safe_psql('postgres', 'SELECT dbops.version()'),
	$node->safe_psql('postgres',
		"SELECT extversion FROM pg_extension WHERE extname = 'dbops'"),
	'library version matches the extension version');

# A misspelt dbops setting is reported, not silently kept as a placeholder.
my ($ret, $stdout, $stderr) =
  $node->psql('postgres', 'SET dbops.no_such_setting = 1');
isnt($ret, 0, 'unknown dbops.* setting is refused');
like($stderr, qr/invalid configuration parameter name "dbops\.no_such_setting"/,
	'the prefix dbops is reserved');

command_like([ 'dbops_archive', '--version' ],
	qr/^dbops_archive \(dbops\) \d+\.\d+/, 'dbops_archive --version');
command_fails_like([ 'dbops_archive', 'no-such-command' ],
	qr/unrecognized command "no-such-command"/,
	'dbops_archive rejects an unknown command');

$node->stop;
done_testing();
