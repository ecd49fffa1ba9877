"""Every version the mesos-calico lab installs, and every download it needs, in one place.

The walkthrough is from February 2018: its software must be pinned, or a lab built today
would install something else. Roles read their versions from here; `labgen fetch` reads
ARTIFACTS. A sha256 of None means no published checksum was found: it is never invented
(labgen/artifacts.py treats such a file as unverified). Pin one by downloading the file
once on a trusted connection and writing its `sha256sum` here.
"""

from __future__ import annotations

from labgen.errors import RoleUnavailableError
from labgen.model import ARTIFACT_DIR, Artifact, Lab

# Distributions the roles know (a provider's `distro`): the article's, and our LXC box's.
XENIAL = "ubuntu-16.04"       # VirtualBox ubuntu/xenial64, libvirt generic/ubuntu1604
BOOKWORM = "debian-12"        # LXC labgen/debian-12 (tests, CI)
DISTROS = (XENIAL, BOOKWORM)

# Directory on the nodes where artifacts are uploaded before a task that lists them.
NODE_CACHE = ARTIFACT_DIR

# ---- etcd and ZooKeeper come from each distribution's archive (through the apt proxy).
# These are what the archives hold; written into the plan, checked by the integration test.
ETCD_PACKAGES = {XENIAL: ("etcd",), BOOKWORM: ("etcd-server", "etcd-client")}
ETCD_VERSIONS = {XENIAL: "2.2.5", BOOKWORM: "3.4.23"}     # xenial/universe; bookworm/main
ZOOKEEPER_VERSIONS = {XENIAL: "3.4.8", BOOKWORM: "3.8.0"}

# ---- Docker: the version with the MAC bug (WALKTHROUGH §6). Lab param docker_version overrides.
DOCKER_DEFAULT = "18.03.1"
# upstream version -> the package version in download.docker.com's xenial pool (the naming
# changed with 18.06). The bug is in Docker 18.01.0 to 18.05 (the article's author reported it
# with 18.01.0; docker/for-linux#348 on 18.05.0); 18.03.1 is the last stable release with it,
# 18.06.0 the first without (docker/libnetwork#2205).
DOCKER_XENIAL_DEBS = {
    "18.03.1": "18.03.1~ce-0~ubuntu",
    "18.06.0": "18.06.0~ce~3-0~ubuntu",
}

# ---- Calico 2.6 (the article: calicoctl v1.6.3; calico/node v2.6.2 in its unit file and in
# the author's report projectcalico/calicoctl#1817).
CALICOCTL_VERSION = "v1.6.3"
CALICO_NODE_IMAGE = "quay.io/calico/node:v2.6.2"

# ---- Mesos and Marathon from the Mesosphere xenial repository. The versions are pinned with
# apt preferences (glob on the upstream version) and checked after the install, so a repository
# that no longer holds them fails loudly instead of installing something newer.
MESOSPHERE_REPO = "deb http://repos.mesosphere.com/ubuntu xenial main"
MESOSPHERE_KEY_ID = "81026D0004C44CF7EF55ADF8DF7D54CBE56151BF"   # the article's E56151BF
MESOS_VERSION = "1.5.0"        # "mesos 1.5" in the article (released February 2018)
# The article does not name its Marathon version and warns that upgrades change behaviour.
# 1.5.6 is the Marathon release current when it was written (February 2018).
MARATHON_VERSION = "1.5.6"

# ---- The app the article runs (image "nginx": pinned to the tag current in February 2018).
NGINX_IMAGE = "nginx:1.13.9"


def require_distro(role: str, distro: str) -> None:
    """Raise RoleUnavailableError when `distro` is not one the roles know."""
    if distro not in DISTROS:
        raise RoleUnavailableError(f"role {role} knows the distributions {', '.join(DISTROS)}, "
                                   f"not {distro}")


def docker_version(lab: Lab) -> str:
    """The docker-ce version this lab asks for (lab param docker_version, else the default)."""
    return str(lab.params.get("docker_version") or DOCKER_DEFAULT)


