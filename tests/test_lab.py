"""``make lab`` headless: JupyterLab serves chapter 1, with the explorers' widget extension and a kernel.

Starts ``jupyter lab --no-browser`` on a free localhost port with a token (the options ``make lab``
passes, plus those), then checks over HTTP that

* the chapter's page ``/lab/tree/chapters/01_gaussian.ipynb`` answers 200 and is JupyterLab's page
  with the ipywidgets extension (``@jupyter-widgets/jupyterlab-manager``) among its extensions,
* the contents API serves the notebook (with the token; without it the server answers 403),
* a kernel of the chapter's kernelspec starts and, driven over the server's websocket as the notebook
  page does, imports madlib and builds an ipywidgets slider,

and stops the server. Skipped when JupyterLab is not installed: it comes from requirements-lab.txt,
which ``make test`` and CI do not install. Run it after ``make lab`` once:
``.venv/bin/python -m pytest -q tests/test_lab.py``.

``MADLIB_CHECK_MAKE_LAB=1`` also runs ``make lab`` itself (``LAB_ARGS=--no-browser ...``): on a fresh
clone that creates .venv, installs both requirement files and registers the "madlib" kernel in the
user's Jupyter folder, so it is opt-in.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

REPO = Path(__file__).resolve().parents[1]
CHAPTER = "chapters/01_gaussian.ipynb"
WIDGETS_EXTENSION = "@jupyter-widgets/jupyterlab-manager"
START_TIMEOUT_S = 120.0
# What chapter 1 needs from its kernel: the course library and working widgets (ipywidgets 8 with the
# jupyterlab_widgets front end of the same release line).
KERNEL_CHECK = (
    "import madlib, ipywidgets, jupyterlab_widgets\n"
    "slider = ipywidgets.IntSlider(value=3)\n"
    "print('madlib ok', ipywidgets.__version__, jupyterlab_widgets.__version__, slider.value)\n")


def free_port() -> int:
    """A localhost TCP port that was free a moment ago (the server is told not to try others)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(method: str, url: str, token: str | None = None, body: dict | None = None,
         timeout: float = 30.0) -> tuple[int, bytes]:
    """(status, body) of one request; HTTP errors are returned, not raised."""
    headers = {"Authorization": f"token {token}"} if token else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def server_options(port: int | None, token: str) -> list[str]:
    """The headless options: this port only, localhost only, this token, no browser.

    ``port=None`` leaves the port out: ``make lab`` sets it from LAB_PORT, and jupyter refuses it twice.
    """
    port_option = [f"--ServerApp.port={port}"] if port is not None else []
    return ["--no-browser", *port_option, "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={token}"]


