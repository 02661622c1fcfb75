"""Every fenced code block of the README runs in the tests as written, so that an example
cannot break unseen.

Blocks are found by themselves: a new block is run by the rule of its language, and a block
no rule covers fails :func:`test_every_block_is_covered`. A block that cannot run here (it
installs packages, starts a server, or is the test command itself) carries a visible marker
on the line before it, ``<!-- readme-test: skip (why) -->``; a YAML block showing a file of the
repository carries ``<!-- readme-test: file PATH -->`` and must equal that file.

The rules: each line of a ``bash`` block runs in one prepared folder, in README order, except
``python -m sim`` lines, which tests/test_sweeps.py runs one by one from fresh folders with the
default output folders; a ``python`` block runs as a script there; a ``text`` block that starts
with ``$ `` is a transcript whose output must be printed as shown. Placeholders
``results/runs/<folder>`` and ``results/multiruns/<folder>`` name a run and a sweep made first;
runs are made small with ``scale=0.01`` and ``years=3`` and nothing else.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MARKER = re.compile(r"<!--\s*(readme-test:\s*(skip|file)\b\s*(.*?)|quick-start:.*?)\s*-->")
SMALL = ("scale=0.01", "years=3")


@dataclass
class Block:
    lang: str
    text: str
    line: int               # where the block starts in the README (1-based)
    marker: str | None      # "skip", "file" or None
    argument: str = ""      # the skip's reason or the file's path

    @property
    def id(self) -> str:
        return f"README.md:{self.line}:{self.lang}"


def readme_blocks(text: str | None = None) -> list[Block]:
    """The README's fenced blocks, each with the marker on the line before it, if any."""
    lines = (README.read_text(encoding="utf-8") if text is None else text).splitlines()
    blocks, i = [], 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        start, body = i, []
        i += 1
        while i < len(lines) and lines[i].rstrip() != "```":
            body.append(lines[i])
            i += 1
        before = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        mk = MARKER.search(before)
        marker, argument = None, ""
        if mk and mk.group(2):
            marker, argument = mk.group(2), mk.group(3).strip().strip("()")
        elif mk:
            marker, argument = "skip", "the quick start: .ci/run runs it verbatim in a fresh environment"
        blocks.append(Block(m.group(1), "\n".join(body) + "\n", start + 1, marker, argument))
        i += 1
    return blocks


def commands(block: Block) -> list[str]:
    """The command lines of a bash block (continuations joined, comments dropped)."""
    out = []
    for line in block.text.replace("\\\n", " ").splitlines():
        command = re.split(r"\s+#\s", " " + line.strip() + " ", maxsplit=1)[0].strip()
        if command:
            out.append(command)
    return out


def is_sim_line(command: str) -> bool:
    return command == "python -m sim" or command.startswith("python -m sim ")


def is_transcript(block: Block) -> bool:
    return block.lang == "text" and block.text.startswith("$ ")


BLOCKS = readme_blocks()
RUN = [b for b in BLOCKS if b.marker is None and (b.lang in ("bash", "python") or is_transcript(b))]


def test_every_block_is_covered():
    """A block no rule runs must say why with a marker; markers must be well formed."""
    for b in BLOCKS:
        if b.marker == "skip":
            assert b.argument, f"{b.id}: a skip marker must give its reason"
        elif b.marker == "file":
            assert (ROOT / b.argument).is_file(), f"{b.id}: no file {b.argument}"
        else:
            assert b in RUN, f"{b.id}: no rule runs a {b.lang!r} block; mark it <!-- readme-test: skip (why) -->"
    assert any(b.lang == "python" for b in RUN) and any(b.lang == "bash" for b in RUN)


def test_the_block_parser_sees_markers_and_languages():
    text = ("a\n<!-- readme-test: skip (starts a server) -->\n```bash\nsolara run x\n```\n"
            "```python\nprint(1)\n```\n<!-- readme-test: file experiments/baseline.yaml -->\n\n```yaml\nx: 1\n```\n")
    server, snippet, shown = readme_blocks(text)
    assert (server.marker, server.argument, server.lang, server.line) == ("skip", "starts a server", "bash", 3)
    assert snippet.marker is None and snippet.text == "print(1)\n"
    assert (shown.marker, shown.argument) == ("file", "experiments/baseline.yaml")
    assert commands(Block("bash", "a b  # note\n\nc \\\n  d\n", 1, None)) == ["a b", "c    d"]


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.marker == "file"], ids=lambda b: b.id)
def test_a_file_shown_is_the_file(block):
    assert block.text == (ROOT / block.argument).read_text(encoding="utf-8")


