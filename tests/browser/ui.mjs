// The desktop app (`phyllome ui`, docs/ui.md) in real headless Chromium (Debian's), driven by
// playwright-core (TAP). run-ui-test.sh starts the app on a state folder holding a running VM
// "web" with a screen, and a local catalogue entry "tiny:1"; this script signs in with the
// one-time link and checks, against what `phyllome ps -a` says: the card with a live thumbnail
// whose pixels change, pause/resume/stop/start/delete from the page, the new-VM dialog making a
// running VM from the catalogue, typing into the console reaching the VM (its serial log), the
// refusals (no cookie, another Origin, no CSRF token, a used link), a folder added in Settings
// whose ISO makes a VM with a shared folder (and paths outside the folders refused), the Edit
// dialog on a stopped VM, changes made with the CLI
// appearing in the page, axe-core's serious violations, and the screenshots for docs/ui.md.
//   node ui.mjs LOGIN-URL PHYLLOME CHROMIUM [SHOT-DIR]
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { until as waitUntil } from './wait.mjs';

const [loginUrl, phyllome, chromePath, shots] = process.argv.slice(2);
const base = loginUrl.replace(/\/login\?.*/, '');
let n = 0;
const ok = (msg) => console.log(`ok ${++n} - ${msg}`);
const fail = (msg) => { console.log(`not ok ${++n} - ${msg}`); process.exitCode = 1; };
const check = (cond, msg, why) => (cond ? ok(msg) : fail(`${msg}: ${why}`));
const until = (cond, ms, what) => waitUntil(cond, ms, what, 150);
const ps = () => execFileSync(phyllome, ['ps', '-a', '--format', 'json']).toString()
  .split('\n').filter(Boolean).map((l) => JSON.parse(l));
const stateOf = (name) => (ps().find((v) => v.Name === name) || { State: 'gone' }).State;
const cli = (...args) => execFileSync(phyllome, args).toString();
// The status line the server answers a raw request with (fetch will not send an Upgrade).
const rawStatus = (req) => new Promise((resolve) => {
  const u = new URL(base);
  const s = connect(Number(u.port), u.hostname, () => s.write(req));
  let got = '';
  s.on('data', (d) => { got += d; if (got.includes('\r\n')) { s.destroy(); resolve(got.split('\r\n')[0]); } });
  s.on('error', (e) => resolve(e.message));
  s.on('close', () => resolve(got.split('\r\n')[0]));
});

