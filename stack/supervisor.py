"""Keeps the stack's processes up: restarts a crashed one with capped exponential backoff, stops all in reverse."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol


class Unit(Protocol):
    """One supervised process: a service, or a region's Varnish."""

    name: str

    @property
    def pid(self) -> int | None: ...

    def start(self) -> None:
        """Launch it; raises if it cannot be launched at all."""
        ...

    def exit_code(self) -> int | None:
        """None while it runs; its exit code (negative: the signal) once it has exited."""
        ...

    def healthy(self) -> bool:
        """One quick readiness probe."""
        ...

    def stop(self) -> None:
        """Terminate and reap it; nothing to do once it has exited."""
        ...


@dataclass(frozen=True)
class Backoff:
    initial: float = 0.5
    factor: float = 2.0
    cap: float = 10.0
    # A unit healthy this long has recovered: its next crash is treated as the first again.
    reset_after: float = 30.0

    def delay(self, failures: int) -> float:
        """Seconds before the restart that follows the `failures`-th failure in a row (1 for the first)."""
        return min(self.cap, self.initial * self.factor ** max(0, failures - 1))


class Phase(Enum):
    RUNNING = "running"  # healthy since `since`
    WAITING = "waiting"  # failed; restart at `at`
    STARTING = "starting"  # relaunched at `since`; must be healthy by `at`


@dataclass
class Watch:
    unit: Unit
    phase: Phase
    since: float
    at: float = 0.0
    failures: int = 0  # failures in a row, reset once the unit has stayed healthy for `reset_after`
    down_since: float = 0.0


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"code {code}"


def stop_all(units: Sequence[Unit]) -> None:
    """Stop in reverse start order, so nothing outlives what it was started in front of."""
    for unit in reversed(units):
        unit.stop()


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class Supervisor:
    """Watches units that are already running and healthy; `tick` is one pass, `run` loops until told to stop.

    A unit that exits is relaunched after `backoff.delay(failures)`; one that does not answer its health
    probe within `start_timeout` of a relaunch is stopped and counts as another failure. The others are
    never touched. Time comes only from `clock` and `sleep`, so tests drive it without waiting.
    """

    def __init__(
        self,
        units: Sequence[Unit],
        *,
        backoff: Backoff | None = None,
        start_timeout: float = 30.0,
        poll_interval: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        log: Callable[[str], None] = _stderr,
    ) -> None:
        self.backoff = backoff or Backoff()
        self.start_timeout = start_timeout
        self.poll_interval = poll_interval
        self._clock = clock
        self._sleep = sleep
        self._log = log
        now = clock()
        self._watches = [Watch(unit, Phase.RUNNING, since=now) for unit in units]

    def watch(self, name: str) -> Watch:
        return next(w for w in self._watches if w.unit.name == name)

    def run(self, should_stop: Callable[[], bool]) -> None:
        while not should_stop():
            self.tick()
            if should_stop():
                break
            self._sleep(self.poll_interval)

    def stop_all(self) -> None:
        stop_all([w.unit for w in self._watches])

    def tick(self) -> None:
        for watch in self._watches:
            now = self._clock()
            name = watch.unit.name
            if watch.phase is Phase.RUNNING:
                code = watch.unit.exit_code()
                if code is None:
                    continue
                if now - watch.since >= self.backoff.reset_after:
                    watch.failures = 0
                watch.down_since = now
                self._failed(watch, now, f"{name} exited with {describe_exit(code)}")
            elif watch.phase is Phase.WAITING:
                if now >= watch.at:
                    self._relaunch(watch, now)
            else:
                code = watch.unit.exit_code()
                if code is not None:
                    self._failed(watch, now, f"{name} exited with {describe_exit(code)} while restarting")
                elif watch.unit.healthy():
                    now = self._clock()  # the probe itself takes time
                    watch.phase, watch.since = Phase.RUNNING, now
                    self._log(f"{name} restarted (pid {watch.unit.pid}), healthy after {now - watch.down_since:.1f} s")
                elif now >= watch.at:
                    watch.unit.stop()
                    self._failed(watch, now, f"{name} was not healthy {self.start_timeout:g} s after restarting")

    def _relaunch(self, watch: Watch, now: float) -> None:
        try:
            watch.unit.start()
        except Exception as exc:  # one unit's bad launch must not take the supervisor (and the stack) down
            self._failed(watch, now, f"{watch.unit.name} could not be restarted: {exc}")
            return
        watch.phase, watch.since, watch.at = Phase.STARTING, now, now + self.start_timeout

    def _failed(self, watch: Watch, now: float, what: str) -> None:
        watch.failures += 1
        delay = self.backoff.delay(watch.failures)
        watch.phase, watch.at = Phase.WAITING, now + delay
        line = f"{what}; restarting in {delay:g} s"
        if delay >= self.backoff.cap:
            line += f" (failed {watch.failures} times in a row; retrying every {self.backoff.cap:g} s until it starts)"
        self._log(line)
