#!/usr/bin/perl
# Copyright (c) dbops contributors
#
# test/migrations_gen/generate.pl: writes a directory of migrations for the
# 300-migration proof (test/t/021_migrations_300.pl) and the migrations
# benchmark (test/bench/migrations.sh).
#
#   generate.pl --out DIR [--count N] [--seed S] [--trivial] [--layout L]
#
# Layouts: hasura (default; <version>_<name>/up.sql, down.sql, sometimes
# verify.sql), sqitch (sqitch.plan, deploy/, revert/, verify/, each script
# wrapped in BEGIN/COMMIT as Sqitch writes them) and dbmate
# (<version>_<name>.sql with -- migrate:up and -- migrate:down sections).
# The same seed gives the same migrations in every layout.
#
# The default mix is what a real project accumulates: tables, foreign keys,
# indexes (partial, expression, GIN), views and a materialized view, SQL and
# PL/pgSQL functions, updated_at and audit triggers, enum types, domains,
# partitioned tables, seed data and backfills, ALTER COLUMN (type, default,
# NOT NULL), CHECK and UNIQUE constraints, renames, comments, grants,
# row-level security policies and a second schema.  --trivial
# writes the benchmark's uniform shape instead (one table, one index, one
# comment per migration).
#
# The output is a pure function of --count and --seed: a small LCG of our own
# drives every choice, so the same seed gives the same bytes with any Perl.
#
# Every down.sql exactly undoes its up.sql, which the proof checks by
# comparing pg_dump output.  The schema model below only ever grows; an up
# that changes an existing object (type, default, name, comment) records the
# old value so that its down can restore it.  Nothing an up creates is used by
# an earlier migration, so running the downs in reverse order never meets a
# dependency.  No file uses transaction control or SET, so the concatenated
# ups also run as one `psql -1` script (the reference and the benchmark floor).
use strict;
use warnings FATAL => 'all';
use File::Path qw(make_path);
use Getopt::Long;

my $count = 300;
my $seed = 1;
my $out;
my $trivial = 0;
my $layout = 'hasura';
my $usage = "usage: $0 --out DIR [--count N] [--seed S] [--trivial] [--layout hasura|sqitch|dbmate]\n";
GetOptions(
	'count=i' => \$count,
	'seed=i' => \$seed,
	'out=s' => \$out,
	'trivial' => \$trivial,
	'layout=s' => \$layout) or die $usage;
die $usage unless defined $out && $count > 0;

# Park and Miller's minimal standard generator (multiplier 48271); products stay below 2**62, so integer
# arithmetic is exact on any 64-bit Perl.
my $rng = $seed % 2147483647 || 1;

sub rnd
{
	my ($n) = @_;
	$rng = ($rng * 48271) % 2147483647;
	return $rng % $n;
}

sub pick { return $_[ rnd(scalar @_) ]; }

# ---------------------------------------------------------------- the model

my @tables;         # plain tables that later migrations may change
my @partitioned;    # partitioned parents, with their partitions' years
my %taken;          # every relation, type and function name in use
my %comment;        # "TABLE x" / "COLUMN x.y" / ... => current comment
my @enums;          # enum types with their current labels
my @indexes;        # index names that may be renamed
my @views;          # plain views in schema public
my %have;           # shared objects already created (shared_object)

# A relation, type or function name not used yet: $base, or $base_2, ...
sub fresh_name
{
	my ($base) = @_;
	my $name = $base;
	my $n = 2;
	$name = $base . '_' . $n++ while $taken{$name};
	# longer names would be truncated, and two might then collide
	die "generated name \"$name\" is too long\n" if length($name) > 63;
	$taken{$name} = 1;
	return $name;
}

# The same for a column of table $t
sub col_fresh_name
{
	my ($t, $base) = @_;
	my %used = map { $_->{name} => 1 } @{ $t->{cols} };
	my $name = $base;
	my $n = 2;
	$name = $base . '_' . $n++ while $used{$name};
	return $name;
}

sub find_col
{
	my ($t, $name) = @_;
	my ($c) = grep { $_->{name} eq $name } @{ $t->{cols} };
	return $c;
}

