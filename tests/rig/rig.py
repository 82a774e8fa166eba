#!/usr/bin/env python3
"""The nested-virtualization rig: host side (see tests/rig/README.md).

Builds an L1 initramfs (busybox, kvm-amd and its dependencies, the L2 VMM with its shared
libraries, the L2 guest, the scenario scripts), boots it with QEMU TCG on an emulated AMD SVM CPU,
and turns the scenarios' "RIG-RESULT" lines on L1's console into TAP (or a plain summary).
Python 3.11 standard library only.
"""

import argparse
import glob
import hashlib
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import demo_desktop
import disks

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
GUESTS_BUILD = REPO / "tests" / "guests" / "build-guests.sh"
ESP_BUILD = REPO / "tests" / "guests" / "build-esp.sh"
ISO_BUILD = REPO / "tests" / "guests" / "build-iso.sh"
QEMU_BUILD = HERE / "build-qemu.sh"
# --firmware: Debian's OVMF (package ovmf) into L1's /guest/, with the ESP disk image.
OVMF_FILES = {"OVMF_CODE.fd": "/usr/share/OVMF/OVMF_CODE.fd",
              "OVMF_VARS.fd": "/usr/share/OVMF/OVMF_VARS.fd",
              "OVMF.fd": "/usr/share/ovmf/OVMF.fd",
              # Secure Boot: the SMM build and the store with Microsoft's keys (uefi-secboot*)
              "OVMF_CODE_4M.secboot.fd": "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd",
              "OVMF_VARS_4M.ms.fd": "/usr/share/OVMF/OVMF_VARS_4M.ms.fd",
              "OVMF_VARS_4M.fd": "/usr/share/OVMF/OVMF_VARS_4M.fd"}
SB_ESP_BUILD = REPO / "tests" / "guests" / "build-sb-esp.sh"
SB_OWN_BUILD = REPO / "tests" / "guests" / "build-sb-own.sh"
# build-sb-own.sh's output: the store with the test's own keys and its two disks (uefi-secboot-own)
SB_OWN_FILES = ("OVMF_VARS_4M.own.fd", "sb-own.img", "sb-other.img")
CACHE = Path(os.environ.get("PHYLLOME_CACHE") or Path.home() / ".cache" / "phyllome")
GUESTS = CACHE / "guests"
RIG_CACHE = CACHE / "rig"
CPIO_FORMAT_VERSION = "1"  # bump when the layout of the L1 initramfs changes

# Host programs that scenarios may use in L1 (each with the libraries ldd lists), put at
# /usr/local/bin (ahead of busybox's applets in L1's PATH). A scenario names the ones it needs on a
# line "# rig-tools: NAME..."; only those go into L1. Missing on the host: the scenario says so.
L1_TOOLS = {
    "mke2fs": "e2fsprogs",   # ext4 images (mke2fs -t ext4 -d DIR)
    "e2fsck": "e2fsprogs",   # journal replay and a consistency check after a VMM is killed
    "debugfs": "e2fsprogs",  # reading files out of an image without mounting it
    "passt": "passt",        # user-mode networking for --net passt=SOCKET
    "socat": "socat",        # unix socket clients (busybox nc has none)
    "curl": "curl",          # HTTP on a Unix socket (the API scenario)
    "Xvfb": "xvfb",          # an X server without a screen, for --display window
    "xkbcomp": "x11-xkb-utils",  # Xvfb compiles its keymap with it (as /usr/bin/xkbcomp)
    "xwd": "x11-apps",       # a window's picture (converted by xwd2ppm, beside the VMM)
    "xdotool": "xdotool",    # keys and pointer moves into a window (XTEST)
    "qemu-img": "qemu-utils",  # qcow2 images: made and checked in L1 (a test tool only)
    "swtpm": "swtpm",        # the TPM emulator behind --tpm socket=PATH
    "pulseaudio": "pulseaudio",  # a sound server with a null sink for --sound pulse
    "parec": "pulseaudio-utils",  # records the null sink's monitor (pacat under that name)
    "gpgv": "gpgv",          # phyllome pull checks a publisher's signature with it
    "mkfs.vfat": "dosfstools",  # phyllome's cloud-init seed (a vfat disk labelled CIDATA)
    "mcopy": "mtools",       # ... and its files
    "ssh": "openssh-client",  # phyllome ssh runs it
    "ssh-keygen": "openssh-client",  # the L1 user's key, which cloud-init puts in the VMs
}
# Where a tool must also be, besides /usr/local/bin: programs that run it by its full path.
L1_TOOL_LINKS = {"xkbcomp": "/usr/bin/xkbcomp"}  # Xvfb runs "/usr/bin/xkbcomp"
TOOLS_RE = re.compile(r"^#\s*rig-tools:(.*)$", re.M)

# Host data and libraries that scenarios may use in L1, at their host paths: directories (copied
# whole) and libraries (by soname, found with ldconfig; with every library ldd lists). A scenario
# names them on a line "# rig-data: NAME...". NAME: (Debian package, [paths or sonames]).
L1_DATA = {
    "xkb": ("xkb-data", ["/usr/share/X11/xkb"]),   # Xvfb's keyboard descriptions
    # --display window dlopens SDL2 (ldd of phyllome-vmm does not list it); Debian's SDL2 links
    # the X11 libraries it uses (libX11, libXext, libXcursor, libXi, libXrandr, libXss, ...).
    # libX11's locale data: without it XSupportsLocale() fails and SDL's windows get no WM_NAME.
    "sdl2": ("libsdl2-2.0-0 libx11-data", ["libSDL2-2.0.so.0", "/usr/share/X11/locale"]),
    "novnc": ("novnc", ["/usr/share/novnc"]),      # --display vnc=...,web=on serves it
    "phyllome-ui": ("(this repository)", []),       # data/ui at /rig/data/ui, for `phyllome ui`
    # --sound pulse dlopens libpulse-simple; the server loads its modules from their folder.
    "pulse": ("pulseaudio libpulse0", ["libpulse-simple.so.0"]
              + (sorted(glob.glob("/usr/lib/pulse-*/modules")) or ["/usr/lib/pulse-16.1+dfsg1/modules"])[-1:]),
    # data/catalog.json at /rig/data/catalog.json, where /rig/bin/phyllome looks for its catalogue
    "phyllome-catalog": ("(this repository)", []),
    "memtest": ("memtest86+", ["/usr/lib/memtest86+"]),  # its ISOs (the catalogue's memtest86plus)
    # glibc's iconv module for codepage 850 and its index: mtools (mcopy, the manager's cloud-init
    # seed) converts file names from it and fails without it.
    "gconv": ("libc6", [f"/usr/lib/x86_64-linux-gnu/gconv/{f}" for f in (
        "gconv-modules", "gconv-modules.cache", "gconv-modules.d", "IBM850.so")]),
}
DATA_RE = re.compile(r"^#\s*rig-data:(.*)$", re.M)
# The libraries phyllome-vmm loads when a display uses them (src/ui/uilibs.h), always put in L1.
VMM_DISPLAY_LIBS = ["libvncserver.so.1", "libgnutls.so.30", "libpng16.so.16"]
# What the manager loads on first use (src/manager/netlibs.h): downloads, the desktop app, digests.
MGR_NET_LIBS = ["libcurl.so.4", "libmicrohttpd.so.12", "libgnutls.so.30"]

