"""llmdoor outside this repository, installed and used the way a consumer would.

One test, marked ``package`` (it builds a wheel and fills a virtualenv: tens of seconds,
a few minutes on a slow box). It needs ``uv`` and fails, never skips, without it:

1. ``uv build --package llmdoor --wheel``: the provider's wheel, built from this checkout.
2. A fresh virtualenv (``uv venv``) with that wheel installed, core only (no extras),
   every dependency pinned to this repository's uv.lock (``uv export`` as constraints) and
   taken from uv's cache. Neither the bot's libraries (aiogram, beanie, ...) nor this
   repository's ``app`` can be imported there; every installed version is the locked one.
3. A consumer project in a temporary directory with a package ``app`` of its own (the
   same top-level name as the bot's) and a ``.env`` holding every setting: the endpoint
   (the fake OpenAI server of this suite, on 127.0.0.1), ``OPENAI_API_KEY``, the default
   model and ``ACCESS_SINGLE_USER_MODE=true``. The consumer's environment is a short
   whitelist (PATH, HOME, LANG, ...): no ``LLM_*``, ``ACCESS_*`` or ``OPENAI_*`` variable
   of the test runner reaches it, so the settings can only come from ``.env``.
4. The consumer script calls ``query_llm`` and ``asyncio.run(aquery_llm(...))`` without a
   ``user_id``; the answers are the fake's, and the fake saw both requests, with the key
   from ``.env``. The same script without ``.env`` fails with AccessDenied and sends
   nothing: ``.env`` is what let the calls through.
5. The consumer's site-packages is measured against the bot's (printed; the consumer's
   must be well under it).

Only 127.0.0.1 is ever contacted by the consumer: besides the fake's address from
``.env``, its proxy variables point at a closed local port, so a call to anywhere else
would fail instead of leaving the machine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import textwrap
import time
import tomllib
from pathlib import Path

import pytest

from tests.fakes.openai_server import FakeOpenAI

ROOT = Path(__file__).resolve().parent.parent

INSTALL_TIMEOUT = 300  # seconds; build, export and venv get the same, generous on 2 cores
RUN_TIMEOUT = 180  # one consumer run: importing litellm takes seconds on a slow box

BOT_LIBRARIES = ("aiogram", "aiogram_dialog", "beanie", "pymongo", "matplotlib")
# The only variables of the test runner the consumer sees; none of them configures llmdoor.
ENV_WHITELIST = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "SYSTEMROOT")
SETTING_PREFIXES = ("LLM_", "ACCESS_", "OPENAI_", "LITELLM_", "TOOLS_", "MEDIA_")
FAKE_MODEL = "openai/fake-model"
API_KEY = "sk-test"
# The consumer's installed size against the bot's environment: well under it.
MAX_SIZE_RATIO = 0.6

pytestmark = [pytest.mark.package, pytest.mark.timeout(1200)]

CONSUMER_SCRIPT = textwrap.dedent(
    """\
    import asyncio
    import json
    import sys

    import app
    import llmdoor
    from llmdoor import aquery_llm, query_llm

    # The consumer's own `app`, not the bot's: no clash over the top-level name.
    assert app.NAME == "consumer", app.__file__
    bot = ("aiogram", "aiogram_dialog", "beanie", "pymongo", "matplotlib")
    # Every public name resolves with the core alone (no extra needed to import it).
    missing = [name for name in llmdoor.__all__ if not hasattr(llmdoor, name)]

    answer_sync = query_llm("hello from a sync consumer")
    answer_async = asyncio.run(aquery_llm("hello from an async consumer"))
    print("sync answer:", answer_sync, file=sys.stderr)
    print("async answer:", answer_async, file=sys.stderr)
    report = {
        "app": app.__file__,
        "llmdoor": llmdoor.__file__,
        "sync": answer_sync,
        "async": answer_async,
        "bot_modules": sorted(m for m in sys.modules if m.split(".")[0] in bot),
        "missing": missing,
    }
    print("RESULT " + json.dumps(report))
    """
)

# Run from a directory that is neither this repository nor the consumer project.
PROBE_SCRIPT = textwrap.dedent(
    """\
    import importlib.util
    import json
    import sys

    names = sys.argv[1:]
    found = {name: importlib.util.find_spec(name) for name in names}
    print(json.dumps({name: spec and spec.origin for name, spec in found.items()}))
    """
)


# ---------------------------------------------------------------------------- helpers


def _uv() -> str:
    """uv itself: on PATH in CI (.ci/run puts it there); `uv run` also names it in $UV."""
    found = shutil.which("uv") or os.environ.get("UV")
    if not found or not Path(found).exists():
        pytest.fail(
            "uv is not on PATH: this test builds llmdoor's wheel and installs it with uv. "
            "Install uv (as .ci/run does) instead of skipping: CI must run this test.",
            pytrace=False,
        )
    return found


def _run(
    args: list[str],
    *,
    timeout: float,
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        args,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        pytest.fail(
            f"{' '.join(args)} exited with {proc.returncode}\n"
            f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}",
            pytrace=False,
        )
    return proc


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked_versions(constraints: Path) -> dict[str, set[str]]:
    """name -> the versions uv.lock allows (one per environment marker)."""
    pins: dict[str, set[str]] = {}
    for line in constraints.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        requirement = line.split(";", 1)[0].strip()
        if "==" in requirement:
            name, version = requirement.split("==", 1)
            pins.setdefault(_norm(name), set()).add(version.strip())
    return pins


def _size_mb(site_packages: Path) -> float:
    """Bytes of the installed files, bytecode caches left out (they come and go with use)."""
    total = 0
    for folder, dirs, files in os.walk(site_packages):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if not name.endswith(".pyc"):
                total += os.lstat(os.path.join(folder, name)).st_size
    return total / 1024 / 1024


def _closed_local_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _consumer_env() -> dict[str, str]:
    """The whitelist, nothing else; this repository's own bin directories left off PATH."""
    env = {name: os.environ[name] for name in ENV_WHITELIST if name in os.environ}
    path = [p for p in env.get("PATH", os.defpath).split(os.pathsep) if p]
    env["PATH"] = os.pathsep.join(p for p in path if not Path(p).is_relative_to(ROOT))
    # A request to any host but 127.0.0.1 goes to a closed local port and fails.
    trap = f"http://127.0.0.1:{_closed_local_port()}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        env[name] = env[name.lower()] = trap
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    leaked = sorted(n for n in env if n.upper().startswith(SETTING_PREFIXES))
    assert not leaked, f"settings leak into the consumer's environment: {leaked}"
    return env


