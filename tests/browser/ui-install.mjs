// A VM made in the desktop app from an installer ISO of a settings folder, booting to the
// installer's first screen (the rig's host step browser-ui-install; tests/rig/scenarios/
// ui-installer.sh): `phyllome ui` runs in L1, with a folder in its settings holding Debian 12's
// installer ISO. In headless Chromium: the new-VM dialog, "Start from: an ISO", the ISO picked
// from the list, OS Linux, 1 CPU, 1024 MiB, a 2 GiB disk, a screen, no network; then the card
// says running and its live thumbnail, blank at first, shows the installer's first screen: its
// "Select a language" box in VGA's grey (aaaaaa) over half of it at least, framed by the blue
// (0000aa) background, over 4% of it at least (in QEMU: 87% and 8%). Prints "DONE ..." when
// all went well.
//   node ui-install.mjs LOGIN-URL CHROMIUM [SHOT-DIR]
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { until } from './wait.mjs';

const [loginUrl, chromePath, shots] = process.argv.slice(2);
const NAME = 'installer';
let browser;
try {
  browser = await chromium.launch({ executablePath: chromePath, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 720 } })).newPage();
  await page.goto(loginUrl);
  await page.click('#new-vm');
  await page.check('#new-src-iso');
  await until(async () => (await page.locator('#new-file option').count()) > 0, 20000, 'an ISO in the list');
  const offered = await page.locator('#new-file option').allTextContents();
  const iso = offered.find((t) => /^debian-12-installer\.iso /.test(t));
  if (!iso) throw new Error(`the dialog offers ${JSON.stringify(offered)}, not debian-12-installer.iso`);
  await page.selectOption('#new-file', { label: iso });
  await page.selectOption('#new-os', 'linux');
  await page.fill('#new-name', NAME);
  await page.fill('#new-cpus', '1');
  await page.fill('#new-memory', '1024');
  await page.fill('#new-disk', '2');
  await page.selectOption('#new-display', 'vnc');
  await page.selectOption('#new-net', 'none');
  const t0 = Date.now();
  await page.click('#new-run');
  const card = page.locator('li.card', { hasText: NAME });
  const state = async () => ((await card.count()) ? (await card.locator('.state').textContent()) : 'gone');
  await until(async () => (await state()) === 'running', 60000,
    `the card to say running (error: ${await page.textContent('#new-error')})`);
  const tRun = (Date.now() - t0) / 1000;
  // The thumbnail: its size, its lit, blue and grey pixels as fractions (every 7th pixel).
  const look = () => card.locator('.thumb img').evaluate((img) => {
    if (!img.naturalWidth) return null;
    const c = document.createElement('canvas');
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let n = 0, lit = 0, blue = 0, grey = 0;
    for (let i = 0; i < d.length; i += 28) {
      n++;
      if (d[i] || d[i + 1] || d[i + 2]) lit++;
      if (d[i] === 0 && d[i + 1] === 0 && d[i + 2] === 0xaa) blue++;
      if (d[i] === 0xaa && d[i + 1] === 0xaa && d[i + 2] === 0xaa) grey++;
    }
    return { size: `${c.width}x${c.height}`, lit: lit / n, blue: blue / n, grey: grey / n };
  }).catch(() => null);
  let first = null, last = null;
  await until(async () => { last = await look(); first ||= last; return last && last.blue > 0.04 && last.grey > 0.5; }, 600000,
    `the installer's screen in the thumbnail (first ${JSON.stringify(first)}, last ${JSON.stringify(last)})`);
  const tScreen = (Date.now() - t0) / 1000;
  if (shots) await page.screenshot({ path: join(shots, 'ui-installer.png') });
  const pct = (f) => `${Math.round(f * 100)}%`;
  console.log(`DONE running ${tRun.toFixed(1)} s after Create; the installer's screen in the thumbnail at ${tScreen.toFixed(1)} s `
    + `(${last.size}, grey ${pct(last.grey)}, blue ${pct(last.blue)}; first thumbnail lit ${pct(first.lit)})`);
} catch (e) {
  console.log(`FAIL ${e.message.split('\n')[0]}`);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
}