# Host steps: a scenario prints "RIG-HOST NAME [ARG...]" on L1's console; rig.py runs the step
# NAME on the host (a thread; L1 goes on) and types "RIG-HOST-REPLY NAME ok|fail|skip DETAIL"
# into L1's console, which the scenario reads (lib.sh: rig_host). A scenario names the steps it
# uses on a line "# rig-host: NAME..."; the TCP ports in L1 a step reaches are forwarded from
# host ports on 127.0.0.1 through L1's own network card (QEMU user networking, restrict=on, L1
# address 10.0.3.15: not the 10.0.2.0/24 of the passt scenarios' dummy0), which L1 gets only when
# such a scenario runs. NAME: [L1 ports].
HOST_STEPS = {
    # tests/browser/guest.mjs: headless Chromium opens the browser console on L1's port 5900.
    "browser-console": [5900],
    # tests/browser/ui-guest.mjs: headless Chromium opens `phyllome ui` on L1's port 7380.
    "browser-ui": [7380],
    # tests/browser/ui-install.mjs: the same page makes a VM from an installer ISO (ui-installer).
    "browser-ui-install": [7380],
    # tests/browser/sound-guest.mjs: the console page on L1's port 5900 decodes the guest's sound.
    "browser-sound": [5900],
    # The README's demo (--demo --demo-guest desktop, l1/demo.sh): `phyllome ui` on L1's 7380,
    # for the user's browser (not a step: rig.py itself checks it).
    "demo-ui": [7380],
}
HOST_RE = re.compile(r"^#\s*rig-host:(.*)$", re.M)
HOST_LINE_RE = re.compile(r"RIG-HOST (\S+) ?(.*)$")
L1_NET = "10.0.3.0/24"
L1_NET_ADDR = "10.0.3.15"  # lib.sh: host_net_up

RESULT_RE = re.compile(r"RIG-RESULT (ok|not ok|skip) (\S+) ?(.*)$")
START_RE = re.compile(r"RIG-SCENARIO-START (\S+)")
END_RE = re.compile(r"RIG-SCENARIO-END (\S+) ?(\S*)")


def all_scenarios():
    return sorted(p.stem for p in (HERE / "scenarios").glob("*.sh"))


# --extra-scenario files (bench/l1/*.sh) by name: their "# rig-...:" lines count too.
EXTRA_SCENARIOS = {}


def scenario_wants(names, line_re, known, what):
    """What the scenarios NAMES ask for on their "# rig-WHAT: ..." lines (keys of KNOWN)."""
    want = set()
    for n in names:
        p = EXTRA_SCENARIOS.get(n, HERE / "scenarios" / f"{n}.sh")
        for m in line_re.finditer(p.read_text() if p.exists() else ""):
            want.update(m.group(1).split())
    unknown = want - set(known)
    if unknown:
        sys.exit(f"rig: scenarios ask for unknown rig-{what}: {', '.join(sorted(unknown))}")
    return sorted(want)


def scenario_tools(names):
    """The L1_TOOLS that the scenarios NAMES ask for with "# rig-tools: ..." lines."""
    return scenario_wants(names, TOOLS_RE, L1_TOOLS, "tools")


def find_library(soname):
    """The path of the x86-64 library SONAME that ldconfig knows, or None."""
    r = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True)
    for line in r.stdout.splitlines():
        parts = line.strip().split(" => ")
        if len(parts) == 2 and parts[0].split()[0] == soname and "x86-64" in parts[0]:
            return parts[1]
    return None


