// The browser console in real headless Chromium (Debian's), driven by playwright-core: the page
// served on the VNC port of tests/tools/fakevm shows the screen (noVNC's canvas has fakevm's four
// quadrants), and keys typed into the page reach the PS/2 keyboard as their scancodes; then the
// same page over TLS (https, wss) with a certificate made with openssl; then the guest's sound:
// a fakevm playing a 1 kHz sine behind a password, whose page decodes the stream at 1 kHz.
//   node console.mjs FAKEVM HOST:PORT NOVNC-DIR CHROMIUM
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [fakevmPath, addr, novnc, chromePath] = process.argv.slice(2);
const fail = (msg) => { console.log(`not ok - ${msg}`); process.exitCode = 1; };
const vm = spawn(fakevmPath, [addr, novnc], { stdio: ['pipe', 'pipe', 'inherit'] });
let out = '';
vm.stdout.on('data', (d) => { out += d.toString(); });
const until = async (cond, ms, what) => {
  const end = Date.now() + ms;
  while (Date.now() < end) { if (await cond()) return true; await new Promise((r) => setTimeout(r, 100)); }
  throw new Error(`timed out waiting for ${what}`);
};

let browser;
try {
  await until(() => out.includes('READY'), 10000, 'fakevm');
  browser = await chromium.launch({ executablePath: chromePath, headless: true,
                                    args: ['--no-sandbox', '--disable-gpu'] });
  const page = await browser.newPage({ viewport: { width: 800, height: 600 } });
  // A browser that connects well before it sends its request gets the VNC greeting and an
  // error once; the console then waits longer for that address (docs/display.md): reload.
  await page.goto(`http://${addr}/`).catch(async (e) => {
    console.log(`# the first load failed (${e.message.split('\n')[0]}): reloading`);
    await page.goto(`http://${addr}/`);
  });
  await until(async () => (await page.textContent('#status')) === 'connected', 20000, 'noVNC to connect');
  console.log('ok 1 - the page connects (noVNC over WebSocket on the VNC port)');
  // noVNC draws into its canvas at the screen's size (scaled by CSS): read its pixels.
  const px = async (x, y) => page.evaluate(([x, y]) => {
    const c = document.querySelector('#screen canvas');
    return Array.from(c.getContext('2d').getImageData(x, y, 1, 1).data.slice(0, 3));
  }, [x, y]);
  const want = [[10, 10, [255, 0, 0]], [630, 10, [0, 255, 0]], [10, 390, [0, 0, 255]], [630, 390, [128, 64, 32]]];
  await until(async () => JSON.stringify(await px(10, 10)) === '[255,0,0]', 10000, 'the first frame');
  let good = true;
  for (const [x, y, rgb] of want) {
    const got = await px(x, y);
    if (JSON.stringify(got) !== JSON.stringify(rgb)) { fail(`pixel (${x},${y}) is ${got}, expected ${rgb}`); good = false; }
  }
  if (good) console.log('ok 2 - the canvas shows the screen (four quadrants, pixel for pixel)');
  await page.click('#screen canvas');
  await page.keyboard.type('ls');
  await page.keyboard.press('Enter');
  // l: 0x26/0xa6, s: 0x1f/0x9f, Enter: 0x1c/0x9c (set 1, make then break)
  const expect = ['26', 'a6', '1f', '9f', '1c', '9c'];
  await until(() => expect.every((b) => out.includes(`KBD ${b}`)), 10000, `scancodes ${expect}`);
  const got = out.split('\n').filter((l) => l.startsWith('KBD ')).map((l) => l.slice(4));
  if (got.join(' ') !== expect.join(' ')) fail(`scancodes ${got.join(' ')}, expected ${expect.join(' ')}`);
  else console.log(`ok 3 - keys typed in the page reach the PS/2 keyboard (${got.join(' ')})`);
  const noSound = await page.evaluate(() => [window.phyllomeSound?.state, document.getElementById('sound').hidden]);
  if (noSound[1] !== true) fail(`a console without sound shows the sound button (${noSound})`);
  vm.stdin.end();
  await tlsConsole();
  await soundConsole();
} catch (e) {
  fail(e.message);
} finally {
  if (browser) await browser.close();
  vm.stdin.end();
  console.log('1..5');
}

