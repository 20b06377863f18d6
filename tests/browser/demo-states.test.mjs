// The demo shows every state an engineer can meet (issue #15.12): an experiment step, init
// containers, a blue-green with pre-promotion analysis, a person's pause, zero replicas and an
// invalid spec, each seeded by the simulation (src/source/demo/scenarios.rs) and read here
// without acting on it (other files act on the shared demo; these rollouts are left alone). Also
// the #15 acceptance screenshots: list and detail at 1440×900 and 390×844, light and dark.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { apiPath, DEMO_CLUSTER, detailPath, env, launch, openPage, row, screenshot } from './browser.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** The six states, by namespace/name. */
const STATES = {
  experiment: ['demo-shop', 'recommendations'],
  init: ['demo-shop', 'cart'],
  preview: ['demo-payments', 'fraud-check'],
  person: ['demo-search', 'ranking'],
  zero: ['demo-search', 'legacy-search'],
  invalid: ['demo-payments', 'refunds'],
};

/** The rollout as the REST API has it now (the server's own verdicts). */
async function restDetail(ns, name) {
  const r = await fetch(new URL(apiPath(DEMO_CLUSTER, ns, name), env('RD_DEMO_URL')), { headers: { Accept: 'application/json' } });
  assert.equal(r.status, 200, `${ns}/${name}: ${r.status}`);
  return r.json();
}

async function openDetail(ns, name) {
  const { page, problems } = await openPage(browser.context, env('RD_DEMO_URL') + detailPath(DEMO_CLUSTER, ns, name));
  await page.getByRole('heading', { level: 1, name }).waitFor({ timeout: 20000 });
  // The detail has arrived (not just the list row): the status panel is drawn from it.
  await page.locator('.status-panel').waitFor({ timeout: 20000 });
  return { page, problems };
}

/** The demo list searched for `name` (the list is windowed: a row far down may not be drawn). */
async function openList(name) {
  const { page, problems } = await openPage(browser.context, env('RD_DEMO_URL') + `?q=${encodeURIComponent(name)}`);
  await page.locator('[data-key]').first().waitFor({ state: 'attached', timeout: 30000 });
  return { page, problems };
}

/** The group head a row sits under in the list. */
function groupOf(page, ns, name) {
  return page.evaluate((key) => {
    const items = [...document.querySelectorAll('.group-head, [data-key]')];
    const i = items.findIndex((e) => e.getAttribute('data-key') === key);
    if (i < 0) return null;
    const head = items
      .slice(0, i)
      .reverse()
      .find((e) => e.classList.contains('group-head'));
    return head?.textContent ?? '';
  }, `${DEMO_CLUSTER}/${ns}/${name}`);
}

test('the demo list shows each of the six states by name', async () => {
  const missing = [];
  for (const [ns, name] of Object.values(STATES)) {
    const { page, problems } = await openList(name);
    if ((await row(page, ns, name, DEMO_CLUSTER).count()) === 0) missing.push(`${ns}/${name}`);
    assert.deepEqual(problems.pageErrors, []);
    await page.close();
  }
  assert.deepEqual(missing, [], `rows missing from the demo list: ${missing.join(', ')}`);
});

test("a person's pause sits under Needs attention with Resume as its main action", async () => {
  const [ns, name] = STATES.person;
  const { page, problems } = await openList(name);
  const r = row(page, ns, name, DEMO_CLUSTER).first();
  await r.waitFor({ timeout: 20000 });
  assert.match((await groupOf(page, ns, name)) ?? '', /Needs attention/);
  assert.match(await r.innerText(), /Paused by a person/);
  const main = r.locator('button[data-action]').first();
  assert.equal(await main.getAttribute('data-action'), 'resume');
  assert.match((await main.getAttribute('class')) ?? '', /btn-primary/);
  // The server says so too: a person's pause, Resume applies.
  const d = await restDetail(ns, name);
  assert.equal(d.summary.pauseKind, 'person');
  assert.equal(d.summary.attentionKind, 'pausedByPerson');
  assert.equal(d.actions.resume.enabled, true);
  // And the detail's toolbar: Resume is the primary button.
  await page.goto(env('RD_DEMO_URL') + detailPath(DEMO_CLUSTER, ns, name), { waitUntil: 'domcontentloaded' });
  const resume = page.locator('.detail-head .actions button[data-action="resume"]');
  await resume.waitFor({ timeout: 20000 });
  assert.equal(await resume.isDisabled(), false);
  assert.match((await resume.getAttribute('class')) ?? '', /btn-primary/);
  assert.deepEqual(problems.pageErrors, []);
  await page.close();
});

