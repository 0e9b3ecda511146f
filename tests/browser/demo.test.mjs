// The demo that `make run` serves, as a new user tries it, in Debian's
// Chromium: config.nginx and demo/ as they are, filled in the way the
// Makefile fills them, in a temporary prefix with keys of its own. After
// "Accept all" the page says that its scripts loaded; after "Refuse all" it
// says they did not, and they were not fetched. Each time the page says
// what nginx removed from it ($consent_removed, through SSI), and the
// access log says the same. In English and in French.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync,
         chmodSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, runNginx, launch, axe, ROOT, BUILD } from './lib/server.mjs';

let demo, browser;

const texts = {
    en: JSON.parse(readFileSync(join(ROOT, 'ui/texts/en.json'), 'utf8')),
    fr: JSON.parse(readFileSync(join(ROOT, 'ui/texts/fr.json'), 'utf8')),
};

// what each page says, read from the page files themselves
const pages = {
    en: { path: '/', locale: 'en-GB', file: 'demo/index.html' },
    fr: { path: '/fr/', locale: 'fr-FR', file: 'demo/fr/index.html' },
};

for (const p of Object.values(pages)) {
    const html = readFileSync(join(ROOT, p.file), 'utf8');
    const said = (id) => {
        const m = html.match(new RegExp(`id="${id}"[^>]*data-loaded="([^"]+)"`
                                        + `\\s*>([^<]+)<`));
        assert.ok(m, `${p.file} has #${id} with data-loaded`);
        return { loaded: m[1], missing: m[2].trim() };
    };
    p.analytics = said('analytics-status');
    p.ads = said('ads-status');

    /* what the page says when nginx removed nothing, as the file has it */
    const none = html.match(/id="removed-none">([^<]+)</);
    assert.ok(none, `${p.file} has #removed-none`);
    p.removedNone = none[1].replace(/\s+/g, ' ').trim();

    /* and what nginx removes when all is refused: its gated elements */
    const scripts = html.match(/<script[^>]*data-(consent|cookieconsent)=/g);
    const imgs = html.match(/<img[^>]*data-consent=/g);
    p.removedAll = `script:${scripts.length},img:${imgs.length}`;
}

async function startDemo() {
    const so = join(BUILD, 'ngx_http_consent_module.so');
    if (!existsSync(so)) {
        throw new Error(`module not built: ${so} (run make)`);
    }

    const prefix = mkdtempSync(join(tmpdir(), 'consent-demo-'));
    chmodSync(prefix, 0o755);
    for (const d of ['logs', 'tmp']) {
        mkdirSync(join(prefix, d));
    }

    writeFileSync(join(prefix, 'secret.key'), randomBytes(32),
                  { mode: 0o600 });
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519',
                             '-out', join(prefix, 'log.pem')],
                 { stdio: 'pipe' });
    chmodSync(join(prefix, 'log.pem'), 0o600);

    const port = await freePort();
    const conf = readFileSync(join(ROOT, 'config.nginx'), 'utf8')
        .replaceAll('@MODULE@', so)
        .replaceAll('@ROOT@', ROOT)
        .replaceAll('@PORT@', String(port));
    const confPath = join(prefix, 'nginx.conf');
    writeFileSync(confPath, conf);

    return runNginx(prefix, confPath, port, join(prefix, 'nginx.pid'));
}


before(async () => {
    demo = await startDemo();
    browser = await launch();
});

after(async () => {
    await browser?.close();
    if (demo) {
        const log = demo.errorLog();
        demo.stop();
        assert.doesNotMatch(log, /\[(alert|emerg|crit)\]|AddressSanitizer|signal 11/,
                            'the error log is clean');
    }
});

async function visit(lang) {
    const p = pages[lang];
    const context = await browser.newContext({ locale: p.locale,
                                               reducedMotion: 'reduce' });
    const page = await context.newPage();
    const fetched = [];
    page.on('request', r => fetched.push(new URL(r.url()).pathname));
    await page.goto(demo.base + p.path);
    return { p, context, page, fetched };
}

async function status(page) {
    return {
        analytics: (await page.locator('#analytics-status').innerText()).trim(),
        ads: (await page.locator('#ads-status').innerText()).trim(),
    };
}

// what the page says nginx removed from it, and what the access log said
// of the last answer for that path
async function removed(page) {
    const none = page.locator('#removed-none');
    if (await none.count()) {
        assert.equal(await page.locator('#removed-some').count(), 0,
                     'one of the two sentences');
        return { none: (await none.innerText()).replace(/\s+/g, ' ').trim() };
    }
    return { some: (await page.locator('#removed').innerText()).trim() };
}

function loggedRemoved(path) {
    const lines = readFileSync(join(demo.prefix, 'logs/access.log'), 'utf8')
        .split('\n').filter(l => l.includes(`"GET ${path} HTTP/`));
    assert.ok(lines.length, `the access log has GET ${path}`);
    const m = lines.at(-1).match(/ removed=(\S+)$/);
    assert.ok(m, 'the access log line says removed=');
    return m[1];
}

