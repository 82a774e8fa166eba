// Phyllome's desktop app (docs/ui.md): the list of VMs with their live screens, their buttons,
// the new-VM dialog, the serial log and the console (Debian's noVNC, served under /novnc/).
// Everything goes through the ui server's JSON API, which runs the CLI's own verbs.

import { shareList } from '/shares.js';

const $ = (id) => document.getElementById(id);
const POLL_MS = 2000;
const THUMB_MS = 3000;
let csrf = '';
const cards = new Map(); // id -> { li, vm, thumbAt, thumbUrl, busy }

function showError(msg) {
  const e = $('error');
  e.textContent = msg || '';
  e.hidden = !msg;
}

async function api(path, opts = {}) {
  const init = { credentials: 'same-origin', ...opts };
  if (init.method === 'POST') {
    init.headers = { 'X-Phyllome-CSRF': csrf, 'Content-Type': 'application/json' };
    init.body = opts.body ? JSON.stringify(opts.body) : '{}';
  }
  let r;
  try {
    r = await fetch(path, init);
  } catch (e) {
    throw new Error('the app\'s server does not answer (is `phyllome ui` still running?)');
  }
  if (!r.ok) {
    let msg = `${r.status} ${r.statusText}`;
    try { msg = (await r.json()).error || msg; } catch (e) { /* not JSON */ }
    throw new Error(msg);
  }
  return r;
}

const human = (bytes) => {
  const mib = bytes / 1048576;
  if (bytes < 1048576) return `${Math.ceil(bytes / 1024)} KiB`;
  return mib >= 1024 ? `${+(mib / 1024).toFixed(1)} GiB` : `${Math.round(mib)} MiB`;
};
const hasScreen = (vm) => /^vnc=/.test(vm.Display || '');

// Which buttons a VM in a state offers: [label, action, enabled states].
const ACTIONS = [
  ['Console', 'console', ['running', 'paused']],
  ['Start', 'start', ['created', 'exited']],
  ['Stop', 'stop', ['running', 'paused']],
  ['Force stop', 'kill', ['running', 'paused']],
  ['Pause', 'pause', ['running']],
  ['Resume', 'resume', ['paused']],
  ['Restart', 'restart', ['running']],
  ['Edit', 'edit', ['created', 'exited']],
  ['Serial log', 'logs', null],
  ['Screenshot', 'screenshot', ['running', 'paused']],
  ['Delete', 'rm', null],
];

function makeCard(vm) {
  const li = document.createElement('li');
  li.className = 'card';
  li.dataset.id = vm.ID;
  const thumb = document.createElement('button');
  thumb.type = 'button';
  thumb.className = 'thumb';
  thumb.addEventListener('click', () => openConsole(cards.get(vm.ID).vm));
  const info = document.createElement('div');
  info.className = 'info';
  info.innerHTML = '<h3><span class="name"></span> <span class="state"></span></h3>' +
    '<p class="meta os"></p><p class="meta res"></p><p class="meta status"></p>';
  const buttons = document.createElement('div');
  buttons.className = 'buttons';
  buttons.setAttribute('role', 'group');
  for (const [label, action] of ACTIONS) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.dataset.action = action;
    if (action === 'rm') b.className = 'danger';
    b.addEventListener('click', () => act(cards.get(vm.ID).vm, action));
    buttons.append(b);
  }
  li.append(thumb, info, buttons);
  return li;
}

