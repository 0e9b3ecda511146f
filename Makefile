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

DEB_PKGS = nginx nginx-dev libjansson-dev libssl-dev zlib1g-dev libcmocka-dev \
           clang libfuzzer-14-dev libclang-rt-14-dev wrk perl openssl \
           chromium fonts-dejavu-core curl \
           golang-go golang-golang-x-mod-dev rsyslog

CC_WARN  = -Wall -Wextra -Werror
CFLAGS   ?= -O2 -g
UNIT_CFLAGS = -std=gnu11 $(CC_WARN) -Imodule -Itools
UNIT_LIBS   = -lcmocka -ljansson -lcrypto
ASAN        = -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=all

# the request-independent cores: no nginx types, unit-tested, fuzzed and
# shared with tools/
PURE_NAMES = cookie form gate hosts html lang plural record tree note
PURE_SRCS  = $(wildcard $(PURE_NAMES:%=module/ngx_http_consent_%.c))
PURE_HDRS  = $(wildcard $(PURE_NAMES:%=module/ngx_http_consent_%.h))

MODULE_SRCS = $(wildcard module/*.c module/*.h) config
TOOL_SRCS   = $(wildcard tools/*.c)

UNIT_TESTS  = $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))
FUZZERS     = $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))

SO    = $(BUILD)/ngx_http_consent_module.so
AUDIT = $(BUILD)/consent-audit

.PHONY: all deps module tools unit fuzz integration integration-asan browser \
        integration-stable integration-mainline screenshots tree \
        nginx-tests nginx-tests-module load upstream \
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

$(BUILD)/nginx/objs/Makefile: $(BUILD)/files.list config
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

# ../shared beside the clone (or beside its parent): the vendored nginx
# trees and nginx-tests, the html5lib-tests corpus
SHARED       ?= $(firstword $(wildcard $(abspath ../shared ../../shared)))

# --- upstream nginx, from ../shared/vendor (repository trees) -------------
# NGX_STABLE with the module compiled in (--add-module), and the modules
# nginx-tests exercises; NGX_MAINLINE with it as a dynamic module.

VENDOR       ?= $(SHARED)/vendor
NGX_STABLE   ?= 1.30.4
NGX_MAINLINE ?= 1.31.4
NGX_TESTS    ?= 76bb761cdcae

# what nginx-tests needs beyond core Perl to run its FastCGI, SCGI, HTTP/3,
# image_filter and WebSocket files (make deps installs them)
DEB_PKGS += libcryptx-perl libfcgi-perl libscgi-perl libgd-perl \
            libprotocol-websocket-perl

UPSTREAM_CONF = --with-threads --with-file-aio --with-debug \
    --with-http_ssl_module --with-http_v2_module --with-http_v3_module \
    --with-http_realip_module --with-http_addition_module \
    --with-http_xslt_module --with-http_image_filter_module \
    --with-http_geoip_module --with-http_sub_module --with-http_dav_module \
    --with-http_flv_module --with-http_mp4_module \
    --with-http_gunzip_module --with-http_gzip_static_module \
    --with-http_auth_request_module --with-http_random_index_module \
    --with-http_secure_link_module --with-http_degradation_module \
    --with-http_slice_module --with-http_stub_status_module \
    --with-mail --with-mail_ssl_module --with-stream \
    --with-stream_ssl_module --with-stream_realip_module \
    --with-stream_geoip_module --with-stream_ssl_preread_module

UPSTREAM_STATIC  = $(BUILD)/nginx-$(NGX_STABLE)/objs/nginx
UPSTREAM_DYNAMIC = $(BUILD)/nginx-$(NGX_MAINLINE)/objs/nginx

.PHONY: upstream
upstream: $(UPSTREAM_STATIC) $(UPSTREAM_DYNAMIC)

# configure again whenever the set of module files or the options change;
# $(1) is the version, $(2) how the module goes in
$(BUILD)/upstream.flags: FORCE
	@mkdir -p $(BUILD)
	@echo '$(UPSTREAM_CONF)' > $@.new
	@cmp -s $@.new $@ && rm $@.new || mv $@.new $@

define upstream_tree
$(BUILD)/nginx-$(1)/objs/Makefile: $(BUILD)/files.list $(BUILD)/upstream.flags \
                                 config
	@test -f "$(VENDOR)/nginx-$(1).tar.gz" \
	    || { echo "no $(VENDOR)/nginx-$(1).tar.gz (set VENDOR=)"; exit 1; }
	rm -rf $(BUILD)/nginx-$(1)
	mkdir -p $(BUILD)/nginx-$(1)
	tar xzf $(VENDOR)/nginx-$(1).tar.gz -C $(BUILD)/nginx-$(1) \
	    --strip-components=1
	cd $(BUILD)/nginx-$(1) && auto/configure $(UPSTREAM_CONF) \
	    --with-cc-opt="-g -O2 $(CC_WARN) -Wno-unused-parameter" \
	    $(2)=$(CURDIR) > configure.log

$(BUILD)/nginx-$(1)/objs/nginx: $(BUILD)/nginx-$(1)/objs/Makefile \
                                $(MODULE_SRCS)
	$(MAKE) -s -C $(BUILD)/nginx-$(1) -j2 >/dev/null
endef

$(eval $(call upstream_tree,$(NGX_STABLE),--add-module))
$(eval $(call upstream_tree,$(NGX_MAINLINE),--add-dynamic-module))

# --- ui: the banner's CSS, JS and texts, built into the module -----------
# (module/ngx_http_consent_ui_data.c is committed, so that --add-module
# builds from a clean tree; tests/integration/10_ui_data.t checks it is
# current)

UI_FILES = ui/consent.css ui/consent.js $(sort $(wildcard ui/texts/*.json))

.PHONY: ui
ui: module/ngx_http_consent_ui_data.c

module/ngx_http_consent_ui_data.c: ui/embed.sh $(UI_FILES)
	sh ui/embed.sh $(UI_FILES) > $@.new && mv $@.new $@

# --- the tracker catalogue -------------------------------------------------
# (conf/trackers.conf is committed, so that a clone can include it;
# tests/integration/40_catalogue.t checks it is current)

.PHONY: trackers
trackers: conf/trackers.conf

conf/trackers.conf: tools/trackers.pl conf/services.txt \
                    conf/open-cookie-database.csv
	perl tools/trackers.pl conf/services.txt conf/open-cookie-database.csv \
	    > $@.new && mv $@.new $@

# --- the Debian packages ----------------------------------------------------
# libnginx-mod-http-consent and consent-audit, built with debhelper and
# dh_nginx from a copy of the tree in $(BUILD)/deb (dpkg-buildpackage
# writes to the parent directory); make deb-test installs them with apt
# into the system nginx, runs the example configuration, purges them.

DEB_DEPS = build-essential debhelper dpkg-dev lintian

DEB_DIR  = $(BUILD)/deb
DEB_SRC  = $(DEB_DIR)/nginx-consent

.PHONY: deb deb-test deb-deps
deb-deps:
	@$(MAKE) -s deps DEB_PKGS="$(DEB_PKGS) $(DEB_DEPS)"

deb: deb-deps
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_SRC)
	tar -c --exclude=./.git --exclude=./build --exclude=./run \
	    --exclude='./$(BUILD)' --exclude=node_modules . \
	    | tar -x -C $(DEB_SRC)
	cd $(DEB_SRC) && dpkg-buildpackage -b -uc -us > ../build.log 2>&1 \
	    || { tail -n 40 ../build.log; exit 1; }
	@# the binary packages; their overrides say why each tag is kept
	lintian --fail-on error,warning $(DEB_DIR)/libnginx-mod-http-consent_*.deb \
	    $(DEB_DIR)/consent-audit_*.deb
	@ls $(DEB_DIR)/*.deb

deb-test: deb
	bash tests/deb/run.sh $(abspath $(DEB_DIR))

# --- the auditor's tool ---------------------------------------------------

tools: $(AUDIT)

$(AUDIT): $(TOOL_SRCS) $(PURE_SRCS) $(PURE_HDRS)
	@mkdir -p $(BUILD)
	@if [ -n "$(TOOL_SRCS)" ]; then \
	    echo "cc -o $@"; \
	    $(CC) $(CFLAGS) $(UNIT_CFLAGS) -o $@ $(TOOL_SRCS) $(PURE_SRCS) \
	        -ljansson -lcrypto; \
	fi

# --- the independent verifier (Go, Debian's x/mod, GOPATH mode) -----------
# tests/go/verify.go checks checkpoints and receipts with Go's own
# golang.org/x/mod/sumdb/note and sumdb/tlog: no module download, no network

GO_ENV = GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOPROXY=off \
         GOCACHE=$(abspath $(BUILD))/gocache

.PHONY: go-verify
go-verify: $(BUILD)/consent-verify

$(BUILD)/consent-verify: tests/go/verify.go
	@mkdir -p $(BUILD)
	$(GO_ENV) go build -o $@ ./tests/go

# the integration tests of the log use it
integration: go-verify

# --- unit tests (cmocka), plain and under ASan+UBSan ----------------------

unit: $(UNIT_TESTS:%=$(BUILD)/unit/%) $(UNIT_TESTS:%=$(BUILD)/unit-asan/%)
	@fail=0; for t in $(UNIT_TESTS); do \
	    for v in unit unit-asan; do \
	        echo "== $$v/$$t"; \
	        $(if $(SHARED),CONSENT_CORPUS=$(SHARED)/corpus) $(BUILD)/$$v/$$t || fail=1; \
	    done; \
	done; exit $$fail

$(BUILD)/unit/test_%: tests/unit/test_%.c $(PURE_SRCS) $(PURE_HDRS) \
                      $(TOOL_SRCS) $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(UNIT_CFLAGS) -o $@ $< $(PURE_SRCS) $(UNIT_LIBS)

$(BUILD)/unit-asan/test_%: tests/unit/test_%.c $(PURE_SRCS) $(PURE_HDRS) \
                           $(TOOL_SRCS) $(wildcard tests/unit/*.h)
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

# a test file that hangs fails, named, after PROVE_TIMEOUT seconds, instead
# of holding the run until CI's own limit ends it with no name
PROVE_TIMEOUT ?= 900
PROVE = prove --exec 'timeout -k 30 $(PROVE_TIMEOUT) perl'

integration: module tools
	CONSENT_BUILD=$(abspath $(BUILD)) $(PROVE) -r tests/integration

# the same tests against the module built with AddressSanitizer and UBSan,
# in Debian's nginx with the ASan runtime preloaded (tests/integration/
# nginx-asan); a report in an error log fails its file
ASAN_NGX_CC_OPT = -fsanitize=address,undefined -fno-omit-frame-pointer \
                  -fno-sanitize-recover=all
ASAN_NGX_LD_OPT = -fsanitize=address,undefined

integration-asan:
	$(MAKE) BUILD=$(BUILD)/asan NGX_CC_OPT="$(ASAN_NGX_CC_OPT)" \
	    NGX_LD_OPT="$(ASAN_NGX_LD_OPT)" module tools go-verify
	CONSENT_BUILD=$(abspath $(BUILD))/asan \
	    TEST_NGINX_BINARY=$(CURDIR)/tests/integration/nginx-asan \
	    $(PROVE) -r tests/integration

# the same suite against upstream nginx: the stable release with the module
# compiled in, the mainline one with it loaded (Debian's 1.22 is the
# integration stage itself)
integration-stable: $(UPSTREAM_STATIC) tools
	CONSENT_BUILD=$(abspath $(BUILD)) CONSENT_MODULE=static \
	    TEST_NGINX_BINARY=$(abspath $(UPSTREAM_STATIC)) \
	    $(PROVE) -r tests/integration

integration-mainline: $(UPSTREAM_DYNAMIC) tools
	CONSENT_BUILD=$(abspath $(BUILD)) \
	    CONSENT_MODULE=$(abspath $(dir $(UPSTREAM_DYNAMIC)))/ngx_http_consent_module.so \
	    TEST_NGINX_BINARY=$(abspath $(UPSTREAM_DYNAMIC)) \
	    $(PROVE) -r tests/integration

# nginx's own suite (nginx-tests) against NGX_STABLE with the module
# compiled in: as it is, then with the module enabled in every test's http
# block; the results may differ only where docs/testing.md says why.
# make test runs the first two; make nginx-tests adds a run with the banner
NGINX_TESTS_TARBALL = $(VENDOR)/nginx-tests-$(NGX_TESTS).tar.gz
NGINX_TESTS_RUN = bash tests/nginx-tests/suite.sh $(abspath $(BUILD)) \
                  $(abspath $(UPSTREAM_STATIC)) $(NGINX_TESTS_TARBALL)

nginx-tests-module: $(UPSTREAM_STATIC) tools
	$(NGINX_TESTS_RUN) module

nginx-tests: $(UPSTREAM_STATIC) tools
	$(NGINX_TESTS_RUN) module banner

# load and faults (tests/load): 2,000 keep-alive connections for
# LOAD_SECONDS with reloads and kills, and slow clients
LOAD_SECONDS ?= 60

load: module tools
	cd tests/load && CONSENT_BUILD=$(abspath $(BUILD)) \
	    LOAD_SECONDS=$(LOAD_SECONDS) node --test load.test.mjs
	CONSENT_BUILD=$(abspath $(BUILD)) $(PROVE) tests/load/slow.t

# the tests leave the checkout as they found it (make test notes how it was
# before its first stage, in $(BUILD)/tree.before)
tree:
	@test -f $(BUILD)/tree.before \
	    || { echo "tree: run through make test, in a git checkout"; exit 1; }
	@git status --porcelain --untracked-files=all > $(BUILD)/tree.after
	@diff $(BUILD)/tree.before $(BUILD)/tree.after \
	    && echo "the tests left the checkout as they found it" \
	    || { echo "the tests changed the checkout (above)"; exit 1; }

# the browser tests write their screenshots to $(BUILD)/screenshots; a
# hang fails the stage after PROVE_TIMEOUT seconds (Debian 12's node has
# no --test-timeout);
# make screenshots refreshes the committed ones in docs/screenshots
browser: module
	@if ls tests/browser/*.test.mjs >/dev/null 2>&1; then \
	    cd tests/browser && CONSENT_BUILD=$(abspath $(BUILD)) \
	        timeout -k 30 $(PROVE_TIMEOUT) \
	        node --test --test-concurrency=1 *.test.mjs; \
	fi

screenshots: module
	$(MAKE) browser CONSENT_SCREENSHOTS=$(CURDIR)/docs/screenshots

# every stage runs even when one fails; one line per stage, a total, and
# "N passed, N failed" on the last line; the exit status says if any failed
TEST_STAGES = unit fuzz integration integration-asan integration-stable \
              integration-mainline nginx-tests-module load browser deb-test \
              tree

test: deps
	$(MAKE) all
	@BUILD=$(BUILD) MAKE="$(MAKE)" bash tests/stages.sh $(TEST_STAGES)

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
