// Live behaviour against --demo: updates without reload, and the promote flow.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { env, launch, openPage, row, screenshot, waitUntilPromotable } from './browser.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/**
 * Routes the page's stream through `edit`: it gets each server text frame (parsed; each frame of
 * a batch on its own) and returns a frame to send instead, or undefined to pass it on. Returns the
 * messages the page sent.
 */
async function interceptStream(page, edit) {
  const sent = [];
  await page.routeWebSocket(/\/api\/v1\/stream$/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((m) => {
      sent.push(String(m));
      server.send(m);
    });
    server.onMessage((m) => {
      // A list snapshot's pages (gzip-compressed binary messages, protocol 4) pass as they are.
      if (typeof m !== 'string') {
        ws.send(m);
        return;
      }
      const frame = JSON.parse(String(m));
      // The frames of one flush come as one `batch` (protocol 5): each is edited on its own.
      if (frame.type === 'batch') {
        let changed = false;
        const frames = frame.frames.map((f) => {
          const replaced = edit(f);
          if (replaced === undefined) return f;
          changed = true;
          return replaced;
        });
        ws.send(changed ? JSON.stringify({ ...frame, frames }) : m);
        return;
      }
      const replaced = edit(frame);
      ws.send(replaced === undefined ? m : JSON.stringify(replaced));
    });
  });
  return sent;
}

test('demo badge, needs-attention group, and live updates without reload', async () => {
  const { page, problems } = await openPage(browser.context, env('RD_DEMO_URL'));
  await page.getByText('DEMO — simulated cluster').waitFor();
  await page.locator('.row[data-key]').first().waitFor();
  await page.locator('.group-attention').waitFor({ timeout: 30000 });
  await page.evaluate(() => {
    window.__noReload = 'still here';
  });
  const snapshotOf = () => page.evaluate(() => [...document.querySelectorAll('.row[data-key]')].map((r) => r.textContent).join('\n'));
  const before = await snapshotOf();
  await page.waitForFunction((b) => [...document.querySelectorAll('.row[data-key]')].map((r) => r.textContent).join('\n') !== b, before, {
    timeout: 60000,
    polling: 250,
  });
  assert.equal(await page.evaluate(() => window.__noReload), 'still here');
  await page.getByText('Live').waitFor();
  // The version and the commit the server was built from (hello), as --version prints them.
  const status = await (await page.request.get(env('RD_DEMO_URL') + 'api/v1/status')).json();
  assert.match(status.commit, /^[0-9a-f]{7,}$|^unknown$/);
  assert.equal((await page.locator('.topbar .version').textContent()).trim(), `v${status.version} (${status.commit})`);
  await screenshot(page, 'list-demo');
  assert.deepEqual(problems.pageErrors, []);
  assert.deepEqual(problems.consoleErrors, []);
});

test('promote the canary waiting for promotion: confirm, then it advances', async () => {
  const { page, problems } = await openPage(browser.context, env('RD_DEMO_URL') + 'rollout/prod-eu/demo-shop/checkout-api');
  await page.getByRole('heading', { level: 1, name: 'checkout-api' }).waitFor();
  const promote = page.getByRole('toolbar', { name: /Actions for checkout-api/ }).getByRole('button', { name: 'Promote', exact: true });
  // The demo brings it to its indefinite pause by itself.
  await waitUntilPromotable(page);
  const stepBefore = await page.evaluate(() => document.querySelector('.step-current .step-num')?.textContent ?? '');
  await promote.click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  const text = await dialog.innerText();
  // In the timeline's numbering, with the steps' names (issue #15).
  assert.match(text, /Promote checkout-api past step \d+ “[^”]+” → step \d+ “[^”]+”/);
  await screenshot(page, 'dialog-promote');
  await dialog.getByRole('button', { name: 'Promote', exact: true }).click();
  await page.getByText(/promoted|promote/i).first().waitFor();
  await page.waitForFunction(
    (s) => (document.querySelector('.step-current .step-num')?.textContent ?? '') !== s,
    stepBefore,
    { timeout: 30000 },
  );
  assert.deepEqual(problems.pageErrors, []);
});