function updateCard(c) {
  const { li, vm } = c;
  const q = (s) => li.querySelector(s);
  q('.name').textContent = vm.Name;
  const st = q('.state');
  st.textContent = vm.State;
  st.className = `state ${vm.State}`;
  q('.os').textContent = vm.Image ? `Image ${vm.Image}` : 'Own kernel or disks';
  q('.res').textContent = `${vm.CPUs} CPU${vm.CPUs === 1 ? '' : 's'} · ${human(vm.Memory)}` +
    (vm.Ports ? ` · ports ${vm.Ports}` : '');
  q('.status').textContent = vm.Status;
  li.setAttribute('aria-label', `${vm.Name}, ${vm.State}`);
  const thumb = q('.thumb');
  const live = (vm.State === 'running' || vm.State === 'paused') && hasScreen(vm);
  thumb.disabled = !live;
  thumb.setAttribute('aria-label', live ? `Open the console of ${vm.Name}` : `${vm.Name} has no screen to show`);
  if (!live && !thumb.querySelector('span')) {
    thumb.replaceChildren(Object.assign(document.createElement('span'),
      { textContent: vm.State === 'running' ? 'no display' : vm.State }));
    if (c.thumbUrl) URL.revokeObjectURL(c.thumbUrl);
    c.thumbUrl = null;
  } else if (!live) {
    thumb.querySelector('span').textContent = vm.State === 'running' || vm.State === 'paused' ? 'no display' : vm.State;
  }
  for (const b of li.querySelectorAll('.buttons button')) {
    const a = ACTIONS.find((x) => x[1] === b.dataset.action);
    let ok = !a[2] || a[2].includes(vm.State);
    if ((a[1] === 'console' || a[1] === 'screenshot') && !hasScreen(vm)) ok = false;
    b.hidden = !ok; // only what the state allows, as a desktop VM manager shows it
    b.disabled = c.busy;
    b.setAttribute('aria-label', `${a[0]} ${vm.Name}`);
  }
}

async function refreshThumb(c) {
  const { vm } = c;
  if (!((vm.State === 'running' || vm.State === 'paused') && hasScreen(vm))) return;
  if (c.thumbBusy || Date.now() - (c.thumbAt || 0) < THUMB_MS) return;
  c.thumbAt = Date.now();
  c.thumbBusy = true; // a slow screenshot is not asked for again before it comes
  try {
    const r = await api(`/api/vms/${encodeURIComponent(vm.ID)}/screenshot`);
    const url = URL.createObjectURL(await r.blob());
    const thumb = c.li.querySelector('.thumb');
    let img = thumb.querySelector('img');
    if (!img) {
      img = document.createElement('img');
      thumb.replaceChildren(img);
    }
    img.alt = `The screen of ${vm.Name}`;
    img.src = url;
    if (c.thumbUrl) URL.revokeObjectURL(c.thumbUrl);
    c.thumbUrl = url;
  } catch (e) {
    // A VM still starting has no picture yet: leave the old one; say it in the tooltip.
    c.li.querySelector('.thumb').title = e.message;
  } finally {
    c.thumbBusy = false;
    c.thumbAt = Date.now();
  }
}

let refreshing = null;
function refresh() { // one list request at a time, however slow the host
  if (!refreshing) refreshing = refreshList().finally(() => { refreshing = null; });
  return refreshing;
}

let listFailed = false; // the error line shows the list's failure until it works again
async function refreshList() {
  let vms;
  try {
    vms = await (await api('/api/vms')).json();
  } catch (e) {
    showError(e.message);
    listFailed = true;
    return;
  }
  if (listFailed) showError('');
  listFailed = false;
  const seen = new Set();
  const ul = $('vms');
  for (const vm of vms) {
    seen.add(vm.ID);
    let c = cards.get(vm.ID);
    if (!c) {
      c = { li: makeCard(vm), vm };
      cards.set(vm.ID, c);
    }
    c.vm = vm;
    ul.append(c.li); // keeps ps's order (newest first)
    updateCard(c);
    refreshThumb(c);
  }
  for (const [id, c] of cards) {
    if (!seen.has(id)) {
      c.li.remove();
      if (c.thumbUrl) URL.revokeObjectURL(c.thumbUrl);
      cards.delete(id);
    }
  }
  $('empty').hidden = vms.length > 0;
}

function confirmDialog(title, text, ok) {
  return new Promise((resolve) => {
    const d = $('confirm-dialog');
    $('confirm-title').textContent = title;
    $('confirm-text').textContent = text;
    $('confirm-ok').textContent = ok;
    d.returnValue = '';
    d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true });
    d.showModal();
  });
}

