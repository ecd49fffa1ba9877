# labgen: the two commands of the README.
#   make demo   set up this machine (Debian/Ubuntu, as root), then replay the MAC bug on a real lab
#   make test   set up this machine, then run the whole test suite (integration included where it can run)

SHELL      := /bin/bash
PYTHON     ?= python3
VENV       ?= .venv
LABGEN     := $(VENV)/bin/labgen
PY         := $(VENV)/bin/python
DEMO_DIR   ?= $(HOME)/labgen-labs
# The demo boots on LXC, whose box setup builds; on a laptop with VirtualBox: make demo PROVIDER=virtualbox
PROVIDER   ?= lxc
# Debian packages, everything `make test` needs: Vagrant with its LXC and libvirt plugins, LXC,
# debootstrap (box build), dnsmasq (DHCP on the LXC management bridge), apt-cacher-ng (package
# cache for lab nodes), ruby (ruby -c in tests), tcpdump/iproute2 (scenario checks on the host),
# graphviz (`dot` draws the lab topology for `labgen graph` and the handouts), fonts-noto-cjk (the
# handouts' Chinese font), chromium + poppler-utils (tests/browser print and measure the
# handouts); for the libvirt lane: libvirt's daemons and QEMU (KVM or TCG), and what the libvirt
# box recipe needs (mmdebstrap, extlinux, qemu-img, sfdisk); shellcheck, etcd-server and
# etcd-client (tests of the Ubuntu 16.04 path's commands: lint, etcd v2); nginx (the TLS reverse proxy
# in front of the seat pages' terminals, tests/browser/test_terminal_web.py), tmux (bench/terminals.py).
APT_PACKAGES := vagrant vagrant-lxc vagrant-libvirt lxc debootstrap nftables dnsmasq-base dnsmasq-utils iproute2 iptables \
                tcpdump iputils-ping openssh-client openssh-server rsync apt-cacher-ng ruby python3-venv python3-pip \
                ca-certificates gpg gpgv graphviz fonts-noto-cjk chromium poppler-utils \
                libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils mmdebstrap extlinux syslinux-common fdisk \
                shellcheck etcd-server etcd-client debian-archive-keyring nginx tmux
# What the LXC demo itself uses (`make demo`), installed without Recommends: vagrant recommends
# vagrant-libvirt (and through it libvirt, QEMU and a kernel image), lxc recommends lxcfs,
# uidmap and apparmor; the demo needs none of them. lxc-templates (alone, without its own
# Recommends): the box's lxc-config includes its debian.common.conf; without it lxc-create fails
# (seen on a fresh Debian 12, bench/fresh_demo.sh). debian-archive-keyring:
# debootstrap checks the archive's signature with it (Ubuntu hosts lack it). `make test` adds
# the rest of APT_PACKAGES, Recommends included. tests/integration/test_host_packages.py checks
# on this host's apt that the demo's set pulls no kernel, QEMU, libvirt or Chromium.
DEMO_PACKAGES := vagrant vagrant-lxc lxc lxc-templates debootstrap debian-archive-keyring nftables dnsmasq-base dnsmasq-utils iproute2 iptables \
                 tcpdump iputils-ping openssh-client rsync apt-cacher-ng python3-venv ca-certificates gpg gpgv graphviz
TEST_PACKAGES := $(filter-out $(DEMO_PACKAGES),$(APT_PACKAGES))

.PHONY: demo test lint docs setup demo-setup host-packages test-packages venv venv-demo web-assets box box-demo box-libvirt unit unit-unprivileged integration-shuffled mutation known-bugs bench clean-test-leftovers help

