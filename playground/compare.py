"""A headless comparison: every pane × prompt × mode × repeat, one concurrent fan-out per step."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from playground.backends.base import Mode, alternated
from playground.panes import Pane
from playground.records import RunRecord
from playground.runner import FanOutRunner, PaneJob


@dataclass(frozen=True)
class Step:
    prompt: str
    repeat: int
    mode: Mode | None  # None: each pane's own default mode


@dataclass(frozen=True)
class ComparePlan:
    prompts: tuple[str, ...]
    modes: tuple[Mode, ...] = ()
    repeat: int = 1
    # Index of the first repeat: a run continued repeat by repeat (--until-clear) keeps alternating.
    first_repeat: int = 0

    def steps(self) -> Iterator[Step]:
        """The fan-outs in order. With two modes, their order alternates per repeat so drift hits both."""
        for repeat in range(self.first_repeat, self.first_repeat + self.repeat):
            modes: Sequence[Mode | None] = alternated(self.modes, repeat) if self.modes else (None,)
            for prompt in self.prompts:
                for mode in modes:
                    yield Step(prompt, repeat, mode)

    def run_count(self, pane_count: int) -> int:
        return len(self.prompts) * max(len(self.modes), 1) * self.repeat * pane_count


def run_compare(
    panes: Sequence[Pane],
    runner: FanOutRunner,
    plan: ComparePlan,
    session_id: str = "cli",
) -> list[RunRecord]:
    """Run the plan; Ctrl-C cancels the fan-out in flight (its runs are logged as cancelled)."""
    runner.prepare(panes)
    records: list[RunRecord] = []
    for step in plan.steps():
        jobs = [
            PaneJob(pane, pane.build_request(step.prompt, mode=step.mode), session_id=session_id, repeat=step.repeat)
            for pane in panes
        ]
        batch = runner.start(jobs)
        try:
            records += batch.wait()
        except KeyboardInterrupt:
            batch.cancel()
            records += batch.wait()
            raise
    return records
