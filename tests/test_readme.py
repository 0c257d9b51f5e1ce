"""The README stays true: its example runs and its commands are the ones CI uses."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", README.read_text(), re.M | re.S)


def test_readme_opens_with_two_setup_commands() -> None:
    commands = _blocks("sh")
    assert commands[0].strip() == "pip install . && python -m webrtc demo"
    assert commands[1].strip() == "pip install -e '.[dev]' && python -m pytest"


def test_readme_python_example_runs() -> None:
    (example,) = _blocks("python")
    result = subprocess.run([sys.executable, "-c", example], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "echo: hello"