def free_port(want=0):
    """A TCP port on 127.0.0.1 that nothing listens on now (QEMU's hostfwd takes it): WANT if it
    is free, else any."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", want))
        except OSError:
            s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- a newc cpio writer (no cpio binary, no root needed for device nodes) ------------------------
class Cpio:
    def __init__(self, f):
        self.f = f
        self.ino = 1
        self.dirs = set()

    def _entry(self, name, mode, data=b"", size=None, rdev=(0, 0), src=None):
        name_b = name.encode() + b"\0"
        if size is None:
            size = len(data)
        hdr = "070701" + "".join(
            f"{v:08x}" for v in (self.ino, mode, 0, 0, 1, 0, size, 0, 0, rdev[0], rdev[1],
                                 len(name_b), 0))
        self.ino += 1
        self.f.write(hdr.encode() + name_b)
        self.f.write(b"\0" * (-(110 + len(name_b)) % 4))
        if src is not None:
            with open(src, "rb") as s:
                shutil.copyfileobj(s, self.f, 1 << 20)
        else:
            self.f.write(data)
        self.f.write(b"\0" * (-size % 4))

    def mkdir(self, path):
        path = path.strip("/")
        if not path or path in self.dirs:
            return
        self.mkdir(os.path.dirname(path))
        self.dirs.add(path)
        self._entry(path, stat.S_IFDIR | 0o755)

    def file(self, path, src, mode):
        path = path.strip("/")
        self.mkdir(os.path.dirname(path))
        self._entry(path, stat.S_IFREG | mode, size=os.path.getsize(src), src=src)

    def symlink(self, path, target):
        path = path.strip("/")
        self.mkdir(os.path.dirname(path))
        self._entry(path, stat.S_IFLNK | 0o777, data=target.encode())

    def chardev(self, path, major, minor, mode=0o600):
        path = path.strip("/")
        self.mkdir(os.path.dirname(path))
        self._entry(path, stat.S_IFCHR | mode, rdev=(major, minor))

    def close(self):
        self._entry("TRAILER!!!", 0)
        self.f.write(b"\0" * (-self.f.tell() % 512))


# --- what goes into L1 ----------------------------------------------------------------------------
def ldd_deps(binary):
    """Paths of the shared libraries and dynamic loader that `ldd BINARY` lists."""
    r = subprocess.run(["ldd", str(binary)], capture_output=True, text=True)
    if r.returncode != 0:
        return []  # static binary ("not a dynamic executable")
    deps = []
    for line in r.stdout.splitlines():
        m = re.search(r"=>\s*(/\S+)", line) or re.match(r"\s*(/\S+)", line)
        if m:
            deps.append(m.group(1))
        elif "not found" in line:
            sys.exit(f"rig: {binary}: library not found: {line.strip()}")
    return deps


class Manifest:
    """The L1 initramfs as a list of entries, and a key that changes when any of them does."""

    def __init__(self):
        self.entries = []  # (kind, path, arg...)
        self.paths = set()  # each path once (programs share libraries)
        self.key = hashlib.sha256(CPIO_FORMAT_VERSION.encode())

    def _k(self, *parts):
        self.key.update(repr(parts).encode())

    def file(self, path, src, mode=None, hash_content=False):
        if path.strip("/") in self.paths:
            return
        self.paths.add(path.strip("/"))
        src = Path(src)
        st = src.stat()  # follows symlinks: the archive holds the real file
        if mode is None:
            mode = stat.S_IMODE(st.st_mode)
        self.entries.append(("file", path, str(src), mode))
        if hash_content:
            self._k("file", path, mode, hashlib.sha256(src.read_bytes()).hexdigest())
        else:
            self._k("file", path, mode, str(src.resolve()), st.st_size, st.st_mtime_ns)

    def symlink(self, path, target):
        if path.strip("/") in self.paths:
            return
        self.paths.add(path.strip("/"))
        self.entries.append(("symlink", path, target))
        self._k("symlink", path, target)

    def chardev(self, path, major, minor, mode):
        self.entries.append(("chardev", path, major, minor, mode))
        self._k("chardev", path, major, minor, mode)

    def tree(self, dest, src):
        """Copies a directory tree, keeping symlinks as symlinks."""
        src = Path(src)
        for root, dirs, files in os.walk(src):
            dirs.sort()
            for name in sorted(files) + [d for d in dirs if (Path(root) / d).is_symlink()]:
                p = Path(root) / name
                rel = p.relative_to(src)
                if p.is_symlink():
                    self.symlink(f"{dest}/{rel}", os.readlink(p))
                elif p.is_file():
                    self.file(f"{dest}/{rel}", p)

    def binary(self, path, src):
        """A program plus every shared library ldd lists, each at the path ldd names."""
        self.file(path, src)
        for lib in ldd_deps(src):
            self.file(lib, lib, 0o755)

    def write(self, out):
        tmp = out.with_name(out.name + f".tmp{os.getpid()}")
        with open(tmp, "wb") as f:
            c = Cpio(f)
            for d in ("bin", "sbin", "usr/bin", "usr/sbin", "dev", "proc", "sys", "tmp", "run",
                      "root", "etc", "var/tmp"):
                c.mkdir(d)
            for e in self.entries:
                if e[0] == "file":
                    c.file(e[1], e[2], e[3])
                elif e[0] == "symlink":
                    c.symlink(e[1], e[2])
                elif e[0] == "chardev":
                    c.chardev(e[1], e[2], e[3], e[4])
            c.close()
        os.replace(tmp, out)


def build_l1_initramfs(args):
    m = Manifest()
    m.chardev("dev/console", 5, 1, 0o600)
    m.chardev("dev/null", 1, 3, 0o666)
    m.file("bin/busybox", GUESTS / "busybox", 0o755)
    m.file("init", HERE / "l1" / "init.sh", 0o755, hash_content=True)
    m.file("rig/lib.sh", HERE / "l1" / "lib.sh", 0o644, hash_content=True)
    # The README's demo (--demo-guest desktop): L1's side and the VM's script (scripts/demo.sh).
    m.file("rig/demo.sh", HERE / "l1" / "demo.sh", 0o644, hash_content=True)
    m.file("rig/demo-vm.sh", REPO / "scripts" / "demo-vm.sh", 0o755, hash_content=True)
    for s in sorted((HERE / "scenarios").glob("*.sh")):
        m.file(f"rig/scenarios/{s.name}", s, 0o644, hash_content=True)
    for s in args.extra_scenario:  # e.g. bench/l1/*.sh (not tests: not in all_scenarios())
        m.file(f"rig/scenarios/{Path(s).name}", s, 0o644, hash_content=True)
    for spec in args.add_file:  # DEST=SRC, e.g. benchmark tools
        dest, src = spec.split("=", 1)
        m.file(dest.strip("/"), src, hash_content=True)
    mods = GUESTS / "l1-modules"
    m.file("lib/modules/l1/load-order", mods / "load-order", 0o644, hash_content=True)
    for name in (mods / "load-order").read_text().split():
        m.file(f"lib/modules/l1/{name}", mods / name, 0o644)
    m.file("guest/vmlinuz", GUESTS / "vmlinuz", 0o644)
    m.file("guest/initramfs.cpio.gz", GUESTS / "l2-initramfs.cpio.gz", 0o644)
    disks.add_files(m, args.disks, GUESTS)  # e.g. the Debian system's kernel and initrd
    if args.firmware:
        for name, src in OVMF_FILES.items():
            m.file(f"guest/{name}", src, 0o644)
        m.file("guest/esp.img", GUESTS / "esp.img", 0o644)
        if (GUESTS / "esp-kbd.img").exists():  # the firmware keyboard test's ESP
            m.file("guest/esp-kbd.img", GUESTS / "esp-kbd.img", 0o644)
        if (GUESTS / "grub.img").exists():  # tests/guests/build-esp.sh, with GRUB installed
            m.file("guest/grub.img", GUESTS / "grub.img", 0o644)
        if (GUESTS / "grub-b.img").exists():  # the boot order test's second loader
            m.file("guest/grub-b.img", GUESTS / "grub-b.img", 0o644)
        if (GUESTS / "sb.img").exists():  # tests/guests/build-sb-esp.sh: the signed chain
            m.file("guest/sb.img", GUESTS / "sb.img", 0o644)
        for name in SB_OWN_FILES:
            if (GUESTS / name).exists():
                m.file(f"guest/{name}", GUESTS / name, 0o644)
        for iso in ("efi.iso", "efi-hybrid.iso", "efi-grub.iso"):  # tests/guests/build-iso.sh (uefi-cdrom)
            if (GUESTS / iso).exists():
                m.file(f"guest/{iso}", GUESTS / iso, 0o644)
    if (GUESTS / "data.iso").exists():  # tests/guests/build-iso.sh, with xorriso (cdrom)
        m.file("guest/data.iso", GUESTS / "data.iso", 0o644)
    if (GUESTS / "hostile.bzImage").exists():
        m.file("guest/hostile.bzImage", GUESTS / "hostile.bzImage", 0o644)
    if args.vmm:
        m.binary("rig/bin/phyllome-vmm", args.vmm)
        # What phyllome-vmm loads when a display uses it (src/ui/uilibs.c): ldd does not list it.
        for soname in VMM_DISPLAY_LIBS:
            lib = find_library(soname)
            if lib:
                m.binary(lib.lstrip("/"), lib)
        jail = Path(args.vmm).with_name("phyllome-jail")  # built beside it (scenario jail)
        if jail.is_file():
            m.binary("rig/bin/phyllome-jail", jail)
        mgr = Path(args.vmm).with_name("phyllome")  # the manager (scenario manager)
        if mgr.is_file():
            m.binary("rig/bin/phyllome", mgr)
            for soname in MGR_NET_LIBS:
                lib = find_library(soname)
                if lib:
                    m.binary(lib.lstrip("/"), lib)
        # The display scenarios' VNC client and X window dump converter; the sound scenario's
        # WAV tool.
        for tool in ("rfbtool", "xwd2ppm", "wavtool"):
            path = Path(args.vmm).parent / "tests" / tool
            if path.is_file():
                m.binary(f"rig/bin/{tool}", path)
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])
    for tool in scenario_tools(args.scenarios):
        path = shutil.which(tool, path=search)
        if path:
            m.binary(f"usr/local/bin/{tool}", path)
        else:
            print(f"rig: warning: {tool} not found on the host (Debian package {L1_TOOLS[tool]});"
                  " scenarios that need it fail", file=sys.stderr)
        if tool == "mke2fs" and os.path.isfile("/etc/mke2fs.conf"):
            m.file("etc/mke2fs.conf", "/etc/mke2fs.conf", 0o644, hash_content=True)
        if path and tool in L1_TOOL_LINKS:
            m.symlink(L1_TOOL_LINKS[tool].lstrip("/"), f"/usr/local/bin/{tool}")
    for name in scenario_wants(args.scenarios, DATA_RE, L1_DATA, "data"):
        if name == "phyllome-ui":  # beside /rig/bin/phyllome, where it looks (../data/ui)
            m.tree("rig/data/ui", str(REPO / "data" / "ui"))
        if name == "phyllome-catalog":
            m.file("rig/data/catalog.json", str(REPO / "data" / "catalog.json"), 0o644, hash_content=True)
        pkg, items = L1_DATA[name]
        for item in items:
            if item.startswith("/"):
                if os.path.isdir(item):
                    m.tree(item.lstrip("/"), item)
                    continue
                if os.path.isfile(item):
                    m.file(item.lstrip("/"), item)
                    continue
            else:
                lib = find_library(item)
                if lib:
                    m.binary(lib.lstrip("/"), lib)
                    continue
            print(f"rig: warning: {item} not found on the host (Debian package {pkg});"
                  " scenarios that need it fail", file=sys.stderr)
    if args.l2_vmm == "qemu" or args.with_qemu:
        qemu = shutil.which("qemu-system-x86_64")
        if not qemu:
            sys.exit("rig: qemu-system-x86_64 not found (scripts/setup-deps.sh installs it)")
        m.binary("usr/bin/qemu-system-x86_64", qemu)
        for d in ("/usr/share/qemu", "/usr/share/seabios"):
            if os.path.isdir(d):
                m.tree(d.lstrip("/"), d)
    key = m.key.hexdigest()[:20]
    out = RIG_CACHE / f"l1-{key}.cpio"
    if out.exists():
        out.touch()
        return out, True
    RIG_CACHE.mkdir(parents=True, exist_ok=True)
    m.write(out)
    # Keep the most recently used images: one per rig group that may run at once (a retry
    # rebuilds one that went).
    olds = sorted(RIG_CACHE.glob("l1-*.cpio"), key=lambda p: p.stat().st_mtime, reverse=True)
    for p in olds[12:]:
        p.unlink(missing_ok=True)
    return out, False


def host_kvm_note():
    """One line about the host's own virtualization, for the user."""
    mods = {p.name for p in Path("/sys/module").glob("kvm*")} if Path("/sys/module").is_dir() else set()
    if not os.path.exists("/dev/kvm"):
        return "host: no /dev/kvm (no hardware virtualization here)"
    if "kvm_pvm" in mods:
        return "host: /dev/kvm is PVM, not hardware virtualization"
    if "kvm_amd" in mods or "kvm_intel" in mods:
        return "host: /dev/kvm is hardware KVM (the rig emulates anyway)"
    return "host: /dev/kvm present, vendor module unknown"


