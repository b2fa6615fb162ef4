"""SIGINT and SIGTERM as requests to stop after the current batch, not as instant deaths.

    with interrupts.deferred() as stop:
        api.train(cfg, stop=stop)      # fit asks stop() after every batch

The first signal is only recorded; a second one stops at once (StoppedAtOnce, a
KeyboardInterrupt carrying the signal, so that a second SIGTERM still exits 143), for a user who
does not want to wait for the batch to finish. Files stay whole either way: every write is atomic.
"""

from __future__ import annotations

import contextlib
import signal
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StoppedAtOnce(KeyboardInterrupt):
    """A second signal: stop now. `signal` is its number (exit code 128 + it)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signal = signum


@contextlib.contextmanager
def deferred():
    """Install the handlers (main thread only) and yield `stop()`: the first signal's number, or 0."""
    received: list[int] = []

    def handler(signum, frame):
        if received:
            raise StoppedAtOnce(signum)
        received.append(signum)

    def stop() -> int:
        return received[0] if received else 0

    if threading.current_thread() is not threading.main_thread():
        yield stop  # signals are only delivered to the main thread; nothing to install
        return
    previous = {s: signal.signal(s, handler) for s in SIGNALS}
    try:
        yield stop
    finally:
        for s, old in previous.items():
            signal.signal(s, old)
