"""Command line: `llm-playground <command>`, the same as `python -m playground <command>`."""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from playground.arena.command import add_leaderboard_arguments, command_leaderboard
from playground.backends.base import MODES, Mode
from playground.compare import ComparePlan, run_compare
from playground.config import PlaygroundConfig, load_config
from playground.errors import PlaygroundError
from playground.interpreter import freeze_startup_heap, tune_interpreter
from playground.panes import build_panes
from playground.preparation import Preparation
from playground.records import RunRecord
from playground.runner import FanOutRunner
from playground.store import RunStore, resolve_store_location
from playground.tables import counted, runs_frame, summary_frame, summary_view, write_runs_csv

if TYPE_CHECKING:
    from playground.testing.tiny_model import TinyModelSpec

CONFIGS_DIR = Path("configs")
DEFAULT_CONFIG_NAME = "default.yaml"
# Options of the page. Given before a command they would be ignored by it, so they are refused there.
PAGE_DEFAULTS: dict[str, Any] = {"host": "127.0.0.1", "port": 7860, "share": False, "auth": None}
# Options every command but tiny-model reads, before or after its name.
SHARED_DEFAULTS: dict[str, Any] = {"config": None, "store": None}
# `serve` listens too: it takes --host and --port of its own (its default port is the API's, 8000).
SERVE_DEFAULTS: dict[str, Any] = {"host": "127.0.0.1", "port": 8000, "api_key_env": None, "max_queue": 8}


def bundled_configs() -> Path:
    """The configs shipped inside the installed package; in a checkout, its configs/ folder."""
    package = Path(__file__).resolve().parent
    installed = package / "configs"
    return installed if installed.is_dir() else package.parent / "configs"


def default_config() -> Path:
    """./configs/default.yaml when started from a checkout (or a folder laid out like one), else the bundled one."""
    local = CONFIGS_DIR / DEFAULT_CONFIG_NAME
    return local if local.is_file() else bundled_configs() / DEFAULT_CONFIG_NAME


def _add_shared_arguments(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: an option left out after the command must not overwrite one given before it.
    hidden = argparse.SUPPRESS
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        default=hidden,
        help="YAML config (default: ./configs/default.yaml, else the bundled one)",
    )
    parser.add_argument(
        "--store",
        metavar="FILE|URL",
        default=hidden,
        help="run log: an SQLite file or a postgresql+psycopg:// URL (default: $PLAYGROUND_STORE_URL, else the config's, "
        "else the user data folder)",
    )


def _add_page_arguments(parser: argparse.ArgumentParser) -> None:
    _add_shared_arguments(parser)
    hidden = argparse.SUPPRESS
    parser.add_argument("--host", default=hidden, help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=hidden, help="port (default 7860)")
    parser.add_argument("--share", action="store_true", default=hidden, help="also make a public Gradio share link")
    parser.add_argument("--auth", default=hidden, help="user:password[,user2:password2] (or set PLAYGROUND_AUTH)")


