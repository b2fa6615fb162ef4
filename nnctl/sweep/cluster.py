"""A sweep's trials on a Dask distributed cluster: one task per trial, named after it; a trial of a
lost worker continued where it stopped; Ctrl-C stops them all.

    for result in cluster.run(tasks, "tcp://10.0.0.1:8786", run_trial, "sweep_moons"):
        ...                    # each trial's result as it ends

A task's key is `<sweep>-trial-<trial id>-<token>`: the dashboard groups the sweep's tasks under
`<sweep>-trial` and names each by its trial (the token, one per sweep run, keeps two sweeps on
one scheduler apart). On Ctrl-C the sweep sets a Dask Event that every running trial asks about
twice a second: each saves its last.json after its current batch and stops (resumed by the next
run of the sweep), the trials not started yet are not started, and the sweep waits up to GRACE
seconds for them before it exits; a second Ctrl-C leaves at once, cancelling every future.
"""

from __future__ import annotations

import contextlib
import signal
import time
import uuid

from ..errors import NnctlError

GRACE = 10.0  # seconds Ctrl-C waits for the running trials to save and stop


class EventStop:
    """A trial's stop() on a Dask worker: SIGINT once the Event `name` is set, asked at most
    every INTERVAL seconds (a round trip to the scheduler)."""

    INTERVAL = 0.5

    def __init__(self, name: str):
        self.name, self.event, self.asked, self.signal = name, None, float("-inf"), 0

    def __call__(self) -> int:
        now = time.monotonic()
        if not self.signal and now - self.asked >= self.INTERVAL:
            from distributed import Event

            self.asked = now
            self.event = self.event or Event(self.name)  # through the worker's own client
            if self.event.is_set():
                self.signal = int(signal.SIGINT)
        return self.signal


def on_worker(trial, trial_id: str, config_data: dict, run_dir: str, stop_name: str) -> dict | None:
    """`trial` (runner.run_trial) on a Dask worker, stopped by the sweep's Event; None when the
    sweep was stopped before this trial started (its folder is not touched)."""
    stop = EventStop(stop_name)
    if stop():
        return None
    return trial(trial_id, config_data, run_dir, stop=stop)


def task_key(sweep_name: str, trial_id: str, token: str) -> str:
    return f"{sweep_name}-trial-{trial_id}-{token}"


def run(tasks: list[tuple], scheduler: str, trial, sweep_name: str):
    """Run each (trial id, config data, run folder) task on the cluster at `scheduler`; yield each
    trial's result as it ends (a lost worker's trial that Dask gave up on: a failed result)."""
    try:
        from distributed import Client, Event, as_completed
    except ImportError:
        raise NnctlError("--scheduler needs Dask: pip install 'nnctl[dask]'") from None
    try:
        client = Client(scheduler, timeout="10s")
    except (OSError, TimeoutError, ValueError) as e:
        raise NnctlError(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None
    with client:
        stop = Event(f"nnctl-stop-{uuid.uuid4().hex}", client=client)
        token = uuid.uuid4().hex[:8]
        futures: dict = {}
        seen: set = set()
        finished = False
        try:
            for task in tasks:
                futures[client.submit(on_worker, trial, *task, stop.name,
                                      key=task_key(sweep_name, task[0], token))] = task
            for future in as_completed(futures):
                seen.add(future)
                result = _result(future, futures[future])
                if result is not None:
                    yield result
            finished = True
        except KeyboardInterrupt:
            stop.set()  # the running trials save their last.json and stop; the others do not start
            yield from _stopping(futures, seen)
            raise
        finally:
            if not finished:  # also when the caller stopped reading (its own Ctrl-C)
                with contextlib.suppress(Exception):  # a scheduler gone: the error that said so matters more
                    stop.set()
                    client.cancel([f for f in futures if f not in seen])


def _stopping(futures: dict, seen: set):
    """The results of the trials that end within GRACE seconds of the stop."""
    from distributed import wait

    pending = [f for f in futures if f not in seen]
    try:
        wait(pending, timeout=GRACE, return_when="ALL_COMPLETED")
    except TimeoutError:
        pass  # those still running are cancelled: they stop all the same, by the Event
    for future in (f for f in pending if f.done()):
        seen.add(future)
        result = _result(future, futures[future])
        if result is not None:
            yield result


def _result(future, task: tuple) -> dict | None:
    try:
        return future.result()
    except Exception as e:  # noqa: BLE001 - a lost worker or a missing nnctl on it: that trial failed
        trial_id, _, run_dir = task
        return {"trial": trial_id, "status": "failed", "error": f"on the Dask worker: {type(e).__name__}: {e}",
                "exit_code": 1, "run_dir": run_dir, "reused": False}
