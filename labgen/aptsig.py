"""Files a publisher signed: a .deb from an apt repository whose InRelease is signed by a key
labgen knows by its fingerprint (Docker's repository, for docker-ce 18.03.1 on xenial).

The chain: the key (its primary fingerprint must be the one pinned in pins.py; the key
file's bytes may change when the publisher adds subkeys, its fingerprint does not) →
InRelease (gpgv with only that key) → the Packages index (its sha256 in InRelease) → the
.deb's sha256 in Packages. Such a file needs no trust on first use: what it must be comes
from the publisher. Runs gpg/gpgv in a private temporary GNUPGHOME; never touches the user's
keyrings. Downloads go through a `get(url) -> bytes` callback.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from typing import Callable

from labgen.errors import LabgenError
from labgen.model import AptRepo

_FPR = re.compile(r"[0-9A-F]{40}")


class SignatureError(LabgenError):
    """The publisher's signature chain does not hold (or cannot be checked here)."""


def _gpg(args: list[str], data: bytes | None, home: str, timeout: float = 60) -> subprocess.CompletedProcess:
    binary = shutil.which(args[0])
    if binary is None:
        raise SignatureError(
            f"{args[0]} is not installed: labgen needs it to check a publisher's signature",
            hint="apt-get install gpg gpgv",
        )
    env = dict(os.environ, GNUPGHOME=home, LC_ALL="C")
    return subprocess.run([binary, *args[1:]], input=data, capture_output=True, timeout=timeout, env=env)


def primary_fingerprints(key: bytes, home: str) -> list[str]:
    """The primary-key fingerprints in an (armored or binary) OpenPGP key file."""
    res = _gpg(["gpg", "--batch", "--with-colons", "--show-keys", "--with-fingerprint"], key, home)
    if res.returncode != 0:
        return []
    fprs, after_pub = [], False
    for line in res.stdout.decode("utf-8", "replace").splitlines():
        fields = line.split(":")
        if fields[0] == "pub":
            after_pub = True
        elif fields[0] == "fpr" and after_pub and len(fields) > 9:
            fprs.append(fields[9].upper())
            after_pub = False
        elif fields[0] in ("sub", "ssb", "sec"):
            after_pub = False
    return fprs


def verified_release(inrelease: bytes, key: bytes, fingerprint: str) -> str:
    """The signed text of InRelease, after checking that `key` holds exactly the primary key
    `fingerprint` and that it signed InRelease. Raises SignatureError."""
    with tempfile.TemporaryDirectory(prefix="labgen-gpg-") as home:
        os.chmod(home, 0o700)
        found = primary_fingerprints(key, home)
        if found != [fingerprint]:
            shown = ", ".join(found) or "no OpenPGP key"
            raise SignatureError(f"the publisher's key file holds {shown}, expected exactly {fingerprint}")
        keyring = os.path.join(home, "publisher.gpg")
        res = _gpg(["gpg", "--batch", "--yes", "--dearmor", "--output", keyring], key, home)
        if res.returncode != 0:  # already binary
            with open(keyring, "wb") as f:
                f.write(key)
        res = _gpg(["gpgv", "--keyring", keyring, "--output", "-", "-"], inrelease, home)
        if res.returncode != 0:
            why = res.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
            raise SignatureError(f"InRelease is not signed by key {fingerprint} ({why[0]})")
        return res.stdout.decode("utf-8", "replace")


def release_hash(release: str, path: str) -> tuple[str, int] | None:
    """(sha256, size) InRelease's SHA256 section lists for `path`, or None."""
    section = False
    for line in release.splitlines():
        if not line.startswith(" "):
            section = line.strip() == "SHA256:"
            continue
        if section:
            parts = line.split()
            if len(parts) == 3 and parts[2] == path and re.fullmatch(r"[0-9a-f]{64}", parts[0]):
                return parts[0], int(parts[1])
    return None


def package_hash(packages: str, filename: str) -> tuple[str, int] | None:
    """(sha256, size) the Packages stanza with `Filename: filename` gives, or None."""
    for stanza in re.split(r"\n\s*\n", packages):
        fields = {}
        for line in stanza.splitlines():
            key, sep, value = line.partition(":")
            if sep and not line.startswith(" "):
                fields[key.strip()] = value.strip()
        if fields.get("Filename") == filename:
            sha, size = fields.get("SHA256", ""), fields.get("Size", "")
            if re.fullmatch(r"[0-9a-f]{64}", sha) and size.isdigit():
                return sha, int(size)
    return None


def expected_sha256(repo: AptRepo, url: str, get: Callable[[str], bytes]) -> tuple[str, int]:
    """(sha256, size) the publisher's signed index gives for the .deb at `url` (a URL under
    repo.base). `get` downloads (raising what it raises). Raises SignatureError."""
    if not url.startswith(repo.base + "/"):
        raise SignatureError(f"{url} is not in the repository {repo.base}")
    filename = url[len(repo.base) + 1 :]
    release = verified_release(get(repo.url("InRelease")), get(repo.key_url), repo.fingerprint)
    for path, unpack in ((repo.index, bytes), (repo.index + ".gz", gzip.decompress)):
        listed = release_hash(release, path)
        if listed is None:
            continue
        data = get(repo.url(path))
        if hashlib.sha256(data).hexdigest() != listed[0]:
            raise SignatureError(f"{repo.url(path)} does not match the sha256 the signed InRelease lists")
        found = package_hash(unpack(data).decode("utf-8", "replace"), filename)
        if found is None:
            raise SignatureError(f"the signed index {repo.url(path)} does not list {filename}")
        return found
    raise SignatureError(f"the signed InRelease of {repo.base} {repo.suite} lists no {repo.index}")
