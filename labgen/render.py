"""Lab → Vagrantfile text, through the top-level Vagrantfile.j2.

Pure: reads the template, returns text. Every value from the lab reaches the template as a
Ruby literal made by `ruby_literal` (the `ruby` filter); the environment's `finalize` refuses
any other output, so a template edit that forgets the filter fails loudly instead of writing
lab text into Ruby code. Free text (description, message) never reaches the Vagrantfile.

The first lines are a header written here, not by the template: who generated the file and a
checksum of everything else, so an edited Vagrantfile can be told from a generated one.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labgen import __version__
from labgen.errors import InputError
from labgen.model import PROVIDERS, Lab
from labgen.providers import get_provider
from labgen.resources import resource

if TYPE_CHECKING:
    import jinja2

TEMPLATE = "Vagrantfile.j2"
_CHECKSUM_LINE = re.compile(r"# labgen-checksum: sha256:([0-9a-f]{64})\n")
_HEADER_LINES = 8  # the checksum line is searched for among the first lines
_COMMENT_SAFE = re.compile(r"[A-Za-z0-9._-]+")


class RubyLiteral(str):
    """Text that is already a safe Ruby literal; the only thing the template may output."""


def ruby_literal(value: Any) -> RubyLiteral:
    """`value` (str, int or bool) as a Ruby literal; strings become single-quoted literals.

    Single quotes mean Ruby interpolates nothing (`#{}` stays text); `\\` and `'` are escaped.
    Raises ValueError for a string holding control or format characters, TypeError for any
    other type (None, float, lists...: the template must not receive them).
    """
    if isinstance(value, bool):
        return RubyLiteral("true" if value else "false")
    if isinstance(value, int):
        return RubyLiteral(str(value))
    if isinstance(value, str):
        for ch in value:
            if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
                raise ValueError(f"refusing to write U+{ord(ch):04X} into a Vagrantfile: {ascii(value)}")
        return RubyLiteral("'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'")
    raise TypeError(f"no Ruby literal for {type(value).__name__} {value!r}")


def _ruby_filter(value: Any) -> RubyLiteral:
    import jinja2  # loaded by _environment() already; here for the name

    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined: raises UndefinedError naming the variable
    return ruby_literal(value)


def _finalize(value: Any) -> Any:
    if not isinstance(value, RubyLiteral):
        raise TypeError(f"{TEMPLATE} outputs {value!r} without the ruby filter")
    return value


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    # jinja2 only when a Vagrantfile is rendered: status, ssh and exec use this module's
    # checksum checks through lifecycle and should not pay for it (22 ms of `labgen status`)
    import jinja2

    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
    )
    env.filters["ruby"] = _ruby_filter
    return env


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    return _environment().from_string(resource(TEMPLATE).read_text(encoding="utf-8"))


def template_context(lab: Lab, provider: str) -> dict:
    """The values Vagrantfile.j2 sees: plain str/int/bool only, provider extras under `p`.

    Raises InputError when the lab has no box for `provider` (or the provider is unknown).
    """
    prov = get_provider(provider)
    box = lab.boxes.get(provider)
    if not box:
        raise InputError(
            [f"lab {lab.name}: no box for provider {provider}; expected boxes.{provider} in the lab file"],
            hint="labgen/labs/mesos-calico.yml shows a box for every provider",
        )
    network = lab.network
    return {
        "provider": provider,
        "lab_name": lab.name,
        "box": box,
        "synced_folder": bool(lab.synced_folder),
        "host_ip": str(lab.host_ip),
        "netmask": str(network.netmask),
        "prefixlen": network.prefixlen,
        "nodes": [
            {
                "name": node.name,
                "ip": str(node.ip),
                "cidr": f"{node.ip}/{network.prefixlen}",
                "memory": node.memory,
                "memory_limit": f"{node.memory}M",
                "cpus": node.cpus,
                "machine_name": prov.machine_name(lab, node.name),
            }
            for node in lab.nodes
        ],
        "p": dict(prov.template_context(lab)),
    }


def render_vagrantfile(lab: Lab, provider: str) -> str:
    """The Vagrantfile for `lab` with only `provider`'s block; same lab → same bytes.

    Raises InputError for an unknown provider or a lab without a box for it; ValueError or
    TypeError if a value could not be written safely (a lab that bypassed validation).
    """
    if provider not in PROVIDERS:
        raise InputError([f"unknown provider {provider!r}: expected one of {', '.join(PROVIDERS)}"])
    body = _template().render(**template_context(lab, provider))
    return _with_header(body, lab.name, provider)


def _comment_word(text: str) -> str:
    if not _COMMENT_SAFE.fullmatch(text):
        raise ValueError(f"refusing to write {ascii(text)} into a Vagrantfile comment")
    return text


def _with_header(body: str, lab_name: str, provider: str) -> str:
    top = (
        "# -*- mode: ruby -*-\n"
        f"# Generated by labgen {_comment_word(__version__)} from lab "
        f"{_comment_word(lab_name)} for provider {_comment_word(provider)}.\n"
        "# Edit the lab file and run `labgen create` again instead of editing this file:\n"
        "# labgen will not overwrite a Vagrantfile whose checksum no longer matches (unless --force).\n"
    )
    body = "\n" + body
    digest = hashlib.sha256((top + body).encode("utf-8")).hexdigest()
    return top + f"# labgen-checksum: sha256:{digest}\n" + body


def _split_checksum(text: str) -> tuple[str | None, str]:
    """(recorded digest, text without the checksum line); digest None when there is none."""
    lines = text.splitlines(keepends=True)
    for index, line in enumerate(lines[:_HEADER_LINES]):
        match = _CHECKSUM_LINE.fullmatch(line)
        if match:
            return match.group(1), "".join(lines[:index] + lines[index + 1 :])
    return None, text


def vagrantfile_is_ours(text: str) -> bool:
    """Whether `text` is a Vagrantfile labgen generated and nobody edited since.

    True only when it carries a labgen checksum line and the checksum of the rest matches.
    """
    digest, rest = _split_checksum(text)
    return digest is not None and hashlib.sha256(rest.encode("utf-8")).hexdigest() == digest


def check_unmodified(path: Path) -> bool:
    """Whether the Vagrantfile at `path` can be overwritten without losing a user's edits.

    True when the file does not exist or is labgen's own, unedited; False when it was edited
    or was not written by labgen. Raises OSError if it exists but cannot be read.
    """
    path = Path(path)
    if not path.exists():
        return True
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return False
    return vagrantfile_is_ours(text)