let browser;
try {
  // Refusals before signing in: no cookie; then the link works once only.
  let r = await fetch(`${base}/api/vms`);
  check(r.status === 401, 'a request without the secret cookie is refused (401)', `status ${r.status}`);
  r = await fetch(`${base}/api/vms/web/stop`, { method: 'POST', headers: { Origin: base } });
  check(r.status === 401 && stateOf('web') === 'running', 'a change without the cookie is refused and changes nothing',
        `status ${r.status}, web ${stateOf('web')}`);

  browser = await chromium.launch({ executablePath: chromePath, headless: true,
                                    args: ['--no-sandbox', '--disable-gpu'] });
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await ctx.newPage();
  const external = [];
  page.on('request', (q) => { if (!q.url().startsWith(base) && !q.url().startsWith('blob:') && !q.url().startsWith('data:')) external.push(q.url()); });
  await page.goto(loginUrl);
  const card = page.locator('li.card', { hasText: 'web' });
  await until(async () => (await card.count()) === 1, 15000, 'the card of web');
  ok('the one-time link signs in; the list shows the running VM web');
  r = await fetch(loginUrl, { redirect: 'manual' });
  check(r.status === 403, 'the sign-in link works once (a second use is refused)', `status ${r.status}`);

  // The cookie and CSRF token, to try requests the page would not make.
  const cookie = (await ctx.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
  const csrf = (await (await fetch(`${base}/api/session`, { headers: { cookie } })).json()).csrf;
  r = await fetch(`${base}/api/vms/web/pause`, { method: 'POST', headers: { cookie, 'X-Phyllome-CSRF': csrf, Origin: 'http://evil.example' } });
  check(r.status === 403 && stateOf('web') === 'running', 'a change from another Origin is refused (403) and changes nothing',
        `status ${r.status}, web ${stateOf('web')}`);
  r = await fetch(`${base}/api/vms/web/pause`, { method: 'POST', headers: { cookie, Origin: base } });
  check(r.status === 403 && stateOf('web') === 'running', 'a change without the CSRF token is refused (403)', `status ${r.status}`);
  const wsStatus = await rawStatus(`GET /api/vms/web/vnc HTTP/1.1\r\nHost: ${new URL(base).host}\r\n` +
    `Cookie: ${cookie}\r\nOrigin: http://evil.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  check(/ 403 /.test(wsStatus), 'the console\'s WebSocket from another Origin is refused (403)', wsStatus);
  const body = await (await fetch(`${base}/api/vms/web/screenshot`, { headers: { cookie: 'phyllome_ui=' + '0'.repeat(64) } })).json();
  check(body.error && /not signed in/.test(body.error), 'a wrong secret gets one error line', JSON.stringify(body));

  // The live thumbnail: its pixels change as the screen does.
  const thumbPixel = () => card.locator('.thumb img').evaluate((img) => {
    const c = document.createElement('canvas');
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    return img.naturalWidth ? Array.from(g.getImageData(1, 1, 1, 1).data.slice(0, 3)).join(',') : '';
  }).catch(() => '');
  await until(async () => (await thumbPixel()) !== '', 15000, 'the thumbnail');
  const first = await thumbPixel();
  await until(async () => { const p = await thumbPixel(); return p && p !== first; }, 15000, 'the thumbnail to change');
  ok(`the card's thumbnail is the VM's screen and refreshes (pixel ${first} -> ${await thumbPixel()})`);
  if (shots) await page.screenshot({ path: join(shots, 'ui-list.png') });

  // Buttons -> what `phyllome ps -a` says.
  const press = async (label) => card.getByRole('button', { name: `${label} web`, exact: true }).click();
  await press('Pause');
  await until(() => stateOf('web') === 'paused', 10000, 'ps to say paused');
  await until(async () => (await card.locator('.state').textContent()) === 'paused', 10000, 'the card to say paused');
  ok('Pause in the page: ps -a says paused');
  await press('Resume');
  await until(() => stateOf('web') === 'running', 10000, 'ps to say running');
  ok('Resume in the page: ps -a says running');

  // The console: keys typed into noVNC's canvas reach the VM's keyboard (its serial log).
  await press('Console');
  await until(async () => (await page.textContent('#console-status')) === 'connected', 20000, 'the console to connect');
  await page.click('#screen canvas');
  await page.keyboard.type('ls');
  await until(() => /KBD 26[\s\S]*KBD 1f/.test(cli('logs', 'web')), 10000, 'the scancodes of "ls" in the serial log');
  ok('the console connects through the app; "ls" typed into it reaches the VM (scancodes 26, 1f in its serial log)');
  if (shots) await page.screenshot({ path: join(shots, 'ui-console.png') });
  await page.click('#console-back');

  // A display with a VNC password: noVNC asks for it in the page's dialog; the VMM checks it.
  const locked = page.locator('li.card', { hasText: 'locked' });
  await locked.getByRole('button', { name: 'Console locked', exact: true }).click();
  await until(async () => page.locator('#password-dialog').evaluate((d) => d.open), 20000, 'the password dialog');
  await page.fill('#password', 'sesame12');
  await page.click('#password-dialog button[value="ok"]');
  await until(async () => (await page.textContent('#console-status')) === 'connected', 20000, 'the console to connect with the password');
  ok('a display with a VNC password: the page asks for it, and connects with it (the VMM checks it)');
  // Its sound: the app passes /api/vms/VM/audio through to the VMM, behind the same password.
  const snd = () => page.evaluate(() => ({ ...(window.phyllomeSound || {}) }));
  let heard = {};
  await until(async () => { heard = await snd(); return heard.rate && heard.loud >= heard.rate; }, 20000,
              `a second of the VM's sound in the console (${JSON.stringify(heard)})`);
  const hz = heard.crossings / 2 / (heard.loud / heard.rate);
  check(Math.abs(hz - 1000) <= 10 && await page.locator('#console-sound').isVisible(),
    `the console plays the VM's sound through the app, behind its password: ${heard.rate} Hz x ${heard.channels}, ${hz.toFixed(1)} Hz decoded (1 kHz played), a Sound button`,
    JSON.stringify(heard));
  await page.click('#console-back');
  check(await page.locator('#console-sound').isHidden(), 'leaving the console ends its sound (the button goes)', 'the Sound button is still shown');

  // Changes made with the CLI show in the page within seconds.
  cli('pause', 'web');
  await until(async () => (await card.locator('.state').textContent()) === 'paused', 8000, 'the page to show a pause made with the CLI');
  cli('resume', 'web');
  await until(async () => (await card.locator('.state').textContent()) === 'running', 8000, 'the page to show the resume');
  ok('a pause and a resume made with the CLI show in the page within seconds');

  // The new-VM dialog: a local catalogue entry -> a running VM.
  await page.click('#new-vm');
  await until(async () => (await page.locator('#new-image option').count()) > 0, 10000, 'the dialog\'s images');
  await page.selectOption('#new-image', 'tiny:1');
  await page.fill('#new-name', 'made-in-page');
  await page.fill('#new-memory', '256');
  await page.fill('#new-disk', '3');
  await page.selectOption('#new-net', 'none');
  if (shots) await page.screenshot({ path: join(shots, 'ui-new-vm.png') });
  const runBox = await page.locator('#new-run').boundingBox();
  check(runBox && runBox.y + runBox.height <= 720, 'at 1280x720 the new-VM dialog\'s Create button is in view', JSON.stringify(runBox));
  await page.click('#new-run');
  await until(() => stateOf('made-in-page') === 'running', 30000, 'ps to show made-in-page running');
  await until(async () => (await page.locator('li.card', { hasText: 'made-in-page' }).count()) === 1, 8000, 'its card');
  const made = JSON.parse(execFileSync(phyllome, ['inspect', 'made-in-page']).toString());
  const disk = made[0].Config.disks[0]; // inspect: an array of VMs, each with its config.json
  check(disk && disk.size === 3 * 2 ** 30,
    'the new-VM dialog pulls the catalogue entry tiny:1 and runs it: ps -a shows made-in-page running, with the 3 GiB disk asked for beside the ISO',
    `inspect: ${JSON.stringify(made).slice(0, 400)}`);
  // A slow pull (6 MiB at 2 MiB/s): the dialog shows its progress while the VM waits for it.
  await page.click('#new-vm');
  await until(async () => (await page.locator('#new-image option').count()) > 1, 10000, 'the dialog\'s images');
  await page.selectOption('#new-image', 'slow:1');
  await page.fill('#new-name', 'slow-pull');
  await page.selectOption('#new-net', 'none');
  await page.click('#new-run');
  let barSeen = false;
  await until(async () => {
    barSeen ||= await page.locator('#new-pull').isVisible();
    return stateOf('slow-pull') === 'running' && !(await page.locator('#new-dialog').evaluate((d) => d.open));
  }, 60000, 'slow-pull to run and the dialog to close');
  const pulls = await page.evaluate(() => window.phyllomePulls);
  const mid = pulls.find((p) => p.total === 6291456 && p.done > 0 && p.done < p.total && p.bytes_per_s > 0);
  check(barSeen && mid, `a slow pull shows its progress in the dialog (${pulls.length} updates, e.g. ${mid ? `${mid.done} of ${mid.total} bytes at ${mid.bytes_per_s} B/s` : 'none midway'})`,
    `bar seen: ${barSeen}, updates: ${JSON.stringify(pulls.slice(0, 3))}, dialog open: ${await page.locator('#new-dialog').evaluate((d) => d.open)}, error: ${await page.textContent('#new-error')}`);
  execFileSync(phyllome, ['rm', '-f', 'slow-pull']);
  r = await fetch(`${base}/api/vms`, { method: 'POST', headers: { cookie, 'X-Phyllome-CSRF': csrf, Origin: base }, body: '{"image":"/etc/passwd"}' });
  check(r.status === 400 && /pick an image/.test((await r.json()).error), 'a path for the image is refused (only the store and the catalogue)', `status ${r.status}`);

  // Settings: a folder added in the page; its ISO offered in the dialog; a VM made from it with
  // a shared folder (inspect shows the ISO as the CD and the share, as `run -v` makes it).
  const folder = process.env.PHYLLOME_UI_TEST_FOLDER;
  await page.click('#settings-btn');
  await page.fill('#folder-add', folder);
  await page.click('#folder-add-btn');
  await until(async () => (await page.locator('#folders li').count()) === 1, 8000, 'the folder in the settings');
  const settingsFile = cli('ui', '--folders').trim();
  check(settingsFile === folder && (await page.textContent('#folders li span')) === folder,
    'Settings: a folder added in the page is listed there and by `phyllome ui --folders`', `CLI: ${settingsFile}`);
  if (shots) await page.screenshot({ path: join(shots, 'ui-settings.png') });
  await page.fill('#folder-add', '/nonexistent-phyllome-folder');
  await page.click('#folder-add-btn');
  await until(async () => !(await page.locator('#settings-error').isHidden()), 8000, 'the settings\' error line');
  check(/nonexistent-phyllome-folder: No such file/.test(await page.textContent('#settings-error')) &&
    (await page.locator('#folders li').count()) === 1, 'a folder that does not exist is refused with one line',
    await page.textContent('#settings-error'));
  await page.click('#settings-close');
  await page.click('#new-vm');
  await page.check('#new-src-iso');
  const offered = await page.locator('#new-file option').allTextContents();
  check(offered.length === 1 && /^sub\/installer\.iso /.test(offered[0]),
    `the dialog offers the folder's ISO (${offered.join(', ')}), not the link that leaves the folder`, offered.join(' | '));
  await page.fill('#new-name', 'from-iso');
  await page.fill('#new-memory', '256');
  await page.fill('#new-disk', '4');
  await page.selectOption('#new-net', 'none');
  // Two shared folders (the settings' one, twice: read-only at /mnt/isos, writable at /srv/work).
  const shareRows = page.locator('#new-shares li');
  await page.click('#new-share-add');
  await page.click('#new-share-add');
  await until(async () => (await shareRows.count()) === 2, 4000, 'two shared-folder rows');
  await shareRows.nth(0).locator('.share-folder').selectOption({ label: folder });
  await shareRows.nth(0).locator('.share-guest').fill('/mnt/isos');
  await shareRows.nth(0).locator('.share-ro').check();
  await shareRows.nth(1).locator('.share-guest').fill('/srv/work');
  if (shots) await page.screenshot({ path: join(shots, 'ui-new-iso.png') });
  await page.click('#new-run');
  await until(() => stateOf('from-iso') === 'running', 30000, `ps to show from-iso running (${await page.textContent('#new-error')})`);
  const fromIso = JSON.parse(cli('inspect', 'from-iso'))[0].Config;
  const shs = (fromIso.shares || []).map((x) => `${x.host === folder ? 'F' : x.host}:${x.guest}:${x.readonly ? 'ro' : 'rw'}:${x.tag}`).join(' ');
  check(fromIso.cdrom === `${folder}/sub/installer.iso` && fromIso.disks[0].size === 4 * 2 ** 30 &&
    shs === 'F:/mnt/isos:ro:mnt-isos F:/srv/work:rw:srv-work',
    'a VM from the folder\'s ISO: inspect shows the ISO as its CD, a new 4 GiB disk, and two shared folders, read-only at /mnt/isos and writable at /srv/work (as run -v twice)',
    `${shs}; ${JSON.stringify(fromIso).slice(0, 600)}`);
  // Paths outside the folders, or typed instead of picked, are refused with one line.
  const post = (path, b) => fetch(`${base}${path}`, { method: 'POST', headers: { cookie, 'X-Phyllome-CSRF': csrf, Origin: base }, body: JSON.stringify(b) });
  for (const [b, what] of [[{ iso: '/etc/passwd' }, 'a typed path'],
                           [{ iso: '0:../outside/secret.iso' }, 'a path out of the folder'],
                           [{ iso: '0:escape.iso' }, 'a link leaving the folder'],
                           [{ disk_file: '0:sub/installer.iso' }, 'an ISO as a disk image'],
                           [{ image: 'tiny:1', shares: [{ folder: '/etc', guest: '/mnt' }] }, 'a shared folder by path'],
                           [{ image: 'tiny:1', shares: [{ folder: 0, guest: '/a' }, { folder: 3, guest: '/mnt' }] }, 'a folder not in the settings'],
                           [{ image: 'tiny:1', shares: [1, 2, 3, 4, 5].map((i) => ({ folder: 0, guest: `/m${i}` })) }, 'five shared folders']]) {
    r = await post('/api/vms', b);
    const e = (await r.json()).error || '';
    check(r.status === 400 && e && !e.includes('\n') && /folder|not a disk image/.test(e), `${what} is refused with one line (${e})`, `status ${r.status}`);
  }
  r = await fetch(`${base}/api/settings`, { method: 'POST', headers: { cookie, Origin: base }, body: '{"folders":["/"]}' });
  check(r.status === 403 && cli('ui', '--folders').trim() === folder, 'settings without the CSRF token are refused (403)', `status ${r.status}`);
  // Editing the stopped VM: its disk grows, its display goes, its shared folders become one.
  const isoCard = page.locator('li.card', { hasText: 'from-iso' });
  await isoCard.getByRole('button', { name: 'Stop from-iso', exact: true }).click();
  await until(() => stateOf('from-iso') === 'exited', 40000, 'from-iso to stop');
  await until(async () => isoCard.getByRole('button', { name: 'Edit from-iso', exact: true }).isEnabled(), 8000, 'its Edit button');
  await isoCard.getByRole('button', { name: 'Edit from-iso', exact: true }).click();
  await page.fill('#edit-cpus', '2');
  await page.fill('#edit-disk', '6');
  await page.selectOption('#edit-display', 'none');
  const editRows = page.locator('#edit-shares li');
  await until(async () => (await editRows.count()) === 2, 8000, 'the VM\'s two shared folders in Edit');
  const shown = await editRows.evaluateAll((lis) => lis.map((li) => `${li.querySelector('.share-guest').value}:${li.querySelector('.share-ro').checked}`).join(' '));
  check(shown === '/mnt/isos:true /srv/work:false', 'Edit shows the VM\'s two shared folders', shown);
  await editRows.nth(0).getByRole('button', { name: 'Remove' }).click();
  await editRows.nth(0).locator('.share-ro').check();
  await page.click('#edit-save');
  await until(() => { const c = JSON.parse(cli('inspect', 'from-iso'))[0].Config; return c.cpus === 2 && c.disks[0].size === 6 * 2 ** 30; },
    10000, `inspect to show 2 CPUs and a 6 GiB disk (${await page.textContent('#edit-error')})`);
  const ed = JSON.parse(cli('inspect', 'from-iso'))[0].Config;
  check(!ed.display || ed.display === 'none', `Edit (stopped): 2 CPUs, the disk grown to 6 GiB, display ${ed.display || 'none'}`, JSON.stringify(ed).slice(0, 300));
  const edShares = (ed.shares || []).map((x) => `${x.guest}:${x.readonly ? 'ro' : 'rw'}`).join(' ');
  check(edShares === '/srv/work:ro', 'Edit: one shared folder removed, the other made read-only (update -v)', edShares);
  execFileSync(phyllome, ['rm', '-f', 'from-iso']);

  // HTTPS (`phyllome ui --tls`: run-ui-test.sh's second server, on the same state folder): its
  // self-signed certificate (ignored here), a Secure cookie, web's card, a pause and a resume
  // from the page (its https:// Origin), the console over wss; the key kept 0600.
  const tlsUrl = process.env.PHYLLOME_UI_TLS_URL;
  if (!tlsUrl) {
    console.log(`ok ${++n} # SKIP no HTTPS server (PHYLLOME_UI_TLS_URL)`);
  } else if (tlsUrl === 'none') {
    fail('phyllome ui --tls printed no link (its stderr is below)');
  } else {
    const tctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 720 } });
    const tp = await tctx.newPage();
    await tp.goto(tlsUrl);
    const ck = (await tctx.cookies()).find((c) => c.name === 'phyllome_ui');
    const tcard = tp.locator('li.card', { hasText: 'web' });
    const tpress = (label) => tcard.getByRole('button', { name: `${label} web`, exact: true }).click();
    await until(async () => (await tcard.count()) && (await tcard.locator('.state').textContent()) === 'running', 20000, 'web running in the HTTPS page');
    await tpress('Pause');
    await until(() => stateOf('web') === 'paused', 20000, 'ps -a to say paused (HTTPS)');
    await tpress('Resume');
    await until(() => stateOf('web') === 'running', 20000, 'ps -a to say running (HTTPS)');
    await tpress('Console');
    await until(async () => (await tp.textContent('#console-status')) === 'connected', 30000, 'the console over wss');
    const proto = await tp.evaluate(() => location.protocol);
    const keyMode = (statSync(`${process.env.PHYLLOME_STATE}/ui-tls/key.pem`).mode & 0o777).toString(8);
    check(proto === 'https:' && ck && ck.secure && keyMode === '600',
      'HTTPS (ui --tls): signed in with a Secure cookie; pause and resume from the page (its https:// Origin) in ps -a; the console connected over wss; the key 0600',
      `protocol ${proto}, cookie ${JSON.stringify(ck)}, key mode ${keyMode}`);
    await tctx.close();
  }

  // Stop, start and delete from the page.
  await press('Stop');
  await until(() => stateOf('web') === 'exited', 40000, 'ps to say exited');
  ok('Stop in the page: the power button; ps -a says exited');
  await press('Edit');
  await page.fill('#edit-cpus', '3');
  await page.fill('#edit-memory', '768');
  const { Sound: soundBefore, Display: displayBefore } = ps().find((v) => v.Name === 'web');
  await page.selectOption('#edit-sound', soundBefore ? 'none' : 'pulse');
  await page.click('#edit-save');
  await until(() => ps().some((v) => v.Name === 'web' && v.CPUs === 3 && v.Memory === 768 << 20), 10000, 'ps -a to show 3 CPUs, 768 MiB');
  await until(async () => /3 CPUs · 768 MiB/.test(await card.locator('.res').textContent()), 8000, 'the card to show them');
  const edited = ps().find((v) => v.Name === 'web');
  check(edited.Sound === (soundBefore ? '' : 'pulse') && edited.Display === displayBefore && displayBefore,
    `Edit (stopped): 3 CPUs, 768 MiB in ps -a and on the card; sound ${soundBefore || 'none'} -> ${edited.Sound || 'none'}, the display kept (${edited.Display})`,
    `ps -a says ${JSON.stringify(edited)}`);
  // A disk that is an image's overlay or that the VM was given is not grown: one clear line.
  r = await fetch(`${base}/api/vms/web/update`, { method: 'POST', headers: { cookie, 'X-Phyllome-CSRF': csrf, Origin: base }, body: '{"display":"vnc=0.0.0.0:1"}' });
  check(r.status === 400 && /display/.test((await r.json()).error), 'a display other than the app\'s own is refused from the page', `status ${r.status}`);
  await press('Start');
  await until(() => stateOf('web') === 'running', 20000, 'ps to say running again');
  ok('Start in the page: ps -a says running');
  await press('Delete');
  await page.click('#confirm-ok');
  await until(() => stateOf('web') === 'gone', 20000, 'ps -a to lose web');
  await until(async () => (await card.count()) === 0, 8000, 'the card to go');
  ok('Delete (confirmed) in the page: web is gone from ps -a and from the page');

  // Accessibility (axe-core) and the phone-width layout.
  const require = createRequire(import.meta.url);
  // Evaluated through the debugger, which the page's CSP does not govern (a <script> would be).
  let axePath = null;
  try { axePath = require.resolve('axe-core/axe.min.js'); } catch (e) { /* not installed */ }
  if (axePath) await page.evaluate(readFileSync(axePath, 'utf8'));
  const axeRun = async () => page.evaluate(async () => (await window.axe.run()).violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help} (${v.nodes.length})`));
  if (!axePath) {
    console.log(`ok ${++n} # SKIP axe-core is not installed (npm install in tests/browser)`);
  } else {
    let axe = await axeRun();
    await page.click('#new-vm');
    await until(async () => (await page.locator('#new-image option').count()) > 0, 10000, 'the dialog');
    axe = axe.concat((await axeRun()).map((v) => `new-VM dialog: ${v}`));
    await page.check('#new-src-iso');
    axe = axe.concat((await axeRun()).map((v) => `new-VM dialog, from an ISO: ${v}`));
    await page.click('#new-cancel');
    await page.click('#settings-btn');
    await until(async () => (await page.locator('#folders li').count()) > 0, 8000, 'the settings');
    axe = axe.concat((await axeRun()).map((v) => `settings: ${v}`));
    await page.click('#settings-close');
    check(axe.length === 0, 'axe-core finds no serious or critical violation (the list, the new-VM dialog, the settings)', axe.join('; '));
  }
  await page.setViewportSize({ width: 390, height: 800 });
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  check(wide <= 390, 'at phone width (390 px) nothing overflows sideways', `scrollWidth ${wide}`);
  // The new-VM dialog at phone width, reached and filled by keyboard alone: Tab to the source,
  // an arrow key to "An ISO", and the ISO list is there, inside the dialog's width.
  await page.click('#new-vm');
  await page.focus('#new-src-image');
  await page.keyboard.press('ArrowDown');
  const kb = await page.evaluate(() => ({ iso: document.getElementById('new-src-iso').checked,
    shown: !document.getElementById('new-file-box').hidden,
    over: [...document.querySelectorAll('#new-dialog *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5).map((e) => e.id || e.tagName) }));
  await page.keyboard.press('Escape');
  check(kb.iso && kb.shown && kb.over.length === 0, 'the new-VM dialog at phone width: the source picked with the keyboard, nothing past the window\'s edge',
    JSON.stringify(kb));
  check(external.length === 0, 'the page made no request outside the app', external.join(' '));
} catch (e) {
  fail(e.message.split('\n')[0]);
} finally {
  if (browser) await browser.close();
  console.log(`1..${n}`);
}
