"""Disks for L1 (tests/rig/README.md, "# rig-disk:"): guest images too big for L1's initramfs.

A scenario names them on a line "# rig-disk: NAME...". Each is an image in the guest cache, built
by its recipe (cached; the recipe rebuilds it only when it changed), that the outer QEMU attaches
to L1 as a raw virtio-blk disk with snapshot=on (whatever its format: debian-qcow2's qcow2 bytes
are what L1 reads from its disk): L1 and its L2 guests may write to it, the writes go to
a temporary overlay of the outer QEMU, and the cached image stays pristine. Its serial number is
"rig-NAME" (lib.sh: rig_disk NAME prints L1's /dev/vdX). Small files that go with it (a kernel, an
initrd) go into L1's initramfs at /guest/.
"""

import re
import subprocess
import sys
from pathlib import Path

GUESTS_DIR = Path(__file__).resolve().parent.parent / "guests"

# The Debian system's kernel and initrd, and the guest tests that scenarios bring on a disk of
# their own (tests/guests/debian-extra: phyllome.tests=, so that they are not in the image).
DEBIAN_FILES = {"guest/debian-vmlinuz": "debian-vmlinuz",
                "guest/debian-initrd.img": "debian-initrd.img",
                **{f"guest/debian-extra/{p.name}": p
                   for p in sorted((GUESTS_DIR / "debian-extra").glob("*.sh"))}}
# NAME: (recipe [and its arguments], image file in the guest cache, {L1 path: file in the guest
# cache, or a path})
L1_DISKS = {
    # tests/guests/build-debian.sh: Debian 12 with systemd, its kernel and initramfs-tools initrd.
    "debian": (GUESTS_DIR / "build-debian.sh", "debian.img", DEBIAN_FILES),
    # tests/guests/build-debian-qcow2.sh: the same system as a compressed qcow2 image, with its
    # MD5 and size ("MD5 SIZE").
    "debian-qcow2": (GUESTS_DIR / "build-debian-qcow2.sh", "debian.qcow2",
                     {**DEBIAN_FILES, "guest/debian-qcow2.md5": "debian.qcow2.md5"}),
    # tests/guests/build-debian-qcow2.sh --cloud: the Debian cloud image (cloud-init, sshd, sudo)
    # as a compressed qcow2, with its MD5 and size, the publisher's SHA256SUMS, its signature and
    # the signing key, and the image's kernel and initrd.
    "debian-cloud": ((GUESTS_DIR / "build-debian-qcow2.sh", "--cloud"), "debian-cloud.qcow2",
                     {f"guest/{f}": f for f in (
                         "debian-cloud-vmlinuz", "debian-cloud-initrd.img", "debian-cloud.qcow2.md5",
                         "debian-cloud.SHA256SUMS", "debian-cloud.SHA256SUMS.sig",
                         "debian-cloud.keyring.gpg")}),
    # tests/guests/build-installer-iso.sh: Debian 12's text installer in an EFI-bootable ISO
    # (grub-mkrescue), which the scenario ui-installer copies into a settings folder of the app.
    "installer": (GUESTS_DIR / "build-installer-iso.sh", "installer.iso", {}),
}
DISK_RE = re.compile(r"^#\s*rig-disk:(.*)$", re.M)


def build(names, guests, rebuild=True):
    """Runs the recipes of the disks NAMES (unless not REBUILD and the image exists)."""
    for name in names:
        recipe, image, _ = L1_DISKS[name]
        recipe, *rargs = recipe if isinstance(recipe, tuple) else (recipe,)
        if rebuild or not (guests / image).exists():
            r = subprocess.run(["bash", str(recipe), *rargs], stdout=sys.stderr)
            if r.returncode != 0:
                sys.exit(f"rig: {recipe.relative_to(GUESTS_DIR.parent.parent)} failed (rig-disk {name})")


def add_files(manifest, names, guests):
    """Puts the small files that go with the disks NAMES into the L1 initramfs MANIFEST."""
    for name in names:
        for dest, src in L1_DISKS[name][2].items():
            manifest.file(dest, guests / src, 0o644)


def qemu_args(names, guests):
    """The outer QEMU's options for the disks NAMES."""
    out = []
    for i, name in enumerate(names):
        image = guests / L1_DISKS[name][1]
        out += ["-drive", f"file={image},if=none,id=rigdisk{i},format=raw,snapshot=on",
                "-device", f"virtio-blk-pci,drive=rigdisk{i},serial=rig-{name}"]
    return out
