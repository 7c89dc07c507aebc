# criu-ng: top-level build. Each directory has its own Makefile; this one
# sequences them and holds the entry points (test, bench, demo).

export CC ?= gcc
export CFLAGS_BASE := -O2 -g -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread
export TOPDIR := $(CURDIR)

.PHONY: all soccr criu testlib soccr-tests tests test bench demo sanitize fuzz clean install

all: soccr criu testlib soccr-tests tests

soccr:
	$(MAKE) -C soccr lib

criu: soccr
	$(MAKE) -C criu

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

clean:
	rm -rf build
	$(MAKE) -C soccr clean
	$(MAKE) -C criu clean
	$(MAKE) -C test clean
	if [ -f test/zdtm/Makefile ]; then $(MAKE) -C test/zdtm clean; fi
