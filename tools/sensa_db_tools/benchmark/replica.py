"""The read-only mix on a hot standby beside the primary, and the standby's lag meanwhile.

A target is a standby when it is in recovery. The mix's heartbeat writes, which
a standby refuses, so a standby target needs the read-only mix; the command
says so before it creates anything. Before pgbench starts, the standby must have
replayed the benchmark's database (its tables, ``bench_picks``, the statistics).

Lag is measured as time, not read off a clock: every ``SAMPLE_SECONDS`` the
sampler reads the primary's WAL position and polls the standby until its replay
reaches it. That delay (poll granularity ``POLL_SECONDS``) and the bytes the
standby was behind when asked are recorded with their time, and each sample is
attributed to the pgbench run it fell in. The read-only mix writes no WAL of its
own: what the standby replays meanwhile is whatever else the primary writes.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg

from sensa_db_tools.benchmark.concurrency import Run, Target

SAMPLE_SECONDS = 0.5
POLL_SECONDS = 0.005
REPLAY_TIMEOUT_SECONDS = 300.0


class StandbyNeedsReadOnlyMixError(ValueError):
    """A standby was given the mix that writes."""


def connect(target: Target, dbname: str, user: str, password: str) -> psycopg.Connection[Any]:
    return psycopg.connect(
        host=target.host,
        port=target.port,
        dbname=dbname,
        user=user,
        password=password,
        autocommit=True,
    )


def standbys(
    targets: Sequence[Target], user: str, password: str, *, read_only: bool
) -> tuple[Target, ...]:
    """The targets that are hot standbys; refused unless the mix is read-only."""
    found = []
    for target in targets:
        with connect(target, "postgres", user, password) as conn:
            row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
        if row is not None and row[0]:
            found.append(target)
    if found and not read_only:
        names = ", ".join(f"{t.name} ({t.host}:{t.port})" for t in found)
        raise StandbyNeedsReadOnlyMixError(
            f"{names}: a hot standby refuses the mix's write (progress heartbeat);"
            " add --read-only to send it the read-only mix"
        )
    return tuple(found)


def replay_delay(
    primary: psycopg.Connection[Any],
    standby: psycopg.Connection[Any],
    *,
    timeout: float = REPLAY_TIMEOUT_SECONDS,
) -> tuple[float, int]:
    """Seconds until ``standby`` replays the primary's WAL position of now, and the bytes
    it was behind when first asked."""
    row = primary.execute("SELECT pg_current_wal_lsn()").fetchone()
    assert row is not None
    position = row[0]
    started = time.monotonic()
    behind = None
    while True:
        replay = standby.execute(
            "SELECT pg_wal_lsn_diff(%s, pg_last_wal_replay_lsn())::bigint", (position,)
        ).fetchone()
        assert replay is not None
        if behind is None:
            behind = max(int(replay[0]), 0)
        if replay[0] <= 0:
            return time.monotonic() - started, behind
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"the standby did not replay the primary's WAL within {timeout} s")
        time.sleep(POLL_SECONDS)


def wait_for_database(
    standby: Target, dbname: str, user: str, password: str, *, timeout: float
) -> psycopg.Connection[Any]:
    """A connection to ``dbname`` on the standby, once the standby has it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return connect(standby, dbname, user, password)
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{dbname} did not reach the standby {standby.name} within {timeout} s"
                ) from None
            time.sleep(0.1)


@dataclass(frozen=True)
class LagSample:
    at: float
    delay_s: float
    bytes_behind: int


@dataclass
class LagSampler:
    """Samples a standby's replay delay in a thread while pgbench runs."""

    primary: psycopg.Connection[Any]
    standby: psycopg.Connection[Any]
    samples: list[LagSample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _sample(self) -> None:
        while not self._stop.is_set():
            at = time.monotonic()
            delay, behind = replay_delay(self.primary, self.standby)
            self.samples.append(LagSample(at, delay, behind))
            self._stop.wait(SAMPLE_SECONDS)

    @contextmanager
    def running(self) -> Iterator[LagSampler]:
        thread = threading.Thread(target=self._sample, name="replica-lag", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()


def lag_per_run_group(samples: Sequence[LagSample], runs: Sequence[Run]) -> list[dict[str, Any]]:
    """The standby's lag while each target served each client count (all repetitions
    and both logins): median and largest delay in ms, largest bytes behind."""
    groups: dict[tuple[str, int], list[LagSample]] = {}
    for run in runs:
        within = [s for s in samples if run.started <= s.at <= run.finished]
        groups.setdefault((run.target, run.clients), []).extend(within)
    rows = []
    for (target, clients), chosen in sorted(groups.items(), key=lambda item: item[0]):
        delays = [s.delay_s * 1000 for s in chosen]
        rows.append(
            {
                "target": target,
                "clients": clients,
                "samples": len(chosen),
                "median_delay_ms": statistics.median(delays) if delays else None,
                "max_delay_ms": max(delays) if delays else None,
                "max_bytes_behind": max((s.bytes_behind for s in chosen), default=None),
            }
        )
    return rows


def render_markdown(rows: Sequence[dict[str, Any]], standby: str) -> str:
    def ms(value: float | None) -> str:
        return "" if value is None else f"{value:.1f}"

    lines = [
        f"### Replication lag of {standby} while each target ran the mix",
        "",
        f"Every {SAMPLE_SECONDS:g} s: the time until {standby} replayed the primary's WAL"
        f" position of that moment (polled every {POLL_SECONDS * 1000:g} ms), and the bytes"
        " it was behind when asked.",
        "",
        "| target running | clients | samples | median delay ms | max delay ms"
        " | max bytes behind |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {row['target']} | {row['clients']} | {row['samples']} |"
        f" {ms(row['median_delay_ms'])} | {ms(row['max_delay_ms'])} |"
        f" {'' if row['max_bytes_behind'] is None else format(row['max_bytes_behind'], ',')} |"
        for row in rows
    ]
    return "\n".join(lines) + "\n"
