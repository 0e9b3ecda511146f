// The banner in Debian's Chromium against the real nginx with the module:
// first visit, refuse, accept, customise, keyboard only, no JavaScript,
// French, CSP, a 320 px screen and 200% zoom, weight, no other host.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startNginx, launch, screenshotPath, ROOT } from './lib/server.mjs';

let server, cspServer, browser;

before(async () => {
    server = await startNginx();
    cspServer = await startNginx({ csp: true });
    browser = await launch();
});

after(async () => {
    await browser?.close();
    for (const s of [server, cspServer]) {
        if (s) {
            const log = s.errorLog();
            s.stop();
            assert.doesNotMatch(log, /\[(alert|emerg|crit)\]|AddressSanitizer|signal 11/,
                                'the error log is clean');
        }
    }
});

async function newPage(opts = {}) {
    /* no slide-in, so that positions are measured at rest */
    const context = await browser.newContext({
        viewport: { width: 1280, height: 800 },
        reducedMotion: 'reduce',
        ...opts,
    });
    const page = await context.newPage();
    const requests = [];
    page.on('request', r => requests.push(r.url()));
    return { context, page, requests };
}

async function state(context, base) {
    const r = await context.request.get(base + '/consent/state');
    assert.equal(r.status(), 200);
    return r.json();
}

function banner(page) {
    return page.locator('#consent-banner');
}

async function waitReload(page, action) {
    await Promise.all([page.waitForEvent('load'), action()]);
}

test('first visit shows the banner: a labelled region, three equal buttons',
     async () => {
    const { context, page, requests } = await newPage();
    await page.goto(server.base + '/');

    const b = banner(page);
    await b.waitFor({ state: 'visible' });
    assert.equal(await b.getAttribute('role'), 'region');
    const labelId = await b.getAttribute('aria-labelledby');
    assert.equal(await page.locator('#' + labelId).innerText(),
                 'Your choice about cookies');

    const accept = b.getByRole('button', { name: 'Accept all' });
    const refuse = b.getByRole('button', { name: 'Refuse all' });
    const custom = b.getByRole('link', { name: 'Customise' });
    const boxes = [await accept.boundingBox(), await refuse.boundingBox(),
                   await custom.boundingBox()];

    for (const x of boxes.slice(1)) {
        assert.ok(Math.abs(x.width - boxes[0].width) <= 1, 'same width');
        assert.ok(Math.abs(x.height - boxes[0].height) <= 1, 'same height');
    }

    const style = el => el.evaluate(e => {
        const s = getComputedStyle(e);
        return [s.backgroundColor, s.color, s.fontSize, s.fontWeight,
                s.borderTopWidth, s.borderTopColor, s.borderRadius,
                s.paddingTop, s.paddingLeft].join('|');
    });
    assert.equal(await style(accept), await style(refuse),
                 'accept and refuse look the same');
    assert.equal(await style(custom), await style(accept),
                 'customise looks the same');

    assert.ok(await b.getByRole('button',
                                { name: 'Continue without accepting' })
                     .isVisible());
    assert.ok(await b.getByRole('link', { name: 'Privacy policy' })
                     .isVisible());

    /* nothing is pre-ticked in the (hidden) panel */
    const ticked = await page.$$eval(
        '#consent-panel input[name=category]:checked', n => n.length);
    assert.equal(ticked, 0);

    assert.deepEqual(requests.filter(u => !u.startsWith(server.base)), [],
                     'no request to another host');

    await page.screenshot({ path: screenshotPath('banner-desktop-en.png') });

    const s = await state(context, server.base);
    assert.equal(s.state, 'none');
    await context.close();
});

test('refuse all: after the reload no banner, the cookie says refused',
     async () => {
    const { context, page } = await newPage();
    await page.goto(server.base + '/');
    await waitReload(page, () => banner(page).getByRole('button',
                                    { name: 'Refuse all' }).click());

    assert.equal(new URL(page.url()).pathname, '/', 'same page');
    assert.equal(await banner(page).count(), 0, 'no banner');

    const s = await state(context, server.base);
    assert.equal(s.state, 'valid');
    assert.equal(s.categories.analytics, false);
    assert.equal(s.categories.marketing, false);
    assert.equal(s.categories.necessary, true);

    await page.goto(server.base + '/page2.html');
    assert.equal(await banner(page).count(), 0, 'not on the next page either');
    await context.close();
});

