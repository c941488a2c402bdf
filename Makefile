# Makefile for dbops
#
# PGXS builds the extension (src/, sql/) and recurses into archive_helper/
# for the dbops_archive executable and into client/ for the dbops command.
# The targets demo, test and bench also work on a machine that has no
# PostgreSQL yet: they install what is missing first, so the PGXS include is
# guarded.

EXTENSION = dbops
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" dbops.control)

MODULE_big = dbops
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))
PGFILEDESC = "dbops - migrations, metadata and archiving for PostgreSQL"
PG_CPPFLAGS = -Isrc -DDBOPS_VERSION=\"$(EXTVERSION)\"
# libyaml reads Hasura metadata directories (src/metadata_yaml.c)
SHLIB_LINK = -lyaml
# objects are rebuilt when a header they include changes (PGXS tracks none)
PG_CFLAGS = -MMD -MP
EXTRA_CLEAN_DEPS = $(OBJS:.o=.d)

# The install script is assembled from one part per feature (sql/install/),
# so each feature's SQL lives beside nothing else.
DATA_built = sql/dbops--$(EXTVERSION).sql
DATA = $(filter-out $(DATA_built),$(wildcard sql/dbops--*.sql))
EXTRA_CLEAN = $(DATA_built) $(EXTRA_CLEAN_DEPS)

# pg_regress inputs are every sql/*.sql that is not an extension script.
REGRESS = $(sort $(patsubst sql/%.sql,%,$(filter-out sql/dbops--%,$(wildcard sql/*.sql))))
REGRESS_OPTS = --load-extension=dbops --temp-instance=./tmp_regress --temp-config=test/dbops.conf \
	--no-locale --encoding=UTF8

SUBDIRS = archive_helper client

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)

ifneq ($(PGXS),)
include $(PGXS)
-include $(EXTRA_CLEAN_DEPS)

ifneq ($(MAJORVERSION),15)
$(error dbops supports PostgreSQL 15 only, found $(MAJORVERSION))
endif

$(call recurse,all install uninstall clean,$(SUBDIRS))

$(DATA_built): $(sort $(wildcard sql/install/*.sql))
	cat $^ > $@
else
all install:
	@echo "pg_config not found: install postgresql-server-dev-15, or run 'make test' / 'make demo' as root" >&2
	@exit 1
endif

# The README's two commands, plus the benchmarks.  Each installs missing
# packages itself (as root) before building.
.PHONY: demo test bench
demo:
	bash test/demo.sh
test:
	bash test/run_tests.sh
bench:
	bash test/bench.sh
