// On-call UX, round 2 (issue #15), against --demo: step names that agree between the timeline,
// the dialogs and the text; polling when a proxy blocks the WebSocket; the out-of-date (409)
// dialog; actions disabled while disconnected; rows that stay put under the pointer; the
// phone; the failure reason; and where the focus lands in destructive dialogs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { axeViolations, env, launch, openPage, row, screenshot } from './browser.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const STREAM = /\/api\/v1\/stream$/;

/** The timeline of a detail page: [{ num, label, state }]. */
function timeline(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('.steps .step')].map((li) => ({
      num: Number((li.querySelector('.step-num')?.textContent ?? '').replace(/\D/g, '')),
      label: li.querySelector('.step-body strong')?.textContent ?? '',
      current: li.classList.contains('step-current'),
    })),
  );
}

/** Waits until the toolbar button for `action` is enabled. */
async function waitEnabled(page, action, timeout = 90000) {
  await page.waitForFunction(
    (a) => {
      const b = document.querySelector(`.actions button[data-action="${a}"]`);
      return b !== null && !b.disabled;
    },
    action,
    { timeout, polling: 200 },
  );
}

/** The rollout as the REST API has it now (same headers as the app). */
async function restDetail(page, ns, name) {
  return page.evaluate(
    async ([n, m]) => {
      const r = await fetch(`api/v1/clusters/prod-eu/namespaces/${n}/rollouts/${m}`, { headers: { Accept: 'application/json' } });
      return r.ok ? r.json() : null;
    },
    [ns, name],
  );
}

test('#15.1 the promote dialog and the header name the timeline\'s steps (no i/n translation)', async () => {
  const { page, problems } = await openPage(browser.context, env('RD_DEMO_URL') + 'rollout/prod-eu/demo-shop/storefront');
  await page.getByRole('heading', { level: 1, name: 'storefront' }).waitFor();
  // storefront cycles through timed pauses: wait for a step with a next step to promote to.
  await page.waitForFunction(
    () => {
      const b = document.querySelector('.actions button[data-action="promote"]');
      const cur = document.querySelector('.step-current');
      return b && !b.disabled && cur && cur.nextElementSibling;
    },
    null,
    { timeout: 120000, polling: 200 },
  );
  const steps = await timeline(page);
  assert.ok(steps.length >= 2, JSON.stringify(steps));
  await page.locator('.actions button[data-action="promote"]').click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  // Wait for the step names (the dialog may look them up).
  await page.waitForFunction(() => /past step \d+ “[^”]+”/.test(document.querySelector('dialog[open]')?.textContent ?? ''), null, { timeout: 15000 });
  const text = await dialog.innerText();
  const m = /Promote storefront past step (\d+) “([^”]+)” → step (\d+) “([^”]+)”/.exec(text);
  assert.ok(m, `dialog text: ${text}`);
  const from = Number(m[1]);
  const to = Number(m[3]);
  assert.equal(to, from + 1, text);
  // The numbers and names are the timeline's own.
  assert.equal(steps.find((s) => s.num === from)?.label, m[2], `${text} vs ${JSON.stringify(steps)}`);
  assert.equal(steps.find((s) => s.num === to)?.label, m[4], `${text} vs ${JSON.stringify(steps)}`);
  // No upstream i/n next to it that means something else.
  assert.doesNotMatch(text, /step \d+\/\d+/, text);
  await screenshot(page, 'oncall-promote-named-steps');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  // The header says the step the way the timeline numbers it.
  const cur = (await timeline(page)).find((s) => s.current);
  if (cur) {
    const head = await page.locator('.detail-head').innerText();
    assert.match(head, new RegExp(`Step ${cur.num} of ${steps.length}`), head);
  }
  assert.deepEqual(problems.pageErrors, []);
  await page.close();
});

