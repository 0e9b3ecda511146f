// Every way a page fetches, in Debian's Chromium: tests/fixtures/
// constructs.html served through the module, every request of the browser
// recorded, every host name resolved to the local nginx (nothing leaves the
// machine).  Refused (a first visit, then "Refuse all"): not one request to
// a gated host.  Granted ("Accept all"): they happen.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startNginx, axe, CHROMIUM_ARGS, ROOT } from './lib/server.mjs';

const ANALYTICS = ['*.googletagmanager.com', 'www.google-analytics.com',
                   'static.hotjar.com', 'www.clarity.ms'];
const MARKETING = ['*.facebook.com', 'connect.facebook.net',
                   'snap.licdn.com', '*.linkedin.com',
                   'analytics.tiktok.com', '*.youtube.com'];

// hosts the page surely fetches from once granted (a script, an image, a
// stylesheet, a poster, an embed, the base of relative URLs); a prefetch,
// a manifest, a ping or a refresh may wait
const FETCHED = ['www.googletagmanager.com', 'www.google-analytics.com',
                 'static.hotjar.com', 'www.clarity.ms', 'www.facebook.com',
                 'snap.licdn.com'];

// a page with an embed far enough down that coming back to it shows
const EMBED_PAGE = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>A page with a video</title></head>
<body>
<h1>A page with a video</h1>
<p>Some text before the video.</p>
<iframe src="http://www.youtube.com/embed/video.html" title="The video"
        width="320" height="180"></iframe>
<p>Some text after it.</p>
</body>
</html>
`;

// a player whose file comes from a gated host
const MOVIE_PAGE = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>A page with a player</title></head>
<body>
<h1>A page with a player</h1>
<p>Some text before the player.</p>
<video src="http://www.youtube.com/embed/clip.webm" controls
       width="320" height="180" aria-label="The clip"></video>
<p>Some text after it.</p>
</body>
</html>
`;

let server, browser;

before(async () => {
    server = await startNginx({
        extraServer: `consent_gate_host analytics ${ANALYTICS.join(' ')};
        consent_gate_host marketing ${MARKETING.join(' ')};
        location /embed/ { consent_placeholder on; }`,
    });

    writeFileSync(join(server.prefix, 'html/constructs.html'),
                  readFileSync(join(ROOT, 'tests/fixtures/constructs.html')));
    writeFileSync(join(server.prefix, 'html/own.png'), '');

    /* a video embed; www.youtube.com answers from the nginx above */
    mkdirSync(join(server.prefix, 'html/embed'));
    writeFileSync(join(server.prefix, 'html/embed/page.html'), EMBED_PAGE);
    writeFileSync(join(server.prefix, 'html/embed/movie.html'), MOVIE_PAGE);
    writeFileSync(join(server.prefix, 'html/embed/video.html'),
                  '<!DOCTYPE html><title>video</title><p>the video</p>\n');

    /* every name to the nginx above: a gated host answers from there */
    browser = await chromium.launch({
        executablePath: '/usr/bin/chromium',
        args: [...CHROMIUM_ARGS,
               `--host-resolver-rules=MAP * 127.0.0.1:${server.port}`],
    });
});

after(async () => {
    await browser?.close();
    if (server) {
        const log = server.errorLog();
        server.stop();
        assert.doesNotMatch(log, /\[(alert|emerg|crit)\]|AddressSanitizer/,
                            'the error log is clean');
    }
});

function gated(host) {
    return [...ANALYTICS, ...MARKETING].some(p => p.startsWith('*.')
        ? host.endsWith(p.slice(1)) : host === p);
}

async function visit(context, action) {
    const page = await context.newPage();
    const hosts = new Set();
    page.on('request', r => hosts.add(new URL(r.url()).hostname));

    await page.goto(server.base + '/constructs.html', { waitUntil: 'load' });

    if (action) {
        hosts.clear();
        await Promise.all([
            page.waitForEvent('load'),
            page.locator('#consent-banner')
                .getByRole('button', { name: action }).click(),
        ]);
    }

    /* the late fetches: srcdoc, CSS images, posters */
    await page.waitForTimeout(1500);
    await page.close();

    return [...hosts];
}