test('continue without accepting records a refusal', async () => {
    const { context, page } = await newPage();
    await page.goto(server.base + '/page2.html?x=1');
    await waitReload(page, () => banner(page).getByRole('button',
                          { name: 'Continue without accepting' }).click());

    assert.equal(new URL(page.url()).pathname, '/page2.html');
    assert.equal(await banner(page).count(), 0);
    const s = await state(context, server.base);
    assert.equal(s.state, 'valid');
    assert.equal(s.categories.analytics, false);
    assert.equal(s.categories.marketing, false);
    await context.close();
});

test('accept all', async () => {
    const { context, page } = await newPage();
    await page.goto(server.base + '/');
    await waitReload(page, () => banner(page).getByRole('button',
                                    { name: 'Accept all' }).click());

    assert.equal(await banner(page).count(), 0);
    const s = await state(context, server.base);
    assert.equal(s.state, 'valid');
    assert.equal(s.categories.analytics, true);
    assert.equal(s.categories.marketing, true);
    await context.close();
});

test('customise one category: the panel opens in place, JSON is sent',
     async () => {
    const { context, page } = await newPage();
    await page.goto(server.base + '/');

    const posts = [];
    page.on('request', r => {
        if (r.method() === 'POST') {
            posts.push({ type: r.headers()['content-type'],
                         body: r.postData() });
        }
    });

    const url = page.url();
    await banner(page).getByRole('link', { name: 'Customise' }).click();
    const panel = page.locator('#consent-panel');
    await panel.waitFor({ state: 'visible' });
    assert.equal(page.url(), url, 'no navigation');

    const required = panel.getByRole('checkbox',
                                     { name: /Strictly necessary/ });
    assert.ok(await required.isChecked(), 'required: on');
    assert.ok(await required.isDisabled(), 'required: cannot be changed');

    const analytics = panel.getByRole('checkbox',
                                      { name: 'Audience measurement' });
    assert.equal(await analytics.isChecked(), false, 'not pre-ticked');
    assert.equal(await panel.getByRole('checkbox', { name: 'Advertising' })
                            .isChecked(), false, 'not pre-ticked');

    await page.mouse.move(0, 0);
    await page.screenshot({ path: screenshotPath('banner-customise-en.png') });

    await analytics.check();
    await waitReload(page, () => banner(page).getByRole('button',
                                    { name: 'Save my choices' }).click());

    assert.equal(posts.length, 1);
    assert.match(posts[0].type, /^application\/json/);
    assert.deepEqual(JSON.parse(posts[0].body),
                     { action: 'save', categories: ['analytics'],
                       source: 'banner', lang: 'en' });

    assert.equal(await banner(page).count(), 0);
    const s = await state(context, server.base);
    assert.equal(s.state, 'valid');
    assert.equal(s.categories.analytics, true);
    assert.equal(s.categories.marketing, false);
    await context.close();
});

test('the whole flow by keyboard alone, focus always visible', async () => {
    const { context, page } = await newPage();
    await page.goto(server.base + '/');
    await banner(page).waitFor();

    const focused = () => page.evaluate(() => {
        const e = document.activeElement;
        const s = getComputedStyle(e);
        return {
            text: (e.innerText || e.getAttribute('aria-label')
                   || e.value || '').trim(),
            tag: e.tagName, name: e.name || '', value: e.value || '',
            inBanner: !!e.closest('#consent-banner'),
            outline: s.outlineStyle !== 'none'
                     && parseFloat(s.outlineWidth) >= 2,
        };
    });

    /* consent.js puts the focus on the banner; Tab walks through it */
    let seen = [];
    for (let i = 0; i < 6; i++) {
        await page.keyboard.press('Tab');
        const f = await focused();
        assert.ok(f.inBanner, `Tab ${i + 1} stays in the banner: ${f.text}`);
        assert.ok(f.outline, `focus is visible on ${f.text}`);
        seen.push(f.text);
        if (f.text === 'Customise') {
            break;
        }
    }
    assert.deepEqual(seen, ['Continue without accepting', 'Privacy policy',
                            'Accept all', 'Refuse all', 'Customise'],
                     'a logical tab order');

    await page.keyboard.press('Enter');
    let f = await focused();
    assert.equal(f.tag, 'INPUT', 'the panel opens on its first choice');
    assert.equal(f.value, 'analytics');
    await page.keyboard.press('Space');
    assert.ok(await page.locator('input[value=analytics]').isChecked());

    for (let i = 0; i < 6 && f.text !== 'Save my choices'; i++) {
        await page.keyboard.press('Tab');
        f = await focused();
        assert.ok(f.outline, `focus is visible on ${f.text || f.value}`);
    }
    assert.equal(f.text, 'Save my choices');

    await waitReload(page, () => page.keyboard.press('Enter'));
    assert.equal(await banner(page).count(), 0);

    const s = await state(context, server.base);
    assert.equal(s.categories.analytics, true);
    assert.equal(s.categories.marketing, false);
    await context.close();
});

