// Every built-in language in Chromium: on a page that says its language
// (<html lang>), the banner speaks it, fits a 320 px wide screen without
// scrolling sideways (closed and with its panel open), and axe-core finds
// no WCAG 2.1 AA violation in it.  Arabic and Hebrew render mirrored: the
// banner is dir="rtl" on its own, even on a left-to-right page, its
// buttons run from the right, its text is aligned to the right.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startNginx, launch, axe, axeReport, screenshotPath, ARTICLE,
         ROOT } from './lib/server.mjs';

const LANGS = readdirSync(join(ROOT, 'ui/texts'))
    .filter(f => f.endsWith('.json')).map(f => f.slice(0, -5)).sort();
const RTL = new Set(['ar', 'he']);

let server, browser;

before(async () => {
    server = await startNginx();
    browser = await launch();
    for (const lang of LANGS) {
        writeFileSync(join(server.prefix, `html/page-${lang}.html`),
                      ARTICLE.replace('<html lang="en">',
                                      `<html lang="${lang}">`));
    }
});

after(async () => {
    await browser?.close();
    if (server) {
        const log = server.errorLog();
        server.stop();
        assert.doesNotMatch(log, /\[(alert|emerg|crit)\]|AddressSanitizer/);
    }
});

// what sticks out sideways: the page, the banner's box, any element in it
async function overflow(page) {
    return page.evaluate(() => {
        const out = [];
        const doc = document.documentElement;
        if (doc.scrollWidth > doc.clientWidth) {
            out.push(`page ${doc.scrollWidth} > ${doc.clientWidth}`);
        }
        const box = document.querySelector('#consent-banner .consent-box');
        const edge = box.getBoundingClientRect();
        if (box.scrollWidth > box.clientWidth) {
            out.push(`box ${box.scrollWidth} > ${box.clientWidth}`);
        }
        for (const e of box.querySelectorAll('*')) {
            if (!e.offsetParent) {
                continue;
            }
            const r = e.getBoundingClientRect();
            if (r.left < edge.left - 0.5 || r.right > edge.right + 0.5
                || e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0) {
                out.push(`${e.tagName} "${e.textContent.slice(0, 30)}" `
                         + `${r.left}..${r.right} in ${edge.left}..`
                         + `${edge.right}`);
            }
        }
        return out;
    });
}

test('the languages are all there', () => {
    assert.equal(LANGS.length, 36, LANGS.join(' '));
});

test('the overflow check can fail', async () => {
    const page = await browser.newPage({ viewport: { width: 320,
                                                     height: 640 } });
    await page.goto(server.base + '/page-en.html');
    await page.locator('#consent-banner').waitFor();
    await page.evaluate(() => {
        document.querySelector('#consent-title').textContent =
            'Datenschutzeinstellungsverwaltungsübersichtsseitenkopfzeile';
        document.querySelector('#consent-title').style.overflowWrap =
            'normal';
    });
    assert.notDeepEqual(await overflow(page), []);
    await page.close();
});

for (const lang of LANGS) {
    test(`${lang}: 320 px, no sideways scroll, axe finds nothing`,
         async () => {
        const context = await browser.newContext({
            viewport: { width: 320, height: 640 }, reducedMotion: 'reduce',
            extraHTTPHeaders: { 'Accept-Language': lang === 'en' ? 'fr'
                                                                 : 'en' },
        });
        const page = await context.newPage();
        await page.goto(`${server.base}/page-${lang}.html`);
        const b = page.locator('#consent-banner');
        await b.waitFor({ state: 'visible' });

        /* the page's language, not the reader's Accept-Language */
        assert.equal(await b.getAttribute('lang'), lang);
        assert.equal(await b.getAttribute('dir'), RTL.has(lang) ? 'rtl'
                                                                : null);

        assert.deepEqual(await overflow(page), [], 'closed');
        let v = await axe(page, '#consent-banner');
        assert.deepEqual(v, [], axeReport(v));

        await page.locator('#consent-customise').click();
        await page.locator('#consent-panel').waitFor();
        assert.deepEqual(await overflow(page), [], 'panel open');
        v = await axe(page, '#consent-banner');
        assert.deepEqual(v, [], 'panel open:\n' + axeReport(v));

        if (lang === 'ar') {
            await page.screenshot({
                path: screenshotPath('banner-customise-phone-ar.png') });
        }
        await context.close();
    });
}

// where the parts of the banner are, on a wide screen, panel open
async function layout(page) {
    return page.evaluate(() => {
        const box = e => e.getBoundingClientRect();
        const q = s => document.querySelector('#consent-banner ' + s);
        const text = e => {
            const r = document.createRange();
            r.selectNodeContents(e);
            return r.getBoundingClientRect();
        };
        const btns = [...document.querySelectorAll(
            '#consent-banner .consent-actions .consent-btn')]
            .filter(e => e.offsetParent);
        const cat = q('.consent-cat');
        return {
            direction: getComputedStyle(q('.consent-box')).direction,
            buttons: btns.map(e => ({ left: box(e).left,
                                      right: box(e).right })),
            title: box(q('h2')), titleText: text(q('h2')),
            close: box(q('.consent-close')),
            para: box(q('.consent-inner > p')), inner: box(q('.consent-inner')),
            check: box(cat.querySelector('input')),
            label: box(cat.querySelector('label')),
        };
    });
}

