"""The executor's shell channel must see a reply at once even when a send happened while it waited.

The scene of the chapter 1 stall, on real sockets: a client awaits ``execute_reply`` on its shell
DEALER; the reply reaches the socket; before the event loop turns, the client sends a ``comm_msg``
on the same socket (nbclient mirroring an ``Output`` widget). See tools/kernel_wakeup.py.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import yaml
import zmq
import zmq.asyncio
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.session import Session

from tools import kernel_wakeup

POLL_TIMEOUT_S = 2.0


def test_notebook_runners_get_the_fix() -> None:
    # First in this file, before any test here calls install(): nbmake runs the chapters in the
    # pytest process, so conftest.py must have installed the fix. The book build loads it from
    # _config.yml.
    assert getattr(AsyncZMQSocketChannel.send, "_madlib_wakes_pending_poll", False)
    config = yaml.safe_load((Path(__file__).resolve().parents[1] / "_config.yml").read_text())
    assert config["sphinx"]["local_extensions"].get("tools.kernel_wakeup") == "./"


async def _reply_delay(send: Callable[[AsyncZMQSocketChannel, dict], None]) -> float:
    """Seconds from the kernel's reply to the client's get_msg returning it, with ``send`` in between."""
    ctx, sync_ctx = zmq.asyncio.Context(), zmq.Context()
    router = sync_ctx.socket(zmq.ROUTER)  # the kernel's shell socket
    dealer = ctx.socket(zmq.DEALER)       # the executor's shell socket
    try:
        port = router.bind_to_random_port("tcp://127.0.0.1")
        dealer.connect(f"tcp://127.0.0.1:{port}")
        session = Session(key=b"")
        channel = AsyncZMQSocketChannel(dealer, session)
        send(channel, session.msg("execute_request", {"code": ""}))
        ident, *_ = router.recv_multipart()
        waiting = asyncio.ensure_future(channel.get_msg(timeout=POLL_TIMEOUT_S))
        await asyncio.sleep(0.05)  # the poll is registered on the socket's file descriptor
        start = time.perf_counter()
        router.send_multipart([ident, *session.serialize(session.msg("execute_reply", {"status": "ok"}))])
        time.sleep(0.2)  # blocking on purpose: the reply arrives while the event loop does not turn
        send(channel, session.msg("comm_msg", {"comm_id": "output-widget", "data": {}}))
        reply = await waiting
        assert reply["msg_type"] == "execute_reply"
        return time.perf_counter() - start
    finally:
        dealer.close(linger=0)
        router.close(linger=0)
        ctx.term()
        sync_ctx.term()


def test_a_send_while_polling_loses_the_wakeup_without_the_fix() -> None:
    # Proves the scene reproduces the upstream bug. If this fails after an upgrade of pyzmq or
    # jupyter_client, upstream fixed it: tools/kernel_wakeup.py can go.
    kernel_wakeup.install()
    unpatched = AsyncZMQSocketChannel.send.__wrapped__
    assert asyncio.run(_reply_delay(unpatched)) >= POLL_TIMEOUT_S - 0.3


def test_the_fix_wakes_the_pending_poll_at_once() -> None:
    kernel_wakeup.install()
    assert asyncio.run(_reply_delay(AsyncZMQSocketChannel.send)) < 0.2 + 0.5


def test_install_is_idempotent() -> None:
    kernel_wakeup.install()
    patched = AsyncZMQSocketChannel.send
    assert kernel_wakeup.install() is False
    assert AsyncZMQSocketChannel.send is patched

