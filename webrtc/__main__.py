"""Command line: ``python -m webrtc <command>`` (also the ``webrtc`` script).

Commands:

- ``sdp FILE|-``: validate an SDP and print a readable summary.
- ``demo``: two peer connections over loopback moving data (when available).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence

# command -> (module, one-line help); each module has ``main(argv) -> int``.
COMMANDS: dict[str, tuple[str, str]] = {
    "sdp": ("webrtc.sdp.cli", "validate an SDP file (or - for stdin) and summarize it"),
    "demo": ("webrtc.demo", "two peer connections over loopback UDP moving data"),
}


def _usage() -> str:
    lines = ["usage: python -m webrtc <command> [args]", "", "commands:"]
    lines += [f"  {name:<6} {text}" for name, (_, text) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(_usage())
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    command: Callable[[list[str]], int] = module.main
    return command(rest)


if __name__ == "__main__":
    sys.exit(main())
