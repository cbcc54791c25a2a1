"""Where the benchmarks find the repository, its virtualenv and their own files."""

from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
VENV_BIN = REPO_DIR / ".venv" / "bin"
RESULTS_FILE = BENCH_DIR / "RESULTS.md"
