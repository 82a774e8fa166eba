// Screenshots of the README's demo (scripts/demo.sh) for docs/ui.md, in headless Chromium: the
// app's list with the demo VM's card, once its live thumbnail is there, and its console (noVNC,
// Debian's tty1). Signs in with the app's cookie (the value curl got from the one-time link, so
// that the link can be checked with curl first); prints the card's state and thumbnail size.
//   node demo-shot.mjs BASE-URL COOKIE CHROMIUM LIST.png [CONSOLE.png]
import { chromium } from 'playwright-core';

const [base, cookie, chromePath, listShot, consoleShot] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let browser;
try {
  const [name, value] = cookie.split('=');
  browser = await chromium.launch({ executablePath: chromePath, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  await ctx.addCookies([{ name, value, url: base }]);
  const page = await ctx.newPage();
  await page.goto(`${base}/`);
  const card = page.locator('li.card', { hasText: 'phyllome-demo' });
  const thumb = card.locator('.thumb img');
  const end = Date.now() + 60000;
  let size = '';
  while (Date.now() < end && !size) {
    size = await thumb.evaluate((img) => (img.naturalWidth ? `${img.naturalWidth}x${img.naturalHeight}` : '')).catch(() => '');
    if (!size) await sleep(500);
  }
  if (!size) throw new Error('no thumbnail in 60 s');
  await sleep(3500); // one more refresh: the newest screen
  await page.screenshot({ path: listShot });
  const state = await card.locator('.state').textContent();
  if (consoleShot) {
    await card.getByRole('button', { name: 'Console phyllome-demo', exact: true }).click();
    const cend = Date.now() + 60000;
    while (Date.now() < cend && (await page.textContent('#console-status')) !== 'connected') await sleep(250);
    await sleep(2000);
    await page.screenshot({ path: consoleShot });
  }
  console.log(`DONE card ${state}, thumbnail ${size}`);
} catch (e) {
  console.log(`FAIL ${e.message.split('\n')[0]}`);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
}
