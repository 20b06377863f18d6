// Empty source and hostile strings.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { env, launch, openPage, screenshot } from './browser.mjs';
import { HOSTILE } from './server.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('an empty source shows "No rollouts" with how to create one, not a spinner', async () => {
  const { page, problems } = await openPage(browser.context, env('RD_EMPTY_URL'));
  await page.getByRole('heading', { name: 'No rollouts' }).waitFor({ timeout: 10000 });
  assert.match(await page.locator('.empty').innerText(), /kubectl apply/);
  assert.equal(await page.getByText('Loading rollouts').count(), 0);
  await screenshot(page, 'list-empty');
  assert.deepEqual(problems.consoleErrors, []);
});

test('hostile strings are shown as text, never as HTML', async () => {
  for (const path of ['', 'rollout/files/pentest/hostile-demo']) {
    const { page, problems } = await openPage(browser.context, env('RD_HOSTILE_URL') + path);
    await page.getByText('hostile-demo', { exact: true }).first().waitFor();
    if (path) {
      await page.getByRole('heading', { name: 'Labels and annotations' }).waitFor();
      // label and annotation values appear literally
      const meta = await page.locator('#meta').innerText();
      assert.ok(meta.includes(HOSTILE), meta);
      const body = await page.locator('main').innerText();
      assert.ok(body.split(HOSTILE).length >= 4, 'label, annotation, message and condition are shown literally');
      await screenshot(page, 'detail-hostile');
    } else {
      await page.locator('.row[data-key]').first().waitFor();
      // the controller message is carried literally (as the status tooltip)
      const titles = await page.evaluate(() => [...document.querySelectorAll('[title]')].map((e) => e.getAttribute('title')));
      assert.ok(titles.includes(HOSTILE), titles.join(' | '));
      // and searching for the hostile label value finds the rollout
      await page.goto(env('RD_HOSTILE_URL') + '?q=' + encodeURIComponent(`evil:"${HOSTILE}"`));
      await page.locator('.row[data-key="files/pentest/hostile-demo"]').waitFor();
      await screenshot(page, 'list-hostile');
    }
    await page.waitForTimeout(300);
    const imgs = await page.evaluate(() => [...document.querySelectorAll('img')].map((i) => i.outerHTML));
    assert.deepEqual(imgs, [], 'no <img> element was created');
    assert.deepEqual(problems.dialogs, [], 'no alert ran');
    assert.deepEqual(problems.pageErrors, []);
  }
});
