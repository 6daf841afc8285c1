"""Fix a lost wake-up in the notebook executor's shell channel (the "intermittent kernel stall").

The bug, upstream in jupyter_client 8.10 with pyzmq 27 and nbclient 0.11 (reported as
jupyter/nbclient#312, discussed in jupyter/jupyter_client#1059, unfixed): ``Session.send`` writes
to an asyncio socket through a *blocking shadow* of it. While nbclient executes a cell it awaits
the ``execute_reply`` with ``poll()`` on that same shell socket. When the cell displays into an
ipywidgets ``Output`` (every ``interact`` does, for its first draw), nbclient mirrors the output
back to the kernel with a ``comm_msg`` sent on the shell channel, *during* that poll. The shadow
send runs libzmq's command processing, which can consume the socket's edge-triggered read
notification of an ``execute_reply`` that has just arrived; pyzmq's asyncio socket never learns of
the send, so its pending poll is not woken and sleeps until its timeout, sees the reply then and
goes on. Under nbmake that is the whole cell timeout, with client and kernel both idle (chapter 1,
one run in four here). ipykernel plays no part: 6.29.5 stalls the same way.

``install()`` makes the asyncio shell, stdin and control channels re-check their socket after
such a send, as pyzmq's own asyncio ``send`` does, so a reply already there wakes the waiting
poll at once. It is applied by ``conftest.py`` (nbmake, in each pytest worker) and, as a Sphinx
extension listed in ``_config.yml``, in the book build (myst-nb executes in-process).
"""
from __future__ import annotations

from typing import Any

import zmq
import zmq.asyncio
from jupyter_client.channels import AsyncZMQSocketChannel

_MARK = "_madlib_wakes_pending_poll"


def install() -> bool:
    """Patch ``AsyncZMQSocketChannel.send`` to wake a pending poll; True if it was patched now.

    Idempotent: a second call changes nothing and returns False. Raises ``RuntimeError`` when the
    installed pyzmq lacks the asyncio socket hook this relies on (pin: pyzmq==27.3.0).
    """
    original = AsyncZMQSocketChannel.send
    if getattr(original, _MARK, False):
        return False
    if not hasattr(zmq.asyncio.Socket, "_schedule_remaining_events"):
        raise RuntimeError(f"pyzmq {zmq.__version__} has no asyncio Socket._schedule_remaining_events; "
                           "tools/kernel_wakeup.py needs updating for it (requirements.txt pins pyzmq)")

    def send(self: AsyncZMQSocketChannel, msg: dict[str, Any]) -> None:
        original(self, msg)
        # The blocking shadow send may have eaten the read edge of a message that arrived
        # meanwhile; have the asyncio socket look at its events and wake its waiters now.
        self.socket._schedule_remaining_events()

    send.__doc__ = original.__doc__
    send.__wrapped__ = original  # type: ignore[attr-defined]
    setattr(send, _MARK, True)
    AsyncZMQSocketChannel.send = send  # type: ignore[method-assign]
    return True


def setup(app: Any) -> dict[str, Any]:
    """Sphinx entry point: install the fix before myst-nb executes the chapters."""
    install()
    return {"parallel_read_safe": True, "parallel_write_safe": True}
