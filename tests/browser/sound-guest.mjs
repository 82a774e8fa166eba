// The guest's sound in the browser console, with a real guest (the rig's debian-sound scenario,
// through rig.py's host step browser-sound): headless Chromium (Debian's, driven by
// playwright-core) opens the console page that phyllome-vmm serves in the rig's L1 while the
// Debian guest boots and plays speaker-test's sine on its HD Audio, and waits for SECS seconds of
// sound that is not silence in the page's decoder (window.phyllomeSound, data/ui/sound.js).
//   node sound-guest.mjs URL SECS CHROMIUM
// One line per finding; the last is "DONE rate=R channels=C loud=FRAMES hz=HZ" when the page
// decoded that much sound. Exit status 0 or 1.
import { chromium } from 'playwright-core';

const [url, secs, chromePath] = process.argv.slice(2);
const until = async (cond, ms, what) => {
  const end = Date.now() + ms;
  while (Date.now() < end) { if (await cond()) return true; await new Promise((r) => setTimeout(r, 250)); }
  throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
};

let browser;
let failed = false;
try {
  browser = await chromium.launch({ executablePath: chromePath, headless: true,
                                    args: ['--no-sandbox', '--disable-gpu', '--autoplay-policy=no-user-gesture-required'] });
  const page = await browser.newPage({ viewport: { width: 1024, height: 768 } });
  // See guest.mjs: an emulated L1 serves slowly, and the first load may meet the VNC greeting.
  await page.goto(url, { timeout: 120000 }).catch(async (e) => {
    console.log(`the first load failed (${e.message.split('\n')[0]}): reloading`);
    await page.goto(url, { timeout: 120000 });
  });
  await until(async () => (await page.textContent('#status')) === 'connected', 180000, 'noVNC to connect');
  const st = () => page.evaluate(() => ({ ...(window.phyllomeSound || {}) }));
  await until(async () => (await st()).state === 'streaming', 60000, 'the /audio WebSocket to stream');
  console.log(`page ${url} connected; its sound streams`);
  let s = {};
  await until(async () => { s = await st(); return s.rate && s.loud >= s.rate * Number(secs); }, 300000,
              `${secs} s of the guest's sound (so far ${JSON.stringify(s)})`);
  const hz = s.crossings / 2 / (s.loud / s.rate);
  console.log(`DONE rate=${s.rate} channels=${s.channels} loud=${s.loud} frames=${s.frames} hz=${hz.toFixed(1)} restarts=${s.restarts}`);
} catch (e) {
  console.log(`FAIL ${e.message}`);
  failed = true;
} finally {
  if (browser) await browser.close();
}
process.exit(failed ? 1 : 0);