test('without JavaScript: forms, a 303 back to the page', async () => {
    const { context, page } = await newPage({ javaScriptEnabled: false });

    await page.goto(server.base + '/page2.html?a=1&b=2');
    await banner(page).waitFor({ state: 'visible' });
    /* no consent.js to move the focus: the banner comes first by itself */
    await page.keyboard.press('Tab');
    assert.ok(await page.evaluate(
                  () => !!document.activeElement.closest('#consent-banner')),
              'the first Tab lands in the banner, before the page\'s links');
    const [resp] = await Promise.all([
        page.waitForNavigation(),
        banner(page).getByRole('button', { name: 'Refuse all' }).click(),
    ]);
    assert.equal(resp.status(), 200);
    assert.equal(new URL(page.url()).pathname + new URL(page.url()).search,
                 '/page2.html?a=1&b=2', 'back on the same page');
    assert.equal(await banner(page).count(), 0);
    let s = await state(context, server.base);
    assert.equal(s.categories.analytics, false);

    /* customise: a link to the preferences page, and back */
    await context.clearCookies();
    await page.goto(server.base + '/page2.html');
    await Promise.all([
        page.waitForNavigation(),
        banner(page).getByRole('link', { name: 'Customise' }).click(),
    ]);
    assert.equal(new URL(page.url()).pathname, '/consent/');
    await page.getByRole('checkbox', { name: 'Advertising' }).check();
    await Promise.all([
        page.waitForNavigation(),
        page.getByRole('button', { name: 'Save my choices' }).click(),
    ]);
    assert.equal(new URL(page.url()).pathname, '/page2.html', 'returned');
    assert.equal(await banner(page).count(), 0);
    s = await state(context, server.base);
    assert.equal(s.categories.analytics, false);
    assert.equal(s.categories.marketing, true);

    /* the preferences page shows the choice, and can change it */
    await page.goto(server.base + '/consent/');
    assert.ok(await page.getByRole('checkbox', { name: 'Advertising' })
                        .isChecked());
    assert.equal(await page.getByRole('checkbox',
                                      { name: 'Audience measurement' })
                           .isChecked(), false);
    await Promise.all([
        page.waitForNavigation(),
        page.getByRole('button', { name: 'Withdraw my consent' }).click(),
    ]);
    s = await state(context, server.base);
    assert.equal(s.categories.marketing, false);
    await context.close();
});

test('French on a French page, for Accept-Language: fr-FR', async () => {
    /* the page's <html lang> comes first: languages.test.mjs */
    const { context, page } = await newPage({
        locale: 'fr-FR',
        extraHTTPHeaders: { 'Accept-Language': 'fr-FR,fr;q=0.9' },
    });
    await page.goto(server.base + '/fr.html');
    const b = banner(page);
    await b.waitFor({ state: 'visible' });

    assert.equal(await b.getAttribute('lang'), 'fr');
    assert.equal(await page.locator('#consent-title').innerText(),
                 'Vos choix en matière de cookies');
    for (const name of ['Tout accepter', 'Tout refuser',
                        'Continuer sans accepter']) {
        assert.ok(await b.getByRole('button', { name }).isVisible(), name);
    }
    assert.ok(await b.getByRole('link', { name: 'Personnaliser' })
                     .isVisible());

    await page.screenshot({ path: screenshotPath('banner-desktop-fr.png') });

    await page.setViewportSize({ width: 360, height: 740 });
    await page.screenshot({ path: screenshotPath('banner-phone-fr.png') });

    await waitReload(page, () => b.getByRole('button',
                                    { name: 'Tout refuser' }).click());
    assert.equal(await banner(page).count(), 0);
    await context.close();
});

test('a phone, 360 px: English screenshot', async () => {
    const { context, page } = await newPage({
        viewport: { width: 360, height: 740 }, deviceScaleFactor: 2,
        isMobile: true, hasTouch: true,
    });
    await page.goto(server.base + '/');
    await banner(page).waitFor({ state: 'visible' });
    await page.screenshot({ path: screenshotPath('banner-phone-en.png') });
    await context.close();
});