test('analysis chart, blue-green countdown or waiting state, abort reason', async () => {
  const { page } = await openPage(browser.context, env('RD_DEMO_URL') + 'rollout/prod-eu/demo-payments/payments-gateway');
  await page.getByRole('heading', { level: 1, name: 'payments-gateway' }).waitFor();
  await page.locator('.chart-svg').first().waitFor({ timeout: 90000 });
  await page.waitForTimeout(500);
  await screenshot(page, 'detail-analysis');
  const { page: bg } = await openPage(browser.context, env('RD_DEMO_URL') + 'rollout/prod-eu/demo-payments/ledger');
  await bg.getByRole('heading', { level: 1, name: 'ledger' }).waitFor();
  await bg.locator('.status-panel').waitFor();
  await screenshot(bg, 'detail-demo-bluegreen');
  const { page: ab } = await openPage(browser.context, env('RD_DEMO_URL') + 'rollout/prod-eu/demo-search/search-indexer');
  await ab.getByRole('heading', { level: 1, name: 'search-indexer' }).waitFor();
  await ab.locator('.abort-box').waitFor({ timeout: 90000 });
  assert.match(await ab.locator('.abort-box').innerText(), /aborted/i);
  await screenshot(ab, 'detail-aborted');
});

test('list rows keep their place after updates (no full re-render flicker of selection)', async () => {
  const { page } = await openPage(browser.context, env('RD_DEMO_URL'));
  await page.locator('.row[data-key]').first().waitFor();
  await page.waitForTimeout(500);
  await page.keyboard.press('j');
  await page.keyboard.press('j');
  await page.locator('.row-selected').waitFor({ timeout: 5000 });
  const key = await page.locator('.row-selected').getAttribute('data-key');
  const scrollBefore = await page.evaluate(() => window.scrollY);
  // The demo keeps changing (and re-sorting) rows; the selection stays on the same rollout.
  await page.waitForTimeout(6000);
  assert.equal(await page.locator('.row-selected').getAttribute('data-key'), key);
  assert.equal(await page.evaluate(() => window.scrollY), scrollBefore);
  assert.ok(await page.locator(`[data-key="${key}"]`).count());
});

test('a list patch that does not fit the copy held makes the page ask for a fresh snapshot', async () => {
  const page = await browser.context.newPage();
  let broken = 0;
  const sent = await interceptStream(page, (frame) => {
    // Break the first patch: it now claims to apply to a version this page cannot have.
    if (frame.type !== 'patch' || broken > 0) return undefined;
    broken++;
    return { ...frame, base: frame.seq, patch: [{ op: 'replace', path: '/status', value: 'Corrupted' }] };
  });
  await page.goto(env('RD_DEMO_URL'));
  await page.locator('.row[data-key]').first().waitFor();
  const subscribes = () => sent.filter((m) => JSON.parse(m).type === 'subscribeList').length;
  // The demo changes every second: a patch arrives, is broken, and the page subscribes again.
  for (let i = 0; i < 600 && subscribes() < 2; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(broken, 1, 'a patch frame arrived');
  assert.equal(subscribes(), 2, `re-subscribed once: ${JSON.stringify(sent)}`);
  assert.equal(await page.getByText('Corrupted').count(), 0, 'the unfit patch was not applied');
  await page.getByText('Live').waitFor();
  await page.close();
});

test('a detail patch that does not fit makes the page ask for a fresh detail, then it follows patches again', async () => {
  const page = await browser.context.newPage();
  let broken = 0;
  let appliedAfter = 0;
  const sent = await interceptStream(page, (frame) => {
    if (frame.type !== 'detailPatch') return undefined;
    if (broken > 0) {
      appliedAfter++;
      return undefined;
    }
    // Break the first one: it claims a base this page cannot hold.
    broken++;
    return { ...frame, base: frame.seq, patch: [{ op: 'replace', path: '/summary/status', value: 'Corrupted' }] };
  });
  // payments-gateway takes an analysis measurement every few seconds.
  await page.goto(env('RD_DEMO_URL') + 'rollout/prod-eu/demo-payments/payments-gateway');
  await page.getByRole('heading', { level: 1, name: 'payments-gateway' }).waitFor();
  const subscribes = () => sent.filter((m) => JSON.parse(m).type === 'subscribeRollout').length;
  for (let i = 0; i < 900 && (subscribes() < 2 || appliedAfter < 2); i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(broken, 1, 'a detailPatch frame arrived');
  assert.equal(subscribes(), 2, `re-subscribed once: ${JSON.stringify(sent)}`);
  assert.ok(appliedAfter >= 2, `patches kept coming after the fresh detail: ${appliedAfter}`);
  assert.equal(await page.getByText('Corrupted').count(), 0, 'the unfit patch was not applied');
  await page.close();
});

test('a server speaking another protocol version gets an upgrade banner with Reload', async () => {
  const page = await browser.context.newPage();
  await interceptStream(page, (frame) => (frame.type === 'hello' ? { ...frame, protocol: frame.protocol + 1 } : undefined));
  await page.goto(env('RD_DEMO_URL'));
  const banner = page.getByRole('alert').filter({ hasText: 'was upgraded while this page was open' });
  await banner.waitFor({ timeout: 15000 });
  assert.equal(await banner.getByRole('button', { name: 'Reload' }).count(), 1);
  await page.close();
});