async function act(vm, action) {
  if (action === 'console') return openConsole(vm);
  if (action === 'logs') return showLog(vm);
  if (action === 'screenshot') return saveScreenshot(vm);
  if (action === 'edit') return openEdit(vm);
  if (action === 'rm') {
    const running = vm.State === 'running' || vm.State === 'paused';
    const sure = await confirmDialog(`Delete ${vm.Name}?`,
      `${running ? 'It is running: it is powered off at once. ' : ''}` +
      'Its folder and the disks Phyllome made for it are removed; this cannot be undone.', 'Delete');
    if (!sure) return;
  }
  const c = cards.get(vm.ID);
  if (c) { c.busy = true; updateCard(c); }
  showError('');
  try {
    await api(`/api/vms/${encodeURIComponent(vm.ID)}/${action}`, { method: 'POST' });
  } catch (e) {
    showError(`${action} ${vm.Name}: ${e.message}`);
  }
  if (c) c.busy = false;
  if (c) c.thumbAt = 0;
  await refresh();
}

async function saveScreenshot(vm) {
  try {
    const r = await api(`/api/vms/${encodeURIComponent(vm.ID)}/screenshot`);
    const a = document.createElement('a');
    a.href = URL.createObjectURL(await r.blob());
    a.download = `${vm.Name}-${new Date().toISOString().replace(/[:.]/g, '-')}.png`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  } catch (e) {
    showError(`screenshot of ${vm.Name}: ${e.message}`);
  }
}

let logTimer = null;
async function showLog(vm) {
  const d = $('log-dialog');
  $('log-title').textContent = `Serial log of ${vm.Name}`;
  const load = async () => {
    try {
      const text = await (await api(`/api/vms/${encodeURIComponent(vm.ID)}/logs`)).text();
      const pre = $('log-text');
      const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.textContent = text || '(nothing written to the serial port yet)';
      if (atEnd) pre.scrollTop = pre.scrollHeight;
    } catch (e) {
      $('log-text').textContent = e.message;
    }
  };
  await load();
  logTimer = setInterval(load, POLL_MS);
  d.addEventListener('close', () => clearInterval(logTimer), { once: true });
  d.showModal();
}

// ---- the Edit dialog (a stopped VM's CPUs, memory, display, sound, disk, shared folders:
// `phyllome update`) ----
let editVm = null;
let editSharesChanged = false;
const editShareHint = $('edit-share-hint').textContent;
const editShares = shareList($('edit-shares'), $('edit-share-add'), () => { editSharesChanged = true; });
async function openEdit(vm) {
  editVm = vm;
  editSharesChanged = false;
  // Its shared folders, each as the number of its folder in the settings; one that is not a
  // folder of the settings is named in the hint, and goes if the list is changed.
  let shares = [], others = [];
  try {
    await loadFolders();
    const cfg = (await (await api(`/api/vms/${encodeURIComponent(vm.ID)}/inspect`)).json())[0].Config;
    for (const s of cfg.shares || []) {
      const i = folders.indexOf(s.host);
      if (i < 0) others.push(`${s.host} at ${s.guest}`);
      else shares.push({ folder: i, guest: s.guest, readonly: !!s.readonly });
    }
  } catch (e) {
    showError(e.message);
    return;
  }
  editShares.reset(folders, shares);
  $('edit-share-hint').textContent = editShareHint
    + (others.length ? ` Also shared, not a folder of the settings (removed if this list is changed): ${others.join(', ')}.` : '');
  $('edit-title').textContent = `Edit ${vm.Name}`;
  $('edit-cpus').value = vm.CPUs;
  $('edit-memory').value = Math.round(vm.Memory / 1048576);
  $('edit-display').value = hasScreen(vm) ? 'vnc' : 'none';
  $('edit-sound').value = vm.Sound ? 'pulse' : 'none';
  $('edit-disk').value = '';
  $('edit-error').hidden = true;
  $('edit-dialog').showModal();
  $('edit-cpus').focus();
}

