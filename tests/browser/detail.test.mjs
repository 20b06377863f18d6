// Detail pages against --from-files with the upstream fixtures.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { env, launch, openPage, screenshot } from './browser.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('canary detail: status, steps, revisions, pods, containers', async () => {
  const { page, problems } = await openPage(browser.context, env('RD_FILES_URL') + 'rollout/files/jesse-test/canary-demo');
  await page.getByRole('heading', { level: 1, name: 'canary-demo' }).waitFor();
  await page.getByRole('heading', { name: /^Steps/ }).waitFor();
  assert.ok((await page.locator('.step').count()) >= 1);
  await page.getByRole('heading', { name: /^Revisions/ }).waitFor();
  assert.ok((await page.locator('.revision').count()) >= 1);
  assert.ok((await page.locator('.rs .pod').count()) >= 1, 'pods are drawn');
  const title = await page.locator('.rs .pod').first().getAttribute('title');
  assert.match(title, /ready \d+\/\d+/);
  await page.getByRole('heading', { name: 'Containers' }).waitFor();
  assert.match(await page.locator('#containers').innerText(), /argoproj\/rollouts-demo/);
  await screenshot(page, 'detail-canary');
  assert.deepEqual(problems.consoleErrors, []);
  assert.deepEqual(problems.pageErrors, []);
});

test('blue-green detail: active and preview', async () => {
  const { page, problems } = await openPage(browser.context, env('RD_FILES_URL') + 'rollout/files/jesse-test/bluegreen-demo');
  await page.getByRole('heading', { level: 1, name: 'bluegreen-demo' }).waitFor();
  const text = await page.locator('.status-panel').innerText();
  assert.match(text, /Paused/);
  assert.match(text, /Active/i);
  assert.match(text, /Preview/i);
  assert.ok((await page.locator('.tag-active').count()) >= 1);
  assert.ok((await page.locator('.tag-preview').count()) >= 1);
  await screenshot(page, 'detail-bluegreen');
  assert.deepEqual(problems.pageErrors, []);
});

test('unknown rollout shows not found, not a spinner', async () => {
  const { page } = await openPage(browser.context, env('RD_FILES_URL') + 'rollout/files/nowhere/nothing');
  await page.getByRole('heading', { name: 'Rollout nothing not found' }).waitFor();
});

test('files mode is read-only: no action buttons', async () => {
  const { page } = await openPage(browser.context, env('RD_FILES_URL') + 'rollout/files/jesse-test/bluegreen-demo');
  await page.getByRole('heading', { level: 1, name: 'bluegreen-demo' }).waitFor();
  const readOnly = await page.evaluate(() => JSON.parse(document.getElementById('rd-config').textContent).readOnly);
  if (readOnly) {
    await page.getByText('Read-only').first().waitFor();
    assert.equal(await page.getByRole('toolbar', { name: /Actions/ }).count(), 0);
  }
});
