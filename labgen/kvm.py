"""Is KVM really usable on this host, or must libvirt fall back to QEMU's TCG emulation?

A readable /dev/kvm is not enough. On some cloud hosts /dev/kvm belongs to a "PVM" flavour of
KVM (module kvm_pvm: virtualisation without VT-x/AMD-V) that runs only paravirtualised guests:
a stock guest's boot loader stops at once with "KVM internal error ... emulation failure" and
libvirt leaves the domain paused, so `vagrant up` waits forever. The verdict therefore needs:

1. /dev/kvm, readable and writable;
2. a hardware KVM module (kvm_intel or kvm_amd) — kvm_pvm alone means guests cannot boot;
3. a tiny guest really running under `qemu -accel kvm`: a 512-byte boot sector that enters
   32-bit protected mode and exits QEMU through its isa-debug-exit port. This catches what the
   files cannot say (VT-x held by another hypervisor, nested virtualisation switched off).

The probe costs about 0.1 s on a working KVM (bounded by PROBE_TIMEOUT otherwise); the verdict
is cached per boot of the host (keyed by /proc/sys/kernel/random/boot_id and the QEMU binary).
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PROBE_TIMEOUT = 20.0  # seconds; a healthy probe takes ~0.1 s
EMULATED_AFTER = 3.0  # seconds: KVM that only emulates (PVM) took 2.7-9.6 s here
EXIT_OK = (0x10 << 1) | 1  # QEMU's exit status when the guest writes 0x10 to port 0xf4
QEMU_BINARIES = ("qemu-system-x86_64", "/usr/libexec/qemu-kvm", "/usr/bin/qemu-kvm")
TCG_COST_SHORT = "~60 s per VM to SSH, ~0.6 GB host memory per VM, package installs 6-7x slower"
TCG_COST = (
    "QEMU TCG emulates the CPU: a Debian VM needs about 60 s to answer SSH and "
    "0.6 GB of host memory, package installs run 6-7x slower, and every extra VM "
    "adds about 40 s on 2 cores"
)


@dataclass(frozen=True)
class Verdict:
    usable: bool
    reason: str  # one line: why (not) usable

    @property
    def driver(self) -> str:
        """vagrant-libvirt's `libvirt.driver`: "kvm" or "qemu" (TCG)."""
        return "kvm" if self.usable else "qemu"


def boot_sector() -> bytes:
    """The probe guest: real mode -> 32-bit protected mode -> `out 0xf4, 0x10` (QEMU exits)."""
    org = 0x7C00
    code = bytearray.fromhex("FA31C08ED8")  # cli; xor ax,ax; mov ds,ax
    lgdt = len(code)
    code += bytes.fromhex("0F01160000")  # lgdt [gdtr]
    code += bytes.fromhex("0F20C00C010F22C0")  # mov eax,cr0; or al,1; mov cr0,eax
    jump = len(code)
    code += bytes.fromhex("EA00000800")  # jmp 0x08:pm
    pm = len(code)
    code += bytes.fromhex("66B810008ED88ED0")  # mov ax,0x10; mov ds,ax; mov ss,ax
    code += bytes.fromhex("B010E6F4F4EBFD")  # mov al,0x10; out 0xf4,al; hlt; jmp $-1
    code += b"\x90" * (-len(code) % 8)
    gdt = len(code)
    code += bytes(8) + bytes.fromhex("FFFF0000009ACF00") + bytes.fromhex("FFFF00000092CF00")
    gdtr = len(code)
    code += struct.pack("<HI", 23, org + gdt)
    code[lgdt + 3 : lgdt + 5] = struct.pack("<H", org + gdtr)
    code[jump + 1 : jump + 3] = struct.pack("<H", org + pm)
    return bytes(code) + bytes(510 - len(code)) + b"\x55\xaa"


def qemu_binary() -> str | None:
    for name in QEMU_BINARIES:
        path = shutil.which(name) if "/" not in name else (name if os.access(name, os.X_OK) else None)
        if path:
            return path
    return None