async function saveEdit(ev) {
  ev.preventDefault();
  if (!$('edit-form').reportValidity() || !editVm) return;
  const body = { cpus: Number($('edit-cpus').value), memory_mib: Number($('edit-memory').value) };
  // Display and sound only when changed: a VM made elsewhere keeps its own (a TCP VNC, a WAV file).
  if ($('edit-display').value !== (hasScreen(editVm) ? 'vnc' : 'none')) body.display = $('edit-display').value;
  if ($('edit-sound').value !== (editVm.Sound ? 'pulse' : 'none')) body.sound = $('edit-sound').value;
  if ($('edit-disk').value) body.disk_gib = Number($('edit-disk').value);
  if (editSharesChanged) body.shares = editShares.value();
  try {
    await api(`/api/vms/${encodeURIComponent(editVm.ID)}/update`, { method: 'POST', body });
    $('edit-dialog').close();
    await refresh();
  } catch (e) {
    $('edit-error').textContent = e.message;
    $('edit-error').hidden = false;
  }
}
$('edit-form').addEventListener('submit', saveEdit);
$('edit-cancel').addEventListener('click', () => $('edit-dialog').close());

// ---- the settings: the folders whose ISOs and images the new-VM dialog offers ----
let folders = [];
function showSettingsError(msg) {
  $('settings-error').textContent = msg || '';
  $('settings-error').hidden = !msg;
}
function drawFolders() {
  const ul = $('folders');
  ul.replaceChildren();
  folders.forEach((f) => {
    const li = document.createElement('li');
    const span = document.createElement('span');
    span.textContent = f;
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = 'Remove';
    b.setAttribute('aria-label', `Remove ${f}`);
    b.addEventListener('click', () => saveFolders(folders.filter((x) => x !== f)));
    li.append(span, b);
    ul.append(li);
  });
  $('folders-empty').hidden = folders.length > 0;
}
async function loadFolders() {
  folders = (await (await api('/api/settings')).json()).folders || [];
}
async function saveFolders(list) {
  try {
    folders = (await (await api('/api/settings', { method: 'POST', body: { folders: list } })).json()).folders;
    showSettingsError('');
    drawFolders();
    return true;
  } catch (e) {
    showSettingsError(e.message);
    return false;
  }
}
async function openSettings() {
  showSettingsError('');
  try { await loadFolders(); } catch (e) { showSettingsError(e.message); }
  drawFolders();
  $('folder-add').value = '';
  $('settings-dialog').showModal();
  $('folder-add').focus();
}
$('settings-btn').addEventListener('click', openSettings);
$('settings-close').addEventListener('click', () => $('settings-dialog').close());
$('settings-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const add = $('folder-add').value.trim();
  if (!add) { showSettingsError('type the full path of a folder to add'); return; }
  if (await saveFolders(folders.concat([add]))) $('folder-add').value = '';
});

// ---- the new-VM dialog ----
let files = [];
const source = () => document.querySelector('input[name="source"]:checked').value;
function showSource() {
  const src = source();
  const fromFile = src !== 'image';
  $('new-image-box').hidden = fromFile;
  $('new-image').required = !fromFile;
  $('new-file-box').hidden = !fromFile;
  $('new-file').required = fromFile;
  $('new-disk').disabled = src === 'disk'; // a disk image keeps its own size
  if (src === 'disk') $('new-disk').value = '';
  if (!fromFile) return;
  const kind = src === 'iso' ? 'iso' : 'disk';
  $('new-file-label').textContent = kind === 'iso' ? 'ISO' : 'Disk image';
  const sel = $('new-file');
  sel.replaceChildren();
  for (const f of files.filter((x) => x.kind === kind)) {
    const o = new Option(`${f.name} (${human(f.size)}${folders.length > 1 ? `, in ${f.folder}` : ''})`, f.id);
    o.title = `${f.folder}/${f.name}`;
    sel.append(o);
  }
  $('new-file-hint').textContent = sel.options.length
    ? (kind === 'iso' ? 'In the CD drive, with a new empty disk of the size below (20 GiB unless given).'
      : 'The VM uses this file as its disk, and writes to it.')
    : `No ${kind === 'iso' ? 'ISO' : 'disk image'} in the folders of the settings: add a folder there (Settings).`;
}
for (const r of document.querySelectorAll('input[name="source"]')) r.addEventListener('change', showSource);

