"""The command-line tools (``ip``, ``tc``, ``ethtool``) as programs on a host: each is a function
``tool(host, argv) -> output`` that raises its own error with the tool's message and exit status;
as a program it prints one or the other and exits with that status."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host


class ToolError(ValueError):
    """A tool failed: its message, and ``status``, what it exits with."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def tool_main(tool: Callable[[Host, list[str]], str], argv: list[str]) -> int:
    """Run ``tool`` in the calling process: print its output, or its error and exit status."""
    from tuxnet.kernel.sched import current
    from tuxnet.user import libc

    try:
        out = tool(current().host, argv)
    except ToolError as e:
        libc.printf("%s\n", str(e))
        return e.status
    if out:
        libc.printf("%s", out)
    return 0