test('#15.2 a proxy that blocks the WebSocket: banner with the likely cause, counts unknown, then polling fills list and detail', async () => {
  const page = await browser.context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const cdp = await browser.context.newCDPSession(page);
  await cdp.send('Page.setBypassCSP', { enabled: true });
  // The proxy accepts the upgrade and drops it at once, every time.
  await page.routeWebSocket(STREAM, (ws) => ws.close());
  let release;
  const gate = new Promise((r) => {
    release = r;
  });
  const polls = [];
  await page.route(/\/api\/v1\/rollouts(\?[^/]*)?$/, async (route) => {
    polls.push(route.request().headers());
    await gate;
    await route.continue();
  });
  await page.goto(env('RD_DEMO_URL'));
  const banner = page.getByRole('alert').filter({ hasText: 'Live updates are blocked' });
  await banner.waitFor({ timeout: 30000 });
  const bannerText = await banner.innerText();
  assert.match(bannerText, /WebSocket/, bannerText);
  assert.match(bannerText, /Ingress/, bannerText);
  assert.match(bannerText, /proxy/, bannerText);
  // Before any data: the counts are unknown, not 0.
  const chips = page.getByRole('group', { name: 'Status filters' });
  const counts = await chips.locator('.count').allInnerTexts();
  assert.ok(counts.length >= 5, counts.join(','));
  assert.ok(counts.every((c) => c.trim() === '–'), `counts before data: ${counts.join(',')}`);
  await screenshot(page, 'oncall-ws-blocked-waiting');
  release();
  // The list fills from GET api/v1/rollouts.
  await page.locator('.row[data-key], .card[data-key]').first().waitFor({ timeout: 30000 });
  assert.ok(polls.length >= 1);
  assert.match(polls[0].accept ?? '', /application\/json/);
  const after = await chips.locator('.count').allInnerTexts();
  assert.ok(after.some((c) => /^[1-9]\d*$/.test(c.trim())), `counts after data: ${after.join(',')}`);
  // It keeps polling every few seconds.
  const n = polls.length;
  for (let i = 0; i < 200 && polls.length < n + 1; i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(polls.length > n, `polled again: ${polls.length}`);
  await screenshot(page, 'oncall-ws-blocked-polled');
  const violations = await axeViolations(page);
  assert.deepEqual(violations, [], JSON.stringify(violations, null, 2));
  // A detail page polls the detail endpoint.
  let detailPolls = 0;
  await page.route('**/api/v1/clusters/prod-eu/namespaces/demo-shop/rollouts/checkout-api', (route) => {
    detailPolls++;
    return route.continue();
  });
  await page.locator('[data-key="prod-eu/demo-shop/checkout-api"] a[data-rollout="checkout-api"]').click();
  await page.getByRole('heading', { level: 1, name: 'checkout-api' }).waitFor();
  await page.locator('.status-panel').waitFor({ timeout: 30000 });
  assert.ok(detailPolls >= 1, 'the detail endpoint was polled');
  await banner.waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});

test('#15.3 the out-of-date dialog shows the change once, refreshes, and the retry sends the new view', async () => {
  const { page, problems } = await openPage(browser.context, env('RD_DEMO_URL') + 'rollout/prod-eu/demo-shop/storefront');
  await page.getByRole('heading', { level: 1, name: 'storefront' }).waitFor();
  const posts = [];
  page.on('request', (r) => {
    // The dialog's requests (the other person's, below, carries no view).
    if (r.method() === 'POST' && /\/rollouts\/storefront\/promote$/.test(r.url())) {
      const body = JSON.parse(r.postData() ?? '{}');
      if (body.seen) posts.push(body);
    }
  });
  // Paused at a timed pause that is not the last one, so that promoting twice keeps it updating.
  await page.waitForFunction(
    () => {
      const b = document.querySelector('.actions button[data-action="promote"]');
      const cur = document.querySelector('.step-current');
      return b && !b.disabled && cur && cur.nextElementSibling?.nextElementSibling && /Paused/.test(document.querySelector('.status-panel')?.textContent ?? '');
    },
    null,
    { timeout: 120000, polling: 200 },
  );
  await page.locator('.actions button[data-action="promote"]').click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  const before = await restDetail(page, 'demo-shop', 'storefront');
  // Someone else promotes it meanwhile (a request without a `seen` view is never stale).
  const other = await page.evaluate(async () => {
    const r = await fetch('api/v1/clusters/prod-eu/namespaces/demo-shop/rollouts/storefront/promote', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Rollouts-Dashboard': '1' },
      body: '{}',
    });
    return r.status;
  });
  assert.equal(other, 200);
  // Let the demo settle on the next step before confirming.
  let now = before;
  for (let i = 0; i < 300; i++) {
    now = await restDetail(page, 'demo-shop', 'storefront');
    if (now && now.summary.stepIndex !== before.summary.stepIndex && now.summary.status === 'Paused') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.notEqual(now.summary.stepIndex, before.summary.stepIndex);
  await dialog.locator('button[type="submit"]').click();
  const changed = dialog.locator('.result-err, .stale-changes');
  await changed.first().waitFor({ timeout: 15000 });
  await page.waitForFunction(() => /changed since/i.test(document.querySelector('dialog[open]')?.textContent ?? ''), null, { timeout: 15000 });
  const text = await dialog.innerText();
  assert.equal((text.match(/changed since/gi) ?? []).length, 1, `said once: ${text}`);
  assert.doesNotMatch(text, /reload and try again/i, text);
  // The change is told in the timeline's numbers: step i (index i-1) → step j.
  assert.match(text, new RegExp(`step ${before.summary.stepIndex + 1}\\b[^\\n]*→[^\\n]*step ${now.summary.stepIndex + 1}\\b`), text);
  await screenshot(page, 'oncall-409-dialog');
  // The action is offered again on the new state, and the retry sends the new view.
  const submit = dialog.locator('button[type="submit"]');
  await submit.waitFor();
  assert.equal(await submit.isDisabled(), false);
  await submit.click();
  await dialog.locator('.result-ok').waitFor({ timeout: 15000 });
  assert.equal(posts.length, 2, JSON.stringify(posts));
  assert.equal(posts[0].seen.stepIndex, before.summary.stepIndex);
  assert.equal(posts[1].seen.stepIndex, now.summary.stepIndex);
  assert.notEqual(posts[1].seen.resourceVersion, posts[0].seen.resourceVersion);
  assert.deepEqual(problems.pageErrors, []);
  await page.close();
});

test('#15.4 when the stream and the API are gone, data is dimmed and actions are disabled with the reason', async () => {
  const page = await browser.context.newPage();
  let down = false;
  const sockets = [];
  await page.routeWebSocket(STREAM, (ws) => {
    if (down) {
      ws.close();
      return;
    }
    ws.connectToServer();
    sockets.push(ws);
  });
  await page.route('**/api/v1/**', (route) => (down ? route.abort('connectionrefused') : route.continue()));
  // axe is injected as a script tag at the end: this page (not the app) bypasses the CSP for it.
  const cdp = await browser.context.newCDPSession(page);
  await cdp.send('Page.setBypassCSP', { enabled: true });
  await page.goto(env('RD_DEMO_URL') + 'rollout/prod-eu/demo-shop/storefront');
  await page.getByRole('heading', { level: 1, name: 'storefront' }).waitFor();
  await waitEnabled(page, 'restart');
  await page.getByText('Live', { exact: true }).waitFor();
  // A dialog open when the connection drops cannot be confirmed either.
  await page.locator('.actions button[data-action="restart"]').click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  down = true;
  for (const ws of sockets) await ws.close();
  const confirm = dialog.locator('button[type="submit"]');
  await page.waitForFunction(() => document.querySelector('dialog[open] button[type="submit"]')?.disabled === true, null, { timeout: 30000 });
  assert.match(await dialog.innerText(), /not connected/i);
  assert.equal(await confirm.isDisabled(), true);
  await dialog.getByRole('button', { name: /Cancel|Close/ }).click();
  const buttons = page.locator('.actions button[data-action]');
  const n = await buttons.count();
  assert.ok(n >= 5);
  for (let i = 0; i < n; i++) {
    const b = buttons.nth(i);
    assert.equal(await b.isDisabled(), true, `${await b.getAttribute('data-action')} is disabled`);
    assert.match((await b.getAttribute('title')) ?? '', /not connected to the dashboard server/i);
  }
  // The reason is on the page too, not only in tooltips, and the stale data is dimmed.
  await page.getByText(/Actions are disabled until/).first().waitFor();
  const dim = await page.evaluate(() => {
    const panel = document.querySelector('.status-panel');
    return { filter: getComputedStyle(panel).filter, stale: panel.closest('main')?.classList.contains('is-stale') };
  });
  assert.ok(dim.stale && /grayscale/.test(dim.filter), `dimmed: ${JSON.stringify(dim)}`);
  // Countdowns stop instead of ticking towards a moment the page cannot see.
  assert.equal(await page.locator('.countdown:not(.countdown-stopped)').count(), 0);
  await screenshot(page, 'oncall-disconnected');
  // Dimmed, yet readable: no serious or critical axe violations.
  const violations = await axeViolations(page);
  assert.deepEqual(violations, [], JSON.stringify(violations, null, 2));
  await page.close();
});

test('#15.5 rows keep their order while the pointer is over the list, and re-sort once it leaves', async () => {
  const { page, problems } = await openPage(browser.context, env('RD_DEMO_URL'));
  // Tall enough that the windowed list draws every demo row: the probe sorts last among the
  // healthy ones, below the rows drawn at 900 px since the demo has more rollouts (#15.12).
  await page.setViewportSize({ width: 1440, height: 2400 });
  await page.locator('.row[data-key]').first().waitFor();
  // A rollout of our own, Healthy: it sorts among the healthy ones.
  const base = await page.evaluate(async () => {
    const r = await fetch('api/v1/rollouts', { headers: { Accept: 'application/json' } });
    const list = (await r.json()).rollouts;
    return list.find((x) => x.status === 'Healthy');
  });
  assert.ok(base);
  const fake = { ...base, name: 'zz-hover-probe', uid: 'hover-probe', needsAttention: false, attentionReason: null };
  await page.evaluate((r) => {
    const h = window.__rolloutsDashboard;
    h.applyFrames([{ type: 'upsert', seq: h.lastSeq() + 1, rollout: r }]);
  }, fake);
  await row(page, fake.namespace, fake.name, fake.cluster).waitFor();
  const order = () => page.evaluate(() => [...document.querySelectorAll('.row[data-key]')].map((r) => r.getAttribute('data-key')));
  // Point at the list.
  const first = page.locator('.row[data-key]').first();
  const box = await first.boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  const held = await order();
  const fakeKey = `${fake.cluster}/${fake.namespace}/${fake.name}`;
  assert.ok(held.indexOf(fakeKey) > 0);
  // It degrades: by the sort it belongs at the top now, but the pointer is over the list.
  await page.evaluate((r) => {
    const h = window.__rolloutsDashboard;
    h.applyFrames([{ type: 'upsert', seq: h.lastSeq() + 1, rollout: { ...r, status: 'Degraded', needsAttention: true, attentionReason: 'Degraded: probe' } }]);
  }, fake);
  await row(page, fake.namespace, fake.name, fake.cluster).locator('.badge', { hasText: 'Degraded' }).waitFor();
  // The demo keeps changing rows meanwhile; sample the order while updates flow.
  const seq0 = await page.evaluate(() => window.__rolloutsDashboard.lastSeq());
  for (let i = 0; i < 120; i++) {
    assert.deepEqual(await order(), held, `order changed under the pointer (sample ${i})`);
    const seq = await page.evaluate(() => window.__rolloutsDashboard.lastSeq());
    if (seq >= seq0 + 5 && i >= 20) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok((await page.evaluate(() => window.__rolloutsDashboard.lastSeq())) >= seq0 + 5, 'updates flowed while hovered');
  // The pointer leaves: the list sorts again and the degraded probe moves into "Needs attention".
  await page.mouse.move(5, 5);
  await page.waitForFunction(
    (k) => {
      const keys = [...document.querySelectorAll('.group-attention ~ .row[data-key], .row[data-key]')].map((r) => r.getAttribute('data-key'));
      const i = keys.indexOf(k);
      return i >= 0 && i < 4;
    },
    fakeKey,
    { timeout: 15000 },
  );
  assert.deepEqual(problems.pageErrors, []);
  await page.close();
});

test('#15.6 phone: cards by default at 390 px, and the detail page fits 360 px', async () => {
  const phone = await launch({ viewport: { width: 390, height: 844 } });
  try {
    const page = await phone.context.newPage();
    await page.goto(env('RD_DEMO_URL'));
    await page.locator('.card[data-key]').first().waitFor({ timeout: 30000 });
    assert.equal(await page.locator('.row[data-key]').count(), 0, 'no table rows by default on a phone');
    assert.equal(await page.getByRole('button', { name: 'Cards' }).getAttribute('aria-pressed'), 'true');
    await page.setViewportSize({ width: 360, height: 780 });
    for (const path of ['rollout/prod-eu/demo-shop/checkout-api', 'rollout/prod-eu/demo-payments/payments-gateway', 'rollout/prod-eu/demo-search/search-indexer', 'rollout/prod-eu/demo-payments/ledger']) {
      await page.goto(env('RD_DEMO_URL') + path);
      await page.locator('.status-panel').waitFor();
      await page.waitForTimeout(300);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      if (width > 360) await screenshot(page, `oncall-phone-overflow-${path.split('/').pop()}`);
      assert.ok(width <= 360, `${path}: scrollWidth ${width} at 360 px`);
    }
    // Choosing the table on a phone is kept.
    await page.goto(env('RD_DEMO_URL'));
    await page.getByRole('button', { name: 'Table' }).click();
    await page.locator('.row[data-key]').first().waitFor();
    await page.reload();
    await page.locator('.row[data-key]').first().waitFor();
  } finally {
    await phone.close();
  }
});

test('#15.8 the failure reason: once on the detail page, and the failing metric in the list', async () => {
  const { page } = await openPage(browser.context, env('RD_DEMO_URL') + 'rollout/prod-eu/demo-search/search-indexer');
  await page.getByRole('heading', { level: 1, name: 'search-indexer' }).waitFor();
  await page.locator('.abort-box').waitFor({ timeout: 90000 });
  const d = await restDetail(page, 'demo-search', 'search-indexer');
  const cond = d.conditions.find((c) => c.reason === 'RolloutAborted');
  assert.ok(cond?.message, JSON.stringify(d.conditions));
  const body = await page.locator('main').innerText();
  const needle = cond.message.slice(0, 40);
  const times = body.split(needle).length - 1;
  assert.equal(times, 1, `"${needle}" appears ${times} times:\n${body}`);
  // The failing metric and its condition, prominently in the abort box.
  const box = await page.locator('.abort-box').innerText();
  assert.match(box, /error-rate-failing/, box);
  assert.match(box, /result\[0\] > 0\.05/, box);
  // The list says which metric failed.
  await page.goto(env('RD_DEMO_URL'));
  const r = row(page, 'demo-search', 'search-indexer', 'prod-eu');
  await r.waitFor();
  assert.match(await r.locator('.c-status').innerText(), /error-rate-failing/);
  await page.close();
});

test('#15.10 destructive dialogs focus Cancel: Enter does not abort; promote keeps Enter = confirm', async () => {
  const { page, problems } = await openPage(browser.context, env('RD_DEMO_URL') + 'rollout/prod-eu/demo-shop/storefront');
  await page.getByRole('heading', { level: 1, name: 'storefront' }).waitFor();
  const posts = [];
  page.on('request', (r) => {
    if (r.method() === 'POST') posts.push(r.url());
  });
  await waitEnabled(page, 'abort', 120000);
  await page.locator('.actions button[data-action="abort"]').click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), 'Cancel');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('dialog[open]') === null, null, { timeout: 5000 });
  assert.deepEqual(posts, [], 'nothing was posted');
  for (const action of ['restart']) {
    await page.locator(`.actions button[data-action="${action}"]`).click();
    await dialog.waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), 'Cancel', action);
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => document.querySelector('dialog[open]') === null);
  }
  assert.deepEqual(posts, []);
  assert.deepEqual(problems.pageErrors, []);
  await page.close();
});

