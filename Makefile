# amrouter - one plain Makefile.
#
#   make            build bin/amrouter and bin/amctl
#   make run        install missing deps, build, run on config.example.yml (state in ./data)
#   make test       install missing deps, build, run unit + integration + side-by-side tests
#   make check      the same tests built with ASan + UBSan
#   make checksrc   banned functions and clang-format drift
#   make bench      benchmarks against Alertmanager (see docs/performance.md);
#                   BENCH_ARGS=--quick for a smaller run, --only ROW for one row
#   make fuzz       libFuzzer targets, FUZZ_SECONDS each (clang); make soak, make valgrind
#                   (see docs/testing.md)
#   make install    PREFIX=/usr/local

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
BINDIR  ?= bin
CC      ?= cc
PYTHON  ?= /usr/bin/python3

PKGS       := libmicrohttpd libcurl yaml-0.1 sqlite3 jansson libpcre2-8 libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

WARN := -std=c11 -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes -Wwrite-strings -Wvla -Wformat-security
OPT  ?= -O2 -g
SAN  ?=
VERSION  := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
REVISION := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
CPPFLAGS += -I. -I$(BUILD)/gen -D_GNU_SOURCE -DAMR_VERSION='"$(VERSION)"' -DAMR_REVISION='"$(REVISION)"'
ALL_CFLAGS = $(WARN) $(OPT) $(SAN) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS)
# The files that print AMR_REVISION are rebuilt when HEAD moves: the stamp is
# rewritten (at parse time) only when the revision differs from the one in it.
REV_STAMP := $(BUILD)/gen/revision
$(shell mkdir -p $(BUILD)/gen; [ "$$(cat $(REV_STAMP) 2>/dev/null)" = "$(REVISION)" ] || \
        echo "$(REVISION)" > $(REV_STAMP))
REV_USERS := engine/engine.c api/metrics.c cmd/amctl.c cmd/amrouter.c
LIBS = $(PKG_LIBS) -lpthread -lm

LIB_SRCS  := $(sort $(wildcard core/*.c config/*.c router/*.c notifiers/*.c templates/*.c \
                               storage/*.c api/*.c engine/*.c))
TEMPLATES := $(sort $(wildcard templates/*.mustache))
GEN_SRC   := $(BUILD)/gen/default_templates.c
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/default_templates.o
TLIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/tobj/%.o) $(BUILD)/obj/gen/default_templates.o
AMCTL_SRCS := $(sort $(wildcard cmd/amctl*.c))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
ALL_SRCS  := $(LIB_SRCS) $(wildcard cmd/*.c) $(UNIT_SRCS) $(wildcard bench/*.c) \
             $(wildcard tests/fuzz/*.c tests/fuzz/*.h) \
             $(wildcard core/*.h config/*.h router/*.h notifiers/*.h templates/*.h storage/*.h \
                        api/*.h engine/*.h cmd/*.h tests/unit/*.h)

.SECONDARY:

.PHONY: all run test check checksrc format bench install clean deps unit integration fuzz \
        bench-templates fuzz-replay soak valgrind

all: $(BINDIR)/amrouter $(BINDIR)/amctl

deps:
	@scripts/install-deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tobj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DUNIT_TEST -MMD -MP -c -o $@ $<

$(REV_USERS:%.c=$(BUILD)/obj/%.o) $(REV_USERS:%.c=$(BUILD)/tobj/%.o): $(REV_STAMP)

$(BUILD)/obj/gen/default_templates.o: $(GEN_SRC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(GEN_SRC): $(TEMPLATES) scripts/embed-templates.sh
	@mkdir -p $(dir $@)
	scripts/embed-templates.sh $(TEMPLATES) > $@.tmp && mv $@.tmp $@

$(BUILD)/libamrouter.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libamrouter-test.a: $(TLIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BINDIR)/amrouter: $(BUILD)/obj/cmd/amrouter.o $(BUILD)/libamrouter.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS)

$(BINDIR)/amctl: $(AMCTL_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/libamrouter.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: $(BUILD)/tobj/tests/unit/%.o $(BUILD)/libamrouter-test.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS) $(CMOCKA_LIBS)

unit: $(UNIT_BINS)

# Each fuzz target linked with tests/fuzz/replay.c: a plain program that replays its
# corpus and regression inputs; scripts/run-tests.sh runs them (no clang needed).
$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(BUILD)/obj/tests/fuzz/replay.o $(BUILD)/libamrouter.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS)

fuzz-replay: $(FUZZ_BINS)

run: deps all
	@mkdir -p data
	$(BINDIR)/amrouter --config.file=config.example.yml --storage.path=data \
	    --web.listen-address=127.0.0.1:9093

test: deps all unit fuzz-replay $(BUILD)/bench/bench_templates
	@BUILD=$(BUILD) BINDIR=$(BINDIR) PYTHON=$(PYTHON) scripts/run-tests.sh

# The whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer, in its own tree.
check: deps
	@$(MAKE) --no-print-directory BUILD=build/san BINDIR=build/san/bin OPT="-O1 -g" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	    all unit fuzz-replay build/san/bench/bench_templates
	@BUILD=build/san BINDIR=build/san/bin PYTHON=$(PYTHON) \
	    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    scripts/run-tests.sh

checksrc:
	@scripts/checksrc.sh $(ALL_SRCS)

format:
	clang-format -i $(ALL_SRCS)

bench: deps all $(BUILD)/bench/bench_templates
	@BINDIR=$(BINDIR) BUILD=$(BUILD) PYTHON=$(PYTHON) scripts/bench.sh $(BENCH_ARGS)

# Render speed of the default Slack and email templates for a 50-alert group.
bench-templates: $(BUILD)/bench/bench_templates
	$(BUILD)/bench/bench_templates

$(BUILD)/bench/bench_templates: $(BUILD)/obj/bench/bench_templates.o $(BUILD)/libamrouter.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS)

# Evidence (docs/testing.md): libFuzzer runs with clang, FUZZ_SECONDS per target;
# a soak of SOAK_SECONDS of mixed traffic; the unit tests and a daemon smoke test
# under valgrind memcheck.
FUZZ_SECONDS ?= 60
SOAK_SECONDS ?= 600

fuzz:
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

soak: deps all
	@AMROUTER_BIN=$(CURDIR)/$(BINDIR)/amrouter $(PYTHON) tests/faults/soak.py $(SOAK_SECONDS)

valgrind: deps all unit fuzz-replay
	@BUILD=$(BUILD) BINDIR=$(BINDIR) PYTHON=$(PYTHON) scripts/valgrind.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/amrouter \
	    $(DESTDIR)$(PREFIX)/share/amrouter/teams
	install -m 0755 $(BINDIR)/amrouter $(BINDIR)/amctl $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 config.example.yml $(DESTDIR)$(PREFIX)/share/amrouter/
	install -m 0644 teams/*.yml $(DESTDIR)$(PREFIX)/share/amrouter/teams/
	install -d $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0644 $(wildcard docs/man/*.1) $(DESTDIR)$(PREFIX)/share/man/man1/
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	sed 's|/usr/local/bin/|$(PREFIX)/bin/|' contrib/amrouter.service \
	    > $(DESTDIR)$(PREFIX)/lib/systemd/system/amrouter.service

clean:
	rm -rf build bin

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
