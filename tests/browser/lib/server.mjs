// Starts Debian's nginx with the built module on 127.0.0.1 and a free port,
// in a temporary prefix, the way tests/integration/lib/ConsentTest.pm does,
// and Chromium through playwright-core.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync,
         existsSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));

export const ROOT = resolve(here, '../../..');
export const BUILD = process.env.CONSENT_BUILD || join(ROOT, 'build');
export const NGINX = process.env.TEST_NGINX_BINARY || '/usr/sbin/nginx';
// tests write their screenshots under build/; make screenshots sets
// CONSENT_SCREENSHOTS=docs/screenshots to refresh the committed ones
export const SCREENSHOTS = resolve(ROOT, process.env.CONSENT_SCREENSHOTS
                                         || join(BUILD, 'screenshots'));

export const CHROMIUM_ARGS = [
    '--headless', '--no-sandbox', '--disable-gpu',
    '--disable-background-networking', '--disable-component-update',
    '--disable-sync',
];

export function freePort() {
    return new Promise((res, rej) => {
        const s = createServer();
        s.unref();
        s.on('error', rej);
        s.listen(0, '127.0.0.1', () => {
            const { port } = s.address();
            s.close(() => res(port));
        });
    });
}

// a page of a news site, long enough to scroll, with a gated script
export const ARTICLE = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>The Harbour Gazette</title>
<link rel="stylesheet" href="/site.css">
</head>
<body>
<header><p class="brand">The Harbour Gazette</p>
<nav><a href="/">News</a> <a href="/">Culture</a> <a href="/consent/">Cookies</a></nav></header>
<main>
<h1>Fishing boats return to the old harbour</h1>
<p class="lede">After ten years away, the fleet is back, and the quay is busy again before dawn.</p>
<p>The first trawler came in at half past four, its lights low over the water. By six, the fish market was open, and the cafés along the quay had their chairs out.</p>
<p>For the town, the return of the fleet means more than fresh fish. It brings back a rhythm that many thought lost: the early bells, the gulls, the smell of diesel and salt.</p>
<p>The harbour master says twelve boats have signed up for the season, and more may follow if the new ice plant opens on time.</p>
<p><a href="/page2.html">Read the next story</a></p>
</main>
<script type="text/plain" data-consent="analytics" src="/analytics.js"></script>
</body>
</html>
`;

export const SITE_CSS = `body{font:1.1rem/1.6 Georgia,serif;color:#222;margin:0}
header{background:#123;color:#fff;padding:1rem 1.5rem}
header a{color:#fff;margin-right:1rem}
.brand{font-weight:bold;font-size:1.4rem;margin:0 0 .25rem}
main{max-width:40rem;margin:0 auto;padding:1rem 1.5rem 14rem}
.lede{font-size:1.25rem;color:#333}
`;

// start nginx; opts: { csp: true or a policy, extraServer: string }
export async function startNginx(opts = {}) {
    const so = join(BUILD, 'ngx_http_consent_module.so');
    if (!existsSync(so)) {
        throw new Error(`module not built: ${so} (run make)`);
    }

    const prefix = mkdtempSync(join(tmpdir(), 'consent-browser-'));
    chmodSync(prefix, 0o755);
    for (const d of ['conf', 'logs', 'html']) {
        mkdirSync(join(prefix, d));
    }

    // consent_secret strips a trailing CR or LF: a key must not end in one
    const key = randomBytes(32);
    while (key[31] === 10 || key[31] === 13) {
        key[31] = randomBytes(1)[0];
    }
    writeFileSync(join(prefix, 'conf/secret.key'), key, { mode: 0o600 });
    writeFileSync(join(prefix, 'html/index.html'), ARTICLE);
    writeFileSync(join(prefix, 'html/page2.html'),
                  ARTICLE.replace('Fishing boats return to the old harbour',
                                  'The ice plant opens'));
    /* the same page in French: the banner speaks the page's language */
    writeFileSync(join(prefix, 'html/fr.html'),
                  ARTICLE.replace('<html lang="en">', '<html lang="fr">'));
    writeFileSync(join(prefix, 'html/site.css'), SITE_CSS);
    writeFileSync(join(prefix, 'html/favicon.ico'), '');
    writeFileSync(join(prefix, 'html/analytics.js'),
                  'window.analyticsLoaded = true;\n');

    const port = await freePort();
    /* csp: true for "script-src 'self'; style-src 'self'", or a policy */
    const policy = opts.csp === true
        ? "default-src 'self'; script-src 'self'; style-src 'self'"
        : opts.csp;
    const csp = policy
        ? `add_header Content-Security-Policy "${policy}" always;`
        : '';

    const conf = `
load_module ${so};
worker_processes 1;
error_log ${prefix}/logs/error.log info;
pid ${prefix}/logs/nginx.pid;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path ${prefix}/client_body_temp;
    proxy_temp_path ${prefix}/proxy_temp;
    fastcgi_temp_path ${prefix}/fastcgi_temp;
    uwsgi_temp_path ${prefix}/uwsgi_temp;
    scgi_temp_path ${prefix}/scgi_temp;
    types { text/html html; text/css css; application/javascript js; }
    default_type application/octet-stream;

    consent_secret secret.key;
    consent_category necessary required;
    consent_category analytics;
    consent_category marketing gpc;

    server {
        listen 127.0.0.1:${port};
        root ${prefix}/html;
        consent on;
        consent_policy_url /privacy.html;
        consent_strip_cookie analytics _ga _ga_* _gid;
        consent_strip_cookie marketing _fbp;
        ${csp}
        location /consent/ { consent_endpoint; }
        ${opts.extraServer || ''}
    }
}
`;
    const confPath = join(prefix, 'conf/nginx.conf');
    writeFileSync(confPath, conf);

    return runNginx(prefix, confPath, port, join(prefix, 'logs/nginx.pid'));
}

// start nginx on a written configuration, wait until it answers; the
// handle stops it and removes the prefix (unless TEST_KEEP)
export async function runNginx(prefix, confPath, port, pidFile) {
    execFileSync(NGINX, ['-p', prefix + '/', '-c', confPath],
                 { stdio: 'pipe' });

    const base = `http://127.0.0.1:${port}`;

    for (let i = 0; i < 100; i++) {
        try {
            await fetch(base + '/consent/state');
            break;
        } catch {
            await new Promise(r => setTimeout(r, 50));
        }
    }

    return {
        base, prefix, port,
        errorLog() {
            return readFileSync(join(prefix, 'logs/error.log'), 'utf8');
        },
        stop() {
            try {
                execFileSync(NGINX, ['-p', prefix + '/', '-c', confPath,
                                     '-s', 'quit'], { stdio: 'pipe' });
            } catch {
                /* already gone */
            }
            for (let i = 0; i < 100 && existsSync(pidFile); i++) {
                execFileSync('sleep', ['0.05']);
            }
            if (!process.env.TEST_KEEP) {
                rmSync(prefix, { recursive: true, force: true });
            }
        },
    };
}

export async function launch() {
    return chromium.launch({ executablePath: '/usr/bin/chromium',
                             args: CHROMIUM_ARGS });
}

// the reader's consent state as the endpoint reports it, with the page's
// cookies
export async function stateOf(page, base) {
    return page.evaluate(async (url) => {
        const r = await fetch(url, { credentials: 'same-origin' });
        return r.json();
    }, base + '/consent/state');
}

// axe-core, injected into the page; WCAG 2.0/2.1 A and AA rules
export async function axe(page, include) {
    const src = readFileSync(join(here, '../node_modules/axe-core/axe.min.js'),
                             'utf8');
    await page.addScriptTag({ content: src });
    return page.evaluate(async (sel) => {
        const r = await window.axe.run(sel ? { include: [sel] } : document, {
            runOnly: { type: 'tag',
                       values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
        });
        return r.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => n.target.join(' ') + ': '
                               + n.failureSummary).slice(0, 3),
        }));
    }, include || null);
}

// axe's violations, one per line with the nodes concerned, for a message
export function axeReport(violations) {
    return violations.map(v => `${v.id} (${v.impact}): ${v.help}\n    `
                               + v.nodes.join('\n    ')).join('\n');
}

export function screenshotPath(name) {
    mkdirSync(SCREENSHOTS, { recursive: true });
    return join(SCREENSHOTS, name);
}