const newShares = shareList($('new-shares'), $('new-share-add'));
async function openNew() {
  const sel = $('new-image');
  $('new-error').hidden = true;
  sel.replaceChildren();
  try {
    await loadFolders();
    files = (await (await api('/api/files')).json()).files || [];
  } catch (e) {
    showNewError(e.message);
  }
  newShares.reset(folders);
  showSource();
  try {
    const data = await (await api('/api/images')).json();
    const stored = document.createElement('optgroup');
    stored.label = 'Downloaded images';
    for (const ref of data.images) stored.append(new Option(ref, ref));
    const cat = document.createElement('optgroup');
    cat.label = 'Catalogue (downloaded when first used)';
    for (const e of data.catalog) {
      if (!e.downloadable && !data.images.includes(`${e.name}:${e.tag}`)) continue;
      const o = new Option(`${e.name}:${e.tag} (${e.kind})`, `${e.name}:${e.tag}`);
      o.dataset.cpus = e.cpus;
      o.dataset.memory = e.memory;
      cat.append(o);
    }
    if (stored.children.length) sel.append(stored);
    if (cat.children.length) sel.append(cat);
    if (data.error) showNewError(data.error);
  } catch (e) {
    showNewError(e.message);
  }
  $('new-image-hint').textContent = sel.options.length ? '' :
    'Nothing to pick: the image store and the catalogue are empty (phyllome pull NAME adds one).';
  $('new-dialog').showModal();
  sel.focus();
}

function showNewError(msg) {
  $('new-error').textContent = msg;
  $('new-error').hidden = !msg;
}

// While a new VM waits for its image, the pull's progress (GET /api/pulls: every download under
// way in the state folder, the CLI's too): size, speed, time left. window.phyllomePulls: what
// the bar showed (the test reads it).
window.phyllomePulls = [];
async function showPulls() {
  let pulls = [];
  try { pulls = await (await api('/api/pulls')).json(); } catch (e) { return; }
  const p = pulls[0];
  $('new-pull').hidden = !p;
  if (!p) return;
  window.phyllomePulls.push(p);
  if (p.total) $('new-progress').value = p.done / p.total; else $('new-progress').removeAttribute('value');
  const left = p.total && p.bytes_per_s ? `, ${Math.round((p.total - p.done) / p.bytes_per_s)} s left` : '';
  $('new-pull-text').textContent = `${p.label}: ${human(p.done)} of ${p.total ? human(p.total) : '?'}, ${human(p.bytes_per_s)}/s${left}`;
}

async function runNew(ev) {
  ev.preventDefault();
  const f = $('new-form');
  if (!f.reportValidity()) return;
  const src = source();
  const body = {
    cpus: Number($('new-cpus').value),
    memory_mib: Number($('new-memory').value),
    display: $('new-display').value,
    net: $('new-net').value,
  };
  if ($('new-name').value) body.name = $('new-name').value;
  if ($('new-disk').value && src !== 'disk') body.disk_gib = Number($('new-disk').value);
  if (src === 'image') body.image = $('new-image').value;
  else {
    body[src === 'iso' ? 'iso' : 'disk_file'] = $('new-file').value;
    body.os = $('new-os').value;
  }
  const shares = newShares.value();
  if (shares.length) body.shares = shares;
  const run = $('new-run');
  run.disabled = true;
  run.textContent = 'Creating…';
  const poll = setInterval(showPulls, 400);
  try {
    await api('/api/vms', { method: 'POST', body });
    $('new-dialog').close();
    await refresh();
  } catch (e) {
    showNewError(e.message);
  } finally {
    clearInterval(poll);
    $('new-pull').hidden = true;
    run.disabled = false;
    run.textContent = 'Create and start';
  }
}

