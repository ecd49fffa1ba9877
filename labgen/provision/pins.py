"""Every version the mesos-calico lab installs, and every download it needs, in one place.

The walkthrough is from February 2018: its software must be pinned, or a lab built today
would install something else. Roles read their versions from here; `labgen fetch` reads
ARTIFACTS. A sha256 of None means no published checksum was found: it is never invented;
the first fetch records the file's sha256 in the lab's labgen.lock (trust on first use) and
every later fetch must match it (labgen/artifacts.py, labgen/lockfile.py).
"""

from __future__ import annotations

from labgen.errors import RoleUnavailableError
from labgen.model import ARTIFACT_DIR, AptRepo, Artifact, Lab

# Distributions the roles know (a provider's `distro`): the article's, and our LXC box's.
XENIAL = "ubuntu-16.04"  # VirtualBox ubuntu/xenial64, libvirt generic/ubuntu1604
BOOKWORM = "debian-12"  # LXC labgen/debian-12 (tests, CI)
DISTROS = (XENIAL, BOOKWORM)

# Directory on the nodes where artifacts are uploaded before a task that lists them.
NODE_CACHE = ARTIFACT_DIR

# ---- etcd and ZooKeeper come from each distribution's archive (through the apt proxy).
# These are what the archives hold; written into the plan, checked by the integration test.
ETCD_PACKAGES = {XENIAL: ("etcd",), BOOKWORM: ("etcd-server", "etcd-client")}
ETCD_VERSIONS = {XENIAL: "2.2.5", BOOKWORM: "3.4.23"}  # xenial/universe; bookworm/main
ZOOKEEPER_VERSIONS = {XENIAL: "3.4.8", BOOKWORM: "3.8.0"}

# ---- Docker: the version with the MAC bug (WALKTHROUGH §6). Lab param docker_version overrides.
DOCKER_DEFAULT = "18.03.1"
# upstream version -> the package version in download.docker.com's xenial pool (the naming
# changed with 18.06). The bug is in Docker 18.01.0 to 18.05 (the article's author reported it
# with 18.01.0; docker/for-linux#348 on 18.05.0); 18.03.1 is the last stable release with it,
# 18.06.0 the first without (docker/libnetwork#2205).
# Debian 12 (the LXC box) has docker.io 20.10 (bookworm/main): the last major version with
# cluster-store (deprecated in 20.10, removed in 23.0). The docker role installs it there.
DOCKER_IO_VERSION = "20.10"
DOCKER_XENIAL_DEBS = {
    "18.03.1": "18.03.1~ce-0~ubuntu",
    "18.06.0": "18.06.0~ce~3-0~ubuntu",
}

# ---- Calico 2.6 (the article: calicoctl v1.6.3; calico/node v2.6.2 in its unit file and in
# the author's report projectcalico/calicoctl#1817).
CALICOCTL_VERSION = "v1.6.3"
CALICO_NODE_IMAGE = "quay.io/calico/node:v2.6.2"

# ---- Mesos and Marathon: Mesosphere's builds, which the instructor supplies. Mesosphere's apt
# repository (repos.mesosphere.com) and download host (downloads.mesosphere.com) are gone
# (the universe was shut down in 2023), so these are artifacts like any other: put the files
# in a dir given with --artifacts DIR (from an old apt cache, /var/cache/apt/archives, or a
# colleague's labgen cache), or point `mirrors:` at a copy. The first use records their
# sha256 in the lab's labgen.lock. No checksum of them was published that we could find.
MESOS_VERSION = "1.5.0"  # "mesos 1.5" in the article (released February 2018)
# The package's version in the xenial pool ("1.5.0-2.0.1" is what `apt-get install
# mesos=1.5.0-2.0.1` asked for on xenial; the pool's files carry the distribution, like
# mesos_1.5.0-2.0.1.debian9_amd64.deb in its Debian pool and mesos_1.0.1-2.0.94.ubuntu1604).
MESOS_DEB = "mesos_1.5.0-2.0.1.ubuntu1604_amd64.deb"
# The article does not name its Marathon version and warns that upgrades change behaviour.
# 1.5.6 is the latest 1.5.x release (1.6 may already have been out when the article was
# written in February 2018; issue 20, fact 9). Its release
# tarball (Java 8 + a start script, the same for every distribution) is what Marathon's own
# upgrade tests downloaded; it unpacks to marathon-1.5.6/bin/marathon.
MARATHON_VERSION = "1.5.6"
MARATHON_TARBALL = f"marathon-{MARATHON_VERSION}.tgz"

# ---- The app the article runs (image "nginx": pinned to the tag current in February 2018).
NGINX_IMAGE = "nginx:1.13.9"


def require_distro(role: str, distro: str) -> None:
    """Raise RoleUnavailableError when `distro` is not one the roles know."""
    if distro not in DISTROS:
        raise RoleUnavailableError(f"role {role} knows the distributions {', '.join(DISTROS)}, not {distro}")


def docker_version(lab: Lab) -> str:
    """The docker-ce version this lab asks for (lab param docker_version, else the default)."""
    return str(lab.params.get("docker_version") or DOCKER_DEFAULT)


