"""The errors labgen raises. Library code raises; only the CLI prints and exits."""

from __future__ import annotations


class LabgenError(Exception):
    """A failure the user can act on: a one-line message, an optional hint, an exit code."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code


class InputError(LabgenError):
    """A lab or scenario file (or a command-line value) is invalid. Carries every problem."""

    exit_code = 2

    def __init__(self, problems: list[str], hint: str | None = None):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems), hint)


class PreflightError(LabgenError):
    """The host lacks something a provider needs (a binary, a plugin, a box, root)."""

    exit_code = 3


class ProviderError(LabgenError):
    """Vagrant or the provider failed while acting on machines."""

    exit_code = 4


class RoleUnavailableError(LabgenError):
    """Raised by a role's tasks() when it cannot run on this node's distribution. `cause`: the
    reason of the role it depends on, when that is why (said once in summaries)."""

    def __init__(self, message: str, hint: str | None = None, cause: str | None = None):
        super().__init__(message, hint)
        self.cause = cause


class TaskError(LabgenError):
    """A provisioning task failed on a node."""

    exit_code = 5


class Unreachable(LabgenError):
    """A node's SSH connection could not be made or was lost (callers reconnect on this type)."""


class ScenarioFailed(LabgenError):
    """A scenario step's expectation did not hold."""

    exit_code = 6