def test_python_m_sim_lines_are_run_by_the_sweep_tests():
    from test_sweeps import readme_commands

    run = set(readme_commands())
    lines = [c for b in RUN if b.lang == "bash" for c in commands(b) if is_sim_line(c)]
    assert lines and all(c in run for c in lines)


# ---------------------------------------------------------------- running the blocks

def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # python, careersim
    env["CAREERSIM_EXPERIMENTS"] = ""
    return env


def _sh(command: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=_env(), capture_output=True, text=True,
                          timeout=timeout)


def runs_model(block: Block) -> bool:
    """Whether a block runs the model or reads its results (slow tests: several seconds each)."""
    if block.lang == "python" or "<folder>" in block.text:
        return True
    return any(c.startswith("careersim ") and not all(a.startswith("-") for a in shlex.split(c)[1:])
               for c in commands(block))


def params(blocks: list[Block]) -> list:
    return [pytest.param(b, id=b.id, marks=[pytest.mark.slow] if runs_model(b) else []) for b in blocks]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A folder for the blocks, in README order; for blocks with placeholders it also holds
    one small run and one small sweep."""
    return tmp_path_factory.mktemp("readme")


@pytest.fixture(scope="module")
def made(folder) -> Path:
    cwd = folder
    for args in (list(SMALL), ["-m", "experiment=baseline,more_scholarships", "replications=2", *SMALL]):
        r = subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, env=_env(), capture_output=True,
                           text=True, timeout=600)
        assert r.returncode == 0, r.stderr[-2000:]
    return cwd


def filled(text: str, cwd: Path) -> str:
    """``<folder>`` placeholders replaced by the run's and the sweep's folder names."""
    for kind in ("runs", "multiruns"):
        if f"results/{kind}/<folder>" not in text:
            continue
        (made,) = [p.name for p in sorted((cwd / "results" / kind).iterdir()) if p.is_dir()][:1]
        text = text.replace(f"results/{kind}/<folder>", f"results/{kind}/{made}")
    return text


def small_python(code: str) -> str:
    """A Python block made small: ``scale`` becomes 0.01 and ``years`` 3, and a configuration
    that names its scale but no horizon gets ``years=3``."""
    code = re.sub(r"\bscale=[0-9.]+", "scale=0.01", code)
    code = re.sub(r"\byears=\d+", "years=3", code)
    if "years=" not in code:
        code = re.sub(r"([\"'])scale=0\.01\1", r'\1scale=0.01\1, \1years=3\1', code)
    return code


@pytest.mark.parametrize("block", params([b for b in RUN if b.lang == "python"]))
def test_python_block_runs(block, made):
    folder = made
    code = small_python(filled(block.text, folder))
    r = subprocess.run([sys.executable, "-c", code], cwd=folder, env=_env(), capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, (block.id, code, r.stderr[-3000:])


@pytest.mark.parametrize("block", params([b for b in RUN if b.lang == "bash"
                                          and any(not is_sim_line(c) for c in commands(b))]))
def test_bash_block_runs(block, folder, request):
    """Each line that is not ``python -m sim`` (those run in tests/test_sweeps.py), in order."""
    if "<folder>" in block.text:
        request.getfixturevalue("made")
    docs = (ROOT / "docs" / "parameters.md").read_text(encoding="utf-8")
    for command in commands(block):
        if is_sim_line(command):
            continue
        r = _sh(filled(command, folder), folder)
        allowed = (0, 1) if "--enforce" in command else (0,)  # --enforce: exit 1 when a target is missed
        assert r.returncode in allowed, (block.id, command, r.stdout[-1500:], r.stderr[-3000:])
        if command.startswith("python -m sim.targets"):
            assert re.search(r"\d+ of \d+ targets within their intervals", r.stdout), r.stdout
    # regenerating docs/parameters.md from unchanged configs changes nothing
    assert (ROOT / "docs" / "parameters.md").read_text(encoding="utf-8") == docs


@pytest.mark.parametrize("block", [b for b in RUN if is_transcript(b)], ids=lambda b: b.id)
def test_transcript_prints_what_it_shows(block, tmp_path):
    first, *shown = block.text.splitlines()
    r = _sh(first[2:], tmp_path)
    printed = (r.stdout + r.stderr).splitlines()
    assert printed == shown, (block.id, printed)
    assert r.returncode == 2 and not (tmp_path / "results").exists()