help:
	@echo "make demo   - set up this machine and run: labgen scenario run mac-bug"
	@echo "make test   - set up this machine and run the test suite"
	@echo "make unit   - static checks, then the fast unit and golden tests (no root, no LXC)"
	@echo "make lint   - static checks only: ruff check and ruff format --check (tests and bench too), mypy (labgen/)"
	@echo "make docs   - regenerate docs/commands.md from the commands' --help"
	@echo "make bench  - benchmarks (see bench/README.md)"
	@echo "make mutation - mutation testing of the core modules (slow; see tests/README.md)"

# The demo's own set-up: its packages only (no Chromium, QEMU, libvirt, kernel...). What the
# venv and the box's debootstrap need comes first; then, at once, the rest of the packages
# (mostly Vagrant's Ruby), labgen's venv (without the test tools) and the LXC box, whose recipe
# needs no labgen and waits for vagrant only after debootstrap. Each waits on something else
# (dpkg, PyPI, the archive). Measured on a fresh Debian 12 (bench/fresh_demo.sh).
DEMO_FIRST := debootstrap debian-archive-keyring python3-venv ca-certificates
demo-setup:
	$(call apt-install,$(DEMO_FIRST),--no-install-recommends)
	$(MAKE) --no-print-directory -j3 host-packages venv-demo box-demo LABGEN_BOX_WAIT_VAGRANT=600

demo: demo-setup
	mkdir -p $(DEMO_DIR)
	cd $(DEMO_DIR) && $(abspath $(LABGEN)) --provider $(PROVIDER) scenario run mac-bug

# The libvirt lane (tests/integration/test_lab_libvirt.py) needs the libvirt box; the demo does not.
# Four pytest-xdist workers, each module whole on one worker, in tests/conftest.py's order, with
# its host locks (a module that must run alone, modules that share a resource); JOBS=0: one process.
# Four on a 2-core machine: the lab modules spend much of their time waiting on boots, DHCP and
# SSH; measured on 2 cores (tests/README.md), the whole suite took 16 min 19 s with three workers
# and 14 min 42 s with four (21 min 32 s with two, the day before).
JOBS ?= 4
test: setup box-libvirt lint
	$(PY) -m pytest -q -n $(JOBS) --dist loadfile --no-loadscope-reorder

# The command reference is generated from click's help (tests/unit/test_commands_doc.py checks it).
docs: venv
	$(PY) -m labgen.cli.reference > docs/commands.md.tmp && mv docs/commands.md.tmp docs/commands.md

unit: venv lint
	$(PY) -m pytest -q tests/unit

