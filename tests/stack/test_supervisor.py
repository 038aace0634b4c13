"""The supervisor's restart policy on fake processes and a fake clock: backoff, cap, reset, order of stopping."""

from __future__ import annotations

import re

import pytest

from stack.supervisor import Backoff, Phase, Supervisor


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class FakeUnit:
    """A process that runs until `crash`; `dies_on_start` and `never_healthy` make its relaunches fail."""

    def __init__(self, name: str, stopped: list[str]) -> None:
        self.name = name
        self.pid: int | None = 100
        self.code: int | None = None
        self.starts = 0
        self.is_healthy = True
        self.dies_on_start = False
        self.refuses_to_start = False
        self._stopped = stopped

    def start(self) -> None:
        if self.refuses_to_start:
            raise OSError("no such file")
        self.starts += 1
        self.pid = 100 + self.starts
        self.code = 1 if self.dies_on_start else None

    def exit_code(self) -> int | None:
        return self.code

    def healthy(self) -> bool:
        return self.is_healthy

    def stop(self) -> None:
        self._stopped.append(self.name)
        if self.code is None:
            self.code = -15

    def crash(self, code: int = -9) -> None:
        self.code = code


Parts = tuple[Clock, dict[str, FakeUnit], Supervisor, list[str], list[str]]


@pytest.fixture
def parts() -> Parts:
    clock, stopped, lines = Clock(), [], []
    units = {name: FakeUnit(name, stopped) for name in ("catalog", "pricing", "origin")}
    supervisor = Supervisor(
        list(units.values()),
        backoff=Backoff(initial=0.5, cap=10.0, reset_after=30.0),
        start_timeout=5.0,
        clock=clock,
        sleep=clock.sleep,
        log=lines.append,
    )
    return clock, units, supervisor, stopped, lines


def delays(lines: list[str]) -> list[float]:
    return [float(m.group(1)) for line in lines if (m := re.search(r"restarting in ([\d.]+) s", line))]


def test_backoff_doubles_from_half_a_second_to_the_cap() -> None:
    assert [Backoff().delay(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 10, 10, 10]


def test_a_crashed_unit_is_restarted_after_the_backoff_and_the_others_are_untouched(parts: Parts) -> None:
    clock, units, supervisor, stopped, lines = parts
    supervisor.tick()
    assert lines == [] and all(u.starts == 0 for u in units.values())
    units["pricing"].crash()
    supervisor.tick()
    assert lines == ["pricing exited with SIGKILL; restarting in 0.5 s"]
    assert supervisor.watch("pricing").phase is Phase.WAITING
    clock.now = 0.4
    supervisor.tick()
    assert units["pricing"].starts == 0  # not before its delay
    clock.now = 0.5
    units["pricing"].is_healthy = False  # launched, still starting
    supervisor.tick()
    assert units["pricing"].starts == 1 and supervisor.watch("pricing").phase is Phase.STARTING
    clock.now = 1.5
    units["pricing"].is_healthy = True
    supervisor.tick()
    assert supervisor.watch("pricing").phase is Phase.RUNNING
    assert lines[-1] == "pricing restarted (pid 101), healthy after 1.5 s"
    assert len(lines) == 2
    assert units["catalog"].starts == units["origin"].starts == 0 and stopped == []


def test_a_unit_that_keeps_dying_on_start_is_retried_forever_at_the_capped_delay(parts: Parts) -> None:
    clock, units, supervisor, stopped, lines = parts
    catalog = units["catalog"]
    catalog.dies_on_start = True
    catalog.crash(1)
    supervisor.run(should_stop=lambda: clock.now > 120)
    assert delays(lines)[:8] == [0.5, 1, 2, 4, 8, 10, 10, 10]
    assert catalog.starts >= 10  # still being retried two minutes on
    capped = [line for line in lines if "retrying every 10 s until it starts" in line]
    assert capped and "failed 6 times in a row" in capped[0]
    assert all("while restarting" in line for line in lines[1:])
    assert units["pricing"].starts == units["origin"].starts == 0 and stopped == []


def test_failures_in_a_row_reset_once_the_unit_has_stayed_healthy(parts: Parts) -> None:
    clock, units, supervisor, _, lines = parts
    origin = units["origin"]

    def crash_and_recover() -> None:
        origin.crash()
        supervisor.tick()
        clock.now = supervisor.watch("origin").at
        supervisor.tick()  # relaunched
        supervisor.tick()  # healthy
        assert supervisor.watch("origin").phase is Phase.RUNNING

    crash_and_recover()
    clock.now += 5  # healthy, but not for long
    crash_and_recover()
    clock.now += 30  # healthy long enough: the next crash is a first one again
    crash_and_recover()
    assert delays(lines) == [0.5, 1, 0.5]


def test_a_relaunch_that_never_becomes_healthy_is_stopped_and_counted(parts: Parts) -> None:
    clock, units, supervisor, stopped, lines = parts
    catalog = units["catalog"]
    catalog.crash()
    supervisor.tick()
    clock.now = 0.5
    catalog.is_healthy = False
    supervisor.tick()
    clock.now = 5.4
    supervisor.tick()
    assert stopped == []  # still inside its start timeout
    clock.now = 5.5
    supervisor.tick()
    assert stopped == ["catalog"]
    assert lines[-1] == "catalog was not healthy 5 s after restarting; restarting in 1 s"


def test_a_unit_that_cannot_be_launched_is_retried(parts: Parts) -> None:
    clock, units, supervisor, _, lines = parts
    units["origin"].crash(3)
    units["origin"].refuses_to_start = True
    supervisor.tick()
    clock.now = 0.5
    supervisor.tick()
    assert lines[-1] == "origin could not be restarted: no such file; restarting in 1 s"
    units["origin"].refuses_to_start = False
    clock.now = 1.5
    supervisor.tick()
    supervisor.tick()
    assert supervisor.watch("origin").phase is Phase.RUNNING and lines[0].startswith("origin exited with code 3")


def test_run_stops_when_asked_and_stop_all_goes_in_reverse_start_order(parts: Parts) -> None:
    clock, _, supervisor, stopped, _ = parts
    supervisor.run(should_stop=lambda: clock.now > 0.99)
    assert clock.now == pytest.approx(1.0)  # five polls of the default 0.2 s, all on the fake clock
    supervisor.stop_all()
    assert stopped == ["origin", "pricing", "catalog"]
