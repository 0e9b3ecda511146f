// WCAG 2.1 AA with axe-core: the banner (closed and with its panel open)
// and the preferences page, in light and dark, in English and French; and
// prefers-reduced-motion. Screenshots of the preferences page for docs/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNginx, launch, axe, axeReport, screenshotPath }
    from './lib/server.mjs';

let server, browser;

before(async () => {
    server = await startNginx();
    browser = await launch();
});

after(async () => {
    await browser?.close();
    if (server) {
        const log = server.errorLog();
        server.stop();
        assert.doesNotMatch(log, /\[(alert|emerg|crit)\]|AddressSanitizer/);
    }
});

test('axe runs and sees violations (the check can fail)', async () => {
    const page = await browser.newPage();
    await page.setContent('<html><body><button></button>'
                          + '<p style="color:#aaa;background:#fff">grey</p>'
                          + '<input type="checkbox"></body></html>');
    const ids = (await axe(page)).map(v => v.id).sort();
    for (const id of ['button-name', 'color-contrast', 'html-has-lang',
                      'label']) {
        assert.ok(ids.includes(id), `axe reports ${id}: ${ids}`);
    }
    await page.close();
});

for (const colorScheme of ['light', 'dark']) {
    for (const lang of ['en', 'fr']) {
        test(`axe: the banner, ${colorScheme}, ${lang}`, async () => {
            const context = await browser.newContext({
                viewport: { width: 1280, height: 800 }, colorScheme,
                reducedMotion: 'reduce',
                extraHTTPHeaders: { 'Accept-Language': lang },
            });
            const page = await context.newPage();
            await page.goto(server.base + (lang === 'fr' ? '/fr.html'
                                                         : '/'));
            await page.locator('#consent-banner').waitFor();
            assert.equal(await page.getAttribute('#consent-banner', 'lang'),
                         lang);

            let v = await axe(page, '#consent-banner');
            assert.deepEqual(v, [], axeReport(v));

            await page.locator('#consent-customise').click();
            await page.locator('#consent-panel').waitFor();
            v = await axe(page, '#consent-banner');
            assert.deepEqual(v, [], 'panel open:\n' + axeReport(v));

            if (colorScheme === 'dark' && lang === 'en') {
                await page.mouse.move(0, 0);
                await page.screenshot({
                    path: screenshotPath('banner-customise-dark-en.png') });
            }
            await context.close();
        });

        test(`axe: the preferences page, ${colorScheme}, ${lang}`,
             async () => {
            const context = await browser.newContext({
                viewport: { width: 1280, height: 900 }, colorScheme,
                reducedMotion: 'reduce',
                extraHTTPHeaders: { 'Accept-Language': lang },
            });
            const page = await context.newPage();
            await page.goto(server.base + '/consent/?return=/page2.html');
            assert.equal(await page.getAttribute('html', 'lang'), lang);

            const v = await axe(page);
            assert.deepEqual(v, [], axeReport(v));

            /* every checkbox has a label, none but the required is ticked */
            const boxes = await page.$$eval('input[type=checkbox]', l =>
                l.map(e => ({ label: e.labels.length, checked: e.checked,
                              disabled: e.disabled })));
            assert.ok(boxes.length >= 3);
            for (const b of boxes) {
                assert.equal(b.label, 1);
                assert.equal(b.checked, b.disabled);
            }

            if (colorScheme === 'light') {
                await page.screenshot({
                    path: screenshotPath(`preferences-${lang}.png`),
                    fullPage: true });
            }
            await context.close();
        });
    }
}

test('prefers-reduced-motion: no animation', async () => {
    for (const [reducedMotion, want] of [['reduce', 'none'],
                                         ['no-preference', 'consent-in']]) {
        const context = await browser.newContext({ reducedMotion });
        const page = await context.newPage();
        await page.goto(server.base + '/');
        const name = await page.locator('.consent-box').evaluate(
            e => getComputedStyle(e).animationName);
        assert.equal(name, want, reducedMotion);
        await context.close();
    }
});

test('contrast: every text of the banner is at least 4.5:1', async () => {
    for (const colorScheme of ['light', 'dark']) {
        const context = await browser.newContext({
            colorScheme, reducedMotion: 'reduce' });
        const page = await context.newPage();
        await page.goto(server.base + '/');
        await page.locator('#consent-customise').click();
        const worst = await page.evaluate(() => {
            const rgb = s => s.match(/[\d.]+/g).slice(0, 3).map(Number);
            const lum = c => {
                const [r, g, b] = c.map(v => {
                    v /= 255;
                    return v <= 0.03928 ? v / 12.92
                                        : ((v + 0.055) / 1.055) ** 2.4;
                });
                return 0.2126 * r + 0.7152 * g + 0.0722 * b;
            };
            const bg = e => {
                for (; e; e = e.parentElement) {
                    const c = getComputedStyle(e).backgroundColor;
                    if (!/rgba\(.*, 0\)$|transparent/.test(c)) {
                        return rgb(c);
                    }
                }
                return [255, 255, 255];
            };
            let min = 21, what = '';
            for (const e of document.querySelectorAll(
                     '#consent-banner h2, #consent-banner p, '
                     + '#consent-banner a, #consent-banner button, '
                     + '#consent-banner label')) {
                if (!e.offsetParent) {
                    continue;
                }
                const a = lum(rgb(getComputedStyle(e).color));
                const b = lum(bg(e));
                const r = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
                if (r < min) {
                    min = r;
                    what = e.tagName + ' ' + e.textContent.slice(0, 30);
                }
            }
            return { min, what };
        });
        assert.ok(worst.min >= 4.5,
                  `${colorScheme}: ${worst.what} has ${worst.min.toFixed(2)}`);
        await context.close();
    }
});
