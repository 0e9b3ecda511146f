// consent_regime opt-out in Debian's Chromium: before a choice the gated
// script runs, no banner is shown, and a "Do not sell or share my personal
// information" link takes the reader to the preferences page, where what
// runs is ticked; refusing there stops the script on the next page. With
// Sec-GPC: 1 nothing optional runs from the first visit.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startNginx, launch, axe, axeReport, stateOf, ROOT }
    from './lib/server.mjs';

const en = JSON.parse(readFileSync(join(ROOT, 'ui/texts/en.json'), 'utf8'));

let server, browser;

before(async () => {
    server = await startNginx({ extraServer: 'consent_regime opt-out;' });
    browser = await launch();
});

after(async () => {
    await browser?.close();
    if (server) {
        const log = server.errorLog();
        server.stop();
        assert.doesNotMatch(log, /\[(alert|emerg|crit)\]|AddressSanitizer|signal 11/,
                            'the error log is clean');
    }
});

test('opt-out: the script runs, a "do not sell" link instead of the banner, '
     + 'and refusing through it stops the script', async () => {
    const context = await browser.newContext({ reducedMotion: 'reduce' });
    const page = await context.newPage();

    await page.goto(server.base + '/');
    await page.waitForLoadState('networkidle');

    assert.equal(await page.evaluate(() => window.analyticsLoaded === true),
                 true, 'the analytics script ran before any choice');
    assert.equal(await page.locator('#consent-banner').count(), 0,
                 'no banner');

    const link = page.locator('.consent-choices a');
    assert.ok(await link.isVisible(), 'the link is shown');
    assert.equal((await link.innerText()).trim(), en.do_not_sell,
                 '"Do not sell or share my personal information"');
    const violations = await axe(page, '.consent-choices');
    assert.deepEqual(violations, [], axeReport(violations));

    const state = await stateOf(page, server.base);
    assert.equal(state.regime, 'opt-out');
    assert.equal(state.state, 'none');

    await Promise.all([page.waitForEvent('load'), link.click()]);
    assert.equal(new URL(page.url()).pathname, '/consent/');
    assert.ok(await page.locator('input[value="analytics"]').isChecked(),
              'the page ticks what runs until refused');

    await Promise.all([page.waitForEvent('load'),
                       page.locator('button[value="reject_all"]').click()]);
    await page.waitForLoadState('networkidle');
    assert.equal(new URL(page.url()).pathname, '/', 'back on the page');
    assert.equal(await page.evaluate(() => window.analyticsLoaded === true),
                 false, 'refused: the script does not run');
    assert.equal((await stateOf(page, server.base)).state, 'valid');

    await context.close();
});

test('opt-out and Sec-GPC: 1: nothing optional runs', async () => {
    const context = await browser.newContext({
        extraHTTPHeaders: { 'Sec-GPC': '1' },
    });
    const page = await context.newPage();

    await page.goto(server.base + '/');
    await page.waitForLoadState('networkidle');

    assert.equal(await page.evaluate(() => window.analyticsLoaded === true),
                 false, 'the analytics script did not run');
    assert.ok(await page.locator('.consent-choices a').isVisible(),
              'the link is there');

    await context.close();
});