# --- running L1 -----------------------------------------------------------------------------------
def qemu_command(args, initrd, append, console_args):
    return [args.outer_qemu, "-accel", "tcg", "-machine", "q35", "-cpu", "max",
            "-m", args.l1_mem, "-smp", str(args.l1_smp), "-no-reboot", "-nodefaults",
            "-no-user-config", "-display", "none", *console_args,
            *disks.qemu_args(args.disks, GUESTS),
            "-kernel", str(args.l1_kernel), "-initrd", str(initrd), "-append", append]


def l1_append(args, mode, interactive=False):
    parts = ["console=ttyS0", "panic=-1", "rig.mode=" + mode, "rig.l2vmm=" + args.l2_vmm,
             "rig.interactive=" + ("1" if interactive else "0")]
    if mode == "test":
        parts.append("rig.scenarios=" + ",".join(args.scenarios))
    else:
        parts.append("rig.demo_guest=" + args.demo_guest)
    if not args.verbose_l1:
        parts.append("quiet")
    return " ".join(parts + args.l1_append)


class Reporter:
    """Prints results as TAP (--tap) or as plain lines with a closing 'N passed, N failed' line."""

    def __init__(self, tap, log_path):
        self.tap = tap
        self.n = 0
        self.passed = self.failed = self.skipped = 0
        self.log_path = log_path
        self.l1_finished = False

    def comment(self, text):
        if self.tap:
            print(f"# {text}", flush=True)
        else:
            print(text, file=sys.stderr, flush=True)

    def result(self, status, name, detail=""):
        self.n += 1
        if status == "ok":
            self.passed += 1
            line = f"ok {self.n} - {name}" if self.tap else f"PASS {name}"
        elif status == "skip":
            self.skipped += 1
            line = f"ok {self.n} - {name} # SKIP {detail}" if self.tap else f"SKIP {name}: {detail}"
            detail = ""
        else:
            self.failed += 1
            line = f"not ok {self.n} - {name}" if self.tap else f"FAIL {name}"
        print(line, flush=True)
        if detail:
            if self.tap:
                print(f"# {name}: {detail}", flush=True)
            else:
                print(f"     {detail}", flush=True)

    def finish(self):
        if self.tap:
            print(f"1..{self.n}", flush=True)
        else:
            s = f", {self.skipped} skipped" if self.skipped else ""
            print(f"{self.passed} passed, {self.failed} failed{s}", flush=True)