def image_tarball(image: str) -> str:
    """The file name a saved image is supplied under: the repository path without its
    registry, then the tag: quay.io/calico/node:v2.6.2 -> calico-node-v2.6.2.tar,
    nginx:1.13.9 -> nginx-1.13.9.tar."""
    repo, tag = image.rsplit(":", 1)
    parts = repo.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0]):
        parts = parts[1:]  # a registry host (quay.io, localhost:5000)
    return f"{'-'.join(parts)}-{tag}.tar"


# Docker's apt repository signs its index (InRelease) with the key Docker's install guide gives
# by fingerprint; the .deb's sha256 is taken from that signed index (labgen/aptsig.py).
DOCKER_REPO = AptRepo(
    base="https://download.docker.com/linux/ubuntu",
    suite="xenial",
    index="stable/binary-amd64/Packages",
    key_url="https://download.docker.com/linux/ubuntu/gpg",
    fingerprint="9DC858229FC7DD38854AE2D88D81803C0EBFCD88",
    publisher="Docker",
)


def _docker_deb(version: str) -> Artifact:
    package = DOCKER_XENIAL_DEBS[version]
    filename = f"docker-ce_{package}_amd64.deb"
    return Artifact(
        name=f"docker-ce-{version}",
        url=f"https://download.docker.com/linux/ubuntu/dists/xenial/pool/stable/amd64/{filename}",
        # No sha256 is published beside the file; Docker's signed index lists it (DOCKER_REPO).
        sha256=None,
        filename=filename,
        description=f"docker-ce {version} for Ubuntu 16.04 (xenial), amd64",
        signed=DOCKER_REPO,
    )


def _saved_image(name: str, image: str) -> Artifact:
    # A container image has no download URL here (registries are not reachable, and a pull is
    # not a file). It is supplied as a `docker save` tarball made on a connected machine and
    # loaded on the nodes with `docker load`. skopeo makes one without a Docker daemon and reads
    # any manifest: quay.io's calico/node v2.6.2 is a schema-1 image, which Docker 28.2 and
    # later refuse to pull. The name after the second colon is what `docker load` tags it.
    filename = image_tarball(image)
    return Artifact(
        name=name,
        url=f"docker-save:{image}",
        sha256=None,  # depends on who saved it: no canonical checksum exists
        filename=filename,
        description=(
            f"the image {image}, saved on a connected machine with "
            f"`skopeo copy docker://{image} docker-archive:{filename}:{image}` "
            f"(or, where Docker can still pull it, `docker pull {image} && "
            f"docker save -o {filename} {image}`); supply it with --artifacts DIR"
        ),
    )


ARTIFACTS: dict[str, Artifact] = {
    a.name: a
    for a in (
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
            name="mesos-deb",
            url=f"http://repos.mesosphere.com/ubuntu/pool/main/m/mesos/{MESOS_DEB}",
            sha256=None,  # none published; locked on first use
            filename=MESOS_DEB,
            description=(
                f"Mesos {MESOS_VERSION} for Ubuntu 16.04 as Mesosphere's xenial repository "
                "published it (that repository is gone since 2023): supply the file with "
                "--artifacts DIR or a mirror"
            ),
            gone=True,
        ),
        Artifact(
            name="marathon-tarball",
            url=f"https://downloads.mesosphere.com/marathon/releases/{MARATHON_VERSION}/{MARATHON_TARBALL}",
            sha256=None,  # none published; locked on first use
            filename=MARATHON_TARBALL,
            description=(
                f"Marathon {MARATHON_VERSION}'s release tarball from downloads.mesosphere.com "
                "(gone since 2023): supply the file with --artifacts DIR or a mirror"
            ),
            gone=True,
        ),
        *(_docker_deb(v) for v in DOCKER_XENIAL_DEBS),
    )
}


def docker_artifact(version: str) -> Artifact | None:
    """The declared docker-ce .deb for `version`, or None when labgen declares none."""
    return ARTIFACTS.get(f"docker-ce-{version}")


def artifact_path(name: str) -> str:
    """Where artifact `name` is on a node once uploaded."""
    return f"{NODE_CACHE}/{ARTIFACTS[name].filename}"


def how_to_supply(name: str) -> str:
    """One sentence: the artifact, where it was published, and how to supply it (for
    unavailable messages)."""
    a = ARTIFACTS[name]
    if a.url.startswith("docker-save:"):
        return f"artifact {a.name} ({a.filename}): {a.description}"
    if a.gone:
        return (
            f"artifact {a.name} ({a.filename}, once published at {a.url}, which no longer serves "
            "it): copy the file from an old machine, a colleague or a mirror into a dir and run "
            "`labgen fetch LAB --artifacts DIR`, which records its sha256 in labgen.lock"
        )
    return (
        f"artifact {a.name} ({a.filename}, published at {a.url}): `labgen fetch LAB` "
        "downloads it on a connected machine and records its sha256 in labgen.lock, or put "
        "the file in a dir given with --artifacts DIR"
    )
