"""Command line: `python -m playground <command>`."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from playground.backends.base import Mode
from playground.compare import ComparePlan, run_compare
from playground.config import PlaygroundConfig, load_config
from playground.errors import PlaygroundError
from playground.panes import build_panes
from playground.records import RunRecord
from playground.runner import FanOutRunner
from playground.store import RunStore, default_store_path
from playground.tables import runs_frame, summary_frame, write_runs_csv

DEFAULT_CONFIG = "configs/default.yaml"
MODES: tuple[Mode, ...] = ("stream", "non-stream")


def _add_ui_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=DEFAULT_CONFIG, type=Path, help=f"YAML config (default {DEFAULT_CONFIG})")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", default=7860, type=int, help="port (default 7860)")
    parser.add_argument("--share", action="store_true", help="also make a public Gradio share link")
    parser.add_argument("--auth", help="user:password[,user2:password2] (or set PLAYGROUND_AUTH)")
    parser.add_argument("--store", type=Path, help="run log SQLite file (default: the config's, else the user data folder)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m playground",
        description="Side-by-side LLM playground. With no command, starts the page (same options as `ui`).",
    )
    _add_ui_arguments(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_ui_arguments(commands.add_parser("ui", help="start the browser page (the default command)"))
    compare = commands.add_parser("compare", help="run prompts against every pane, print a summary, log every run")
    compare.add_argument("--config", default=DEFAULT_CONFIG, type=Path, help=f"YAML config (default {DEFAULT_CONFIG})")
    compare.add_argument("--prompt", action="append", default=[], help="a prompt (repeatable)")
    compare.add_argument("--prompts", type=Path, help="a text file with one prompt per line")
    compare.add_argument("--modes", type=_modes, default=(), help="stream,non-stream (default: each pane's own mode)")
    compare.add_argument("--repeat", type=int, default=1, help="repeats of every prompt (default 1)")
    compare.add_argument("--csv", type=Path, help="also write this invocation's runs to a CSV file")
    compare.add_argument("--store", type=Path, help="run log SQLite file (default: the config's, else the user data folder)")
    compare.add_argument("--panes", type=lambda s: [p for p in s.split(",") if p], help="only these panes (comma-separated)")
    tiny = commands.add_parser("tiny-model", help="write a tiny random-weight chat model folder (offline demo and tests)")
    tiny.add_argument("output_dir", type=Path)
    return parser


def _modes(text: str) -> tuple[Mode, ...]:
    modes = tuple(m.strip() for m in text.split(",") if m.strip())
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise argparse.ArgumentTypeError(f"modes are {', '.join(MODES)} (comma-separated), not {text!r}")
    return modes  # type: ignore[return-value]


def _read_prompts(args: argparse.Namespace) -> tuple[str, ...]:
    prompts = list(args.prompt)
    if args.prompts is not None:
        try:
            prompts += [line.strip() for line in args.prompts.read_text(encoding="utf-8").splitlines() if line.strip()]
        except OSError as exc:
            raise PlaygroundError(f"cannot read prompts file {args.prompts}: {exc.strerror}") from None
    prompts = [p for p in prompts if p.strip()]
    if not prompts:
        raise PlaygroundError("no prompt given: use --prompt TEXT or --prompts FILE (empty prompts are skipped).")
    return tuple(prompts)


def _selected(config: PlaygroundConfig, names: list[str] | None) -> PlaygroundConfig:
    if not names:
        return config
    known = {p.name for p in config.panes}
    missing = [n for n in names if n not in known]
    if missing:
        raise PlaygroundError(
            f"--panes: no pane named {', '.join(missing)} in {config.source}; panes: {', '.join(sorted(known))}"
        )
    return config.model_copy(update={"panes": [p for p in config.panes if p.name in names]})


def command_compare(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    if args.repeat < 1:
        raise PlaygroundError("--repeat must be at least 1.")
    config = _selected(load_config(args.config), args.panes)
    prompts = _read_prompts(args)
    store_path = args.store or (Path(config.store) if config.store else default_store_path())
    store = RunStore(store_path)
    panes = build_panes(config)
    plan = ComparePlan(prompts=prompts, modes=args.modes, repeat=args.repeat)
    progress = tqdm(total=plan.run_count(len(panes)), unit="run", file=sys.stderr, disable=None)
    runner = FanOutRunner(store, on_record=lambda record: progress.update(1))
    try:
        records = run_compare(panes, runner, plan)
    finally:
        progress.close()
    _report(records, store_path, args.csv)
    return 0 if any(r.status == "ok" for r in records) else 1


def _report(records: list[RunRecord], store_path: Path, csv_path: Path | None) -> None:
    frame = runs_frame(r.as_row() for r in records)
    summary = summary_frame(frame)
    columns = ["pane", "mode", "n", "errors", "cancelled", "ttft_s_p50", "ttft_s_p90", "e2e_s_p50", "e2e_s_p90"]
    columns += ["decode_tps_p50", "decode_tps_p90", "output_tokens_p50"]
    print(summary.reindex(columns=columns).to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="-"))
    failures = {(r.pane, r.error_message) for r in records if r.status != "ok"}
    for pane, message in sorted(failures, key=lambda item: item[0]):
        print(f"{pane}: {message}")
    print(f"{len(records)} runs logged to {store_path}")
    if csv_path is not None:
        print(f"CSV written to {write_runs_csv(frame, csv_path)}")


def command_ui(args: argparse.Namespace) -> int:
    from playground.ui.serve import ServeOptions, serve

    return serve(
        ServeOptions(config=args.config, host=args.host, port=args.port, share=args.share, auth=args.auth, store=args.store)
    )


def command_tiny_model(args: argparse.Namespace) -> int:
    from playground.testing.tiny_model import build_tiny_model

    print(build_tiny_model(args.output_dir))
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {"ui": command_ui, "compare": command_compare, "tiny-model": command_tiny_model}
    try:
        return handlers[args.command or "ui"](args)
    except PlaygroundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - a user sees a sentence, not a traceback
        logging.getLogger(__name__).debug("unexpected error", exc_info=True)
        print(f"error: unexpected {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopped: every run that had ended is in the run log; runs in flight were logged as cancelled.", file=sys.stderr)
        return 130
