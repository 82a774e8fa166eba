// The shared folders of a VM in the new-VM and Edit dialogs: a list of rows, each a folder of
// the settings (by its number: the server never takes a path), a path in the guest and a
// read-only box, as `phyllome run -v DIR:/PATH[:ro]` (repeated) and `update -v ...` take them.
export const MAX_SHARES = 4; // phyllome-vmm's --fs limit

let seq = 0;

// A list of rows in the element ul, with its Add button add; changed() after each change.
export function shareList(ul, add, changed = () => {}) {
  let folders = [];
  const rows = () => [...ul.children];
  const update = () => {
    add.disabled = !folders.length || rows().length >= MAX_SHARES;
    add.title = folders.length ? '' : 'No folders in the settings yet (Settings)';
  };
  const field = (li, label, el) => {
    el.id = `share-${seq}-${label.toLowerCase().replace(/\W+/g, '-')}`;
    const div = document.createElement('div');
    const l = document.createElement('label');
    l.htmlFor = el.id;
    l.textContent = label;
    div.append(l, el);
    li.append(div);
    return el;
  };
  const addRow = (share = {}) => {
    seq++;
    const n = rows().length + 1;
    const li = document.createElement('li');
    li.className = 'share-row';
    const folder = field(li, 'Folder', document.createElement('select'));
    folders.forEach((f, i) => folder.append(new Option(f, String(i))));
    folder.value = String(share.folder ?? 0);
    folder.className = 'share-folder';
    const guest = field(li, 'Path in the VM', document.createElement('input'));
    guest.className = 'share-guest';
    guest.autocomplete = 'off';
    guest.required = true;
    guest.value = share.guest || (n === 1 ? '/mnt/host' : `/mnt/host${n}`);
    const ro = document.createElement('input');
    ro.type = 'checkbox';
    ro.className = 'share-ro';
    ro.checked = !!share.readonly;
    const rol = document.createElement('label');
    rol.className = 'inline';
    rol.append(ro, ' Read-only');
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.textContent = 'Remove';
    remove.setAttribute('aria-label', `Remove shared folder ${n}`);
    remove.addEventListener('click', () => { li.remove(); update(); changed(); });
    li.append(rol, remove);
    for (const el of [folder, guest, ro]) el.addEventListener('change', changed);
    ul.append(li);
    update();
    return guest;
  };
  add.addEventListener('click', () => { addRow().focus(); changed(); });
  return {
    // Starts over with the settings' folders fs and the rows shares ([{folder, guest, readonly}]).
    reset(fs, shares = []) {
      folders = fs;
      ul.replaceChildren();
      for (const s of shares) addRow(s);
      update();
    },
    // The rows as the API takes them.
    value: () => rows().map((li) => ({
      folder: Number(li.querySelector('.share-folder').value),
      guest: li.querySelector('.share-guest').value,
      readonly: li.querySelector('.share-ro').checked,
    })),
  };
}