async function noLoss(page, what) {
    const m = await page.evaluate(() => {
        const d = document.documentElement;
        const box = document.querySelector('.consent-box');
        const r = box.getBoundingClientRect();
        const over = [...box.querySelectorAll('*')].filter(e => {
            const q = e.getBoundingClientRect();
            return q.width > 0 && (q.left < r.left - 1 || q.right > r.right + 1);
        }).map(e => e.tagName + '.' + e.className);
        return {
            hscroll: d.scrollWidth > d.clientWidth,
            boxScroll: box.scrollWidth > box.clientWidth,
            left: r.left, right: r.right, vw: d.clientWidth,
            over,
        };
    });
    assert.equal(m.hscroll, false, `${what}: no horizontal scroll`);
    assert.equal(m.boxScroll, false, `${what}: nothing cut in the banner`);
    assert.ok(m.left >= 0 && m.right <= m.vw, `${what}: the banner fits`);
    assert.deepEqual(m.over, [], `${what}: nothing sticks out`);

    /* every control can be scrolled to and reached */
    for (const name of ['Accept all', 'Refuse all',
                        'Continue without accepting']) {
        const btn = banner(page).getByRole('button', { name });
        await btn.scrollIntoViewIfNeeded();
        const bb = await btn.boundingBox();
        const vp = page.viewportSize();
        assert.ok(bb.y >= 0 && bb.y + bb.height <= vp.height + 1,
                  `${what}: ${name} can be brought into view`);
        assert.ok(bb.x >= 0 && bb.x + bb.width <= vp.width + 1,
                  `${what}: ${name} is within the width`);
    }
}

test('a 320 px wide screen and 200% zoom lose nothing', async () => {
    let { context, page } = await newPage({
        viewport: { width: 320, height: 568 },
    });
    await page.goto(server.base + '/');
    await banner(page).waitFor({ state: 'visible' });
    await noLoss(page, '320 px');
    await banner(page).getByRole('link', { name: 'Customise' }).click();
    await noLoss(page, '320 px, panel open');
    await context.close();

    /* 200% zoom of a 1280x800 window: 640x400 CSS pixels, twice as dense */
    ({ context, page } = await newPage({
        viewport: { width: 640, height: 400 }, deviceScaleFactor: 2,
    }));
    await page.goto(server.base + '/');
    await banner(page).waitFor({ state: 'visible' });
    await noLoss(page, '200%');
    await banner(page).getByRole('link', { name: 'Customise' }).click();
    await noLoss(page, '200%, panel open');
    await waitReload(page, () => banner(page).getByRole('button',
                                    { name: 'Save my choices' }).click());
    assert.equal(await banner(page).count(), 0, '200%: the choice is made');
    await context.close();
});

test('no layout shift of the page content', async () => {
    const { context, page } = await newPage();
    await page.goto(server.base + '/');
    await banner(page).waitFor({ state: 'visible' });
    await page.waitForTimeout(500);
    const shift = await page.evaluate(() => new Promise(res => {
        let sum = 0;
        new PerformanceObserver(list => {
            for (const e of list.getEntries()) {
                const mine = e.sources.every(s => s.node
                    && s.node.closest && s.node.closest('#consent-banner'));
                if (!mine) {
                    sum += e.value;
                }
            }
        }).observe({ type: 'layout-shift', buffered: true });
        setTimeout(() => res(sum), 200);
    }));
    assert.ok(shift < 0.001, `page content did not move (CLS ${shift})`);
    await context.close();
});

test('weight: banner HTML + CSS + JS <= 8 KB gzipped', async () => {
    const html = await (await fetch(server.base + '/')).text();
    const start = html.indexOf('<div class="consent consent-banner"');
    assert.ok(start > 0, 'the banner is in the page');
    const end = html.indexOf('</script></div>', start) + 15;
    const bannerHtml = html.slice(start, end);

    const css = readFileSync(join(ROOT, 'ui/consent.css'));
    const js = readFileSync(join(ROOT, 'ui/consent.js'));
    const gz = b => gzipSync(b, { level: 9 }).length;
    const total = gz(Buffer.from(bannerHtml)) + gz(css) + gz(js);

    console.log(`# weight: banner ${gz(Buffer.from(bannerHtml))} B, `
                + `CSS ${gz(css)} B, JS ${gz(js)} B gzipped: ${total} B`);
    assert.ok(total <= 8192, `${total} bytes gzipped`);
});