test('#15.10 the list shows images and pods in the same order (stable first)', async () => {
  const { page } = await openPage(browser.context, env('RD_DEMO_URL'));
  await page.locator('.row[data-key]').first().waitFor();
  // Wait for a canary mid-update: two images, stable and canary.
  const pairs = await page.waitForFunction(
    () => {
      const out = [];
      for (const r of document.querySelectorAll('.row[data-key]')) {
        const imgs = [...r.querySelectorAll('.c-images li')].map((li) => [...li.querySelectorAll('.tag')].map((t) => t.textContent).join(','));
        const pods = [...r.querySelectorAll('.c-pods .rs-pods')].map((p) => p.getAttribute('title') ?? '');
        if (imgs.length === 2 && imgs.some((t) => t.includes('canary')) && imgs.some((t) => t.includes('stable')) && pods.length >= 2) out.push({ key: r.getAttribute('data-key'), imgs, pods });
      }
      return out.length > 0 ? out : null;
    },
    null,
    { timeout: 90000, polling: 250 },
  );
  for (const p of await pairs.jsonValue()) {
    const imgFirst = p.imgs[0].includes('stable') ? 'stable' : 'canary';
    const podFirst = p.pods[0].includes('stable') ? 'stable' : p.pods[0].includes('canary') ? 'canary' : '?';
    assert.equal(podFirst, imgFirst, JSON.stringify(p));
  }
  await page.close();
});

