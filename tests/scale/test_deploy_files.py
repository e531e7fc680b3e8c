"""What the Dockerfile and deploy/compose.yaml promise, read from the files themselves.

Docker is not run here: these check the text (stages, user, health check, command) and the
topology, and that the app's settings in the compose file are settings the app accepts.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from app.config import Settings
from app.probe import READY_PATH
from tests.conftest import ROOT

DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "deploy" / "compose.yaml"
NGINX = ROOT / "deploy" / "nginx.conf"
APP_PROXY = ROOT / "deploy" / "nginx" / "app-proxy.conf"
SITES = ROOT / "deploy" / "nginx" / "house.conf.template"


def instructions(text: str) -> list[tuple[str, str]]:
    """The Dockerfile's (INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    joined = re.sub(
        r"\\\n",
        " ",
        "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")),
    )
    found = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def stages() -> list[list[tuple[str, str]]]:
    """The instructions of each build stage, in order."""
    result: list[list[tuple[str, str]]] = []
    for word, rest in instructions(DOCKERFILE.read_text("utf-8")):
        if word == "FROM":
            result.append([])
        result[-1].append((word, rest))
    return result


def test_the_image_is_built_in_stages_and_runs_slim_and_not_as_root() -> None:
    built = stages()
    assert len(built) >= 2
    builder_name = built[0][0][1].split()[-1]
    runtime = built[-1]
    assert "slim" in runtime[0][1]
    # The runtime takes the built venv from the builder, not a compiler or pip's cache.
    assert any(w == "COPY" and f"--from={builder_name}" in r for w, r in runtime)
    users = [r for w, r in runtime if w == "USER"]
    assert users, "the runtime stage sets no USER: it would run as root"
    assert users[-1].split(":")[0] not in ("root", "0")
    # The runtime stage installs nothing itself.
    assert not any(w == "RUN" and "pip install" in r for w, r in runtime)


def test_no_test_or_dev_extras_reach_the_image() -> None:
    text = DOCKERFILE.read_text("utf-8")
    for word, rest in instructions(text):
        if word in ("RUN", "COPY"):
            assert "[test]" not in rest
            assert not re.search(r"\b(pytest|playwright|schemathesis|ruff|mypy)\b", rest)
            assert not re.search(r"\btests\b", rest), rest


def test_the_health_check_asks_readyz_and_the_command_is_vhouse_serve() -> None:
    runtime = stages()[-1]
    (check,) = [r for w, r in runtime if w == "HEALTHCHECK"]
    assert "app.probe" in check
    assert READY_PATH == "/readyz"
    (cmd,) = [r for w, r in runtime if w == "CMD"]
    argv = json.loads(cmd)
    assert argv[:2] == ["vhouse", "serve"]
    # The WebSocket limits come from app/server.py: nothing on the command line overrides them,
    # and uvicorn is never started directly (it would run without them).
    assert not any(a.startswith("--ws") or "uvicorn" in a for a in argv)
    # No migration in every replica at once: that is one step before them (compose: migrate).
    assert "--migrate" not in argv


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text("utf-8"))
    return loaded


def _interpolated(value: str) -> str:
    """``${NAME:?message}`` and ``${NAME}`` as compose fills them, with example values."""
    return re.sub(r"\$\{([A-Z_]+)[^}]*\}", lambda m: m.group(1).lower().replace("_", "-"), value)


def test_the_compose_topology() -> None:
    services = compose()["services"]
    assert {"proxy", "app", "migrate", "postgres", "redis"} <= set(services)
    app, migrate, proxy = services["app"], services["migrate"], services["proxy"]
    assert app["deploy"]["replicas"] >= 2
    assert app["command"][:2] == ["vhouse", "serve"]
    assert "--migrate" not in app["command"]
    assert migrate["command"] == ["vhouse", "migrate"]
    assert migrate["restart"] == "no"
    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert app["depends_on"]["redis"]["condition"] == "service_healthy"
    assert proxy["depends_on"]["app"]["condition"] == "service_healthy"
    assert re.match(r"(nginx|caddy)", proxy["image"])
    # Only the proxy is reachable from outside; the stores are on an internal network.
    for name in ("app", "migrate", "postgres", "redis"):
        assert "ports" not in services[name], name
    assert compose()["networks"]["back"]["internal"] is True
    assert set(services["postgres"]["networks"]) == {"back"}
    assert set(services["redis"]["networks"]) == {"back"}