test('CSP script-src \'self\'; style-src \'self\': no violation, it works',
     async () => {
    const { context, page } = await newPage();
    const problems = [];
    page.on('console', m => {
        if (m.type() === 'error' || /Content.Security.Policy/i.test(m.text())) {
            problems.push(m.text());
        }
    });
    page.on('pageerror', e => problems.push(String(e)));
    await page.addInitScript(() => {
        window.__violations = [];
        document.addEventListener('securitypolicyviolation', e => {
            window.__violations.push(e.violatedDirective + ' '
                                     + e.blockedURI);
        });
    });

    const resp = await page.goto(cspServer.base + '/');
    assert.match(resp.headers()['content-security-policy'],
                 /script-src 'self'; style-src 'self'/);
    await banner(page).waitFor({ state: 'visible' });

    /* styled (the stylesheet applied) and scripted (the panel opens) */
    const pos = await banner(page).evaluate(e => getComputedStyle(e).position);
    assert.equal(pos, 'fixed', 'consent.css applies');
    await banner(page).getByRole('link', { name: 'Customise' }).click();
    await page.locator('#consent-panel').waitFor({ state: 'visible' });
    await page.getByRole('checkbox', { name: 'Advertising' }).check();
    await waitReload(page, () => banner(page).getByRole('button',
                                    { name: 'Save my choices' }).click());

    const v = await page.evaluate(() => window.__violations);
    assert.deepEqual(v, [], 'no securitypolicyviolation event');
    assert.deepEqual(problems, [], 'no console error');

    const s = await state(context, cspServer.base);
    assert.equal(s.categories.marketing, true);
    assert.equal(s.categories.analytics, false);
    await context.close();
});

test('consent_csp_nonce: the banner\'s link and script carry the nonce',
     async () => {
    /* only nonce'd resources may load: the banner works only if it has it */
    const nonced = await startNginx({
        csp: "default-src 'self'; script-src 'nonce-$request_id'; "
             + "style-src 'nonce-$request_id'",
        extraServer: 'consent_csp_nonce $request_id;',
    });

    try {
        const { context, page } = await newPage();
        await page.addInitScript(() => {
            window.__violations = [];
            document.addEventListener('securitypolicyviolation', e => {
                window.__violations.push(e.blockedURI);
            });
        });
        const resp = await page.goto(nonced.base + '/');
        const nonce = resp.headers()['content-security-policy']
                          .match(/nonce-([0-9a-f]+)/)[1];

        const b = banner(page);
        await b.waitFor({ state: 'visible' });
        assert.equal(await b.locator('link').getAttribute('nonce'), '',
                     'the nonce is hidden from the DOM, as browsers do');
        const html = await (await context.request.get(nonced.base + '/'))
                               .text();
        assert.match(html, /<link rel="stylesheet" href="\/consent\/consent\.css\?v=[^"]+" nonce="[0-9a-f]{32}">/);
        assert.match(html, /<script src="\/consent\/consent\.js\?v=[^"]+" nonce="[0-9a-f]{32}" defer>/);

        assert.equal(await b.evaluate(e => getComputedStyle(e).position),
                     'fixed', 'consent.css applies under the nonce');
        await b.getByRole('link', { name: 'Customise' }).click();
        await page.locator('#consent-panel').waitFor({ state: 'visible' });

        const v = await page.evaluate(() => window.__violations);
        assert.deepEqual(v.filter(u => u.includes('/consent/')), [],
                         'nothing of the banner is blocked');
        assert.ok(nonce.length === 32);
        await context.close();
    } finally {
        nonced.stop();
    }
});

test('theming: custom properties make a centred box (docs/theming.md)',
     async () => {
    const { context, page } = await newPage();
    await page.goto(server.base + '/');
    await banner(page).waitFor({ state: 'visible' });
    await page.addStyleTag({ content: `.consent {
        --consent-align: center; --consent-width: 36rem;
        --consent-margin: 1rem; --consent-box-radius: .75rem;
        --consent-accent: #005f73; --consent-link: #005f73; }` });

    const box = await page.locator('.consent-box').boundingBox();
    const vp = page.viewportSize();
    assert.ok(Math.abs(box.x + box.width / 2 - vp.width / 2) <= 1,
              'centred horizontally');
    assert.ok(Math.abs(box.y + box.height / 2 - vp.height / 2) <= 1,
              'centred vertically');
    assert.equal(Math.round(box.width), 576, '36rem wide');
    const bg = await banner(page).getByRole('button', { name: 'Refuse all' })
                     .evaluate(e => getComputedStyle(e).backgroundColor);
    assert.equal(bg, 'rgb(0, 95, 115)', 'the accent applies');

    /* the page underneath still takes clicks */
    await page.mouse.move(0, 0);
    await page.screenshot({ path: screenshotPath('banner-box-theme.png') });
    await page.getByRole('link', { name: 'Culture' }).click();
    await context.close();
});