def image_tarball(image: str) -> str:
    """The file name a saved image is supplied under: quay.io/calico/node:v2.6.2 ->
    calico-node-v2.6.2.tar."""
    repo, tag = image.rsplit(":", 1)
    return f"{repo.rsplit('/', 1)[-1]}-{tag}.tar"


def _docker_deb(version: str) -> Artifact:
    package = DOCKER_XENIAL_DEBS[version]
    filename = f"docker-ce_{package}_amd64.deb"
    return Artifact(
        name=f"docker-ce-{version}",
        url=f"https://download.docker.com/linux/ubuntu/dists/xenial/pool/stable/amd64/{filename}",
        # No published sha256 for the xenial builds was found. (One published for 18.06.0 is of
        # the *bionic* pool's file, a different build: not used.)
        sha256=None,
        filename=filename,
        description=f"docker-ce {version} for Ubuntu 16.04 (xenial), amd64",
    )


def _saved_image(name: str, image: str) -> Artifact:
    # A container image has no download URL here (registries are not reachable, and a pull is
    # not a file). It is supplied as a tarball made on a connected machine with
    #   docker pull IMAGE && docker save -o FILE IMAGE
    # and copied into the artifacts dir (labgen fetch cannot make it).
    filename = image_tarball(image)
    return Artifact(
        name=name,
        url=f"docker-save:{image}",
        sha256=None,      # depends on who saved it: no canonical checksum exists
        filename=filename,
        description=(f"the image {image}, saved with `docker pull {image} && "
                     f"docker save -o {filename} {image}` on a connected machine; "
                     f"supply it with --artifacts DIR"),
    )


ARTIFACTS: dict[str, Artifact] = {a.name: a for a in (
    Artifact(
        name="calicoctl",
        url=f"https://github.com/projectcalico/calicoctl/releases/download/{CALICOCTL_VERSION}/calicoctl",
        # The v1.6.3 release published no checksum file, and none was found elsewhere.
        sha256=None,
        filename=f"calicoctl-{CALICOCTL_VERSION}",
        description=f"calicoctl {CALICOCTL_VERSION}, linux amd64 static binary",
    ),
    _saved_image("calico-node-image", CALICO_NODE_IMAGE),
    _saved_image("nginx-image", NGINX_IMAGE),
    Artifact(
        name="mesosphere-key",
        url=f"https://keyserver.ubuntu.com/pks/lookup?op=get&search=0x{MESOSPHERE_KEY_ID}",
        # An armored key export is not byte-stable across keyservers: the key is checked by its
        # fingerprint when added (see roles/mesos_master.py), not by a file hash.
        sha256=None,
        filename="mesosphere-archive-key.asc",
        description=f"the Mesosphere apt repository key {MESOSPHERE_KEY_ID}",
    ),
    *(_docker_deb(v) for v in DOCKER_XENIAL_DEBS),
)}


def docker_artifact(version: str) -> Artifact | None:
    """The declared docker-ce .deb for `version`, or None when labgen declares none."""
    return ARTIFACTS.get(f"docker-ce-{version}")


def artifact_path(name: str) -> str:
    """Where artifact `name` is on a node once uploaded."""
    return f"{NODE_CACHE}/{ARTIFACTS[name].filename}"


def how_to_supply(name: str) -> str:
    """One sentence: the artifact, its URL, and how to supply it (for unavailable messages)."""
    a = ARTIFACTS[name]
    if a.url.startswith("docker-save:"):
        return f"artifact {a.name} ({a.filename}): {a.description}"
    if a.sha256 is None:
        # labgen never downloads what it cannot verify (labgen/artifacts.py)
        return (f"artifact {a.name} ({a.filename}) from {a.url}: no sha256 is published, so "
                "labgen does not download it; fetch it on a connected machine, check it, and "
                "supply it with --artifacts DIR and LABGEN_ALLOW_UNPINNED=1")
    return (f"artifact {a.name} ({a.filename}) from {a.url}: `labgen fetch` downloads it on a "
            f"connected machine, or put the file in a dir given with --artifacts DIR")
