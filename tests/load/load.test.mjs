// Load and faults: a real nginx with 4 workers, 2,000 concurrent keep-alive
// connections mixing gated pages and consent POSTs for LOAD_SECONDS (60),
// "nginx -s reload" every 5 s and a kill -9 of a worker every 10 s. Then:
// no 5xx at all; every failed request failed on a connection whose worker
// a kill or a reload had ended (each answer names its worker); every
// answered POST has exactly one record in the log; the log verifies
// (consent-audit verify's exit status); the error log has no alert besides
// the kills.
//
//     CONSENT_BUILD=build node --test tests/load/load.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync,
         chmodSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import net from 'node:net';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(here, '../..');
const BUILD = resolve(process.env.CONSENT_BUILD || join(ROOT, 'build'));
const NGINX = process.env.TEST_NGINX_BINARY || '/usr/sbin/nginx';
const MODULE = process.env.CONSENT_MODULE
               || join(BUILD, 'ngx_http_consent_module.so');
const AUDIT = join(BUILD, 'consent-audit');

const SECONDS = Number(process.env.LOAD_SECONDS || 60);
const CONNECTIONS = Number(process.env.LOAD_CONNECTIONS || 2000);
const RELOAD_EVERY = 5000;
const KILL_EVERY = 10000;
const POST_SHARE = 0.25;

// a request on a new connection that fails before any answer has no
// worker to blame: it is put down to a kill or a reload this close to it
const GRACE = 5000;

const PAGE = `<!doctype html><html><head><title>News</title>
<script async src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>
<script>window.dataLayer = window.dataLayer || [];</script>
</head><body><h1>A page</h1>
${'<p>Some text, long enough to be a page of its own.</p>\n'.repeat(40)}
<img src="https://www.facebook.com/tr?id=1&ev=PageView" width="1" height="1">
<script src="https://connect.facebook.net/en_US/fbevents.js"></script>
</body></html>
`;

function freePort() {
    return new Promise((res, rej) => {
        const s = net.createServer();
        s.on('error', rej);
        s.listen(0, '127.0.0.1', () => {
            const { port } = s.address();
            s.close(() => res(port));
        });
    });
}

function secretKey() {
    // consent_secret strips a trailing CR or LF: a key must not end in one
    const key = randomBytes(32);
    while (key[31] === 10 || key[31] === 13) {
        key[31] = randomBytes(1)[0];
    }
    return key;
}

function nginx(prefix, ...args) {
    return spawnSync(NGINX, ['-p', `${prefix}/`, '-c',
                             `${prefix}/conf/nginx.conf`, ...args],
                     { encoding: 'utf8' });
}

function children(pid) {
    try {
        return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
            .trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
        return [];
    }
}