test("an InvalidSpec rollout: Promote is disabled with the server's reason, and the step is marked", async () => {
  const [ns, name] = STATES.invalid;
  const { page, problems } = await openDetail(ns, name);
  const d = await restDetail(ns, name);
  assert.equal(d.actions.promote.enabled, false);
  assert.match(d.actions.promote.reason, /spec is invalid/);
  assert.match(d.invalidSpec, /steps\[1\]\.setWeight/);
  const promote = page.locator('.detail-head .actions button[data-action="promote"]');
  await promote.waitFor();
  assert.equal(await promote.isDisabled(), true);
  assert.equal(await promote.getAttribute('title'), d.actions.promote.reason, "the server's reason, word for word");
  const invalid = page.locator('.steps .step-invalid');
  assert.equal(await invalid.count(), 1);
  assert.match(await invalid.innerText(), /(^|\n)2\.\s*Set weight 120%/);
  // Degraded needs attention in the list.
  await page.goto(env('RD_DEMO_URL') + `?q=${name}`, { waitUntil: 'domcontentloaded' });
  await row(page, ns, name, DEMO_CLUSTER).first().waitFor({ timeout: 20000 });
  assert.match((await groupOf(page, ns, name)) ?? '', /Needs attention/);
  assert.deepEqual(problems.pageErrors, []);
  await page.close();
});

test("the experiment step shows on the canary's detail page with its ReplicaSets and analysis", async () => {
  const [ns, name] = STATES.experiment;
  const { page, problems } = await openDetail(ns, name);
  const current = page.locator('.steps .step-current');
  await current.waitFor();
  assert.match(await current.innerText(), /Experiment: baseline, canary/);
  const exp = page.locator('#experiments .experiment').first();
  await exp.waitFor({ timeout: 20000 });
  const text = await exp.innerText();
  assert.match(text, new RegExp(`${name}-\\w+-\\d+-1`), text);
  assert.match(text, /Running/);
  assert.match(text, /-baseline/);
  assert.match(text, /-canary/);
  assert.match(text, /success-rate/);
  assert.deepEqual(problems.pageErrors, []);
  await page.close();
});

test('the rollout scaled to zero shows 0/0', async () => {
  const [ns, name] = STATES.zero;
  const { page, problems } = await openList(name);
  const r = row(page, ns, name, DEMO_CLUSTER).first();
  await r.waitFor({ timeout: 20000 });
  assert.match(await r.innerText(), /(^|\D)0\/0 ready/);
  assert.deepEqual(problems.pageErrors, []);
  await page.close();
});

test('init containers are listed on the detail page', async () => {
  const [ns, name] = STATES.init;
  const { page, problems } = await openDetail(ns, name);
  const rows = page.locator('#containers tr', { has: page.locator('.tag', { hasText: /^init$/ }) });
  const init = await rows.allInnerTexts();
  assert.equal(init.length, 2, (await page.locator('#containers').innerText()));
  assert.match(init.join('\n'), /migrate-schema/);
  assert.match(init.join('\n'), /config-agent/);
  assert.deepEqual(problems.pageErrors, []);
  await page.close();
});

test("the blue-green's pre-promotion analysis and its one-pod preview are shown", async () => {
  const [ns, name] = STATES.preview;
  const { page, problems } = await openDetail(ns, name);
  const d = await restDetail(ns, name);
  const ref = d.analysisRefs.find((r) => r.kind === 'prePromotion');
  assert.ok(ref, JSON.stringify(d.analysisRefs));
  assert.match(ref.status, /^(Running|Successful)$/);
  const run = page.locator(`#current-analysis [id="ar-${ref.name}"]`);
  await run.waitFor({ timeout: 20000 });
  assert.match(await run.locator('summary').first().innerText(), /Running|Successful/);
  // previewReplicaCount: 1 (the spec's figure).
  assert.equal((await page.locator('.preview-replicas').innerText()).trim(), '1');
  assert.equal(d.blueGreen.previewReplicas, 1);
  assert.deepEqual(problems.pageErrors, []);
  await page.close();
});

test('screenshots: list and detail at 1440×900 and 390×844, light and dark', async () => {
  const [ns, name] = STATES.experiment;
  for (const colorScheme of ['light', 'dark']) {
    for (const viewport of [
      { width: 1440, height: 900 },
      { width: 390, height: 844 },
    ]) {
      const b = await launch({ colorScheme, viewport });
      try {
        const tag = `${viewport.width}x${viewport.height}-${colorScheme}`;
        const { page, problems } = await openPage(b.context, env('RD_DEMO_URL'));
        await page.locator('[data-key]').first().waitFor({ timeout: 30000 });
        await screenshot(page, `states-list-${tag}`);
        await page.goto(env('RD_DEMO_URL') + detailPath(DEMO_CLUSTER, ns, name), { waitUntil: 'domcontentloaded' });
        await page.locator('#experiments .experiment').first().waitFor({ timeout: 20000 });
        await screenshot(page, `states-detail-${tag}`);
        assert.deepEqual(problems.pageErrors, []);
      } finally {
        await b.close();
      }
    }
  }
});