def test_every_app_process_shares_one_key_directory_and_believes_only_the_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    services = compose()["services"]
    app, migrate, proxy = services["app"], services["migrate"], services["proxy"]
    env = {k: _interpolated(str(v)) for k, v in app["environment"].items()}
    assert env == {k: _interpolated(str(v)) for k, v in migrate["environment"].items()}
    for name in [n for n in os.environ if n.startswith("VH_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings()  # exactly as a process in the container reads them
    settings.check_serving()
    assert settings.mode == "production"
    assert settings.database_url.startswith("postgresql+asyncpg://")
    assert "@postgres:" in settings.database_url
    assert settings.broker_url.startswith("redis://redis:")
    assert settings.trusted_proxies == [proxy["networks"]["front"]["ipv4_address"]]
    assert len(settings.allowed_origins) == 2
    assert all(o.startswith("https://") for o in settings.allowed_origins)
    # The service key, the server secret and the bucket keys live on one named volume that
    # the migration and every app replica mount at the same place.
    (mount,) = app["volumes"]
    volume, _, target = mount.partition(":")
    assert volume in compose()["volumes"]
    assert migrate["volumes"] == app["volumes"]
    assert settings.service_key_file is not None
    bucket_dir = settings.bucket_key_dir()
    assert bucket_dir is not None
    for path in (settings.service_key_file, bucket_dir):
        assert PurePosixPath(target) in PurePosixPath(path).parents


def _directives(path: Path) -> list[list[str]]:
    lines = [line.split("#")[0].strip() for line in path.read_text("utf-8").splitlines()]
    return [shlex.split(line.rstrip(";")) for line in lines if line.endswith(";")]


def test_the_proxy_upgrades_websockets_to_the_app() -> None:
    directives = _directives(APP_PROXY)
    assert ["proxy_http_version", "1.1"] in directives
    assert ["proxy_set_header", "Upgrade", "$http_upgrade"] in directives
    assert ["proxy_set_header", "Connection", "$connection_upgrade"] in directives
    assert ["proxy_set_header", "X-Forwarded-For", "$remote_addr"] in directives
    assert ["set", "$app", "http://app:8000"] in directives
    assert ["proxy_pass", "$app"] in directives
    # Longer than the app's ping interval, so idle sockets are not cut by the proxy.
    (read_timeout,) = [d[1] for d in directives if d[0] == "proxy_read_timeout"]
    assert float(read_timeout.rstrip("s")) > Settings(mode="test").ws_ping_interval_seconds
    main = _directives(NGINX)
    assert ["access_log", "off"] in main
    assert ["ssl_protocols", "TLSv1.2", "TLSv1.3"] in main
    assert ["include", "/etc/nginx/conf.d/house.conf"] in main


def test_the_youth_host_serves_nothing_of_the_staff_console() -> None:
    text = SITES.read_text("utf-8")
    youth, staff = re.split(r"\n(?=# The staff console)", text)
    assert "server_name ${VH_YOUTH_HOST};" in youth
    assert "server_name ${VH_STAFF_HOST};" in staff
    for blocked in ("location ^~ /staff { return 404; }", "location = /ws/staff { return 404; }"):
        assert blocked in youth
    for site in (youth, staff):
        assert "include /etc/nginx/snippets/app-proxy.conf;" in site
    # The files the proxy reads are the ones mounted where these includes look.
    mounts = {m.split(":")[1]: m.split(":")[0] for m in compose()["services"]["proxy"]["volumes"]}
    assert mounts["/etc/nginx/snippets/app-proxy.conf"] == "./nginx/app-proxy.conf"
    assert mounts["/etc/nginx/templates/house.conf.template"] == "./nginx/house.conf.template"
    assert mounts["/etc/nginx/nginx.conf"] == "./nginx.conf"
    assert set(compose()["services"]["proxy"]["environment"]) == {"VH_YOUTH_HOST", "VH_STAFF_HOST"}


@pytest.mark.parametrize("path", [DOCKERFILE, COMPOSE, NGINX, APP_PROXY, SITES])
def test_the_deploy_files_are_in_the_repository(path: Path) -> None:
    assert path.is_file()
