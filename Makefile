# criu-ng: top-level build. Each directory has its own Makefile; this one
# sequences them and holds the entry points (test, bench, demo, install).

export CC ?= gcc
# EXTRA_CFLAGS and LDFLAGS come from the caller (debian/rules passes dpkg-buildflags' hardening).
export CFLAGS_BASE := -O2 -g -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread $(EXTRA_CFLAGS)
export LDFLAGS
export TOPDIR := $(CURDIR)

# make install PREFIX=... DESTDIR=...; debian/rules sets LIBDIR to the multiarch folder.
export PREFIX ?= /usr/local
export BINDIR ?= $(PREFIX)/bin
export SBINDIR ?= $(PREFIX)/sbin
export LIBDIR ?= $(PREFIX)/lib
export INCLUDEDIR ?= $(PREFIX)/include
export DATADIR ?= $(PREFIX)/share
export MANDIR ?= $(DATADIR)/man
export DOCDIR ?= $(DATADIR)/doc/criu-ng

.PHONY: all soccr criu criu-bin crit testlib soccr-tests tests test bench demo sanitize fuzz clean install uninstall docs

all: soccr criu crit testlib soccr-tests tests

soccr:
	$(MAKE) -C soccr lib

criu: soccr
	$(MAKE) -C criu

# The image tool (Python): its schema compiled from images/*.proto.
crit:
	$(MAKE) -C crit

# Just the criu binary, without criu's tests: what make install and the package need.
criu-bin: soccr
	$(MAKE) -C criu criu

testlib: soccr criu
	$(MAKE) -C test lib

soccr-tests: testlib
	$(MAKE) -C soccr tests

tests: testlib
	$(MAKE) -C test
	if [ -f test/zdtm/Makefile ]; then $(MAKE) -C test/zdtm; fi

test: all
	scripts/run-tests.sh

# ASAN+UBSAN build in build/sanitize and the tests run there (scripts/sanitize.sh).
sanitize: all
	scripts/sanitize.sh

# libFuzzer on every image reader, FUZZ_TIME seconds per target (scripts/fuzz.sh).
fuzz:
	scripts/fuzz.sh

bench: all
	test/bench/run.sh

demo: all
	test/demo/run.sh

docs:
	$(MAKE) -C Documentation

# crit (CRIU's image tool, ours in Python) is installed once crit/ exists: see scripts/install-crit.sh.
DOCS := README.md CREDITS $(wildcard Documentation/*.md)

install: criu-bin docs
	$(MAKE) -C soccr install
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(DOCDIR)
	install -m 0755 criu/criu $(DESTDIR)$(SBINDIR)/criu
	install -m 0644 $(DOCS) $(DESTDIR)$(DOCDIR)/
	$(MAKE) -C Documentation install
	scripts/install-crit.sh install

uninstall:
	$(MAKE) -C soccr uninstall
	rm -f $(DESTDIR)$(SBINDIR)/criu $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOCS)))
	$(MAKE) -C Documentation uninstall
	scripts/install-crit.sh uninstall
	-rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null

clean:
	rm -rf build
	$(MAKE) -C soccr clean
	$(MAKE) -C Documentation clean
	$(MAKE) -C criu clean
	$(MAKE) -C crit clean
	$(MAKE) -C test clean
	if [ -f test/zdtm/Makefile ]; then $(MAKE) -C test/zdtm clean; fi
