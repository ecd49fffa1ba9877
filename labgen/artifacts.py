"""Declared downloads (binaries, .deb files, image tarballs, apt keys): fetched once on the host
into a verified cache, then uploaded to the nodes over SFTP.

A classroom fetches each file once (or carries it on a USB stick with ``--artifacts DIR``)
instead of once per VM over the venue's network.
"""

from __future__ import annotations

from dataclasses import dataclass

from labgen.errors import LabgenError


@dataclass(frozen=True)
class Artifact:
    """One pinned download. ``sha256=None`` means "not pinned yet": such a file is never
    treated as verified (see ``fetch``)."""

    name: str              # the key tasks use in Task.artifacts
    url: str
    sha256: str | None     # lowercase hex; None = not pinned
    filename: str          # name in the cache and under /var/cache/labgen/ on the node
    description: str = ""


class ArtifactError(LabgenError):
    """An artifact could not be had: unreachable, HTTP error, wrong checksum, not pinned."""