async function expectRemoved(page, p, loaded) {
    if (loaded) {
        assert.deepEqual(await removed(page), { none: p.removedNone },
                         'the page says nginx removed nothing');
        assert.equal(loggedRemoved(p.path), 'none');
    } else {
        assert.deepEqual(await removed(page), { some: p.removedAll },
                         'the page says what nginx removed');
        assert.equal(loggedRemoved(p.path), p.removedAll,
                     'the access log says the same');
    }
}

async function choose(page, action) {
    const button = page.locator(
        `#consent-banner .consent-actions button[value="${action}"]`);
    await Promise.all([page.waitForEvent('load'), button.click()]);
    await page.waitForLoadState('networkidle');
}

// the page's two status lines and what the browser fetched agree: all of
// the gated resources loaded, or none
const GATED = ['/js/analytics.js', '/js/ads.js', '/img/pixel.gif'];

async function expectLoaded(page, p, fetched, loaded) {
    const said = loaded ? 'loaded' : 'missing';
    assert.deepEqual(await status(page),
                     { analytics: p.analytics[said], ads: p.ads[said] });
    for (const path of GATED) {
        assert.equal(fetched.includes(path), loaded,
                     `${path} ${loaded ? '' : 'not '}fetched`);
    }
}

for (const lang of ['en', 'fr']) {
    test(`${lang}: before a choice, the banner in ${lang} and nothing loaded`,
         async () => {
        const { p, context, page, fetched } = await visit(lang);

        const banner = page.locator('#consent-banner');
        await banner.waitFor();
        assert.equal(await banner.getAttribute('lang'), lang,
                     'the banner speaks the reader\'s language');
        assert.equal((await banner.locator(
            '.consent-actions button[value="accept_all"]').innerText()).trim(),
            texts[lang].accept_all);

        await page.waitForLoadState('networkidle');
        await expectLoaded(page, p, fetched, false);
        await expectRemoved(page, p, false);

        await context.close();
    });

    for (const [action, loaded] of [['accept_all', true],
                                    ['reject_all', false]]) {
        test(`${lang}: after "${texts[lang][action]}", the page says its `
             + `scripts ${loaded ? 'loaded' : 'did not load'}`, async () => {
            const { p, context, page, fetched } = await visit(lang);

            await choose(page, action);

            assert.equal(new URL(page.url()).pathname, p.path,
                         'back on the same page');
            assert.equal(await page.locator('#consent-banner').count(), 0,
                         'no banner once chosen');
            await expectLoaded(page, p, fetched, loaded);
            await expectRemoved(page, p, loaded);

            const names = (await context.cookies()).map(c => c.name);
            assert.equal(names.includes('_demo_stats'), loaded,
                         'the analytics cookie');
            assert.equal(names.includes('_demo_ads'), loaded,
                         'the advertising cookie');

            const html = await (await context.request.get(demo.base + p.path))
                .text();
            assert.equal(/analytics\.js|ads\.js|pixel\.gif/.test(html), loaded,
                         'nginx leaves them in the page only when accepted');

            await context.close();
        });
    }
}

test('once chosen, a "privacy choices" link takes the reader back: '
     + 'withdrawing is two clicks, by keyboard too', async () => {
    const { p, context, page, fetched } = await visit('en');

    await choose(page, 'accept_all');
    await expectLoaded(page, p, fetched, true);

    const link = page.locator('.consent-choices a');
    assert.ok(await link.isVisible(), 'the link is shown');
    assert.equal((await link.innerText()).trim(), texts.en.page_title,
                 'named like the page it opens');
    assert.deepEqual(await axe(page, '.consent-choices'), [],
                     'axe finds nothing');

    /* reached with Tab alone, and followed with Enter */
    let reached = false;
    for (let i = 0; i < 20 && !reached; i++) {
        await page.keyboard.press('Tab');
        reached = await link.evaluate(a => a === document.activeElement);
    }
    assert.ok(reached, 'Tab reaches the link');
    await Promise.all([page.waitForEvent('load'),
                       page.keyboard.press('Enter')]);
    assert.equal(new URL(page.url()).pathname, '/consent/');

    fetched.length = 0;
    await Promise.all([page.waitForEvent('load'),
                       page.locator('button[value="withdraw"]').click()]);
    await page.waitForLoadState('networkidle');
    assert.equal(new URL(page.url()).pathname, p.path, 'back on the page');
    await expectLoaded(page, p, fetched, false);

    await context.close();
});

test('each edition links to the other', async () => {
    const { context, page } = await visit('en');

    await page.locator('nav a[hreflang="fr"]').click();
    await page.waitForURL(demo.base + '/fr/');
    assert.equal(await page.locator('html').getAttribute('lang'), 'fr');

    await page.locator('nav a[hreflang="en"]').click();
    await page.waitForURL(demo.base + '/');
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');

    await context.close();
});