test('#15.7 a past time slightly ahead of the browser\'s clock reads "just now", never "in …"', async () => {
  const { page } = await openPage(browser.context, env('RD_DEMO_URL') + 'rollout/prod-eu/demo-search/query-frontend');
  await page.getByRole('heading', { level: 1, name: 'query-frontend' }).waitFor();
  await page.locator('#conditions').waitFor();
  // The cluster's clock runs a minute ahead of this browser's: its last transitions are "in the future".
  const d = await restDetail(page, 'demo-search', 'query-frontend');
  const ahead = new Date(Date.now() + 60_000).toISOString();
  const skewed = {
    ...d,
    summary: { ...d.summary, createdAt: ahead },
    conditions: d.conditions.map((c) => ({ ...c, lastTransitionTime: ahead })),
  };
  await page.evaluate((rollout) => window.__rolloutsDashboard.applyFrames([{ type: 'detail', seq: 1e12, rollout }]), skewed);
  await page.waitForFunction(() => document.querySelectorAll('#conditions time').length > 0);
  const times = await page.locator('main time').allInnerTexts();
  assert.ok(times.length >= 2, times.join(','));
  for (const t of times) assert.doesNotMatch(t, /^in \d/, `a past time reads "${t}"`);
  assert.ok(times.includes('just now'), times.join(','));
  await page.close();
});

