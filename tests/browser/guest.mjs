// The browser console with a real guest (the rig's display-browser scenario, through rig.py's
// host step browser-console): headless Chromium (Debian's, driven by playwright-core) opens the
// console page that phyllome-vmm serves in the rig's L1, waits for the guest's picture (the guest
// test display's four bands: red, green, blue, 0x804020, each a quarter of the screen's pixels
// from the top), checks every pixel of noVNC's canvas against them, and types TEXT and Enter into
// the page (the scenario sees the command's output on the guest's serial port).
//   node guest.mjs URL WxH TEXT CHROMIUM
// One line per finding; the last is "DONE rgb-sha256=HEX" (the canvas's RGB bytes, which the
// scenario compares with vm.screenshot's PPM) when everything passed. Exit status 0 or 1.
import { chromium } from 'playwright-core';

const [url, geom, text, chromePath] = process.argv.slice(2);
const [W, H] = geom.split('x').map(Number);
const until = async (cond, ms, what) => {
  const end = Date.now() + ms;
  while (Date.now() < end) { if (await cond()) return true; await new Promise((r) => setTimeout(r, 200)); }
  throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
};

let browser;
let failed = false;
try {
  browser = await chromium.launch({ executablePath: chromePath, headless: true,
                                    args: ['--no-sandbox', '--disable-gpu'] });
  const page = await browser.newPage({ viewport: { width: 1024, height: 768 } });
  // L1 is an emulated machine: the page and noVNC's modules come slowly.
  // A browser that connects well before it sends its request gets the VNC greeting and an
  // error once; the console then waits longer for that address (docs/display.md): reload.
  await page.goto(url, { timeout: 120000 }).catch(async (e) => {
    console.log(`the first load failed (${e.message.split('\n')[0]}): reloading`);
    await page.goto(url, { timeout: 120000 });
  });
  await until(async () => (await page.textContent('#status')) === 'connected', 180000,
              `noVNC to connect (status: ${await page.textContent('#status').catch(() => '?')})`);
  console.log(`page ${url} connected`);
  // noVNC's canvas holds the screen at its own size (CSS scales it): its pixels are the screen's.
  const canvas = () => page.evaluate(([w, h]) => {
    const c = document.querySelector('#screen canvas');
    if (!c) return { size: 'no canvas: ' + document.body.innerHTML.slice(0, 300) };
    if (c.width !== w || c.height !== h) return { size: `${c.width}x${c.height}` };
    const d = c.getContext('2d').getImageData(0, 0, w, h).data;
    const want = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [128, 64, 32]];
    const per = Math.floor(w * h / 4); // the guest writes W*H/4 pixels of each colour
    let bad = 0; let first = '';
    for (let i = 0; i < 4 * per; i++) {
      const b = want[Math.floor(i / per)];
      if (d[4 * i] !== b[0] || d[4 * i + 1] !== b[1] || d[4 * i + 2] !== b[2]) {
        if (!bad) first = `(${i % w},${Math.floor(i / w)}) is ${d[4 * i]},${d[4 * i + 1]},${d[4 * i + 2]}, expected ${b}`;
        bad++;
      }
    }
    return { size: `${w}x${h}`, bad, first, checked: 4 * per };
  }, [W, H]);
  let seen;
  try {
    await until(async () => { seen = await canvas(); return seen.bad === 0; }, 60000, 'the four bands');
    console.log(`canvas ${seen.size}: all ${seen.checked} pixels are the guest's four bands`);
  } catch (e) {
    failed = true;
    console.log(`canvas ${seen?.size}: ${seen?.bad ?? '?'} wrong pixels, the first ${seen?.first ?? '?'} (${e.message})`);
  }
  const hash = await page.evaluate(async ([w, h]) => {
    const c = document.querySelector('#screen canvas');
    if (!c || c.width !== w || c.height !== h) return 'none';
    const d = c.getContext('2d').getImageData(0, 0, w, h).data;
    const rgb = new Uint8Array(w * h * 3);
    for (let i = 0; i < w * h; i++) { rgb[3 * i] = d[4 * i]; rgb[3 * i + 1] = d[4 * i + 1]; rgb[3 * i + 2] = d[4 * i + 2]; }
    const dig = new Uint8Array(await crypto.subtle.digest('SHA-256', rgb));
    return Array.from(dig, (b) => b.toString(16).padStart(2, '0')).join('');
  }, [W, H]);
  // Keys: into the page (noVNC sends them as keysyms), then time for them to leave.
  await page.click('#screen canvas');
  await page.keyboard.type(text, { delay: 50 });
  await page.keyboard.press('Enter');
  await new Promise((r) => setTimeout(r, 3000));
  console.log(`typed '${text}' and Enter into the page`);
  console.log(`${failed ? 'FAILED' : 'DONE'} rgb-sha256=${hash}`);
} catch (e) {
  failed = true;
  console.log(`error: ${e.message.split('\n')[0]}`);
} finally {
  if (browser) await browser.close();
}
process.exitCode = failed ? 1 : 0;