test('a first visit: no request to any gated host', async () => {
    const context = await browser.newContext();
    const hosts = await visit(context);

    assert.ok(hosts.includes('127.0.0.1'), 'the page itself was fetched');
    assert.deepEqual(hosts.filter(gated), [], 'no gated host was asked');
    await context.close();
});

test('refused: no request to any gated host, on this page or the next',
     async () => {
    const context = await browser.newContext();
    let hosts = await visit(context, 'Refuse all');

    assert.deepEqual(hosts.filter(gated), [], 'none after the refusal');

    hosts = await visit(context);
    assert.deepEqual(hosts.filter(gated), [], 'none on the next visit');
    await context.close();
});

test('granted: the same page fetches from the gated hosts', async () => {
    const context = await browser.newContext();
    await visit(context, 'Accept all');

    const hosts = await visit(context);

    for (const h of FETCHED) {
        assert.ok(hosts.includes(h), `granted: a request to ${h} `
                  + `(seen: ${hosts.sort().join(' ')})`);
    }
    await context.close();
});


// consent_placeholder: keyboard only, then without JavaScript

async function placeholderFlow(context, press) {
    const page = await context.newPage();
    await page.goto(server.base + '/embed/page.html');

    assert.equal(await page.locator('iframe').count(), 0,
                 'refused: no iframe');
    const region = page.getByRole('group',
                                  { name: /needs your consent to/ });
    assert.equal(await region.count(), 1, 'a labelled placeholder');
    const button = region.getByRole('button',
                                    { name: 'Accept “Advertising” and show' });
    assert.equal(await button.count(), 1, 'its button, by its name');

    if (context.checkAxe) {
        assert.deepEqual(await axe(page, '.consent-placeholder'), [],
                         'axe finds nothing in the placeholder');
    }

    await Promise.all([page.waitForEvent('load'), press(page, button)]);

    assert.equal(new URL(page.url()).pathname, '/embed/page.html',
                 'back on the page');
    assert.equal(new URL(page.url()).hash, '#consent-embed-1',
                 'at the embed');
    const frame = page.locator('iframe[title="The video"]');
    assert.equal(await frame.count(), 1, 'the embed is there');
    assert.ok(await frame.isVisible(), 'and shown');
    await page.close();
}

test('placeholder, keyboard only: Tab to the button, Enter, the embed',
     async () => {
    const context = await browser.newContext();
    context.checkAxe = true;

    await placeholderFlow(context, async (page, button) => {
        for (let i = 0; i < 30; i++) {
            await page.keyboard.press('Tab');
            if (await button.evaluate(b => b === document.activeElement)) {
                return page.keyboard.press('Enter');
            }
        }
        throw new Error('the button was never reached with Tab');
    });

    await context.close();
});

test('placeholder without JavaScript: the form alone shows the embed',
     async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    await placeholderFlow(context, (page, button) => button.click());
    await context.close();
});


test('a player refused: hidden behind its placeholder, shown once granted',
     async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(server.base + '/embed/movie.html');

    const video = page.locator('video');
    assert.equal(await video.count(), 1, 'the player stays in the page');
    assert.equal(await video.getAttribute('src'), null, 'without its src');
    assert.ok(!(await video.isVisible()), 'and hidden');

    const region = page.getByRole('group',
                                  { name: /www\.youtube\.com.*needs your consent to/ });
    assert.equal(await region.count(), 1, 'a labelled placeholder');
    assert.deepEqual(await axe(page, '.consent-placeholder'), [],
                     'axe finds nothing in it');

    await Promise.all([page.waitForEvent('load'),
                       region.getByRole('button',
                           { name: 'Accept “Advertising” and show' }).click()]);

    assert.equal(new URL(page.url()).hash, '#consent-embed-1', 'at it');
    assert.match(await video.getAttribute('src'), /youtube\.com\/embed\/clip/,
                 'granted: the player has its src');
    assert.ok(await video.isVisible(), 'and is shown');
    assert.equal(await page.locator('.consent-placeholder').count(), 0,
                 'no placeholder');
    await context.close();
});
