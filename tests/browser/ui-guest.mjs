// The desktop app against a real guest (the rig's host step browser-ui; tests/rig/scenarios/
// ui-browser.sh): `phyllome ui` runs in L1 with the VM "web" (the display test guest: four
// bands on its screen, a shell on tty1 with its output on the serial port). In headless
// Chromium: the refusals (no cookie; another Origin), the card's live thumbnail, pause and
// resume, the console (a command typed into it draws noise on the guest's screen: the
// thumbnail's pixels change; its output is in the serial log the page shows), stop, start and
// delete, each waited for in the card (which `phyllome ps -a --format json` in L1 fills; the
// scenario also records ps -a itself). Prints "STATES ..." and "DONE ..." when all went well.
//   node ui-guest.mjs LOGIN-URL CHROMIUM [SHOT-DIR]
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { sleep, until } from './wait.mjs';

const [loginUrl, chromePath, shots] = process.argv.slice(2);
const base = loginUrl.replace(/\/login\?.*/, '');
const seen = [];
let browser;
try {
  let r = await fetch(`${base}/api/vms`);
  if (r.status !== 401) throw new Error(`a request without the cookie got ${r.status}, not 401`);
  browser = await chromium.launch({ executablePath: chromePath, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await ctx.newPage();
  await page.goto(loginUrl);
  const cookie = (await ctx.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
  const csrf = (await (await fetch(`${base}/api/session`, { headers: { cookie } })).json()).csrf;
  r = await fetch(`${base}/api/vms/web/pause`, { method: 'POST', headers: { cookie, 'X-Phyllome-CSRF': csrf, Origin: 'http://evil.example' } });
  if (r.status !== 403) throw new Error(`a change from another Origin got ${r.status}, not 403`);

  const card = page.locator('li.card', { hasText: 'web' });
  const state = async () => ((await card.count()) ? (await card.locator('.state').textContent()) : 'gone');
  const waitState = async (want, ms) => { await until(async () => (await state()) === want, ms, `the card to say ${want}`); seen.push(want); };
  await waitState('running', 30000);
  const pixel = () => card.locator('.thumb img').evaluate((img) => {
    const c = document.createElement('canvas');
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    return img.naturalWidth ? `${img.naturalWidth}x${img.naturalHeight}:` + Array.from(g.getImageData(4, 4, 1, 1).data.slice(0, 3)).join(',') : '';
  }).catch(() => '');
  const why = async () => `the thumbnail (${await card.locator('.thumb').getAttribute('title') || 'no error'})`;
  await until(async () => (await pixel()) !== '', 60000, 'the thumbnail').catch(async () => { throw new Error(`timed out waiting for ${await why()}`); });
  const before = await pixel();
  if (shots) await page.screenshot({ path: join(shots, 'ui-list.png') });

  const press = (label) => card.getByRole('button', { name: `${label} web`, exact: true }).click();
  await press('Pause');
  await waitState('paused', 30000);
  await press('Resume');
  await waitState('running', 30000);

  // The console: a command typed into it (unshifted keys only) draws noise over the screen's top.
  await press('Console');
  await until(async () => (await page.textContent('#console-status')) === 'connected', 60000, 'the console to connect');
  await page.click('#screen canvas');
  // Typed at a person's pace: at full speed under the rig's emulation a key went missing once
  // (busybox dd then printed its usage on the serial port).
  await page.keyboard.type('dd if=/dev/urandom of=/dev/fb0 bs=4096 count=64', { delay: 80 });
  await page.keyboard.press('Enter');
  await sleep(2000);
  if (shots) await page.screenshot({ path: join(shots, 'ui-console.png') });
  await page.click('#console-back');
  await until(async () => { const p = await pixel(); return p && p !== before; }, 60000, `the thumbnail to change from ${before}`);
  const after = await pixel();
  const log = async () => (await fetch(`${base}/api/vms/web/logs`, { headers: { cookie } })).text();
  await until(async () => /64\+0 records out/.test(await log()), 30000, 'dd\'s "64+0 records out" in the serial log');

  await press('Stop');
  await waitState('exited', 120000);
  await press('Start');
  await waitState('running', 120000);
  await press('Delete');
  await page.click('#confirm-ok');
  await waitState('gone', 60000);
  console.log(`STATES ${seen.join(',')}`);
  console.log(`DONE thumbnail ${before} -> ${after}; typed dd into the console: "64+0 records out" in the serial log`);
} catch (e) {
  console.log(`STATES ${seen.join(',')}`);
  console.log(`FAIL ${e.message.split('\n')[0]}`);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
}