// The console over TLS (tls-cert=, tls-key=): a self-signed certificate made with openssl; the
// page over https and its WebSocket over wss connect and show the screen.
async function tlsConsole() {
  const dir = mkdtempSync(join(tmpdir(), 'phyllome-tls-'));
  const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', key, '-out', cert]);
  if (made.status !== 0) { console.log('ok 4 # SKIP no openssl to make a certificate'); return; }
  const [host, port] = addr.split(':');
  const tlsAddr = `${host}:${Number(port) + 1}`;
  const tvm = spawn(fakevmPath, [tlsAddr, novnc, cert, key], { stdio: ['pipe', 'pipe', 'inherit'] });
  let tout = '';
  tvm.stdout.on('data', (d) => { tout += d.toString(); });
  try {
    await until(() => tout.includes('READY'), 10000, 'fakevm with TLS');
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await ctx.newPage();
    let wss = '';
    page.on('websocket', (ws) => { if (!wss) wss = ws.url(); });
    await page.goto(`https://${tlsAddr}/`);
    await until(async () => (await page.textContent('#status')) === 'connected', 20000, 'noVNC over wss');
    // "connected" comes before the first frame is drawn: wait for the frame as the plain page does.
    const pixel = () => page.evaluate(() => Array.from(document.querySelector('#screen canvas')
      .getContext('2d').getImageData(10, 10, 1, 1).data.slice(0, 3)));
    try {
      await until(async () => JSON.stringify(await pixel()) === '[255,0,0]', 10000, 'the first frame over TLS');
    } catch (e) { /* reported below with the pixel it shows */ }
    const px = await pixel();
    if (!wss.startsWith('wss://')) fail(`the WebSocket is ${wss}, not wss://`);
    else if (JSON.stringify(px) !== '[255,0,0]') fail(`over TLS the pixel (10,10) is ${px}, expected 255,0,0`);
    else console.log(`ok 4 - the console over TLS: https page, ${wss}, first pixel ${px}`);
  } finally {
    tvm.stdin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

// The guest's sound in the page: fakevm plays a 1 kHz sine at 48 kHz stereo (FAKEVM_TONE) with a
// VNC password; the page passes the password on its /audio WebSocket too, decodes the samples
// (window.phyllomeSound: their zero crossings give the tone's frequency), shows the mute button,
// and muting it stops nothing but the sound (the stream goes on).
async function soundConsole() {
  const dir = mkdtempSync(join(tmpdir(), 'phyllome-sound-'));
  const pw = join(dir, 'password');
  writeFileSync(pw, 'hear-me1\n');
  const [host, port] = addr.split(':');
  const sAddr = `${host}:${Number(port) + 2}`;
  const svm = spawn(fakevmPath, [sAddr, novnc], { stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, FAKEVM_TONE: '1000', FAKEVM_PASSWORD_FILE: pw } });
  let sout = '';
  svm.stdout.on('data', (d) => { sout += d.toString(); });
  try {
    await until(() => sout.includes('READY'), 10000, 'fakevm with sound');
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`http://${sAddr}/#password=hear-me1`).catch(() => page.goto(`http://${sAddr}/#password=hear-me1`));
    const st = () => page.evaluate(() => ({ ...window.phyllomeSound }));
    await until(async () => ((await st()).loud || 0) >= 96000, 30000, 'two seconds of the guest\'s sound in the page');
    const s = await st();
    const hz = s.crossings / 2 / (s.loud / s.rate);
    const button = await page.evaluate(() => { const b = document.getElementById('sound'); return [b.hidden, b.getAttribute('aria-pressed')]; });
    await page.click('#sound');
    const before = (await st()).frames;
    await until(async () => (await st()).frames > before + 24000, 10000, 'the stream to go on while muted');
    const muted = await page.evaluate(() => [window.phyllomeSound.muted, document.getElementById('sound').getAttribute('aria-pressed')]);
    if (s.state !== 'streaming' || s.rate !== 48000 || s.channels !== 2) fail(`the page's sound: ${JSON.stringify(s)}`);
    else if (Math.abs(hz - 1000) > 10) fail(`the page decoded ${hz.toFixed(1)} Hz, not 1000 (${JSON.stringify(s)})`);
    else if (button[0] !== false || button[1] !== 'true') fail(`the sound button is ${button}`);
    else if (muted[0] !== true || muted[1] !== 'false') fail(`after a click the sound is ${muted}, not muted`);
    else console.log(`ok 5 - the guest's sound in the page: ${s.rate} Hz x ${s.channels}, ${s.loud} loud frames decoded at ${hz.toFixed(1)} Hz (1 kHz played), behind the console's password; mute keeps the stream`);
  } finally {
    svm.stdin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}