# Static checks (config in pyproject.toml): pyflakes, pycodestyle and bugbear over the code,
# tests and benchmarks, and their layout (`ruff format`: run it before committing); mypy over
# labgen/. Seconds, so they run before every test run.
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The unit tests as an unprivileged user with no network (a throw-away copy of this checkout
# owned by user labgen-test, in a network namespace with nothing but loopback). Needs root to
# set up; the tests themselves run as the user.
UNPRIV_USER ?= labgen-test
unit-unprivileged:
	@id -u $(UNPRIV_USER) >/dev/null 2>&1 || useradd -m $(UNPRIV_USER)
	rm -rf /home/$(UNPRIV_USER)/labgen && mkdir -p /home/$(UNPRIV_USER)/labgen
	git ls-files -z | xargs -0 -I{} cp --parents {} /home/$(UNPRIV_USER)/labgen/
	chown -R $(UNPRIV_USER): /home/$(UNPRIV_USER)/labgen
	su $(UNPRIV_USER) -s /bin/bash -c 'cd ~/labgen && $(PYTHON) -m venv .venv && .venv/bin/pip install -q -e ".[test]"'
	unshare -n -- sh -c "ip link set lo up && su $(UNPRIV_USER) -s /bin/bash -c 'cd ~/labgen && .venv/bin/python -m pytest -q -p no:cacheprovider tests/unit'"

# Each LXC integration module in shuffled order (pytest-random-order), one at a time.
integration-shuffled: setup
	for m in tests/integration/test_*.py; do $(PY) -m pytest -q --random-order $$m || exit 1; done

# Mutation testing (mutmut, config in pyproject.toml) of the core modules, killed by the unit
# tests only; per module, so a run can be bounded: make mutation MUTATE=labgen.render
MUTATE ?= labgen.labfile labgen.validate labgen.render labgen.scenario.template labgen.scenario.runner labgen.provision.engine labgen.artifacts labgen.scenario.challenge labgen.scenario.student_progress labgen.classroom.layout \
          labgen.schemacheck labgen.schemas labgen.scenario.load
mutation: venv
	$(PY) -m pip install -q -e '.[test,mutation]'
	for m in $(MUTATE); do nice $(VENV)/bin/mutmut run --max-children 2 "$$m.*" >/dev/null || exit 1; done
	$(PY) tests/mutation/score.py

# The five bugs of issue 11, each reintroduced in turn: every one must fail a unit test.
known-bugs: venv
	tests/mutation/known_bugs.sh

setup: host-packages test-packages venv box web-assets

# xterm.js for the seat pages' terminals: pinned in labgen/web/package-lock.json, installed by
# npm ci, copied where the web app serves static files (never committed; the wheel ships them).
WEB := labgen/web
web-assets: $(WEB)/static/vendor/.installed

$(WEB)/static/vendor/.installed: $(WEB)/package-lock.json
	@command -v npm >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -q npm; } || \
	  { echo "make web-assets: npm is missing (Debian: apt-get install npm)"; exit 1; }
	cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(WEB)/static/vendor
	cp $(WEB)/node_modules/@xterm/xterm/lib/xterm.js $(WEB)/node_modules/@xterm/xterm/css/xterm.css \
	   $(WEB)/node_modules/@xterm/addon-fit/lib/addon-fit.js $(WEB)/static/vendor/
	touch $@

# apt-install PACKAGES [APT-OPTIONS]: installs those missing; a machine that has them changes nothing.
define apt-install
	@if [ "$$(id -u)" != 0 ]; then echo "make setup: run as root (apt, LXC and bridges need it)"; exit 1; fi
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  guard=; if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; \
	    chmod +x /usr/sbin/policy-rc.d; guard=1; fi; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(2) $$missing; rc=$$?; \
	  [ -z "$$guard" ] || rm -f /usr/sbin/policy-rc.d; \
	  if echo "$$missing" | grep -qx apt-cacher-ng && command -v systemctl >/dev/null; then \
	    systemctl disable -q apt-cacher-ng 2>/dev/null || true; fi; exit $$rc; \
	fi
endef

# Services are not started on install (a temporary policy-rc.d): labgen runs apt-cacher-ng
# itself, on the lab network only, and the tests start their own sshd on loopback. The system
# apt-cacher-ng service this installs is disabled too: after a reboot it would hold port 3142
# on every address, and labgen's own proxy could not start ("something else already listens").
host-packages:
	$(call apt-install,$(DEMO_PACKAGES),--no-install-recommends)

test-packages: host-packages
	$(call apt-install,$(TEST_PACKAGES),)

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed-demo

# labgen alone, without the test tools (Playwright...): what the demo runs.
venv-demo: $(VENV)/.installed-demo

$(VENV)/.installed-demo: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e .
	touch $@

box: venv
	$(LABGEN) box build lxc

# What `labgen box build lxc` runs, without waiting for labgen's venv.
box-demo:
	LABGEN_BOX_WAIT_VAGRANT=$(LABGEN_BOX_WAIT_VAGRANT) bash boxes/lxc/build.sh

box-libvirt: test-packages venv
	$(LABGEN) box build libvirt

bench: setup
	$(PY) bench/run.py

# What an interrupted test run of labgen's own left behind: every lab and classroom under every
# /var/tmp/labgen-tests* root (containers, bridges, nft tables, accounts, apt proxies), then the roots.
clean-test-leftovers: venv
	$(PY) -m tests.integration.lxcenv