@contextlib.contextmanager
def running_server(command: list[str], base_url: str, token: str, log_path: Path,
                   env: dict[str, str], start_timeout: float = START_TIMEOUT_S) -> Iterator[subprocess.Popen]:
    """Start ``command`` in its own process group, wait until ``/api/status`` answers, stop it after."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if process.poll() is not None:
                raise AssertionError(f"server exited with {process.returncode}:\n{log_path.read_text()[-4000:]}")
            with contextlib.suppress(OSError):
                if http("GET", f"{base_url}/api/status", token, timeout=5)[0] == 200:
                    break
            if time.monotonic() > deadline:
                raise AssertionError(f"server not up after {start_timeout:.0f} s:\n{log_path.read_text()[-4000:]}")
            time.sleep(0.5)
        yield process
    finally:
        # The whole group: `make lab` is make plus the jupyter it started.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def execute(base_url: str, token: str, kernel_id: str, code: str, timeout: float = 120.0) -> str:
    """Run ``code`` in a kernel through the server's websocket, as the notebook page does; return its stdout.

    Fails on an error reply. The server marks a kernel "idle" only once a client talks to it, so
    this is also the way to know that the kernel started.
    """
    import websocket  # websocket-client, pinned in requirements.txt

    ws_url = base_url.replace("http://", "ws://", 1) + f"/api/kernels/{kernel_id}/channels?token={token}"
    msg_id = uuid.uuid4().hex
    request = {"header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test",
                          "session": uuid.uuid4().hex, "version": "5.3", "date": ""},
               "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
               "content": {"code": code, "silent": False, "store_history": False,
                           "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}
    connection = websocket.create_connection(ws_url, timeout=timeout)
    try:
        connection.send(json.dumps(request))
        stdout, reply = [], None
        deadline = time.monotonic() + timeout
        while reply is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"no execute_reply after {timeout:.0f} s; stdout so far {''.join(stdout)!r}")
            message = json.loads(connection.recv())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = message["header"]["msg_type"]
            if kind == "stream" and message["content"]["name"] == "stdout":
                stdout.append(message["content"]["text"])
            elif kind == "error":
                raise AssertionError("kernel error: " + "\n".join(message["content"]["traceback"]))
            elif kind == "execute_reply":
                reply = message["content"]
        assert reply["status"] == "ok", f"execute_reply {reply}"
        return "".join(stdout)
    finally:
        connection.close()


def page_config(html: str) -> dict[str, Any]:
    """The JSON JupyterLab embeds in its page (``<script id="jupyter-config-data">``)."""
    start = html.index('id="jupyter-config-data"')
    start = html.index(">", start) + 1
    return json.loads(html[start:html.index("</script>", start)])


def check_lab(base_url: str, token: str) -> dict[str, Any]:
    """Run every check against a running server; return what was seen (for the report)."""
    status, body = http("GET", f"{base_url}/lab/tree/{CHAPTER}?token={token}")
    assert status == 200, f"chapter page: HTTP {status}"
    config = page_config(body.decode())
    extensions = [ext["name"] for ext in config.get("federated_extensions", [])]
    assert WIDGETS_EXTENSION in extensions, f"widget extension missing; extensions: {extensions}"

    assert http("GET", f"{base_url}/api/contents/{CHAPTER}")[0] == 403, "contents served without the token"
    status, body = http("GET", f"{base_url}/api/contents/{CHAPTER}", token)
    assert status == 200, f"contents API: HTTP {status}"
    model = json.loads(body)
    assert model["type"] == "notebook" and model["path"] == CHAPTER
    expected = json.loads((REPO / CHAPTER).read_text())
    assert len(model["content"]["cells"]) == len(expected["cells"]) > 0
    kernel_name = model["content"]["metadata"]["kernelspec"]["name"]

    status, body = http("GET", f"{base_url}/api/kernelspecs", token)
    assert status == 200
    specs = sorted(json.loads(body)["kernelspecs"])
    assert kernel_name in specs, f"the chapter's kernel {kernel_name!r} is not among {specs}"

    status, body = http("POST", f"{base_url}/api/kernels", token, {"name": kernel_name})
    assert status == 201, f"starting a kernel: HTTP {status} {body[:200]!r}"
    kernel_id = json.loads(body)["id"]
    try:
        printed = execute(base_url, token, kernel_id, KERNEL_CHECK)
    finally:
        http("DELETE", f"{base_url}/api/kernels/{kernel_id}", token)
    assert printed.strip().startswith("madlib ok"), f"kernel printed {printed!r}"
    return {"extensions": extensions, "kernelspecs": specs, "cells": len(expected["cells"]),
            "kernel": kernel_name, "kernel_printed": printed.strip()}


def run_check(command: list[str], port: int, token: str, tmp_path: Path,
              start_timeout: float = START_TIMEOUT_S) -> dict[str, Any]:
    """Start the server with ``command``, check it, stop it; the server's files stay under ``tmp_path``."""
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    base_url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    with running_server(command, base_url, token, tmp_path / "server.log", env, start_timeout) as process:
        seen = check_lab(base_url, token)
        seen["start_and_check_s"] = round(time.monotonic() - started, 1)
    assert process.returncode is not None
    return seen


@pytest.fixture
def lab_installed() -> None:
    pytest.importorskip("jupyterlab", reason="JupyterLab is not installed (make lab installs requirements-lab.txt)")


def test_jupyter_lab_serves_the_chapter_with_widgets_and_a_kernel(lab_installed: None, tmp_path: Path) -> None:
    port, token = free_port(), secrets.token_hex(16)
    # As make lab does: Jupyter refuses to run as root (containers, CI) without --allow-root.
    as_root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    # The Makefile's recipe: the repository is the root folder, so the chapter is chapters/01_gaussian.ipynb.
    command = [sys.executable, "-m", "jupyterlab", "--ServerApp.root_dir=.", *server_options(port, token),
               *as_root, CHAPTER]
    seen = run_check(command, port, token, tmp_path)
    print(f"jupyter lab: {seen}")


@pytest.mark.skipif(os.environ.get("MADLIB_CHECK_MAKE_LAB") != "1",
                    reason="set MADLIB_CHECK_MAKE_LAB=1 to run `make lab` itself (installs into .venv)")
def test_make_lab_serves_the_chapter(tmp_path: Path) -> None:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    port, token = free_port(), secrets.token_hex(16)
    options = " ".join(server_options(None, token))
    command = [make, "lab", f"LAB_PORT={port}", f"LAB_ARGS={options}"]
    # A fresh clone installs everything first (minutes); a ready .venv starts in seconds.
    seen = run_check(command, port, token, tmp_path, start_timeout=1800)
    assert "madlib" in seen["kernelspecs"], "make lab did not register the madlib kernel"
    print(f"make lab: {seen}")