def build_parser(prog: str = "llm-playground") -> argparse.ArgumentParser:
    bundled = bundled_configs()
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Side-by-side LLM playground. With no command, starts the page (same options as `ui`).",
        epilog=f"Bundled configs ({bundled}): {', '.join(sorted(p.name for p in bundled.glob('*.yaml')))}",
    )
    _add_page_arguments(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_page_arguments(commands.add_parser("ui", help="start the browser page (the default command)"))
    compare = commands.add_parser("compare", help="run prompts against every pane, print a summary, log every run")
    _add_shared_arguments(compare)
    compare.add_argument("--prompt", action="append", default=[], help="a prompt (repeatable)")
    compare.add_argument("--prompts", type=Path, help="a text file with one prompt per line")
    compare.add_argument("--modes", type=_modes, default=(), help="stream,non-stream (default: each pane's own mode)")
    compare.add_argument("--repeat", type=int, default=1, help="repeats of every prompt (default 1)")
    compare.add_argument("--csv", type=Path, help="also write this invocation's runs to a CSV file")
    compare.add_argument("--panes", type=_names, help="only these panes (comma-separated)")
    compare.add_argument(
        "--until-clear",
        action="store_true",
        help="repeat stream and non-stream until every pane's difference in TTFT and E2E is clear (95%% CI)",
    )
    compare.add_argument("--max-repeat", type=int, default=20, help="cap on repeats for --until-clear (default 20)")
    compare.add_argument(
        "--clear-on", type=_names, default=["ttft_s", "e2e_s"], help="metrics --until-clear waits for (default ttft_s,e2e_s)"
    )
    _add_look_closer_commands(commands)
    _add_serve_command(commands)
    leaderboard = commands.add_parser("leaderboard", help="the arena leaderboard: ratings from votes, beside speed and cost")
    _add_shared_arguments(leaderboard)
    add_leaderboard_arguments(leaderboard)
    _add_tiny_model_command(commands)
    return parser


def _add_serve_command(commands: Any) -> None:
    serve = commands.add_parser("serve", help="serve one pane as an OpenAI-compatible API (/v1/chat/completions)")
    _add_shared_arguments(serve)
    hidden = argparse.SUPPRESS
    serve.add_argument("--pane", required=True, help="the configured pane to serve")
    serve.add_argument("--host", default=hidden, help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=hidden, help="port (default 8000)")
    serve.add_argument("--api-key-env", default=hidden, metavar="VAR", help="require the bearer key held in this variable")
    serve.add_argument("--max-queue", type=int, default=hidden, help="requests that may wait beyond those running (default 8)")


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _add_look_closer_commands(commands: Any) -> None:
    replay = commands.add_parser("replay", help="re-send a logged batch's exact requests and show old beside new")
    _add_shared_arguments(replay)
    replay.add_argument("batch_id", help="the batch_id of a logged batch (a column of the run log)")
    replay.add_argument("--panes", type=_names, help="send to these panes instead (comma-separated; default: the same panes)")
    replay.add_argument("--repeat", type=int, default=1, help="times to re-send the batch (default 1)")
    sweep = commands.add_parser("sweep", help="one pane under rising concurrency: latency, throughput, errors")
    _add_shared_arguments(sweep)
    sweep.add_argument("--pane", required=True, help="the pane to load")
    sweep.add_argument("--concurrency", default="1,2,4,8", help="requests in flight at each level (default 1,2,4,8)")
    sweep.add_argument("--requests", type=int, default=32, help="requests sent at each level (default 32)")
    sweep.add_argument("--prompt", default="Write a short paragraph about the sea.", help="the prompt every request sends")
    sweep.add_argument("--mode", choices=MODES, help="stream or non-stream (default: the pane's own)")
    sweep.add_argument("--level-timeout", type=float, default=300.0, help="seconds per level before runs in flight are cancelled")
    sweep.add_argument("--plot", type=Path, help="also save the plot as an image (PNG)")
    sweep.add_argument("--csv", type=Path, help="also write the sweep's runs to a CSV file")


def _add_tiny_model_command(commands: Any) -> None:
    from playground.testing.tiny_model import TinyModelSpec

    spec = TinyModelSpec()
    tiny = commands.add_parser("tiny-model", help="write a tiny random-weight chat model folder (offline demo and tests)")
    tiny.add_argument("output_dir", type=Path, help="folder to write (must be empty or new, unless --force)")
    tiny.add_argument(
        "--hidden-size",
        type=int,
        default=spec.hidden_size,
        help=f"hidden size, a multiple of {2 * spec.num_heads} (default {spec.hidden_size})",
    )
    tiny.add_argument("--layers", type=int, default=spec.num_layers, help=f"decoder layers (default {spec.num_layers})")
    tiny.add_argument("--vocab-size", type=int, default=spec.vocab_size, help=f"tokenizer vocabulary (default {spec.vocab_size})")
    tiny.add_argument("--force", action="store_true", help="write into a non-empty folder, replacing files of the same names")


def parse_args(argv: list[str] | None = None, prog: str = "llm-playground") -> argparse.Namespace:
    """Parse, refuse options the chosen command would ignore, then fill the defaults once."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    args.command = args.command or "ui"
    own = PAGE_DEFAULTS if args.command == "ui" else SERVE_DEFAULTS if args.command == "serve" else {}
    ignored = [name for name in PAGE_DEFAULTS if name not in own and name in vars(args)]
    if args.command == "tiny-model":
        ignored = [name for name in SHARED_DEFAULTS if name in vars(args)] + ignored
    if ignored:
        options = ", ".join(f"--{name}" for name in ignored)
        parser.error(f"`{args.command}` does not take {options}; see `{prog} {args.command} --help`.")
    if args.command != "tiny-model":
        defaults = {**SHARED_DEFAULTS, **own}
        for name, value in defaults.items():
            vars(args).setdefault(name, value)
        args.config = args.config or default_config()
    return args


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


def selected_panes(config: PlaygroundConfig, names: list[str] | None, option: str = "--panes") -> PlaygroundConfig:
    """Only the panes `names`; `option` is how the user gave them, for the message when one is unknown."""
    if not names:
        return config
    known = {p.name for p in config.panes}
    missing = [n for n in names if n not in known]
    if missing:
        raise PlaygroundError(
            f"{option}: no pane named {', '.join(missing)} in {config.source}; panes: {', '.join(sorted(known))}"
        )
    return config.model_copy(update={"panes": [p for p in config.panes if p.name in names]})


def command_compare(args: argparse.Namespace) -> int:
    if args.repeat < 1:
        raise PlaygroundError("--repeat must be at least 1.")
    config = selected_panes(load_config(args.config), args.panes)
    prompts = _read_prompts(args)
    # Closed at the end: SQLite then folds its write-ahead log into the file and removes the -wal and -shm files.
    with RunStore(resolve_store_location(args.store, config.store)) as store:
        panes = build_panes(config)
        tune_interpreter()
        Preparation(panes).run()  # models loaded before the heap is frozen, so they are frozen too
        freeze_startup_heap()
        if args.until_clear:
            from playground.cli_look_closer import _compare_until_clear  # here: it imports this module (see main)

            return _compare_until_clear(args, panes, prompts, store)
        return _compare_once(args, panes, prompts, store)


def _compare_once(args: argparse.Namespace, panes: list, prompts: tuple[str, ...], store: RunStore) -> int:
    from tqdm import tqdm

    plan = ComparePlan(prompts=prompts, modes=args.modes, repeat=args.repeat)
    progress = tqdm(total=plan.run_count(len(panes)), unit="run", file=sys.stderr, disable=None)
    runner = FanOutRunner(store, on_record=lambda record: progress.update(1))
    try:
        records = run_compare(panes, runner, plan)
    finally:
        progress.close()
    report_runs(records, store.location, args.csv)
    return 0 if any(r.status == "ok" for r in records) else 1


def report_runs(records: list[RunRecord], store_location: str, csv_path: Path | None) -> None:
    frame = runs_frame(r.as_row() for r in records)
    print(summary_view(summary_frame(frame)).to_string(index=False))
    print_failures(records)
    print(f"{counted(len(records), 'run')} logged to {store_location}")
    if csv_path is not None:
        print(f"CSV written to {write_runs_csv(frame, csv_path)}")


def print_failures(records: Sequence[RunRecord]) -> None:
    """Why runs failed: each pane's distinct error messages, once each, with how many runs ended so."""
    failures = Counter((r.pane, r.error_message) for r in records if r.status != "ok")
    for (pane, message), count in sorted(failures.items(), key=lambda item: item[0][0]):
        print(f"{pane} ({counted(count, 'run')}): {message}")


def command_ui(args: argparse.Namespace) -> int:
    from playground.ui.serve import ServeOptions, serve

    return serve(
        ServeOptions(config=args.config, host=args.host, port=args.port, share=args.share, auth=args.auth, store=args.store)
    )


def command_serve(args: argparse.Namespace) -> int:
    from playground.api.launch import ServeApiOptions, serve_api

    options = ServeApiOptions(
        config=args.config,
        pane=args.pane,
        host=args.host,
        port=args.port,
        api_key_env=args.api_key_env,
        store=args.store,
        max_queue=args.max_queue,
    )
    return serve_api(options)


def command_tiny_model(args: argparse.Namespace) -> int:
    from playground.testing.tiny_model import build_tiny_model

    spec = _tiny_model_spec(args)
    folder: Path = args.output_dir
    if folder.exists() and not folder.is_dir():
        raise PlaygroundError(f"{folder} is a file, not a folder: choose another path.")
    if folder.is_dir() and any(folder.iterdir()) and not args.force:
        raise PlaygroundError(f"{folder} is not empty: choose a new or empty folder, or add --force to write into it.")
    from transformers.utils import logging as transformers_logging

    # Only the path goes to stdout, so scripts can use it; saving 0.4 MB needs no progress bar.
    transformers_logging.disable_progress_bar()
    print(build_tiny_model(folder, spec))
    return 0


def _tiny_model_spec(args: argparse.Namespace) -> TinyModelSpec:
    from playground.testing.tiny_model import MIN_VOCAB_SIZE, TinyModelSpec

    spec = TinyModelSpec()
    step = 2 * spec.num_heads  # whole, even attention heads (rotary embeddings pair dimensions)
    if args.hidden_size < step or args.hidden_size % step:
        raise PlaygroundError(f"--hidden-size must be a positive multiple of {step}, not {args.hidden_size}.")
    if args.layers < 1:
        raise PlaygroundError(f"--layers must be at least 1, not {args.layers}.")
    if args.vocab_size < MIN_VOCAB_SIZE:
        raise PlaygroundError(f"--vocab-size must be at least {MIN_VOCAB_SIZE} (the 256 byte symbols and the special tokens).")
    return TinyModelSpec(
        hidden_size=args.hidden_size,
        intermediate_size=2 * args.hidden_size,
        num_layers=args.layers,
        vocab_size=args.vocab_size,
    )


def main(argv: list[str] | None = None, prog: str = "llm-playground") -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv, prog)
    # Imported here, not at the top: cli_look_closer imports this module's shared helpers, so that would be a cycle.
    from playground.cli_look_closer import command_replay, command_sweep

    handlers = {
        "ui": command_ui,
        "compare": command_compare,
        "replay": command_replay,
        "sweep": command_sweep,
        "serve": command_serve,
        "leaderboard": command_leaderboard,
        "tiny-model": command_tiny_model,
    }
    try:
        return handlers[args.command](args)
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