def static_verdict(dev: Path = Path("/dev/kvm"), modules: Path = Path("/sys/module")) -> Verdict | None:
    """The verdict the files give on their own: a Verdict(False) when KVM cannot work, None when
    only a real run can tell."""
    if not dev.exists():
        return Verdict(False, "/dev/kvm does not exist (no hardware virtualisation exposed to this host)")
    if not os.access(dev, os.R_OK | os.W_OK):
        return Verdict(False, "/dev/kvm is not readable and writable for this user (groups kvm, libvirt)")
    hardware = [m for m in ("kvm_intel", "kvm_amd") if (modules / m).is_dir()]
    if not hardware:
        flavour = (
            "a PVM flavour of KVM (module kvm_pvm)"
            if (modules / "kvm_pvm").is_dir()
            else "no kvm_intel or kvm_amd module"
        )
        return Verdict(False, f"/dev/kvm is {flavour}: stock guests stop in the BIOS with an emulation failure")
    return None


def run_probe(qemu: str, timeout: float = PROBE_TIMEOUT) -> Verdict:
    """Boot the probe sector under `qemu -accel kvm`. Changes nothing on the host but a temp file."""
    with tempfile.TemporaryDirectory(prefix="labgen-kvm-") as tmp:
        disk = Path(tmp, "probe.img")
        disk.write_bytes(boot_sector())
        cmd = [
            qemu,
            "-accel",
            "kvm",
            "-machine",
            "pc",
            "-display",
            "none",
            "-nodefaults",
            "-m",
            "16",
            "-no-reboot",
            "-drive",
            f"file={disk},format=raw,if=ide",
            "-device",
            "isa-debug-exit,iobase=0xf4,iosize=4",
        ]
        start = time.monotonic()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return Verdict(
                False, f"a test guest under qemu -accel kvm did not finish within {timeout:g} s (KVM stops or crawls)"
            )
        except OSError as exc:
            return Verdict(False, f"cannot run {qemu}: {exc.strerror}")
    took = time.monotonic() - start
    if proc.returncode == EXIT_OK and took > EMULATED_AFTER:
        return Verdict(
            False,
            f"a test guest under qemu -accel kvm took {took:.1f} s (about 0.1 s "
            "on a working KVM): this KVM emulates the guest's CPU modes",
        )
    if proc.returncode == EXIT_OK:
        return Verdict(True, f"KVM runs a test guest ({took:.2f} s)")
    detail = [ln for ln in proc.stderr.splitlines() if ln.strip() and "warning" not in ln]
    return Verdict(
        False,
        "a test guest under qemu -accel kvm failed: "
        + (detail[0].strip() if detail else f"exit status {proc.returncode}"),
    )


def _cache_key(qemu: str | None) -> str:
    try:
        boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot_id = "unknown"
    try:
        stamp = int(os.stat(qemu).st_mtime) if qemu else 0
    except OSError:
        stamp = 0
    return f"{boot_id}|{qemu}|{stamp}|{os.geteuid()}"


def cache_file() -> Path:
    base = os.environ.get("LABGEN_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "labgen")
    return Path(base) / "kvm-verdict.json"


def kvm_verdict(use_cache: bool = True) -> Verdict:
    """Whether KVM is really usable here (see the module docstring), cached per host boot.

    Changes on the host: writes the verdict to $LABGEN_CACHE/kvm-verdict.json (best effort).
    Never raises.
    """
    static = static_verdict()
    if static is not None:
        return static
    qemu = qemu_binary()
    if qemu is None:
        return Verdict(False, "QEMU is not installed (qemu-system-x86_64)")
    key = _cache_key(qemu)
    path = cache_file()
    if use_cache:
        try:
            data = json.loads(path.read_text())
            if data.get("key") == key:
                return Verdict(bool(data["usable"]), str(data["reason"]))
        except (OSError, ValueError, KeyError, TypeError):
            pass
    verdict = run_probe(qemu)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"key": key, "usable": verdict.usable, "reason": verdict.reason}))
    except OSError:
        pass
    return verdict