def host_net(args, same_port=False):
    """L1's network card when a scenario has host steps: QEMU options and {L1 port: host port}
    (SAME_PORT: the L1 port's number on the host too when it is free)."""
    steps = scenario_wants(args.scenarios, HOST_RE, HOST_STEPS, "host")
    ports = {p: free_port(p if same_port else 0) for step in steps for p in HOST_STEPS[step]}
    if not steps:
        return [], ports
    fwd = "".join(f",hostfwd=tcp:127.0.0.1:{h}-{L1_NET_ADDR}:{p}" for p, h in ports.items())
    # restrict=on: L1 reaches neither the host nor the outside; the forwarded ports still work.
    # romfile=: no iPXE option ROM (L1 boots a kernel directly).
    return ["-netdev", f"user,id=rignet,restrict=on,net={L1_NET}{fwd}",
            "-device", "virtio-net-pci,netdev=rignet,romfile="], ports


def browser_node(script, *argv, timeout=600):
    """Runs tests/browser/SCRIPT ARGV... with node and Debian's Chromium (its path where ARGV has
    None): ("ok"|"fail", the output's last lines), or ("skip", why) when the host lacks what it
    needs."""
    here = REPO / "tests" / "browser"
    chrome = shutil.which("chromium") or shutil.which("chromium-browser")
    missing = [what for what, ok in (("node", shutil.which("node")), ("chromium", chrome),
               ("playwright-core (npm install in tests/browser)",
                (here / "node_modules" / "playwright-core").is_dir())) if not ok]
    if missing:
        return "skip", "missing on the host: " + ", ".join(missing)
    argv = [chrome if a is None else a for a in argv]
    r = subprocess.run(["node", str(here / script), *argv], capture_output=True, text=True,
                       timeout=timeout)
    out = [ln.strip() for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]
    ok = r.returncode == 0 and any(ln.startswith("DONE") for ln in out)
    return ("ok" if ok else "fail"), "; ".join(out[-8:]) or f"exit status {r.returncode}"


def host_browser_console(args, ports, words):
    """Host step browser-console WxH TEXT...: tests/browser/guest.mjs opens the console page on
    L1's port 5900 in headless Chromium, checks the canvas against the guest's four bands and
    types TEXT + Enter into the page. Returns (status, detail)."""
    if len(words) < 2 or not re.fullmatch(r"\d+x\d+", words[0]):
        return "fail", f"browser-console: expected 'WxH TEXT...', got {' '.join(words)!r}"
    # The console listens on L1's 0.0.0.0, which needs a password (the scenario sets this one);
    # the page takes it from the address's fragment, which never reaches the server.
    url = f"http://127.0.0.1:{ports[5900]}/#password=rigpass1"
    return browser_node("guest.mjs", url, words[0], " ".join(words[1:]), None)


def host_browser_sound(args, ports, words):
    """Host step browser-sound SECS: tests/browser/sound-guest.mjs opens the console page on L1's
    port 5900 (password rigpass1, as browser-console) and waits for SECS seconds of the guest's
    sound in the page's decoder."""
    if len(words) != 1 or not re.fullmatch(r"\d+(\.\d+)?", words[0]):
        return "fail", f"browser-sound: expected 'SECS', got {' '.join(words)!r}"
    return browser_node("sound-guest.mjs", f"http://127.0.0.1:{ports[5900]}/#password=rigpass1",
                        words[0], None)


def ui_step(script, step, ports, words):
    """Host step STEP /login?token=T: tests/browser/SCRIPT drives `phyllome ui` on L1's port
    7380 in headless Chromium (screenshots into $PHYLLOME_UI_SHOTS when set)."""
    if len(words) != 1 or not re.fullmatch(r"/login\?token=[0-9a-f]+", words[0]):
        return "fail", f"{step}: expected '/login?token=HEX', got {' '.join(words)!r}"
    shots = [os.environ["PHYLLOME_UI_SHOTS"]] if os.environ.get("PHYLLOME_UI_SHOTS") else []
    return browser_node(script, f"http://127.0.0.1:{ports[7380]}{words[0]}", None, *shots,
                        timeout=1000)


def host_browser_ui(args, ports, words):
    """Host step browser-ui: tests/browser/ui-guest.mjs (the scenario ui-browser)."""
    return ui_step("ui-guest.mjs", "browser-ui", ports, words)


def host_browser_ui_install(args, ports, words):
    """Host step browser-ui-install: tests/browser/ui-install.mjs (the scenario ui-installer)."""
    return ui_step("ui-install.mjs", "browser-ui-install", ports, words)


HOST_STEP_RUN = {"browser-console": host_browser_console, "browser-ui": host_browser_ui,
                 "browser-ui-install": host_browser_ui_install, "browser-sound": host_browser_sound}