for (const lang of ['ar', 'he', 'en', 'fr']) {
    const rtl = RTL.has(lang);
    test(`${lang}: ${rtl ? 'mirrored' : 'left to right'}, even on a `
         + 'left-to-right page', async () => {
        const context = await browser.newContext({
            viewport: { width: 1280, height: 800 }, reducedMotion: 'reduce',
        });
        const page = await context.newPage();
        /* the page says its language but no dir: the banner sets its own */
        await page.goto(`${server.base}/page-${lang}.html`);
        assert.equal(await page.getAttribute('html', 'dir'), null);
        await page.locator('#consent-customise').click();
        await page.locator('#consent-panel').waitFor();

        const l = await layout(page);
        assert.equal(l.direction, rtl ? 'rtl' : 'ltr');

        /* accept, refuse, save (the panel is open): one row, from the start */
        assert.equal(l.buttons.length, 3);
        const [a, r, c] = l.buttons;
        if (rtl) {
            assert.ok(a.left > r.right && r.left > c.right,
                      `buttons from the right: ${JSON.stringify(l.buttons)}`);
        } else {
            assert.ok(a.right < r.left && r.right < c.left,
                      `buttons from the left: ${JSON.stringify(l.buttons)}`);
        }

        /* the title at the start, "continue without accepting" at the end */
        const near = (x, y) => Math.abs(x - y) <= 1;
        if (rtl) {
            assert.ok(near(l.title.right, l.inner.right), 'title at right');
            assert.ok(near(l.titleText.right, l.title.right),
                      'title text aligned right');
            assert.ok(l.close.right < l.title.left, 'close at the left');
            assert.ok(l.check.left > l.label.right, 'checkbox at the right');
        } else {
            assert.ok(near(l.title.left, l.inner.left), 'title at left');
            assert.ok(near(l.titleText.left, l.title.left),
                      'title text aligned left');
            assert.ok(l.close.left > l.title.right, 'close at the right');
            assert.ok(l.check.right < l.label.left, 'checkbox at the left');
        }

        if (lang === 'ar') {
            await page.mouse.move(0, 0);
            await page.screenshot({
                path: screenshotPath('banner-customise-ar.png') });
        }
        await context.close();
    });
}

// the preferences page, right to left: the document is dir="rtl", the
// status bar's accent on the right, cookie names kept left to right
for (const lang of ['ar', 'he', 'en']) {
    const rtl = RTL.has(lang);
    test(`${lang}: the preferences page${rtl ? ', mirrored' : ''}`,
         async () => {
        const context = await browser.newContext({
            viewport: { width: 320, height: 640 }, reducedMotion: 'reduce',
            extraHTTPHeaders: { 'Accept-Language': lang },
        });
        const page = await context.newPage();
        await page.goto(server.base + '/consent/?return=/page2.html');
        assert.equal(await page.getAttribute('html', 'lang'), lang);
        assert.equal(await page.getAttribute('html', 'dir'),
                     rtl ? 'rtl' : null);

        const v = await axe(page);
        assert.deepEqual(v, [], axeReport(v));

        const s = await page.evaluate(() => {
            const st = getComputedStyle(
                document.querySelector('.consent-status'));
            const code = [...document.querySelectorAll('.consent-cat code')]
                .map(e => getComputedStyle(e))
                .map(c => `${c.direction} ${c.unicodeBidi}`);
            return { right: st.borderRightWidth, left: st.borderLeftWidth,
                     code, scroll: document.documentElement.scrollWidth };
        });
        assert.equal(rtl ? s.right : s.left, '4px', JSON.stringify(s));
        assert.equal(rtl ? s.left : s.right, '0px', JSON.stringify(s));
        assert.ok(s.code.length >= 3, 'cookie names are listed');
        for (const c of s.code) {
            assert.equal(c, 'ltr isolate');
        }
        assert.ok(s.scroll <= 320, `no sideways scroll: ${s.scroll}`);
        await context.close();
    });
}

// with JavaScript the banner posts JSON: it carries the banner's language,
// so the consent log names the texts the reader was shown
test('consent.js sends the banner\'s language with the choice', async () => {
    const context = await browser.newContext({
        extraHTTPHeaders: { 'Accept-Language': 'en' },
    });
    const page = await context.newPage();
    await page.goto(`${server.base}/page-de.html`);
    const [request] = await Promise.all([
        page.waitForRequest(r => r.method() === 'POST'),
        page.locator('#consent-banner button[value=reject_all]').last()
            .click(),
    ]);
    const body = JSON.parse(request.postData());
    assert.equal(body.lang, 'de');
    assert.equal(body.action, 'reject_all');
    await context.close();
});
