# nginx-consent: make (build), make run (demo), make test (everything).
#
# BUILD may point elsewhere so that several builds can run side by side:
#     make BUILD=/tmp/b test

BUILD        ?= build
NGINX_SRC    ?= /usr/share/nginx/src
NGINX        ?= /usr/sbin/nginx
FUZZ_SECONDS ?= 20
PORT         ?= 8080

# extra flags for the module, e.g. a sanitizer build:
#     make BUILD=/tmp/asan NGX_CC_OPT=-fsanitize=address NGX_LD_OPT=-fsanitize=address
NGX_CC_OPT   ?=
NGX_LD_OPT   ?=

SHELL := /bin/bash

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

DEB_PKGS = nginx nginx-dev libjansson-dev libssl-dev libcmocka-dev \
           clang libfuzzer-14-dev libclang-rt-14-dev wrk perl openssl \
           chromium fonts-dejavu-core curl

CC_WARN  = -Wall -Wextra -Werror
CFLAGS   ?= -O2 -g
UNIT_CFLAGS = -std=gnu11 $(CC_WARN) -Imodule -Itools
UNIT_LIBS   = -lcmocka -ljansson -lcrypto
ASAN        = -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=all

# the request-independent cores: no nginx types, unit-tested, fuzzed and
# shared with tools/
PURE_NAMES = cookie form gate html lang record
PURE_SRCS  = $(wildcard $(PURE_NAMES:%=module/ngx_http_consent_%.c))
PURE_HDRS  = $(wildcard $(PURE_NAMES:%=module/ngx_http_consent_%.h))

