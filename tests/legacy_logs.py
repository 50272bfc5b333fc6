"""The SQLite run log's schema as released before the SQLAlchemy port, frozen: old logs for the upgrade tests.

Entry N-1 took a log to PRAGMA user_version N. Never edit these: they are what files in the field hold.
"""

SQLITE_RELEASED: tuple[str, ...] = (
    # v1
    """CREATE TABLE runs (
  run_id TEXT PRIMARY KEY,
  batch_id TEXT,
  session_id TEXT,
  turn INTEGER,
  pane TEXT,
  backend TEXT,
  model TEXT,
  mode TEXT,
  repeat INTEGER,
  warmup INTEGER,
  started_at TEXT,
  ended_at TEXT,
  status TEXT,
  error_type TEXT,
  error_message TEXT,
  partial INTEGER,
  ttft_s REAL,
  ttfc_s REAL,
  e2e_s REAL,
  tpot_s REAL,
  itl_p50_s REAL,
  itl_p95_s REAL,
  decode_tps REAL,
  e2e_tps REAL,
  input_tokens INTEGER,
  output_tokens INTEGER,
  reasoning_tokens INTEGER,
  token_source TEXT,
  token_note TEXT,
  content_chunks INTEGER,
  server_load_s REAL,
  server_prompt_eval_s REAL,
  server_eval_s REAL,
  server_total_s REAL,
  queue_s REAL,
  cold_start INTEGER,
  cost_usd REAL,
  finish_reason TEXT,
  prompt_hash TEXT,
  params_json TEXT,
  ignored_params TEXT,
  prompt TEXT,
  response_text TEXT,
  reasoning_text TEXT
);
CREATE INDEX runs_session ON runs(session_id);
CREATE INDEX runs_batch ON runs(batch_id);
""",
    # v2
    """ALTER TABLE runs ADD COLUMN http_status INTEGER;
ALTER TABLE runs ADD COLUMN server_queue_s REAL;
ALTER TABLE runs ADD COLUMN server_ttft_s REAL;
ALTER TABLE runs ADD COLUMN retries INTEGER;
ALTER TABLE runs ADD COLUMN retry_wait_s REAL;
""",
    # v3
    """ALTER TABLE runs ADD COLUMN load_level INTEGER;
ALTER TABLE runs ADD COLUMN stalls INTEGER;
CREATE TABLE run_timelines (
  run_id TEXT PRIMARY KEY,
  offsets_ms TEXT NOT NULL
);
CREATE TABLE votes (
  vote_id TEXT PRIMARY KEY,
  batch_id TEXT NOT NULL UNIQUE,
  session_id TEXT NOT NULL,
  run_ids TEXT NOT NULL,
  panes TEXT NOT NULL,
  winner TEXT NOT NULL,
  voted_at TEXT NOT NULL
);
""",
)


def sqlite_log_at(version: int) -> str:
    """The script that builds a log as released at `version` (1-3), its user_version set."""
    return "".join(SQLITE_RELEASED[:version]) + f"PRAGMA user_version={version};\n"
