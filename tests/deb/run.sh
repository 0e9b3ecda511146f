#!/usr/bin/env bash
#
# The Debian packages, as an operator meets them: install the .debs built
# by "make deb" with apt into the system's nginx, check what they put where
# and that the module is enabled, run nginx with the packaged example
# configuration (on 127.0.0.1 and a free port, from a temporary prefix) and
# check the banner, a page gated by the packaged tracker catalogue, a
# choice, and the consent log with consent-audit; then purge the packages
# and check that nginx still starts with the system's module configuration.
#
#     bash tests/deb/run.sh build/deb        (as root, or with sudo)
#
# Prints TAP; the exit status is 0 only when every check passed.

set -u

DEB_DIR=${1:?usage: run.sh DIR-WITH-THE-DEBS}
DEB_DIR=$(cd "$DEB_DIR" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NGINX=/usr/sbin/nginx
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
APT="$SUDO env DEBIAN_FRONTEND=noninteractive apt-get -y -q \
     -o DPkg::Lock::Timeout=300"

n=0
failed=0

ok() {
    n=$((n + 1))
    if [ "$1" = 0 ]; then
        echo "ok $n - $2"
    else
        echo "not ok $n - $2"
        failed=$((failed + 1))
        return 1
    fi
}

# a page that is there (its heading) without PATTERN
without() {
    grep -q "Today's news" <<< "$2" && ! grep -q "$1" <<< "$2"
}

check() {
    local what=$1
    shift
    "$@" > /dev/null 2>&1
    ok $? "$what"
}

module=$(ls "$DEB_DIR"/libnginx-mod-http-consent_*.deb 2>/dev/null | head -n 1)
audit=$(ls "$DEB_DIR"/consent-audit_*.deb 2>/dev/null | head -n 1)

if [ -z "$module" ] || [ -z "$audit" ]; then
    echo "Bail out! no packages in $DEB_DIR: run make deb"
    exit 1
fi

P=$(mktemp -d /tmp/consent-deb-XXXXXXXX)
chmod 755 "$P"
started=

cleanup() {
    if [ -n "$started" ] && [ -f "$P/nginx.pid" ]; then
        kill -QUIT "$(cat "$P/nginx.pid")" 2> /dev/null
        sleep 0.5
    fi
    if dpkg-query -W -f='${Status}' libnginx-mod-http-consent 2> /dev/null \
        | grep -q 'ok installed'
    then
        $APT purge libnginx-mod-http-consent consent-audit > /dev/null 2>&1
    fi
    if [ -f "$P/plain.pid" ]; then
        kill -QUIT "$(cat "$P/plain.pid")" 2> /dev/null
        sleep 0.5
    fi
    rm -rf "$P"
}
trap cleanup EXIT

free_port() {
    perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1",
                                      LocalPort => 0, Listen => 1)
            or die "socket: $!";
        print $s->sockport, "\n";'
}

# --- install -----------------------------------------------------------

$APT install "$module" "$audit" > "$P/install.log" 2>&1
ok $? "apt installs both packages" || cat "$P/install.log"

so=/usr/lib/nginx/modules/ngx_http_consent_module.so
load=/usr/share/nginx/modules-available/mod-http-consent.conf
enabled=/etc/nginx/modules-enabled/50-mod-http-consent.conf

check "the module is in /usr/lib/nginx/modules" test -f $so
check "mod-http-consent.conf loads it" \
      grep -qx 'load_module modules/ngx_http_consent_module.so;' $load
check "and is enabled: $enabled" \
      test "$(readlink $enabled)" = $load
check "the catalogue is in /usr/share/nginx-consent" \
      test -f /usr/share/nginx-consent/trackers.conf
check "with the Open Cookie Database's licence" \
      test -f /usr/share/nginx-consent/open-cookie-database.LICENSE
check "the example configuration too" \
      test -f /usr/share/nginx-consent/example.conf
check "the docs are in /usr/share/doc" \
      test -f /usr/share/doc/libnginx-mod-http-consent/operators.md.gz
check "consent-audit is in /usr/bin" test -x /usr/bin/consent-audit
check "with a man page" test -f /usr/share/man/man1/consent-audit.1.gz
check "the module depends on the nginx ABI it was built for" \
      sh -c "dpkg-query -W -f='\${Depends}' libnginx-mod-http-consent \
             | grep -q 'nginx-abi-'"
check "the system's nginx configuration, module loaded, still tests ok" \
      $SUDO $NGINX -t -q

# --- the example configuration, on 127.0.0.1 ----------------------------

port=$(free_port)
mkdir -p "$P/keys" "$P/html" "$P/logs"
# the prefix of Debian's nginx, /usr/share/nginx, has this link: the
# load_module of mod-http-consent.conf is relative to it
ln -s /usr/lib/nginx/modules "$P/modules"
check "consent-audit keygen makes the keys" \
      /usr/bin/consent-audit keygen "$P/keys"

sed -e "s|/etc/nginx/consent/|$P/keys/|g" \
    -e "s|/var/log/nginx/consent.log|$P/logs/consent.log|" \
    -e "s|listen 80;|listen 127.0.0.1:$port;|" \
    -e "s|server_name example.com;|server_name 127.0.0.1;|" \
    -e "s|/var/www/html|$P/html|" \
    /usr/share/nginx-consent/example.conf > "$P/consent.conf"