MODULE_SRCS = $(wildcard module/*.c module/*.h) config
TOOL_SRCS   = $(wildcard tools/*.c)

UNIT_TESTS  = $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))
FUZZERS     = $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))

SO    = $(BUILD)/ngx_http_consent_module.so
AUDIT = $(BUILD)/consent-audit

.PHONY: all deps module tools unit fuzz integration integration-asan browser \
        test bench \
        run stop keys clean

all: module tools

# --- dependencies: install what is missing, nothing else ------------------

deps:
	@missing=""; for p in $(DEB_PKGS); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null \
	        | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	        --no-install-recommends $$missing >/dev/null; \
	fi
	@command -v node >/dev/null || { \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	        nodejs npm >/dev/null; }
	@if [ -f tests/browser/package.json ] \
	    && [ ! -d tests/browser/node_modules ]; then \
	    cd tests/browser && npm ci --no-audit --no-fund --loglevel=error; \
	fi

# --- the module, against the system nginx's nginx-dev tree ----------------

module: $(SO)

# configure again whenever the set of module files changes
$(BUILD)/files.list: FORCE
	@mkdir -p $(BUILD)
	@ls module/*.c module/*.h config > $@.new
	@cmp -s $@.new $@ && rm $@.new || mv $@.new $@

$(BUILD)/nginx/objs/Makefile: $(BUILD)/files.list
	rm -rf $(BUILD)/nginx
	cp -r $(NGINX_SRC) $(BUILD)/nginx
	. $(BUILD)/nginx/conf_flags && cd $(BUILD)/nginx && \
	    ./configure "$${NGX_CONF_FLAGS[@]}" \
	        --with-cc-opt="-g -O2 -fPIC $(CC_WARN) -Wno-unused-parameter $(NGX_CC_OPT)" \
	        --with-ld-opt="$(NGX_LD_OPT)" \
	        --add-dynamic-module=$(CURDIR) > configure.log

$(SO): $(BUILD)/nginx/objs/Makefile $(MODULE_SRCS)
	$(MAKE) -s -C $(BUILD)/nginx -f objs/Makefile modules
	@# a new inode: an nginx running with the old module keeps its mapping
	cp $(BUILD)/nginx/objs/ngx_http_consent_module.so $@.new
	mv -f $@.new $@

# --- ui: the banner's CSS, JS and texts, built into the module -----------
# (module/ngx_http_consent_ui_data.c is committed, so that --add-module
# builds from a clean tree; tests/integration/10_ui_data.t checks it is
# current)

UI_FILES = ui/consent.css ui/consent.js $(sort $(wildcard ui/texts/*.json))

.PHONY: ui
ui: module/ngx_http_consent_ui_data.c

module/ngx_http_consent_ui_data.c: ui/embed.sh $(UI_FILES)
	sh ui/embed.sh $(UI_FILES) > $@.new && mv $@.new $@

# --- the auditor's tool ---------------------------------------------------

tools: $(AUDIT)

$(AUDIT): $(TOOL_SRCS) $(PURE_SRCS) $(PURE_HDRS)
	@mkdir -p $(BUILD)
	@if [ -n "$(TOOL_SRCS)" ]; then \
	    echo "cc -o $@"; \
	    $(CC) $(CFLAGS) $(UNIT_CFLAGS) -o $@ $(TOOL_SRCS) $(PURE_SRCS) \
	        -ljansson -lcrypto; \
	fi

# --- unit tests (cmocka), plain and under ASan+UBSan ----------------------

unit: $(UNIT_TESTS:%=$(BUILD)/unit/%) $(UNIT_TESTS:%=$(BUILD)/unit-asan/%)
	@fail=0; for t in $(UNIT_TESTS); do \
	    for v in unit unit-asan; do \
	        echo "== $$v/$$t"; \
	        $(BUILD)/$$v/$$t || fail=1; \
	    done; \
	done; exit $$fail

$(BUILD)/unit/test_%: tests/unit/test_%.c $(PURE_SRCS) $(PURE_HDRS) \
                      $(TOOL_SRCS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(UNIT_CFLAGS) -o $@ $< $(PURE_SRCS) $(UNIT_LIBS)

$(BUILD)/unit-asan/test_%: tests/unit/test_%.c $(PURE_SRCS) $(PURE_HDRS) \
                           $(TOOL_SRCS)
	@mkdir -p $(dir $@)
	clang -O1 -g $(ASAN) $(UNIT_CFLAGS) -o $@ $< $(PURE_SRCS) $(UNIT_LIBS)

# --- fuzzing (libFuzzer), a bounded time per target -----------------------

# every target for $(1) seconds, on a copy of its corpus, with its
# dictionary (tests/fuzz/<target>.dict) if it has one
fuzz_run = fail=0; for f in $(FUZZERS); do \
        name=$${f\#fuzz_}; corpus=$(BUILD)/fuzz/corpus-$$name; \
        mkdir -p $$corpus; \
        [ -d tests/fuzz/corpus/$$name ] \
            && cp -r tests/fuzz/corpus/$$name/. $$corpus/; \
        dict=; [ -f tests/fuzz/$$f.dict ] && dict=-dict=tests/fuzz/$$f.dict; \
        echo "== $$f for $(1)s"; \
        $(BUILD)/fuzz/$$f -max_total_time=$(1) -max_len=65536 $$dict \
            -artifact_prefix=$(BUILD)/fuzz/$$f- $$corpus \
            > $(BUILD)/fuzz/$$f.log 2>&1 \
            && tail -n 1 $(BUILD)/fuzz/$$f.log \
            || { tail -n 40 $(BUILD)/fuzz/$$f.log; fail=1; }; \
    done; exit $$fail

fuzz: $(FUZZERS:%=$(BUILD)/fuzz/%)
	@$(call fuzz_run,$(FUZZ_SECONDS))

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/*.h) \
                      $(PURE_SRCS) $(PURE_HDRS)
	@mkdir -p $(dir $@)
	clang -O1 -g -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=all $(UNIT_CFLAGS) -o $@ $< $(PURE_SRCS) \
	    -ljansson -lcrypto

# --- fuzzing for long: an hour per target, not part of make test ----------

FUZZ_LONG_SECONDS ?= 3600

.PHONY: fuzz-long
fuzz-long: $(FUZZERS:%=$(BUILD)/fuzz/%)
	@$(call fuzz_run,$(FUZZ_LONG_SECONDS))

# --- integration (real nginx, prove) and browser (Chromium) ---------------

integration: module tools
	CONSENT_BUILD=$(abspath $(BUILD)) prove -r tests/integration

# the same tests against the module built with AddressSanitizer; not yet
# part of make test: one run in several, an nginx fails to start under the
# preloaded runtime without a word in its log
integration-asan:
	$(MAKE) BUILD=$(BUILD)/asan NGX_CC_OPT="-fsanitize=address -fno-omit-frame-pointer" \
	    NGX_LD_OPT=-fsanitize=address module tools
	CONSENT_BUILD=$(abspath $(BUILD))/asan \
	    TEST_NGINX_BINARY=$(CURDIR)/tests/integration/nginx-asan \
	    prove -r tests/integration

browser: module
	@if ls tests/browser/*.test.mjs >/dev/null 2>&1; then \
	    cd tests/browser && CONSENT_BUILD=$(abspath $(BUILD)) \
	        node --test --test-concurrency=1 *.test.mjs; \
	fi

# every stage runs even when one fails; the exit status says if any did
test: deps
	$(MAKE) all
	@failed=""; \
	for stage in unit fuzz integration browser; do \
	    $(MAKE) $$stage || failed="$$failed $$stage"; \
	done; \
	if [ -n "$$failed" ]; then echo "failed stages:$$failed"; exit 1; fi; \
	echo "all stages passed: unit fuzz integration browser"

bench: deps all
	@for b in tests/bench/*.sh; do \
	    echo "== $$b"; CONSENT_BUILD=$(abspath $(BUILD)) bash $$b || exit 1; \
	done

# --- the demo site --------------------------------------------------------

keys: run/secret.key run/log.pem

run/secret.key:
	@mkdir -p run && chmod 700 run
	openssl rand -out $@ 32 && chmod 600 $@

run/log.pem:
	@mkdir -p run && chmod 700 run
	openssl genpkey -algorithm ed25519 -out $@ 2>/dev/null && chmod 600 $@
	openssl pkey -in $@ -pubout -out run/log.pub

run: deps all keys
	@mkdir -p run/logs run/tmp
	@sed -e 's|@MODULE@|$(abspath $(SO))|' -e 's|@ROOT@|$(CURDIR)|g' \
	    -e 's|@PORT@|$(PORT)|' config.nginx > run/nginx.conf
	@$(NGINX) -p $(CURDIR)/run/ -c $(CURDIR)/run/nginx.conf -t -q
	@if [ -f run/nginx.pid ] && kill -0 $$(cat run/nginx.pid) 2>/dev/null; \
	then $(NGINX) -p $(CURDIR)/run/ -c $(CURDIR)/run/nginx.conf -s reload; \
	else $(NGINX) -p $(CURDIR)/run/ -c $(CURDIR)/run/nginx.conf; fi
	@echo
	@echo "  nginx-consent demo: http://127.0.0.1:$(PORT)/"
	@echo "  consent log:        run/logs/consent.log"
	@echo "  stop it with:       make stop"
	@echo

stop:
	@[ -f run/nginx.pid ] && $(NGINX) -p $(CURDIR)/run/ \
	    -c $(CURDIR)/run/nginx.conf -s quit || echo "not running"

clean:
	rm -rf $(BUILD)

FORCE:
