"""Tests and benchmarks read only files inside the repository: a fresh clone runs them alone.

Flagged: a path built from ``__file__`` (``Path(__file__).parents[N]``, ``.parent`` chains,
``os.path.dirname``, a name holding such a path, ``/ ".."``) that climbs above the repository
root; an absolute path literal into a folder that is not part of every system (``/work/…``,
``/home/…``, a Windows drive …); any literal naming the shared reference folders
(the ``shared`` folder beside the repository, ``shared/reference``, ``shared/samples``, ``shared/tools``). Test data lives in
``tests/data`` (see its README) and is named in ``tests/data_files.py``. A literal that is only
an input under test (a path escape the code must refuse) is marked ``# outside-path: ok (why)``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("tests", "benchmarks")
#: first folders of absolute paths that hold someone's files, never part of a fresh clone's machine
#: as such (system files such as /proc/uptime, and fake values such as /etc/city/ca.pem, are fine)
OTHER_FOLDERS = {"work", "home", "Users", "mnt", "media", "srv", "opt", "root", "tmp", "var", "data", "shared",
                 "workspace", "builds", "scratch"}
SHARED = re.compile(r"(^|[\\/])\.\.[\\/]+shared\b|\bshared[\\/]+(reference|samples|tools)\b")
ABSOLUTE = re.compile(r"^(?:/(?P<first>[^/\s]+)(?:/|$)|(?P<drive>[A-Za-z]:[\\/]))")
_FILE_PATH = -1  # the climb of __file__ itself: its folder is climb 0
PRAGMA = "outside-path: ok"


def _climb(node: ast.AST, names: dict[str, int]) -> int | None:
    """How many folders above the file's folder ``node`` points (None: not a path from __file__)."""
    if isinstance(node, ast.Name):
        return _FILE_PATH if node.id == "__file__" else names.get(node.id)
    if isinstance(node, ast.Call):
        f = node.func
        if isinstance(f, ast.Name) and f.id in ("Path", "PurePath") and len(node.args) == 1:
            return _climb(node.args[0], names)
        if isinstance(f, ast.Attribute) and f.attr in ("resolve", "absolute", "expanduser"):
            return _climb(f.value, names)
        if isinstance(f, ast.Attribute) and f.attr in ("dirname", "abspath", "realpath") and node.args:
            base = _climb(node.args[0], names)
            return None if base is None else base + (f.attr == "dirname")
        if isinstance(f, ast.Attribute) and f.attr == "join" and node.args:
            return _joined(_climb(node.args[0], names), node.args[1:])
    if isinstance(node, ast.Attribute) and node.attr == "parent":
        base = _climb(node.value, names)
        return None if base is None else base + 1
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "parents":
        base = _climb(node.value.value, names)
        index = node.slice
        if base is None or not (isinstance(index, ast.Constant) and isinstance(index.value, int)):
            return base
        return base + index.value + 1
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        return _joined(_climb(node.left, names), [node.right])
    return None


def _joined(base: int | None, parts: list[ast.expr]) -> int | None:
    """The climb after joining ``parts``: the highest a ``..`` took it, else where it ends."""
    if base is None:
        return None
    highest = None
    for part in parts:
        text = part.value if isinstance(part, ast.Constant) and isinstance(part.value, str) else "name"
        for piece in re.split(r"[\\/]+", text):
            if piece == "..":
                base += 1
                highest = base if highest is None else max(highest, base)
            elif piece not in ("", "."):
                base -= 1
    return base if highest is None else max(highest, base)


def outside_paths(source: str, depth: int) -> list[str]:
    """What in ``source`` (a file ``depth`` folders below the repository root) names a path
    outside the repository, as ``line: reason``."""
    tree = ast.parse(source)
    names: dict[str, int] = {}
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            climb = _climb(node.value, names)
            if climb is not None:
                names[node.targets[0].id] = climb
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            m = ABSOLUTE.match(text)
            if SHARED.search(text):
                found.append(f"{node.lineno}: names the shared folder ({text[:60]!r})")
            elif m and (m.group("drive") or m.group("first") in OTHER_FOLDERS):
                found.append(f"{node.lineno}: absolute path {text[:60]!r}")
            continue
        climb = _climb(node, names) if isinstance(node, (ast.Attribute, ast.Subscript, ast.BinOp, ast.Call)) else None
        if climb is not None and climb > depth:
            found.append(f"{node.lineno}: climbs {climb - depth} folder(s) above the repository root")
    lines = source.splitlines()
    # a literal that is an input under test, never read (a path escape the code must refuse),
    # says so on its line: "# outside-path: ok (why)"
    found = [f for f in found if PRAGMA not in lines[int(f.split(":")[0]) - 1]]
    return sorted(set(found), key=lambda s: int(s.split(":")[0]))


def test_no_test_or_benchmark_names_a_path_outside_the_repository():
    me = Path(__file__).resolve()
    problems = []
    files = [p for folder in SCANNED for p in sorted((ROOT / folder).rglob("*.py")) if p != me]
    assert len(files) > 100  # the scan really sees the suite
    for path in files:
        rel = path.relative_to(ROOT)
        problems += [f"{rel}:{p}" for p in outside_paths(path.read_text(encoding="utf-8"), len(rel.parts) - 1)]
    assert problems == []


def test_the_check_catches_each_way_out():
    d = 2  # a file in tests/unit
    climb = "parents" + "[3]"  # spelled apart so a plain grep of the tests finds no real climb
    assert outside_paths(f'X = Path(__file__).resolve().{climb} / "data.json"', d)
    assert outside_paths('ROOT = Path(__file__).resolve().parents[2]\nS = ROOT.parent / "x"', d)
    assert outside_paths('ROOT = Path(__file__).parents[2]\nS = ROOT / ".." / "x"', d)
    assert outside_paths('S = Path(__file__).parent.parent.parent.parent / "x"', d)
    assert outside_paths('S = os.path.join(os.path.dirname(__file__), "../../../x")', d)
    assert outside_paths('S = Path("/work" "/shared/samples")', d)
    assert outside_paths('S = Path("/home/me/data")', d)
    assert outside_paths('S = "C:\\\\data\\\\x.csv"', d)
    up = ".." + "/shared"  # likewise
    assert outside_paths(f'S = "docs/" + "{up}/tools/x"', d)
    # inside the repository: fine
    assert outside_paths('ROOT = Path(__file__).resolve().parents[2]\nD = ROOT / "docs" / "a.md"', d) == []
    assert outside_paths('D = Path(__file__).parent / "data" / "x.json"', d) == []
    assert outside_paths('D = Path(__file__).resolve().parents[1] / "golden"', d) == []
    assert outside_paths('P = Path(__file__).resolve().parents[1]', 1) == []  # a benchmark's repository root
    assert outside_paths('t.stat("/../secret.txt"); load_layout("../../etc/passwd")', d) == []  # escape inputs
    assert outside_paths('open("/proc/self/stat")', d) == []
    assert outside_paths('BAD = ("/tmp/x.pdf",)  # outside-path: ok (refused input)', d) == []