# Columns a new table starts with (beyond id and created_at) and columns that
# add_column may add later: name, type, default, and a SQL expression in g (a
# generate_series counter) that seed rows use.
my @col_pool = (
	[ 'title', 'text', undef, q{'title ' || g} ],
	[ 'description', 'varchar(200)', undef, q{'description of row ' || g} ],
	[ 'quantity', 'integer', '0', 'g % 17' ],
	[ 'price', 'numeric(10,2)', undef, '(g * 3.25)::numeric(10,2)' ],
	[ 'is_active', 'boolean', 'true', 'g % 3 <> 0' ],
	[ 'payload', 'jsonb', q{'{}'::jsonb}, q{jsonb_build_object('n', g)} ],
	[ 'due_on', 'date', undef, q{date '2024-01-01' + g} ],
	[ 'score', 'integer', undef, 'g * 7 % 100' ],
	[ 'external_ref', 'uuid', undef, undef ],
	[ 'notes', 'text', undef, undef ],
	[ 'sort_order', 'integer', '0', 'g' ],
	[ 'code_name', 'varchar(64)', undef, q{'code-' || g} ],
	[ 'rating', 'numeric(3,1)', undef, '(g % 50) / 10.0' ],
	[ 'tags', 'text[]', q{'{}'::text[]}, q{ARRAY['t' || (g % 4)]} ],
	[ 'published_at', 'timestamptz', undef, undef ],
	[ 'weight_grams', 'integer', undef, 'g * 11' ]);

my @table_pool = qw(users accounts organizations teams memberships projects
  tasks comments products categories orders order_items invoices payments
  shipments addresses reviews tags articles authors subscriptions plans
  coupons warehouses inventory_levels suppliers employees departments tickets
  messages notifications devices api_keys webhooks documents attachments);

my @enum_pool = (
	[ 'order_status', 'status', qw(pending paid shipped delivered cancelled) ],
	[ 'priority_level', 'priority', qw(low medium high urgent) ],
	[ 'visibility', 'visibility', qw(private team public) ],
	[ 'billing_cycle', 'cycle', qw(monthly quarterly yearly) ],
	[ 'review_state', 'state', qw(draft submitted approved rejected) ]);

sub sql_quote
{
	my ($s) = @_;
	$s =~ s/'/''/g;
	return "'$s'";
}

# The SQL to restore a comment that an up is about to replace.
sub comment_down
{
	my ($what, $key) = @_;
	my $old = $comment{$key};
	return "COMMENT ON $what IS " . (defined $old ? sql_quote($old) : 'NULL') . ";\n";
}

# The SQL of an object that several migrations share, for the first one that
# needs it (whose down then drops it); nothing for the others.
sub shared_object
{
	my ($name, $up, $down) = @_;
	return ('', '') if $have{$name}++;
	$taken{$name} = 1;
	return ($up, $down);
}

# A random table, among those $filter accepts if given; undef if none does.
sub table_of_choice
{
	my ($filter) = @_;
	my @ok = grep { !$filter || $filter->($_) } @tables;
	return @ok ? pick(@ok) : undef;
}

# ---------------------------------------------------------------- the kinds
#
# Each returns (name, up, down[, verify]) or nothing when its preconditions
# do not hold in the current model (then another kind is drawn).

sub create_table
{
	my $name = fresh_name(pick(@table_pool));
	my @extra;
	my %seen;
	for (1 .. 2 + rnd(3))
	{
		my $c = pick(@col_pool);
		next if $seen{ $c->[0] }++;
		push @extra, $c;
	}
	my $t = {
		name => $name,
		cols => [
			{ name => 'id', type => 'bigint', pinned => 1 },
			{ name => 'name', type => 'text', required => 1, sample => q{'name ' || g}, pinned => 1 },
			{ name => 'created_at', type => 'timestamptz', default => 'now()', pinned => 1 },
		],
	};
	my $up = "CREATE TABLE public.$name (\n"
	  . "\tid bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n"
	  . "\tname text NOT NULL,\n"
	  . "\tcreated_at timestamptz NOT NULL DEFAULT now()";
	for my $c (@extra)
	{
		my ($cn, $type, $def, $sample) = @$c;
		$up .= ",\n\t$cn $type" . (defined $def ? " NOT NULL DEFAULT $def" : '');
		push @{ $t->{cols} },
		  { name => $cn, type => $type, default => $def, sample => $sample };
	}
	my $check = '';
	if (grep { $_->{name} eq 'quantity' } @{ $t->{cols} })
	{
		$check = ",\n\tCONSTRAINT ${name}_quantity_check CHECK (quantity >= 0)";
	}
	$up .= "$check\n);\n";
	my $text = "Rows of $name, created by migration";
	$up .= "COMMENT ON TABLE public.$name IS " . sql_quote($text) . ";\n";
	$comment{"TABLE $name"} = $text;
	push @tables, $t;
	return ("create_table_public_$name", $up, "DROP TABLE public.$name;\n",
		"SELECT id, name, created_at FROM public.$name WHERE false;\n");
}

