// Accessibility scan (axe-core, injected from node_modules) and theme/responsive screenshots.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { axeViolations, env, launch, screenshot } from './browser.mjs';

let light;
let dark;
before(async () => {
  light = await launch();
  dark = await launch({ colorScheme: 'dark' });
});
after(async () => {
  await light?.close();
  await dark?.close();
});

async function scan(ctx, url, ready, name) {
  // axe is injected as a script tag: this page (not the app) bypasses the strict CSP for it.
  const page = await ctx.context.newPage();
  const cdp = await ctx.context.newCDPSession(page);
  await cdp.send('Page.setBypassCSP', { enabled: true });
  await page.goto(url);
  await ready(page);
  await page.waitForTimeout(300);
  if (name) await screenshot(page, name);
  const v = await axeViolations(page);
  await page.close();
  return v;
}

const pages = [
  ['list', 'RD_FILES_URL', '', (p) => p.locator('.row[data-key]').first().waitFor()],
  ['cards', 'RD_FILES_URL', '?view=cards', (p) => p.locator('.card').first().waitFor()],
  ['canary', 'RD_FILES_URL', 'rollout/files/jesse-test/canary-demo', (p) => p.locator('.status-panel').waitFor()],
  ['bluegreen', 'RD_FILES_URL', 'rollout/files/jesse-test/bluegreen-demo', (p) => p.locator('.status-panel').waitFor()],
  ['demo-list', 'RD_DEMO_URL', '', (p) => p.locator('.row[data-key]').first().waitFor()],
  ['demo-analysis', 'RD_DEMO_URL', 'rollout/prod-eu/demo-payments/payments-gateway', (p) => p.locator('.status-panel').waitFor()],
  ['empty', 'RD_EMPTY_URL', '', (p) => p.getByRole('heading', { name: 'No rollouts' }).waitFor()],
];

for (const [name, envName, path, ready] of pages) {
  test(`no serious or critical axe violations: ${name} (light and dark)`, async () => {
    const url = env(envName) + path;
    const lv = await scan(light, url, ready, null);
    const dv = await scan(dark, url, ready, name === 'list' || name === 'demo-analysis' ? `dark-${name}` : null);
    assert.deepEqual(lv, [], JSON.stringify(lv, null, 2));
    assert.deepEqual(dv, [], JSON.stringify(dv, null, 2));
  });
}

test('phone width renders the list and a detail page', async () => {
  const phone = await launch({ viewport: { width: 390, height: 844 } });
  try {
    const page = await phone.context.newPage();
    await page.goto(env('RD_DEMO_URL'));
    // Phones get the card view by default.
    await page.locator('.card[data-key]').first().waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    await screenshot(page, 'phone-list');
    await page.goto(env('RD_DEMO_URL') + 'rollout/prod-eu/demo-shop/checkout-api');
    await page.locator('.status-panel').waitFor();
    await screenshot(page, 'phone-detail');
    assert.ok(overflow <= 2, `horizontal overflow of ${overflow}px`);
  } finally {
    await phone.close();
  }
});