function alive(pid) {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

const sleep = ms => new Promise(res => setTimeout(res, ms));

function start(port) {
    const prefix = mkdtempSync(join(tmpdir(), 'consent-load-'));
    chmodSync(prefix, 0o755);
    for (const d of ['conf', 'logs', 'html', 'keys']) {
        mkdirSync(join(prefix, d));
    }
    writeFileSync(join(prefix, 'conf/secret.key'), secretKey(),
                  { mode: 0o600 });
    execFileSync(AUDIT, ['keygen', join(prefix, 'keys')]);
    writeFileSync(join(prefix, 'html/index.html'), PAGE);

    const load = MODULE === 'static' ? '' : `load_module ${MODULE};`;

    writeFileSync(join(prefix, 'conf/nginx.conf'), `${load}
worker_processes 4;
worker_rlimit_nofile 16384;
error_log ${prefix}/logs/error.log notice;
pid ${prefix}/logs/nginx.pid;

events {
    worker_connections 4096;
}

http {
    access_log off;
    client_body_temp_path ${prefix}/client_body_temp;
    proxy_temp_path ${prefix}/proxy_temp;
    fastcgi_temp_path ${prefix}/fastcgi_temp;
    uwsgi_temp_path ${prefix}/uwsgi_temp;
    scgi_temp_path ${prefix}/scgi_temp;
    types { text/html html; }
    keepalive_requests 100000;

    consent_secret secret.key;
    consent_category necessary required;
    consent_category analytics;
    consent_category marketing;
    consent_log ${prefix}/logs/consent.log sign=${prefix}/keys/log.pem;

    server {
        listen 127.0.0.1:${port} backlog=4096;
        root ${prefix}/html;
        consent on;
        consent_gate_host analytics *.googletagmanager.com;
        consent_gate_host marketing connect.facebook.net *.facebook.com;
        add_header X-Worker $pid always;
        location /consent/ { consent_endpoint; }
    }
}
`);

    const r = nginx(prefix);
    assert.equal(r.status, 0,
                 `nginx failed to start: ${r.stdout}${r.stderr}\n`
                 + (existsSync(`${prefix}/logs/error.log`)
                    ? readFileSync(`${prefix}/logs/error.log`, 'utf8') : ''));
    return prefix;
}

test(`${CONNECTIONS} keep-alive connections for ${SECONDS} s, a reload `
     + 'every 5 s, a worker killed every 10 s', { timeout: (SECONDS + 120)
                                                         * 1000 }, async () => {
    const port = await freePort();
    const prefix = start(port);
    const master = Number(readFileSync(`${prefix}/logs/nginx.pid`, 'utf8'));

    const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS,
                                   maxFreeSockets: CONNECTIONS });
    const origin = `http://127.0.0.1:${port}`;
    const actions = ['action=accept_all', 'action=reject_all',
                     'action=save&category=analytics'];

    const count = { get: 0, post: 0, status: {}, errors: {} };
    const answered = new Map();     // consent id -> times answered
    const failures = [];            // {at, worker} of failed requests
    const events = [];              // times of kills and reloads
    const killed = [];
    const retired = new Map();      // worker -> when a kill or reload ended it
    let postsFailed = 0;
    let deadline = 0;

    function once(isPost) {
        return new Promise(done => {
            const body = isPost
                ? actions[Math.floor(Math.random() * actions.length)] : null;
            const req = http.request({
                agent, host: '127.0.0.1', port,
                method: isPost ? 'POST' : 'GET',
                path: isPost ? '/consent/' : '/',
                headers: isPost ? {
                    'Origin': origin,
                    'Content-Type': 'application/x-www-form-urlencoded',
                    'Content-Length': Buffer.byteLength(body),
                } : {},
            }, res => {
                req.socket.worker = Number(res.headers['x-worker']);
                res.resume();
                res.on('end', () => {
                    count.status[res.statusCode] =
                        (count.status[res.statusCode] || 0) + 1;
                    if (isPost && res.statusCode === 303) {
                        const c = (res.headers['set-cookie'] || [])
                            .map(v => /^consent=([^;]*)/.exec(v))
                            .find(Boolean);
                        if (c) {
                            const id = Buffer.from(c[1].split('.')[1],
                                                   'base64url')
                                .toString('hex');
                            answered.set(id, (answered.get(id) || 0) + 1);
                        }
                    }
                    done();
                });
                res.on('error', () => {});
            });
            req.setTimeout(30000, () => req.destroy(new Error('no answer '
                                                              + 'in 30 s')));
            req.on('error', e => {
                const code = e.code || e.message;
                count.errors[code] = (count.errors[code] || 0) + 1;
                failures.push({ at: Date.now(),
                                worker: req.socket && req.socket.worker });
                if (isPost) {
                    postsFailed++;
                }
                done();
            });
            if (body) {
                req.end(body);
            } else {
                req.end();
            }
            if (isPost) {
                count.post++;
            } else {
                count.get++;
            }
        });
    }

    async function client() {
        while (Date.now() < deadline) {
            await once(Math.random() < POST_SHARE);
        }
    }

    // the faults come from a process of their own, on the clock, however
    // busy this one is: a reload every 5 s, and every 10 s a worker killed
    // first; each line "reload|kill MS PIDS" (the workers it ends)
    const faults = spawn('bash', ['-c', `
        end=$((SECONDS + ${SECONDS}))
        i=0
        while sleep ${RELOAD_EVERY / 1000} && [ $SECONDS -lt $end ]; do
            i=$((i + 1))
            w=($(cat /proc/${master}/task/${master}/children))
            if [ $((i % ${KILL_EVERY / RELOAD_EVERY})) = 0 ] \
               && [ \${#w[@]} -gt 0 ]; then
                pid=\${w[RANDOM % \${#w[@]}]}
                echo "kill $(date +%s%3N) $pid"
                kill -9 $pid
                sleep 0.5
                w=($(cat /proc/${master}/task/${master}/children))
            fi
            echo "reload $(date +%s%3N) \${w[*]}"
            ${NGINX} -p ${prefix}/ -c ${prefix}/conf/nginx.conf \
                -e ${prefix}/logs/signal.log -s reload || echo "failed"
        done`]);
    let faultLog = '';
    faults.stdout.on('data', d => { faultLog += d; });
    const faultsDone = new Promise(res => faults.on('exit', res));

    const t0 = Date.now();
    deadline = t0 + SECONDS * 1000;
    const clients = Array.from({ length: CONNECTIONS }, client);
    await Promise.all(clients);
    await faultsDone;
    const elapsed = (Date.now() - t0) / 1000;
    agent.destroy();

    for (const line of faultLog.split('\n').filter(Boolean)) {
        const [what, at, ...pids] = line.split(' ');
        assert.notEqual(what, 'failed', 'nginx -s reload failed');
        events.push(Number(at));
        for (const pid of pids.map(Number)) {
            if (!retired.has(pid)) {
                retired.set(pid, Number(at));
            }
            if (what === 'kill') {
                killed.push(pid);
            }
        }
    }

    nginx(prefix, '-s', 'quit');
    for (let i = 0; i < 200 && alive(master); i++) {
        await sleep(100);
    }
    assert.ok(!alive(master), 'nginx stopped');

    const total = count.get + count.post;
    console.log(`# ${total} requests in ${elapsed.toFixed(0)} s `
                + `(${count.get} GET, ${count.post} POST), statuses `
                + JSON.stringify(count.status) + ', errors '
                + JSON.stringify(count.errors) + `, ${killed.length} kills, `
                + `${events.length - killed.length} reloads`);
    assert.ok(killed.length >= Math.floor(SECONDS * 1000 / KILL_EVERY) - 1,
              `workers were killed: ${killed.length}`);

    // no 5xx at all; every failure on a connection a kill or a reload ended
    const fivexx = Object.entries(count.status)
        .filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0);
    assert.equal(fivexx, 0, 'no 5xx');
    assert.equal(Object.keys(count.status).filter(s => ![200, 303]
                                                  .includes(Number(s)))
                 .length, 0, 'every answer is 200 or 303');
    const stray = failures.filter(f => f.worker
        ? !(retired.get(f.worker) <= f.at)
        : !events.some(e => f.at >= e && f.at < e + GRACE));
    assert.equal(stray.length, 0,
                 `${stray.length} requests failed on a connection no kill `
                 + 'or reload ended: ' + JSON.stringify(stray.slice(0, 5)));
    assert.ok(count.post > 1000, `a real load: ${count.post} POSTs`);

    // every answered POST: exactly one record
    const records = new Map();
    for (const line of readFileSync(`${prefix}/logs/consent.log`, 'utf8')
                           .split('\n')) {
        const m = /"type":"consent"/.test(line) && /"id":"([0-9a-f]+)"/
            .exec(line);
        if (m) {
            records.set(m[1], (records.get(m[1]) || 0) + 1);
        }
    }
    const missing = [...answered.keys()].filter(id => !records.has(id));
    const twice = [...records].filter(([, n]) => n > 1);
    const unanswered = [...records.keys()].filter(id => !answered.has(id));
    assert.equal(missing.length, 0,
                 `${missing.length} answered POSTs have no record`);
    assert.equal(twice.length, 0, `${twice.length} ids have two records`);
    assert.ok(unanswered.length <= postsFailed,
              `${unanswered.length} records for POSTs never answered, `
              + `at most the ${postsFailed} that failed`);

    // the log verifies
    const v = spawnSync(AUDIT, ['verify', `${prefix}/logs/consent.log`,
                                '--pubkey', `${prefix}/keys/log.pub.pem`],
                        { encoding: 'utf8' });
    assert.equal(v.status, 0, `consent-audit verify: ${v.stdout}${v.stderr}`);

    // no alert besides the kills
    const bad = readFileSync(`${prefix}/logs/error.log`, 'utf8').split('\n')
        .filter(l => /\[(alert|emerg|crit)\]|Sanitizer|runtime error/.test(l))
        .filter(l => !killed.some(pid => l.includes(
            `worker process ${pid} exited on signal 9`)));
    assert.deepEqual(bad, [], 'no alert besides the kills');

    if (!process.env.TEST_KEEP) {
        rmSync(prefix, { recursive: true, force: true });
    }
});