test('#15.11 the table sorts by a column header, and a row\'s menu offers Abort, Retry and Restart', async () => {
  const page = await browser.context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const cdp = await browser.context.newCDPSession(page);
  await cdp.send('Page.setBypassCSP', { enabled: true });
  await page.goto(env('RD_DEMO_URL'));
  await page.locator('.row[data-key]').first().waitFor();
  // The header buttons and the row menu buttons pass axe.
  const onList = await axeViolations(page);
  assert.deepEqual(onList, [], JSON.stringify(onList, null, 2));
  const nameHeader = page.getByRole('columnheader', { name: /Name/ });
  await nameHeader.getByRole('button').click();
  await page.waitForFunction(() => new URL(location.href).searchParams.get('sort') === 'name');
  assert.equal(await nameHeader.getAttribute('aria-sort'), 'ascending');
  await page.mouse.move(5, 5);
  const names = await page.locator('.row[data-key] .rname').allInnerTexts();
  assert.deepEqual(names, [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), names.join(','));
  // Again: back to attention first.
  await nameHeader.getByRole('button').click();
  await page.waitForFunction(() => !new URL(location.href).searchParams.has('sort'));
  assert.equal(await nameHeader.getAttribute('aria-sort'), 'none');
  // The row menu.
  await row(page, 'demo-search', 'query-frontend', 'prod-eu').getByRole('button', { name: /^More actions for query-frontend/ }).click();
  const menu = page.getByRole('dialog', { name: 'Actions for query-frontend in prod-eu' });
  await menu.waitFor();
  for (const label of ['Abort', 'Retry', 'Restart']) assert.equal(await menu.getByRole('button', { name: label, exact: true }).count(), 1, label);
  // A healthy rollout: nothing to abort or retry (with the reason beside it); restart applies.
  assert.equal(await menu.getByRole('button', { name: 'Abort', exact: true }).isDisabled(), true);
  assert.match(await menu.innerText(), /Nothing to abort/);
  const inMenu = await axeViolations(page);
  assert.deepEqual(inMenu, [], JSON.stringify(inMenu, null, 2));
  await menu.getByRole('button', { name: 'Restart', exact: true }).click();
  const confirm = page.getByRole('dialog', { name: 'Restart query-frontend in prod-eu?' });
  await confirm.waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), 'Cancel');
  assert.equal(await menu.isVisible(), false, 'the menu closed');
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => document.querySelector('dialog[open]') === null);
  assert.deepEqual(errors, []);
  await page.close();
});