def _result(proc: subprocess.CompletedProcess[str]) -> dict[str, object]:
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, (
        f"the consumer failed ({proc.returncode})\n--- stdout\n{proc.stdout}\n"
        f"--- stderr\n{proc.stderr}"
    )
    result = json.loads(lines[-1].removeprefix("RESULT "))
    assert isinstance(result, dict)
    return result


# ---------------------------------------------------------------------------- the test


def test_llmdoor_wheel_works_for_a_consumer(tmp_path: Path, fake_llm_server: FakeOpenAI) -> None:
    fake = fake_llm_server
    fake.reset()
    uv = _uv()
    uv_env = {k: v for k, v in os.environ.items() if not k.upper().startswith(SETTING_PREFIXES)}

    # 1. The wheel, as `uv build` makes it for anyone.
    dist = tmp_path / "dist"
    started = time.monotonic()
    _run(
        [uv, "build", "--package", "llmdoor", "--wheel", "-o", str(dist)],
        timeout=INSTALL_TIMEOUT,
        env=uv_env,
    )
    wheels = sorted(dist.glob("llmdoor-*.whl"))
    assert len(wheels) == 1, wheels
    build_seconds = time.monotonic() - started

    # 2. A fresh venv with the wheel, core only, pinned to uv.lock, from uv's cache.
    constraints = tmp_path / "constraints.txt"
    _run(
        [
            uv,
            "export",
            "--package",
            "llmdoor",
            "--frozen",
            "--no-dev",
            "--no-hashes",
            "--no-emit-workspace",
            "--no-header",
            "--no-annotate",
            "-o",
            str(constraints),
        ],
        timeout=INSTALL_TIMEOUT,
        env=uv_env,
    )
    locked = _locked_versions(constraints)
    assert "litellm" in locked and "pydantic-settings" in locked, constraints.read_text()
    for name in BOT_LIBRARIES:
        assert _norm(name) not in locked, f"llmdoor's core locks {name}"

    venv = tmp_path / "venv"
    _run([uv, "venv", "--python", sys.executable, str(venv)], timeout=INSTALL_TIMEOUT, env=uv_env)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    assert python.exists(), list(venv.iterdir())

    install = [uv, "pip", "install", "--python", str(python), "-c", str(constraints)]
    started = time.monotonic()
    # Every locked package is in uv's cache once `uv sync` ran; only if the cache was
    # pruned may uv fetch the same pinned versions from the index.
    proc = _run(
        [*install, "--offline", str(wheels[0])], timeout=INSTALL_TIMEOUT, env=uv_env, check=False
    )
    offline = proc.returncode == 0
    if not offline:
        print(f"\noffline install failed, fetching the pinned versions:\n{proc.stderr}")
        _run([*install, str(wheels[0])], timeout=INSTALL_TIMEOUT, env=uv_env)
    install_seconds = time.monotonic() - started

    listed = _run(
        [uv, "pip", "list", "--python", str(python), "--format", "json"],
        timeout=INSTALL_TIMEOUT,
        env=uv_env,
    )
    installed = {_norm(row["name"]): row["version"] for row in json.loads(listed.stdout)}
    version = tomllib.loads((ROOT / "packages/llmdoor/pyproject.toml").read_text())["project"]
    assert installed.get("llmdoor") == version["version"], installed
    assert "litellm" in installed, installed
    for name in BOT_LIBRARIES:
        assert _norm(name) not in installed, f"{name} was installed with llmdoor's core"
    unlocked = {
        name: version
        for name, version in installed.items()
        if name != "llmdoor" and version not in locked.get(name, set())
    }
    assert not unlocked, f"installed versions not pinned by uv.lock: {unlocked}"

    env = _consumer_env()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    probe = _run(
        [str(python), "-c", PROBE_SCRIPT, "app", "llmdoor", "litellm", *BOT_LIBRARIES],
        timeout=RUN_TIMEOUT,
        cwd=elsewhere,
        env=env,
    )
    origins = json.loads(probe.stdout)
    site_packages = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            timeout=RUN_TIMEOUT,
            cwd=elsewhere,
            env=env,
        ).stdout.strip()
    )
    assert origins["app"] is None, f"this repository's app is importable: {origins['app']}"
    for name in BOT_LIBRARIES:
        assert origins[name] is None, f"{name} is importable in the consumer's venv"
    assert Path(origins["llmdoor"]).is_relative_to(site_packages), origins["llmdoor"]
    assert not Path(origins["llmdoor"]).is_relative_to(ROOT), origins["llmdoor"]

    # 5. Size, measured before anything ran there (no bytecode yet; none is counted).
    consumer_mb = _size_mb(site_packages)
    bot_site = Path(sysconfig.get_paths()["purelib"])
    bot_mb = _size_mb(bot_site)
    print(
        f"\nllmdoor consumer venv: wheel built in {build_seconds:.1f} s, installed in "
        f"{install_seconds:.1f} s ({'offline, from the cache' if offline else 'online'}), "
        f"{len(installed)} packages\n"
        f"site-packages: consumer {consumer_mb:.0f} MB, the bot's {bot_mb:.0f} MB "
        f"({bot_site}), {consumer_mb / bot_mb:.0%}"
    )
    assert consumer_mb < MAX_SIZE_RATIO * bot_mb, (consumer_mb, bot_mb)

    # 3. The consumer project: its own `app`, its settings in .env only.
    project = tmp_path / "consumer"
    (project / "app").mkdir(parents=True)
    (project / "app" / "__init__.py").write_text('NAME = "consumer"\n')
    (project / "main.py").write_text(CONSUMER_SCRIPT)
    dotenv = project / ".env"
    dotenv.write_text(
        "# Everything the consumer configures; its environment carries none of it.\n"
        f"LLM_API_BASE={fake.base_url}\n"
        f"LLM_DEFAULT_MODEL={FAKE_MODEL}\n"
        f"OPENAI_API_KEY={API_KEY}\n"
        "ACCESS_SINGLE_USER_MODE=true\n"
        "LLM_TIMEOUT=60\n"
    )

    # 4. Sync and async calls without a user_id, let through by .env's single-user mode.
    started = time.monotonic()
    result = _result(
        _run([str(python), "main.py"], timeout=RUN_TIMEOUT, cwd=project, env=env, check=False)
    )
    print(
        f"consumer answers in {time.monotonic() - started:.1f} s (litellm's first import "
        f"included): sync {result['sync']!r}, async {result['async']!r}"
    )
    assert result["sync"] == "echo: hello from a sync consumer"
    assert result["async"] == "echo: hello from an async consumer"
    assert result["app"] == str(project / "app" / "__init__.py")
    assert Path(str(result["llmdoor"])).is_relative_to(site_packages)
    assert result["bot_modules"] == []
    assert result["missing"] == [], "names in llmdoor.__all__ the package lacks"

    seen = fake.chat_requests
    assert [r.messages[-1]["content"] for r in seen] == [
        "hello from a sync consumer",
        "hello from an async consumer",
    ]
    for request in seen:
        assert request.json["model"] == FAKE_MODEL.removeprefix("openai/")
        headers = {k.lower(): v for k, v in request.headers.items()}
        assert headers.get("authorization") == f"Bearer {API_KEY}", "the key from .env"

    # Without .env the very same script is refused before any request: .env was read.
    dotenv.rename(project / "env.disabled")
    fake.reset()
    started = time.monotonic()
    refused = _run([str(python), "main.py"], timeout=RUN_TIMEOUT, cwd=project, env=env, check=False)
    print(f"without .env: refused in {time.monotonic() - started:.1f} s")
    assert refused.returncode != 0, refused.stdout
    assert "llmdoor.errors.AccessDenied" in refused.stderr, refused.stderr
    assert "ACCESS_SINGLE_USER_MODE" in refused.stderr, refused.stderr
    assert "RESULT " not in refused.stdout
    assert fake.requests == []
    fake.reset()