sub add_column
{
	my $t = table_of_choice() or return;
	my $c = pick(@col_pool);
	my ($base, $type, $def, $sample) = @$c;
	my $cn = col_fresh_name($t, $base);
	push @{ $t->{cols} }, { name => $cn, type => $type, default => $def, sample => $sample };
	my $up = "ALTER TABLE public.$t->{name} ADD COLUMN $cn $type"
	  . (defined $def ? " NOT NULL DEFAULT $def" : '') . ";\n";
	return ("alter_table_public_$t->{name}_add_column_$cn", $up,
		"ALTER TABLE public.$t->{name} DROP COLUMN $cn;\n");
}

sub add_foreign_key
{
	return if @tables < 2;
	my $child = pick(@tables);
	my $parent = pick(grep { $_ != $child } @tables);
	my $cn = col_fresh_name($child, "$parent->{name}_id");
	my $fk = "$child->{name}_${cn}_fkey";
	my $ix = fresh_name("$child->{name}_${cn}_idx");
	my $on_delete = pick('CASCADE', 'SET NULL', 'RESTRICT');
	push @{ $child->{cols} }, { name => $cn, type => 'bigint', pinned => 1 };
	my $up = "ALTER TABLE public.$child->{name} ADD COLUMN $cn bigint;\n"
	  . "ALTER TABLE public.$child->{name} ADD CONSTRAINT $fk\n"
	  . "\tFOREIGN KEY ($cn) REFERENCES public.$parent->{name} (id) ON UPDATE CASCADE ON DELETE $on_delete;\n"
	  . "CREATE INDEX $ix ON public.$child->{name} ($cn);\n"
	  . "UPDATE public.$child->{name} SET $cn = (SELECT min(id) FROM public.$parent->{name});\n";
	my $down = "DROP INDEX public.$ix;\n"
	  . "ALTER TABLE public.$child->{name} DROP CONSTRAINT $fk;\n"
	  . "ALTER TABLE public.$child->{name} DROP COLUMN $cn;\n";
	return ("add_fk_$child->{name}_$parent->{name}", $up, $down);
}