# what every nginx of this test needs in its http block
temps="access_log off;
    client_body_temp_path $P/body;
    proxy_temp_path $P/proxy;
    fastcgi_temp_path $P/fastcgi;
    uwsgi_temp_path $P/uwsgi;
    scgi_temp_path $P/scgi;"

cat > "$P/nginx.conf" << EOF
include /etc/nginx/modules-enabled/*.conf;
worker_processes 1;
pid $P/nginx.pid;
error_log $P/logs/error.log info;
events { worker_connections 64; }
http {
    include /etc/nginx/mime.types;
    $temps
    include $P/consent.conf;
}
EOF

# GTM's and YouTube's published snippets, and nothing of the operator's
cat > "$P/html/index.html" << 'EOF'
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>A news site</title>
<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':
new Date().getTime(),event:'gtm.js'});var f=d.getElementsByTagName(s)[0],
j=d.createElement(s),dl=l!='dataLayer'?'&l='+l:'';j.async=true;j.src=
'https://www.googletagmanager.com/gtm.js?id='+i+dl;f.parentNode.insertBefore(j,f);
})(window,document,'script','dataLayer','GTM-XXXX');</script>
</head>
<body>
<h1>Today's news</h1>
<iframe width="560" height="315" src="https://www.youtube.com/embed/M7lc1UVf-VE" title="YouTube video player" allowfullscreen></iframe>
</body>
</html>
EOF
echo '<!DOCTYPE html><title>Privacy</title><p>Our policy.</p>' \
    > "$P/html/privacy.html"

out=$($NGINX -p "$P/" -c "$P/nginx.conf" -t 2>&1)
ok $? "nginx -t accepts the example configuration" || echo "$out"

$NGINX -p "$P/" -c "$P/nginx.conf" 2> "$P/start.log"
ok $? "nginx starts with it" || cat "$P/start.log" "$P/logs/error.log"
started=1

for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && break
    sleep 0.1
done

page=$(curl -s "http://127.0.0.1:$port/")
check "a first visit gets the banner" \
      grep -q 'id="consent-banner"' <<< "$page"
check "the page is there" grep -q "Today's news" <<< "$page"
check "no Google Tag Manager (the catalogue's rule)" \
      without googletagmanager "$page"
check "no YouTube embed (the catalogue's rule)" without youtube "$page"

hdrs=$(curl -s -o /dev/null -D - \
       -H "Origin: http://127.0.0.1:$port" \
       -H 'Content-Type: application/x-www-form-urlencoded' \
       --data 'action=accept_all&return=/' \
       "http://127.0.0.1:$port/consent/")
cookie=$(sed -n 's/^[Ss]et-[Cc]ookie: \(consent=[^;]*\).*/\1/p' <<< "$hdrs" \
         | tr -d '\r')
check "Accept all sets the consent cookie" test -n "$cookie"

page=$(curl -s -H "Cookie: $cookie" "http://127.0.0.1:$port/")
check "accepted: Google Tag Manager is served" \
      grep -q googletagmanager <<< "$page"
check "accepted: the YouTube embed is served" \
      grep -q 'www.youtube.com/embed' <<< "$page"
check "accepted: no banner" without 'id="consent-banner"' "$page"

kill -QUIT "$(cat "$P/nginx.pid")" 2> /dev/null
for _ in $(seq 50); do
    [ -f "$P/nginx.pid" ] || break
    sleep 0.1
done
started=

check "consent-audit verifies the consent log" \
      /usr/bin/consent-audit verify "$P/logs/consent.log" \
          --pubkey "$P/keys/log.pub.pem"
check "no alert in nginx's error log" \
      test -z "$(grep -E '\[(alert|emerg|crit)\]' "$P/logs/error.log")"

# --- purge ----------------------------------------------------------------

$APT purge libnginx-mod-http-consent consent-audit > "$P/purge.log" 2>&1
ok $? "apt purges both packages" || cat "$P/purge.log"

check "the module is gone" test ! -e $so
check "and no longer enabled" test ! -e $enabled -a ! -L $enabled
check "consent-audit is gone" test ! -e /usr/bin/consent-audit
check "the system's nginx configuration tests ok without it" \
      $SUDO $NGINX -t -q

cat > "$P/plain.conf" << EOF
include /etc/nginx/modules-enabled/*.conf;
pid $P/plain.pid;
error_log $P/logs/plain.log info;
events { worker_connections 64; }
http {
    $temps
    server { listen 127.0.0.1:$port; return 200 "still here\n"; }
}
EOF

$NGINX -p "$P/" -c "$P/plain.conf" 2> "$P/start.log"
ok $? "nginx still starts with the system's modules-enabled" \
    || cat "$P/start.log"
for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && break
    sleep 0.1
done
check "and answers" \
      grep -qx 'still here' <<< "$(curl -s "http://127.0.0.1:$port/")"
kill -QUIT "$(cat "$P/plain.pid")" 2> /dev/null
sleep 0.5

echo "1..$n"
[ $failed = 0 ] || echo "# $failed of $n checks failed"
exit $((failed != 0))