def run_host_step(args, ports, line, reply):
    """Runs the host step that LINE ("NAME ARG...") names; REPLY(text) sends its result to L1."""
    m = HOST_LINE_RE.search(line)
    name, words = m.group(1), m.group(2).split()
    if name not in HOST_STEP_RUN or not all(p in ports for p in HOST_STEPS.get(name, [])):
        status, detail = "fail", f"no host step {name} (or no '# rig-host: {name}' line)"
    else:
        try:
            status, detail = HOST_STEP_RUN[name](args, ports, words)
        except Exception as e:  # the scenario reports it, as any failure
            status, detail = "fail", f"{type(e).__name__}: {e}"
    # One line, and nothing rig.py's own parsing would take for a result.
    detail = re.sub(r"\s+", " ", detail).replace("RIG-", "RIG_")[:1500]
    reply(f"RIG-HOST-REPLY {name} {status} {detail}\n")


def cpu_seconds(pid):
    """User + system CPU seconds a process has used (None if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def run_tests(args, initrd, log_path):
    rep = Reporter(args.tap, log_path)
    rep.comment(host_kvm_note() + "; guests run nested: L1 = QEMU TCG, L2 on L1's kvm-amd")
    # The outer QEMU (TCG) has been seen to stop for good, rarely: no console output and no CPU
    # use, with scenarios half done. Such an L1 is killed, and the scenarios an L1 that stalled,
    # panicked or ended early did not finish run once more in a new one (a second time fails
    # them; an L1 out of time is not retried).
    t0 = time.monotonic()
    outcome = run_l1(args, initrd, log_path, rep, retry_left=args.stall > 0)
    if outcome is not None:
        remaining, why = outcome
        rep.comment(f"rig: {why}; running {','.join(remaining)} once more in a new L1")
        args.scenarios = remaining
        args.timeout = max(60, int(args.timeout - (time.monotonic() - t0)))  # one budget
        if not initrd.exists():  # other rigs' images pushed it out of the cache meanwhile
            initrd, _ = build_l1_initramfs(args)
        outcome = run_l1(args, initrd, log_path.with_name(log_path.stem + "-retry.log"), rep,
                         retry_left=False)
    rep.finish()
    if args.tap:
        return 0
    return 1 if rep.failed or not rep.l1_finished else 0


def run_l1(args, initrd, log_path, rep, retry_left):
    """Boots one L1 for args.scenarios and reports their results into rep. Returns None, or, when
    L1 stalled and retry_left, (scenarios not finished, why) without reporting those."""
    net, ports = host_net(args)
    cmd = qemu_command(args, initrd, l1_append(args, "test"),
                       ["-chardev", "stdio,id=con,signal=off", "-serial", "chardev:con", *net])
    t0 = time.monotonic()
    log = open(log_path, "w", errors="replace")
    log.write("# " + " ".join(cmd) + "\n# [host seconds since QEMU started] L1 console\n")
    # L1's console input: host steps' replies (nothing else is ever typed there).
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    stdin_lock = threading.Lock()

    def reply(text):
        with stdin_lock:
            try:
                proc.stdin.write(text.encode())
                proc.stdin.flush()
            except (BrokenPipeError, ValueError):
                pass  # L1 is gone

    lines = []
    cond = threading.Condition()
    done = [False]

    def reader():
        for raw in proc.stdout:
            text = raw.decode("utf-8", "replace").rstrip("\r\n").replace("\r", "")
            if not text.strip():
                continue  # the echo of a nudge (below), or an empty line: not news from L1
            log.write(f"[{time.monotonic() - t0:8.3f}] {text}\n")
            log.flush()
            with cond:
                lines.append(text)
                cond.notify()
        with cond:
            done[0] = True
            cond.notify()

    threading.Thread(target=reader, daemon=True).start()

    started, ended, results = {}, {}, {}
    current = None
    l1_boot = None
    finished = False
    deadline = t0 + args.timeout
    why_end = None
    stalled = False
    quiet_since, cpu_then = t0, 0.0
    silent_since = t0  # the last console line, whatever the CPU did since
    # The outer QEMU's stalls (above) are an idle L1 whose timer interrupt never comes: its
    # soft-lockup watchdog, once woken, says "CPU#0 stuck for 443s! [swapper/0:0]", and any
    # interrupt wakes it. So an L1 silent for NUDGE seconds gets an empty line on its console
    # (the serial port's interrupt); the scenarios' stdin is /dev/null (l1/init.sh), rig_host's
    # read skips empty lines, and the echo is not logged.
    nudged = t0
    i = 0
    while True:
        with cond:
            # At most a second's wait: the stall check below runs while L1 is silent too.
            if i >= len(lines) and not done[0]:
                cond.wait(max(0.0, min(deadline - time.monotonic(), 1.0)))
            batch, i = lines[i:], len(lines)
            eof = done[0] and i >= len(lines)
        now = time.monotonic()
        if batch:
            quiet_since, cpu_then = now, cpu_seconds(proc.pid) or 0.0
            silent_since = now
        elif args.stuck > 0 and now - silent_since > args.stuck:
            # Busy but saying nothing for longer than any scenario's timeouts add up to: the
            # outer QEMU was seen spinning so (CI, rig-debian, 2026-12-07), L1 silent for good.
            stalled = True
            why_end = f"L1 stuck: no console output for {now - silent_since:.0f}s"
            break
        elif args.stall > 0 and now - quiet_since > args.stall:
            cpu = cpu_seconds(proc.pid)
            if cpu is not None and cpu - cpu_then < 0.01 * (now - quiet_since):
                stalled = True
                why_end = (f"L1 stalled: no console output for {now - quiet_since:.0f}s and "
                           f"{cpu - cpu_then:.1f}s of the outer QEMU's CPU in that time")
                break
            quiet_since, cpu_then = now, cpu if cpu is not None else cpu_then
        if args.nudge > 0 and now - max(silent_since, nudged) >= args.nudge:
            reply("\n")
            nudged = now
        for text in batch:
            if "rig: " in text and "RIG-RESULT" not in text:
                msg = text[text.index("rig: "):]
                if l1_boot is None and msg.startswith("rig: L1 is"):
                    l1_boot = time.monotonic() - t0
                    msg += f" (L1 booted in {l1_boot:.1f}s)"
                rep.comment(msg)
            if HOST_LINE_RE.search(text):
                rep.comment(f"host step: {HOST_LINE_RE.search(text).group(0)}")
                threading.Thread(target=run_host_step, args=(args, ports, text, reply),
                                 daemon=True).start()
            elif m := START_RE.search(text):
                current = m.group(1)
                started[current] = time.monotonic()
            elif m := RESULT_RE.search(text):
                st, name, detail = m.groups()
                results.setdefault(current or name, []).append(name)
                rep.result(st, name, detail.strip())
            elif m := END_RE.search(text):
                name = m.group(1)
                ended[name] = time.monotonic() - started.get(name, t0)
                if not results.get(name):
                    rep.result("not ok", name, "scenario reported no result")
                rep.comment(f"scenario {name}: {ended[name]:.1f}s")
                current = None
            elif "RIG-DONE" in text:
                finished = True
            elif "Kernel panic" in text and "RIG-" not in text:
                why_end = "L1 kernel panic"
        if eof:
            break
        if time.monotonic() >= deadline:
            why_end = f"global timeout ({args.timeout}s)"
            break
    if proc.poll() is None:
        try:
            proc.wait(timeout=20 if finished else 0.1)
        except subprocess.TimeoutExpired:
            pass
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    total = time.monotonic() - t0
    log.close()
    if not finished and not why_end:
        why_end = f"L1 ended (QEMU exit status {proc.returncode}) before finishing"
    rep.l1_finished = finished
    # An L1 that stalled, panicked or exited early (not one out of time) gets one more chance.
    early = not finished and not why_end.startswith("global timeout")
    if (stalled or early) and retry_left:
        rep.comment(f"L1 console log: {log_path}; its last lines:")
        for text in lines[-12:]:
            rep.comment(f"| {text[:200]}")
        return [s for s in args.scenarios if s not in ended], why_end
    for s in args.scenarios:
        if s not in ended:
            what = "was running" if s == current else "never ran"
            rep.result("not ok", s, f"{what} when the rig stopped: {why_end}")
    boot = f"L1 boot {l1_boot:.1f}s" if l1_boot else "L1 never booted"
    per = "".join(f", {k} {v:.1f}s" for k, v in ended.items())
    rep.comment(f"timings: {boot}{per}; total {total:.1f}s")
    if rep.failed or not finished:
        rep.comment(f"L1 console log: {log_path}")
    return None


def run_demo(args, initrd, log_path):
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    console = ["-chardev", f"stdio,id=con,mux=on,signal=off,logfile={log_path}",
               "-serial", "chardev:con", "-mon", "chardev=con,mode=readline"]
    cmd = qemu_command(args, initrd, l1_append(args, "demo", interactive), console)
    print(f"rig: {host_kvm_note()}; the demo runs nested (L1 = QEMU TCG, L2 on L1's kvm-amd)",
          file=sys.stderr)
    if interactive:
        print("rig: demo: type into the L2 shell; 'poweroff' ends it; Ctrl-A x quits QEMU",
              file=sys.stderr)
    print(f"rig: console log: {log_path}", file=sys.stderr, flush=True)
    stdin = None if interactive else subprocess.DEVNULL
    try:
        rc = subprocess.run(cmd, stdin=stdin, timeout=None if interactive else args.timeout).returncode
    except subprocess.TimeoutExpired:
        print(f"rig: demo: global timeout ({args.timeout}s)", file=sys.stderr)
        return 1
    finally:
        if interactive:
            subprocess.run(["stty", "sane"], stdin=sys.stdin, check=False)
    return rc


def main():
    ap = argparse.ArgumentParser(prog="run-rig.sh", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vmm", help="phyllome-vmm binary to put in L1")
    ap.add_argument("--l2-vmm", choices=("phyllome", "qemu"), default="phyllome",
                    help="VMM that scenarios run in L1 (default phyllome; qemu: Debian's QEMU)")
    ap.add_argument("--with-qemu", action="store_true",
                    help="also put QEMU in L1 (for side-by-side scenarios)")
    ap.add_argument("--scenarios", help="comma-separated scenario names (default: all)")
    ap.add_argument("--list", action="store_true", help="list the scenarios and exit")
    ap.add_argument("--extra-scenario", action="append", default=[], metavar="PATH",
                    help="also a scenario from outside tests/rig/scenarios (e.g. bench/l1/NAME.sh);"
                         " with these, the default scenario list is just these")
    ap.add_argument("--add-file", action="append", default=[], metavar="DEST=SRC",
                    help="also put file SRC into L1 at /DEST (e.g. benchmark tools)")
    ap.add_argument("--tap", action="store_true", help="TAP on stdout (for Meson)")
    ap.add_argument("--demo", action="store_true",
                    help="interactive L2 shell on this terminal (scripted if stdin is no tty)")
    ap.add_argument("--demo-guest", choices=("busybox", "debian", "desktop"), default="busybox",
                    help="the demo's L2: the busybox initramfs, the Debian system (rig-disk) on"
                         " this console, or desktop: the Debian system with a screen in"
                         " `phyllome ui`, reached from the host through a forwarded port"
                         " (scripts/demo.sh; runs until Ctrl-C)")
    ap.add_argument("--demo-check", action="store_true",
                    help="with --demo-guest desktop: exit 0 once the app answers through the"
                         " forwarded port (sign-in, the VM running in its list, its screenshot)"
                         " and the guest's login prompt is on its screen; else 1")
    ap.add_argument("--timeout", type=int, default=int(os.environ.get("RIG_TIMEOUT", 1500)),
                    help="global timeout in seconds (default 1500, or $RIG_TIMEOUT)")
    ap.add_argument("--stall", type=int, default=300,
                    help="an L1 silent and idle this many seconds has stalled: kill it and run "
                         "its unfinished scenarios once more in a new L1 (0: never; default 300)")
    ap.add_argument("--nudge", type=int, default=15,
                    help="an L1 silent this many seconds gets an empty line on its console, whose"
                         " interrupt wakes an idle L1 that lost its timer (0: never; default 15)")
    ap.add_argument("--stuck", type=int, default=600,
                    help="an L1 silent this many seconds, busy or not, is stuck: killed and its "
                         "unfinished scenarios run once more, as for --stall (0: never; "
                         "default 600: a scenario's waits add up to less)")
    ap.add_argument("--log-dir", default=os.environ.get("RIG_LOG_DIR"),
                    help="where L1's console log goes (default build/rig-logs in the repository"
                         " if build/ exists, else ./rig-logs)")
    ap.add_argument("--log-name", help="log file name (default rig-<first scenario>.log)")
    ap.add_argument("--outer-qemu", default=os.environ.get("RIG_OUTER_QEMU", "qemu-system-x86_64"),
                    help="QEMU that runs L1 (e.g. a patched 10.0 for firmware guests)")
    ap.add_argument("--firmware", action="store_true",
                    help="firmware guests: OVMF and an EFI system partition image into L1, and"
                         " the outer QEMU built with the fix for OVMF's TCG bug (build-qemu.sh)")
    ap.add_argument("--l1-mem", default="4G")
    ap.add_argument("--l1-smp", type=int, default=1)
    ap.add_argument("--l1-kernel",
                    help="L1 kernel (default: the guests' vmlinux, booted through its PVH entry"
                         " as TCG is slow at decompressing a bzImage; else vmlinuz)")
    ap.add_argument("--l1-append", action="append", default=[],
                    help="extra L1 kernel parameters")
    ap.add_argument("--verbose-l1", action="store_true", help="L1 kernel boots without 'quiet'")
    ap.add_argument("--no-build-guests", action="store_true",
                    help="don't run tests/guests/build-guests.sh (use its cached outputs)")
    args = ap.parse_args()

    if args.list:
        print("\n".join(all_scenarios()))
        return 0
    if args.l2_vmm == "phyllome":
        if not args.vmm:
            ap.error("--vmm PATH is needed (or --l2-vmm qemu)")
    if args.vmm:
        args.vmm = os.path.abspath(args.vmm)
        if not os.path.isfile(args.vmm):
            # Report it as a TAP failure rather than an error, so Meson shows why.
            msg = f"VMM binary {args.vmm} does not exist"
            if args.tap:
                print(f"not ok 1 - rig-setup\n# {msg}\n1..1")
                return 0
            sys.exit(f"rig: {msg}")
    extra = [Path(p).stem for p in args.extra_scenario]
    EXTRA_SCENARIOS.update({Path(p).stem: Path(p) for p in args.extra_scenario})
    args.scenarios = args.scenarios.split(",") if args.scenarios else (extra or all_scenarios())
    unknown = [s for s in args.scenarios if s not in all_scenarios() + extra]
    if unknown:
        ap.error(f"unknown scenario(s): {', '.join(unknown)} (have: {', '.join(all_scenarios())})")

    t = time.monotonic()
    if not args.no_build_guests or not (GUESTS / "l2-initramfs.cpio.gz").exists():
        r = subprocess.run(["bash", str(GUESTS_BUILD)], stdout=sys.stderr)
        if r.returncode != 0:
            sys.exit("rig: tests/guests/build-guests.sh failed")
    # "# rig-disk:" lines: images for L1's disks (disks.py), built by their recipes when missing
    # or changed.
    args.disks = scenario_wants(args.scenarios, disks.DISK_RE, disks.L1_DISKS, "disk")
    if args.demo and args.demo_guest == "desktop":
        # l1/demo.sh's "# rig-...:" lines choose L1's tools, data, disk and forwarded port.
        EXTRA_SCENARIOS["demo"] = HERE / "l1" / "demo.sh"
        args.scenarios = ["demo"]
        args.disks = scenario_wants(args.scenarios, disks.DISK_RE, disks.L1_DISKS, "disk")
    elif args.demo:
        args.disks = ["debian"] if args.demo_guest == "debian" else []
    disks.build(args.disks, GUESTS, rebuild=not args.no_build_guests)
    if args.firmware:
        missing = [src for src in OVMF_FILES.values() if not os.path.isfile(src)]
        if missing:
            sys.exit(f"rig: --firmware: {', '.join(missing)} missing (Debian package ovmf)")
        r = subprocess.run(["bash", str(ESP_BUILD)], stdout=subprocess.DEVNULL)
        if r.returncode != 0:
            sys.exit("rig: tests/guests/build-esp.sh failed")
        # The signed chain (shim, GRUB from Debian's packages): its scenarios skip without it.
        subprocess.run(["bash", str(SB_ESP_BUILD)], stdout=subprocess.DEVNULL)
        # The test's own keys (openssl, sbsigntool, python3-virt-firmware): without them the
        # uefi-secboot-own scenarios skip.
        subprocess.run(["bash", str(SB_OWN_BUILD)], stdout=subprocess.DEVNULL)
        r = subprocess.run(["nice", "bash", str(QEMU_BUILD)], stdout=subprocess.PIPE, text=True)
        if r.returncode != 0:
            sys.exit("rig: tests/rig/build-qemu.sh failed (the patched outer QEMU)")
        args.outer_qemu = r.stdout.strip().splitlines()[-1]
    # The CD-ROM test discs (cached; nothing without xorriso: the cdrom scenarios then skip).
    r = subprocess.run(["bash", str(ISO_BUILD)], stdout=subprocess.DEVNULL)
    if r.returncode != 0:
        sys.exit("rig: tests/guests/build-iso.sh failed")
    if not args.l1_kernel:
        vmlinux = GUESTS / "vmlinux"
        args.l1_kernel = vmlinux if vmlinux.exists() else GUESTS / "vmlinuz"
    initrd, cached = build_l1_initramfs(args)
    prep = time.monotonic() - t
    if args.log_dir:
        log_dir = Path(args.log_dir).resolve()
    elif (REPO / "build").is_dir():
        log_dir = REPO / "build" / "rig-logs"
    else:
        log_dir = Path("rig-logs").resolve()
    log_dir.mkdir(parents=True, exist_ok=True)
    name = args.log_name or ("demo" if args.demo else args.scenarios[0]
                             + (f"-and-{len(args.scenarios) - 1}-more" if len(args.scenarios) > 1 else ""))
    log_path = log_dir / f"rig-{args.l2_vmm}-{name}.log"
    size = initrd.stat().st_size / 1e6
    msg = (f"rig: L1 initramfs {initrd.name} ({size:.0f} MB, {'cached' if cached else 'built'});"
           f" preparation {prep:.1f}s")
    if args.tap:
        print(f"# {msg}", flush=True)
    else:
        print(msg, file=sys.stderr, flush=True)
    if args.demo and args.demo_guest == "desktop":
        net, ports = host_net(args, same_port=True)
        cmd = qemu_command(args, initrd, l1_append(args, "demo"),
                           ["-chardev", "stdio,id=con,signal=off", "-serial", "chardev:con", *net])
        return demo_desktop.run(args, cmd, ports[7380], log_path, host_kvm_note())
    if args.demo:
        return run_demo(args, initrd, log_path)
    return run_tests(args, initrd, log_path)


if __name__ == "__main__":
    sys.exit(main())