sub create_index
{
	my $t = table_of_choice() or return;
	my @cols = @{ $t->{cols} }[ 1 .. $#{ $t->{cols} } ];
	my $c = pick(@cols);
	my ($how, $def);
	if ($c->{type} eq 'jsonb' || $c->{type} eq 'text[]')
	{
		($how, $def) = ('gin', "USING gin ($c->{name})");
	}
	elsif ($c->{type} eq 'text' && rnd(2))
	{
		($how, $def) = ('lower', "(lower($c->{name}))");
	}
	elsif (grep { $_->{name} eq 'is_active' } @cols)
	{
		($how, $def) = ('active', "($c->{name}) WHERE is_active");
	}
	else
	{
		my $d = pick(@cols);
		$def = $d == $c ? "($c->{name})" : "($c->{name}, $d->{name} DESC)";
		$how = 'idx';
	}
	my $ix = fresh_name("$t->{name}_$c->{name}_$how");
	push @indexes, { name => $ix };
	return ("create_index_$ix", "CREATE INDEX $ix ON public.$t->{name} $def;\n",
		"DROP INDEX public.$ix;\n");
}

sub create_view
{
	my $t = table_of_choice() or return;
	my @cols = grep { $_->{name} ne 'id' } @{ $t->{cols} };
	my @sel = ('id', map { $_->{name} } grep { rnd(2) } @cols);
	my $v = fresh_name("$t->{name}_" . pick('summary', 'recent', 'overview', 'listing'));
	$_->{in_view} = 1 for grep { my $n = $_->{name}; grep { $_ eq $n } @sel } @{ $t->{cols} };
	find_col($t, 'created_at')->{in_view} = 1;
	my $up = "CREATE VIEW public.$v AS\n\tSELECT " . join(', ', @sel)
	  . "\n\tFROM public.$t->{name}\n\tWHERE created_at > '2000-01-01';\n";
	my $text = "Read model over $t->{name}";
	$up .= "COMMENT ON VIEW public.$v IS " . sql_quote($text) . ";\n";
	$comment{"VIEW $v"} = $text;
	push @views, { name => $v };
	return ("create_view_$v", $up, "DROP VIEW public.$v;\n");
}

sub create_matview
{
	my $t = table_of_choice() or return;
	my $mv = fresh_name("$t->{name}_daily_counts");
	my $ix = fresh_name("${mv}_day_key");
	find_col($t, 'created_at')->{in_view} = 1;
	my $up = "CREATE MATERIALIZED VIEW public.$mv AS\n"
	  . "\tSELECT date_trunc('day', created_at) AS day, count(*) AS n\n"
	  . "\tFROM public.$t->{name}\n\tGROUP BY 1;\n"
	  . "CREATE UNIQUE INDEX $ix ON public.$mv (day);\n";
	return ("create_materialized_view_$mv", $up, "DROP MATERIALIZED VIEW public.$mv;\n");
}

sub create_function
{
	my $t = table_of_choice() or return;
	my $tn = $t->{name};
	if (rnd(2))
	{
		# a Hasura-style computed field: takes the row, returns a value
		my $f = fresh_name("${tn}_display_name");
		my $up = "CREATE FUNCTION public.$f(r public.$tn)\nRETURNS text\n"
		  . "LANGUAGE sql STABLE\nAS \$\$\n\tSELECT r.name || ' #' || r.id\n\$\$;\n"
		  . "COMMENT ON FUNCTION public.$f(public.$tn) IS 'computed field for $tn';\n";
		return ("create_function_$f", $up, "DROP FUNCTION public.$f(public.$tn);\n");
	}
	my $f = fresh_name("search_$tn");
	my $up = "CREATE FUNCTION public.$f(query text, max_rows integer DEFAULT 20)\n"
	  . "RETURNS SETOF public.$tn\nLANGUAGE plpgsql STABLE\nAS \$\$\nBEGIN\n"
	  . "\tIF length(query) < 2 THEN\n"
	  . "\t\tRAISE EXCEPTION 'search query too short: %', query USING ERRCODE = '22023';\n"
	  . "\tEND IF;\n"
	  . "\tRETURN QUERY SELECT * FROM public.$tn WHERE name ILIKE '%' || query || '%' ORDER BY id LIMIT max_rows;\n"
	  . "END;\n\$\$;\n";
	return ("create_function_$f", $up, "DROP FUNCTION public.$f(text, integer);\n");
}

sub add_updated_at_trigger
{
	my $t = table_of_choice(sub { !find_col($_[0], 'updated_at') }) or return;
	my $tn = $t->{name};
	# Hasura's console writes this function once and reuses it
	my ($up, $down) = shared_object('set_current_timestamp_updated_at',
		"CREATE FUNCTION public.set_current_timestamp_updated_at()\n"
		  . "RETURNS trigger\nLANGUAGE plpgsql\nAS \$\$\nDECLARE\n\t_new record;\nBEGIN\n"
		  . "\t_new := NEW;\n\t_new.updated_at = now();\n\tRETURN _new;\nEND;\n\$\$;\n",
		"DROP FUNCTION public.set_current_timestamp_updated_at();\n");
	push @{ $t->{cols} },
	  { name => 'updated_at', type => 'timestamptz', default => 'now()', pinned => 1 };
	my $trg = "set_public_${tn}_updated_at";
	$up .= "ALTER TABLE public.$tn ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();\n"
	  . "CREATE TRIGGER $trg\n\tBEFORE UPDATE ON public.$tn\n\tFOR EACH ROW\n"
	  . "\tEXECUTE FUNCTION public.set_current_timestamp_updated_at();\n"
	  . "COMMENT ON TRIGGER $trg ON public.$tn IS "
	  . "'trigger to set value of column \"updated_at\" to current timestamp on row update';\n";
	$down = "DROP TRIGGER $trg ON public.$tn;\n"
	  . "ALTER TABLE public.$tn DROP COLUMN updated_at;\n" . $down;
	return ("add_updated_at_$tn", $up, $down);
}

sub add_audit_trigger
{
	my $t = table_of_choice(sub { !$_[0]{audited} }) or return;
	my $tn = $t->{name};
	my ($up, $down) = shared_object('audit_log',
		"CREATE TABLE public.audit_log (\n"
		  . "\tid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
		  . "\ttable_name text NOT NULL,\n\toperation text NOT NULL,\n"
		  . "\trow_data jsonb,\n\tchanged_at timestamptz NOT NULL DEFAULT now()\n);\n"
		  . "CREATE INDEX audit_log_table_name_changed_at_idx ON public.audit_log (table_name, changed_at);\n"
		  . "CREATE FUNCTION public.audit_row_change()\nRETURNS trigger\nLANGUAGE plpgsql\n"
		  . "AS \$\$\nBEGIN\n\tINSERT INTO public.audit_log (table_name, operation, row_data)\n"
		  . "\tVALUES (TG_TABLE_NAME, TG_OP, CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END);\n"
		  . "\tRETURN NULL;\nEND;\n\$\$;\n",
		"DROP FUNCTION public.audit_row_change();\nDROP TABLE public.audit_log;\n");
	$t->{audited} = 1;
	$up .= "CREATE TRIGGER audit_$tn\n\tAFTER INSERT OR UPDATE OR DELETE ON public.$tn\n"
	  . "\tFOR EACH ROW EXECUTE FUNCTION public.audit_row_change();\n";
	$down = "DROP TRIGGER audit_$tn ON public.$tn;\n" . $down;
	return ("add_audit_trigger_$tn", $up, $down);
}

sub add_enum_column
{
	my $t = table_of_choice() or return;
	my $e = pick(@enum_pool);
	my ($base, $col, @labels) = @$e;
	my $type = fresh_name($base);
	my $cn = col_fresh_name($t, $col);
	push @enums, { name => $type, labels => [@labels] };
	push @{ $t->{cols} }, { name => $cn, type => $type, default => "'$labels[0]'" };
	my $up = "CREATE TYPE public.$type AS ENUM (" . join(', ', map { "'$_'" } @labels) . ");\n"
	  . "ALTER TABLE public.$t->{name} ADD COLUMN $cn public.$type NOT NULL DEFAULT '$labels[0]';\n";
	my $down = "ALTER TABLE public.$t->{name} DROP COLUMN $cn;\nDROP TYPE public.$type;\n";
	return ("add_enum_$type", $up, $down);
}

sub rename_enum_value
{
	return unless @enums;
	my $e = pick(@enums);
	my $i = rnd(scalar @{ $e->{labels} });
	my $old = $e->{labels}[$i];
	my $new = $old =~ /^(.*)_v(\d+)$/ ? $1 . '_v' . ($2 + 1) : $old . '_v2';
	$e->{labels}[$i] = $new;
	return ("rename_enum_value_$e->{name}_$old",
		"ALTER TYPE public.$e->{name} RENAME VALUE '$old' TO '$new';\n",
		"ALTER TYPE public.$e->{name} RENAME VALUE '$new' TO '$old';\n");
}

sub seed_rows
{
	my $t = table_of_choice() or return;
	my $n = 5 + rnd(40);
	my @c = grep { $_->{required} || (defined $_->{sample} && rnd(3)) } @{ $t->{cols} };
	my $up = "INSERT INTO public.$t->{name} (" . join(', ', map { $_->{name} } @c) . ")\n"
	  . "\tSELECT " . join(', ', map { $_->{sample} } @c) . "\n"
	  . "\tFROM generate_series(1, $n) AS g;\n";
	# created_at is now() in both the up and its transaction: the down
	# removes exactly the rows this migration wrote by their name prefix.
	my $seeded = ++$t->{seeds};
	$up =~ s/'name ' \|\| g/'seed$seeded ' || g/;
	return ("seed_$t->{name}", $up,
		"DELETE FROM public.$t->{name} WHERE name LIKE 'seed$seeded %';\n");
}

sub backfill_not_null
{
	my $t = table_of_choice() or return;
	my $cn = col_fresh_name($t, pick('slug', 'display_label', 'search_key'));
	push @{ $t->{cols} },
	  { name => $cn, type => 'text', required => 1, sample => "'$cn-' || g" };
	my $up = "ALTER TABLE public.$t->{name} ADD COLUMN $cn text;\n"
	  . "UPDATE public.$t->{name} SET $cn = lower(regexp_replace(name, '[^a-zA-Z0-9]+', '-', 'g')) || '-' || id;\n"
	  . "ALTER TABLE public.$t->{name} ALTER COLUMN $cn SET NOT NULL;\n";
	return ("backfill_$t->{name}_$cn", $up,
		"ALTER TABLE public.$t->{name} DROP COLUMN $cn;\n");
}

sub alter_column_type
{
	my @cands;
	for my $t (@tables)
	{
		push @cands, map { [ $t, $_ ] } grep {
			!$_->{in_view} && !$_->{pinned} && !$_->{retyped}
			  && ($_->{type} eq 'integer' || $_->{type} =~ /^varchar\(\d+\)$/)
		} @{ $t->{cols} };
	}
	return unless @cands;
	my ($t, $c) = @{ pick(@cands) };
	my $old = $c->{type};
	my $new = $old eq 'integer' ? 'bigint' : 'varchar(' . (($old =~ /(\d+)/)[0] * 4) . ')';
	$c->{type} = $new;
	$c->{retyped} = 1;
	return ("alter_table_public_$t->{name}_alter_column_$c->{name}_type",
		"ALTER TABLE public.$t->{name} ALTER COLUMN $c->{name} TYPE $new;\n",
		"ALTER TABLE public.$t->{name} ALTER COLUMN $c->{name} TYPE $old;\n");
}

sub set_default
{
	my @cands;
	for my $t (@tables)
	{
		push @cands, map { [ $t, $_ ] }
		  grep { !$_->{pinned} && !$_->{unique} && $_->{type} =~ /^(integer|bigint|text|boolean)$/ }
		  @{ $t->{cols} };
	}
	return unless @cands;
	my ($t, $c) = @{ pick(@cands) };
	my %new = (integer => '1', bigint => '1', text => q{'n/a'::text}, boolean => 'false');
	my $new = $new{ $c->{type} };
	return if defined $c->{default} && $c->{default} eq $new;
	my $tn = $t->{name};
	my $down = defined $c->{default}
	  ? "ALTER TABLE public.$tn ALTER COLUMN $c->{name} SET DEFAULT $c->{default};\n"
	  : "ALTER TABLE public.$tn ALTER COLUMN $c->{name} DROP DEFAULT;\n";
	$c->{default} = $new;
	return ("alter_table_public_${tn}_alter_column_$c->{name}_set_default",
		"ALTER TABLE public.$tn ALTER COLUMN $c->{name} SET DEFAULT $new;\n", $down);
}

sub add_check
{
	my @cands;
	for my $t (@tables)
	{
		push @cands, map { [ $t, $_ ] }
		  grep { !$_->{checked} && $_->{type} =~ /^(integer|bigint|numeric)/ } @{ $t->{cols} };
	}
	return unless @cands;
	my ($t, $c) = @{ pick(@cands) };
	$c->{checked} = 1;
	my $con = fresh_name("$t->{name}_$c->{name}_nonnegative");
	return ("add_check_$con",
		"ALTER TABLE public.$t->{name} ADD CONSTRAINT $con CHECK ($c->{name} IS NULL OR $c->{name} >= 0);\n",
		"ALTER TABLE public.$t->{name} DROP CONSTRAINT $con;\n");
}

sub rename_column
{
	my @cands;
	for my $t (@tables)
	{
		push @cands, map { [ $t, $_ ] } grep { !$_->{pinned} } @{ $t->{cols} };
	}
	return unless @cands;
	my ($t, $c) = @{ pick(@cands) };
	my $old = $c->{name};
	my $new = col_fresh_name($t, ($old =~ s/_renamed(_\d+)?$//r) . '_renamed');
	$c->{name} = $new;
	for my $k (grep { /^COLUMN \Q$t->{name}.$old\E$/ } keys %comment)
	{
		$comment{"COLUMN $t->{name}.$new"} = delete $comment{$k};
	}
	return ("rename_column_$t->{name}_$old",
		"ALTER TABLE public.$t->{name} RENAME COLUMN $old TO $new;\n",
		"ALTER TABLE public.$t->{name} RENAME COLUMN $new TO $old;\n");
}

sub add_comment
{
	my $t = table_of_choice() or return;
	my $tn = $t->{name};
	my ($what, $key, $text);
	if (rnd(2))
	{
		my $c = pick(@{ $t->{cols} });
		($what, $key) = ("COLUMN public.$tn.$c->{name}", "COLUMN $tn.$c->{name}");
		$text = pick('Shown in the admin UI', 'Set by the importer', "Owned by team ${\ (rnd(9) + 1)}",
			"Value's unit is documented in the wiki");
	}
	else
	{
		($what, $key) = ("TABLE public.$tn", "TABLE $tn");
		$text = "Rows of $tn, revised (" . (rnd(900) + 100) . ')';
	}
	my $down = comment_down($what, $key);
	$comment{$key} = $text;
	return ('comment_' . lc($key =~ s/\W+/_/gr), "COMMENT ON $what IS " . sql_quote($text) . ";\n", $down);
}

sub rename_index
{
	return unless @indexes;
	my $ix = pick(@indexes);
	my $old = $ix->{name};
	my $new = fresh_name(($old =~ s/_r(_\d+)?$//r) . '_r');
	$ix->{name} = $new;
	return ("rename_index_$old", "ALTER INDEX public.$old RENAME TO $new;\n",
		"ALTER INDEX public.$new RENAME TO $old;\n");
}

sub add_unique_code
{
	my $t = table_of_choice() or return;
	my $cn = col_fresh_name($t, 'code');
	my $con = fresh_name("$t->{name}_${cn}_key");
	# a default would break uniqueness for seed rows that leave it out
	push @{ $t->{cols} },
	  { name => $cn, type => 'text', unique => 1, sample => "'$t->{name}-$cn-' || g || '-' || random()" };
	my $up = "ALTER TABLE public.$t->{name} ADD COLUMN $cn text;\n"
	  . "UPDATE public.$t->{name} SET $cn = upper(left(name, 3)) || '-' || id;\n"
	  . "ALTER TABLE public.$t->{name} ADD CONSTRAINT $con UNIQUE ($cn);\n";
	return ("add_unique_$con", $up, "ALTER TABLE public.$t->{name} DROP COLUMN $cn;\n");
}

sub create_partitioned
{
	my $name = fresh_name(pick('events', 'page_views', 'measurements', 'ledger_entries'));
	push @partitioned, { name => $name, years => [2024] };
	$taken{$_} = 1 for ("${name}_2024", "${name}_kind_idx");
	my $up = "CREATE TABLE public.$name (\n\tid bigint NOT NULL,\n"
	  . "\toccurred_at timestamptz NOT NULL,\n\tkind text NOT NULL,\n\tdetail jsonb,\n"
	  . "\tPRIMARY KEY (id, occurred_at)\n) PARTITION BY RANGE (occurred_at);\n"
	  . "CREATE TABLE public.${name}_2024 PARTITION OF public.$name\n"
	  . "\tFOR VALUES FROM ('2024-01-01') TO ('2025-01-01');\n"
	  . "CREATE INDEX ${name}_kind_idx ON public.$name (kind, occurred_at);\n"
	  . "INSERT INTO public.$name SELECT g, timestamptz '2024-01-01' + g * interval '1 hour', 'k' || (g % 5), NULL\n"
	  . "\tFROM generate_series(1, 50) AS g;\n";
	return ("create_partitioned_table_$name", $up, "DROP TABLE public.$name;\n");
}

sub add_partition
{
	return unless @partitioned;
	my $p = pick(@partitioned);
	my $y = $p->{years}[-1] + 1;
	push @{ $p->{years} }, $y;
	my $part = fresh_name("$p->{name}_$y");
	return ("add_partition_$part",
		"CREATE TABLE public.$part PARTITION OF public.$p->{name}\n"
		  . "\tFOR VALUES FROM ('$y-01-01') TO ('" . ($y + 1) . "-01-01');\n",
		"DROP TABLE public.$part;\n");
}

# PostgREST and Hasura projects expose tables and views to an API role;
# PUBLIC stands in for it, since roles are cluster-wide.  A second GRANT
# would be a no-op whose REVOKE undid the first, so each object once.
sub grant_select
{
	my @cands = grep { !$_->{granted} } @tables, @views;
	return unless @cands;
	my $o = pick(@cands);
	$o->{granted} = 1;
	return ("grant_select_$o->{name}", "GRANT SELECT ON public.$o->{name} TO PUBLIC;\n",
		"REVOKE SELECT ON public.$o->{name} FROM PUBLIC;\n");
}

sub add_row_security
{
	my $t = table_of_choice(sub { !$_[0]{rls} }) or return;
	my $tn = $t->{name};
	$t->{rls} = 1;
	my $up = "ALTER TABLE public.$tn ENABLE ROW LEVEL SECURITY;\n"
	  . "CREATE POLICY ${tn}_select_visible ON public.$tn FOR SELECT TO PUBLIC\n"
	  . "\tUSING (created_at <= now());\n"
	  . "CREATE POLICY ${tn}_insert_named ON public.$tn FOR INSERT TO PUBLIC\n"
	  . "\tWITH CHECK (name <> '');\n";
	my $down = "DROP POLICY ${tn}_insert_named ON public.$tn;\n"
	  . "DROP POLICY ${tn}_select_visible ON public.$tn;\n"
	  . "ALTER TABLE public.$tn DISABLE ROW LEVEL SECURITY;\n";
	return ("enable_rls_$tn", $up, $down);
}

# Reports live in a schema of their own, created by the first one.
sub create_report_view
{
	my $t = table_of_choice() or return;
	my ($up, $down) = shared_object('reporting',
		"CREATE SCHEMA reporting;\nCOMMENT ON SCHEMA reporting IS 'read-only reports';\n",
		"DROP SCHEMA reporting;\n");
	my $v = fresh_name("$t->{name}_stats");
	find_col($t, 'created_at')->{in_view} = 1;
	$up .= "CREATE VIEW reporting.$v AS\n"
	  . "\tSELECT count(*) AS total, max(created_at) AS last_created_at\n"
	  . "\tFROM public.$t->{name};\n";
	return ("create_report_$v", $up, "DROP VIEW reporting.$v;\n" . $down);
}

sub add_domain_column
{
	my $t = table_of_choice() or return;
	my ($up, $down) = shared_object('email_address',
		"CREATE DOMAIN public.email_address AS text\n"
		  . "\tCHECK (VALUE ~ '^[^@[:space:]]+@[^@[:space:]]+\$');\n"
		  . "COMMENT ON DOMAIN public.email_address IS 'an address with one @ and no spaces';\n",
		"DROP DOMAIN public.email_address;\n");
	my $cn = col_fresh_name($t, 'contact_email');
	push @{ $t->{cols} },
	  { name => $cn, type => 'email_address', sample => q{'user' || g || '@example.com'} };
	$up .= "ALTER TABLE public.$t->{name} ADD COLUMN $cn public.email_address;\n";
	$down = "ALTER TABLE public.$t->{name} DROP COLUMN $cn;\n" . $down;
	return ("add_email_$t->{name}_$cn", $up, $down);
}

# kind => weight; create_table is drawn more often while the schema is small
my @kinds = (
	[ \&create_table, 12 ], [ \&add_column, 12 ], [ \&add_foreign_key, 8 ],
	[ \&create_index, 10 ], [ \&create_view, 6 ], [ \&create_matview, 2 ],
	[ \&create_function, 6 ], [ \&add_updated_at_trigger, 5 ],
	[ \&add_audit_trigger, 3 ], [ \&add_enum_column, 5 ], [ \&rename_enum_value, 2 ],
	[ \&seed_rows, 8 ], [ \&backfill_not_null, 4 ], [ \&alter_column_type, 4 ],
	[ \&set_default, 3 ], [ \&add_check, 3 ], [ \&rename_column, 4 ],
	[ \&add_comment, 5 ], [ \&rename_index, 2 ], [ \&add_unique_code, 3 ],
	[ \&create_partitioned, 1 ], [ \&add_partition, 2 ], [ \&add_domain_column, 2 ],
	[ \&grant_select, 2 ], [ \&add_row_security, 2 ], [ \&create_report_view, 2 ]);

sub next_migration
{
	return create_table() if @tables < 3;
	my $total = 0;
	$total += $_->[1] for @kinds;
	while (1)
	{
		my $r = rnd($total);
		my $k = 0;
		$k++ while ($r -= $kinds[$k][1]) >= 0;
		my @m = $kinds[$k][0]->();
		return @m if @m;
	}
}

sub trivial_migration
{
	my ($i) = @_;
	my $t = sprintf('t%04d', $i);
	return ("create_table_$t",
		"CREATE TABLE $t (id bigint PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());\n"
		  . "CREATE INDEX ${t}_name_idx ON $t (name);\n"
		  . "COMMENT ON TABLE $t IS 'bench table $i';\n",
		"DROP TABLE $t;\n");
}

sub write_file
{
	my ($path, $text) = @_;
	open(my $fh, '>', $path) or die "could not write \"$path\": $!\n";
	print $fh $text;
	close($fh) or die "could not write \"$path\": $!\n";
}

# The layouts: each writes one migration (its position, "<version>_<name>"
# as id, and its scripts) below $out.
sub write_hasura
{
	my ($i, $id, $up, $down, $verify) = @_;
	mkdir("$out/$id") or die "could not create directory \"$out/$id\": $!\n";
	write_file("$out/$id/up.sql", $up);
	write_file("$out/$id/down.sql", $down);
	write_file("$out/$id/verify.sql", $verify) if defined $verify;
}

# Sqitch: the plan gives the order; scripts carry the BEGIN/COMMIT (verify:
# BEGIN/ROLLBACK) that `sqitch add` templates write.
sub write_sqitch
{
	my ($i, $id, $up, $down, $verify) = @_;
	if ($i == 1)
	{
		make_path(map { "$out/$_" } qw(deploy revert verify));
		write_file("$out/sqitch.conf", "[core]\n\tengine = pg\n");
		write_file("$out/sqitch.plan",
			"%syntax-version=1.0.0\n%project=generated\n\n");
	}
	open(my $plan, '>>', "$out/sqitch.plan") or die "could not write \"$out/sqitch.plan\": $!\n";
	print $plan "$id 2026-01-01T00:00:00Z Generator <generator\@example.invalid> # migration $i\n";
	close($plan) or die "could not write \"$out/sqitch.plan\": $!\n";
	write_file("$out/deploy/$id.sql", "-- Deploy generated:$id to pg\n\nBEGIN;\n\n${up}\nCOMMIT;\n");
	write_file("$out/revert/$id.sql", "-- Revert generated:$id from pg\n\nBEGIN;\n\n${down}\nCOMMIT;\n");
	write_file("$out/verify/$id.sql", "-- Verify generated:$id on pg\n\nBEGIN;\n\n${verify}\nROLLBACK;\n")
	  if defined $verify;
}

# dbmate: one file per migration, up and down sections.
sub write_dbmate
{
	my ($i, $id, $up, $down) = @_;
	write_file("$out/$id.sql", "-- migrate:up\n${up}\n-- migrate:down\n${down}");
}

my %layouts = (hasura => \&write_hasura, sqitch => \&write_sqitch, dbmate => \&write_dbmate);
my $writer = $layouts{$layout}
  or die "unrecognized layout \"$layout\" (hasura, sqitch or dbmate)\n";

# Hasura names versions after the creation time in milliseconds.
make_path($out);
my $version = 1700000000000;
for my $i (1 .. $count)
{
	my ($name, $up, $down, $verify) = $trivial ? trivial_migration($i) : next_migration();
	$version += 60000 + rnd(3600) * 1000;
	$writer->($i, "${version}_$name", $up, $down, $verify);
}