$('new-image').addEventListener('change', () => {
  const o = $('new-image').selectedOptions[0];
  if (o && o.dataset.cpus) $('new-cpus').value = o.dataset.cpus;
  if (o && o.dataset.memory) $('new-memory').value = Math.round(o.dataset.memory / 1048576);
});

// ---- the console ----
let rfb = null;
let consoleVm = null;

let sound = null;
let consolePassword = '';
async function openConsole(vm) {
  let RFB, startSound;
  try {
    RFB = (await import('/novnc/core/rfb.js')).default;
    ({ startSound } = await import('/sound.js'));
  } catch (e) {
    showError(`the console needs noVNC (Debian's novnc package): ${e.message}`);
    return;
  }
  closeConsole();
  consoleVm = vm;
  $('list-view').hidden = true;
  $('new-vm').hidden = true;
  $('console-view').hidden = false;
  $('console-title').textContent = `Console of ${vm.Name}`;
  $('console-status').textContent = 'connecting…';
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/vms/${encodeURIComponent(vm.ID)}/vnc`;
  rfb = new RFB($('screen'), url);
  rfb.scaleViewport = $('console-scale').checked;
  rfb.resizeSession = false;
  rfb.focusOnClick = true;
  consolePassword = '';
  rfb.addEventListener('connect', () => {
    $('console-status').textContent = 'connected';
    rfb.focus();
    // The guest's sound (a VM with --sound), on its own WebSocket behind the same password.
    if (!sound) sound = startSound(url.replace(/\/vnc$/, '/audio'), () => consolePassword, $('console-sound'));
  });
  rfb.addEventListener('disconnect', (e) => {
    $('console-status').textContent = e.detail.clean ? 'disconnected' : 'the connection to the VM\'s screen was lost';
  });
  rfb.addEventListener('securityfailure', (e) => {
    showError(`the VM's screen refused the password: ${e.detail.reason || 'authentication failed'}`);
  });
  rfb.addEventListener('credentialsrequired', () => {
    const d = $('password-dialog');
    $('password').value = '';
    d.returnValue = '';
    d.addEventListener('close', () => {
      if (d.returnValue === 'ok' && rfb) {
        consolePassword = $('password').value;
        rfb.sendCredentials({ password: consolePassword });
      }
      else closeConsole();
    }, { once: true });
    d.showModal();
  });
  $('console-back').focus();
}

function closeConsole() {
  if (rfb) { rfb.disconnect(); rfb = null; }
  if (sound) { sound.close(); sound = null; }
  consoleVm = null;
  $('screen').replaceChildren();
  $('console-view').hidden = true;
  $('list-view').hidden = false;
  $('new-vm').hidden = false;
}

$('console-back').addEventListener('click', () => {
  const id = consoleVm && consoleVm.ID;
  closeConsole();
  const c = id && cards.get(id);
  if (c) c.li.querySelector('.thumb').focus();
});
$('console-cad').addEventListener('click', () => { if (rfb) rfb.sendCtrlAltDel(); });
$('console-scale').addEventListener('change', () => { if (rfb) rfb.scaleViewport = $('console-scale').checked; });
$('console-shot').addEventListener('click', () => { if (consoleVm) saveScreenshot(consoleVm); });
$('console-full').addEventListener('click', () => {
  const el = $('console-view');
  if (document.fullscreenElement) document.exitFullscreen();
  else el.requestFullscreen().catch((e) => showError(`full screen: ${e.message}`));
});

$('new-vm').addEventListener('click', openNew);
$('new-cancel').addEventListener('click', () => $('new-dialog').close());
$('new-form').addEventListener('submit', runNew);

async function start() {
  try {
    csrf = (await (await api('/api/session')).json()).csrf;
  } catch (e) {
    showError(e.message);
    return;
  }
  await refresh();
  setInterval(refresh, POLL_MS);
}
start();
