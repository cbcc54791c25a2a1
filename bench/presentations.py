"""Presentation token benchmark: sign and verify per second, in process, against raw Ed25519.

From the repository root: `.venv/bin/python bench/presentations.py [--seconds 3]`.
One process, one thread. Measures raw `cryptography` Ed25519 sign and verify of the same signing
input (the ceiling), then `sign_presentation` and `verify_presentation` of a realistic claim set,
a forged token's rejection and `qr_svg`, next to the QR path it replaced (segno scoring all 8
masks, and its SVG writer); prints ops/s with the domain/raw ratios, ms per QR before and after,
the token length and its QR version, and records them, dated, in bench/RESULTS.md.
"""

import argparse
import base64
import io
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date

import segno
from errors import BenchError
from machine import cpu_busy_percent, cpu_ticks, machine_line
from paths import REPO_DIR, RESULTS_FILE
from presentation_http import DATABASE_URL, REDIS_URL, http_verify_throughput
from results import write_section

from app.certificates.qr import QR_BORDER, QR_MASK, QR_SCALE, make_qr, qr_svg
from app.certificates.tokens import (
    MAX_TOKEN_LENGTH,
    VerificationFailure,
    generate_signing_key,
    public_keys_by_kid,
    sign_presentation,
    verify_presentation,
)

ROUNDS = 3  # each figure is the median of this many interleaved rounds: drift hits all alike
QUIET_PERCENT = 5.0  # others' share of the machine under which a run counts as undisturbed
BATCH = 200  # calls between clock reads, so the timer costs nothing measurable
QR_BEFORE = "qr_svg before (segno, best of 8 masks)"
QR_AFTER = f"qr_svg (zint, mask {QR_MASK}, run-length SVG path)"
# ~60 ms a call: a batch of 200 would outlast a round
SLOW_BATCHES = {QR_BEFORE: 5}

# What a hotel check-in presentation of an ID card discloses, shaped as the app signs it: no
# certificate identifier (the server keeps which certificate the jti shows).
CLAIMS = {
    "iss": "https://zwfw.example.gov.cn",
    "sub": "5b0e7c1e9d2a4f60b1c3e8d7a6f54321",
    "jti": "0f8fad5bd9cb469fa16570867728950e",
    "purpose": "酒店入住登记",
    "cert_type": "id_card",
    "fields": {"name": "张三", "ethnicity": "汉", "address": "云南省昆明市五华区翠湖南路1号"},
    "derived": {"age_over_18": True},
}


def forge(token: str) -> str:
    """The token with one claim changed and its signature kept: refused only by a full verify."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["purpose"] = "边检查验"
    raw = json.dumps(claims, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return ".".join([header, base64.urlsafe_b64encode(raw).rstrip(b"=").decode(), signature])


def segno_qr_svg(token: str) -> str:
    """The QR SVG as it was drawn before: segno picks the best of 8 masks in pure Python."""
    out = io.BytesIO()
    segno.make(token, error="q", micro=False).save(
        out, kind="svg", scale=QR_SCALE, border=QR_BORDER, xmldecl=False, svgns=True, nl=False)
    return out.getvalue().decode("utf-8")


def ops_per_second(operation: Callable[[], object], seconds: float, batch: int = BATCH) -> float:
    """Calls per second of operation, run for about `seconds`."""
    calls = 0
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        for _ in range(batch):
            operation()
        calls += batch
        now = time.perf_counter()
        if now >= deadline:
            return calls / (now - started)


def main() -> None:
    """Run the benchmark and record it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0,
                        help=f"seconds per figure, split over {ROUNDS} rounds (default 3)")
    parser.add_argument("--tries", type=int, default=4,
                        help="runs at most, until one has other processes under "
                             f"{QUIET_PERCENT:g}%% of the CPU; the quietest is kept (default 4)")
    parser.add_argument("--no-record", action="store_true", help="do not touch RESULTS.md")
    parser.add_argument("--http-tokens", type=int, default=2000,
                        help="fresh tokens verified over HTTP (0 skips; needs MariaDB, Redis)")
    parser.add_argument("--database-url", default=DATABASE_URL,
                        help="for the HTTP figure: its database is DROPPED and rebuilt"
                             " (name must contain 'bench')")
    parser.add_argument("--redis-url", default=REDIS_URL,
                        help="for the HTTP figure: its db is FLUSHED")
    args = parser.parse_args()

    busy_before = cpu_busy_percent()
    key = generate_signing_key()
    public_key = key.public_key()
    public_keys = public_keys_by_kid([key.public_jwk()])
    now = int(time.time())
    token = sign_presentation(key, CLAIMS, now=now)
    signing_input_text, _, _ = token.rpartition(".")
    signing_input = signing_input_text.encode("ascii")
    signature = key.private_key.sign(signing_input)
    forged = forge(token)
    qr = make_qr(token)
    print(f"token {len(token)} characters (limit {MAX_TOKEN_LENGTH}); QR version {qr.version}, "
          f"error {qr.error}; CPU {busy_before:.0f}% busy before")

    def reject_forged() -> None:
        try:
            verify_presentation(forged, public_keys, now=now)
        except VerificationFailure:
            return
        raise AssertionError("forged token verified")

    operations: dict[str, Callable[[], object]] = {
        "raw sign": lambda: key.private_key.sign(signing_input),
        "sign_presentation": lambda: sign_presentation(key, CLAIMS, now=now),
        "raw verify": lambda: public_key.verify(signature, signing_input),
        "verify_presentation": lambda: verify_presentation(token, public_keys, now=now),
        "verify_presentation, forged (bad_signature)": reject_forged,
        QR_BEFORE: lambda: segno_qr_svg(token),
        QR_AFTER: lambda: qr_svg(token),
    }
    for operation in operations.values():  # warm-up and sanity
        operation()
    kept: tuple[float, int, dict[str, list[float]]] | None = None
    for attempt in range(1, max(args.tries, 1) + 1):
        rounds, others = measure(operations, args.seconds)
        print(f"try {attempt}: others' CPU {others:.0f}% of the machine during the run")
        if kept is None or others < kept[0]:
            kept = (others, attempt, rounds)
        if others <= QUIET_PERCENT:
            break
    others, attempt, rounds = kept  # type: ignore[misc]
    rates = {name: statistics.median(values) for name, values in rounds.items()}
    baselines = {"sign_presentation": "raw sign", "verify_presentation": "raw verify",
                 "verify_presentation, forged (bad_signature)": "raw verify"}
    table = rates_table(rates, baselines)
    print(table)
    qr_line = qr_figures(rounds, others)
    print(qr_line)
    table += "\n\n" + qr_line

    if args.http_tokens:
        figures = http_verify_throughput(args.http_tokens, database_url=args.database_url,
                                         redis_url=args.redis_url)
        line = (f"HTTP POST /api/v1/verifications (gunicorn 2 workers × 4 threads, MariaDB +"
                f" Redis, {figures['connections']} keep-alive connections, every token fresh):"
                f" {figures['verifications_per_second']:,.0f} verifications/s,"
                f" p50 {figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms,"
                f" {figures['failures']} of {figures['tokens']} not valid")
        print(line)
        table += "\n\n" + line

    if not args.no_record:
        record(args, busy_before, others, attempt, len(token), qr.version, qr.error, table)
        print(f"recorded in {RESULTS_FILE.relative_to(REPO_DIR)}")


def measure(operations: dict[str, Callable[[], object]], seconds: float,
            ) -> tuple[dict[str, list[float]], float]:
    """Ops/s of each operation over ROUNDS interleaved rounds, and others' CPU % meanwhile."""
    rounds: dict[str, list[float]] = {name: [] for name in operations}
    machine_before, own_before, wall_before = cpu_ticks(), time.process_time(), time.monotonic()
    for _ in range(ROUNDS):
        for name, operation in operations.items():
            rounds[name].append(ops_per_second(operation, seconds / ROUNDS,
                                               SLOW_BATCHES.get(name, BATCH)))
    others = others_cpu_percent(machine_before, cpu_ticks(), time.process_time() - own_before,
                                time.monotonic() - wall_before)
    return rounds, others


def rates_table(rates: dict[str, float], baselines: dict[str, str]) -> str:
    """A Markdown table of ops/s, µs per op and the ratio to the raw baseline."""
    lines = ["| operation | ops/s | µs/op | domain/raw |", "|---|---:|---:|---:|"]
    for name, rate in rates.items():
        ratio = f"{rate / rates[baselines[name]]:.2f}" if name in baselines else "—"
        lines.append(f"| {name} | {rate:,.0f} | {1e6 / rate:.1f} | {ratio} |")
    return "\n".join(lines)


def qr_figures(rounds: dict[str, list[float]], others: float) -> str:
    """Ms per QR before and after: median and range over the rounds, and the speed-up."""
    def ms(name: str) -> tuple[float, float, float]:
        values = sorted(1e3 / rate for rate in rounds[name])
        return statistics.median(values), values[0], values[-1]

    before, after = ms(QR_BEFORE), ms(QR_AFTER)
    shared = "shared" if others > QUIET_PERCENT else "quiet"
    return (f"QR per presentation: before {before[0]:.2f} ms ({before[1]:.2f}–{before[2]:.2f}),"
            f" after {after[0]:.3f} ms ({after[1]:.3f}–{after[2]:.3f}), median (range) of"
            f" {ROUNDS} rounds; {before[0] / after[0]:.0f}× faster; machine {shared}"
            f" (others {others:.0f}% of its CPU)")


def record(args: argparse.Namespace, busy_before: float, others: float, attempt: int,
           token_length: int, qr_version: int, qr_error: str, table: str) -> None:
    """Write this run's section of RESULTS.md; a rerun with the same heading replaces it."""
    write_section(f"Presentation tokens, {date.today().isoformat()}, in process", "\n".join([
        f"- machine: {machine_line()}; {busy_before:.0f}% of its CPU busy just before, other "
        f"processes {others:.0f}% during the run (try {attempt} of at most {args.tries})",
        f"- command: `.venv/bin/python bench/presentations.py --seconds {args.seconds:g}"
        f"{' --http-tokens 0' if not args.http_tokens else ''}` (one "
        f"process, one thread; each figure the median of {ROUNDS} interleaved rounds)",
        "- claims: id_card, 3 disclosed Chinese fields, age_over_18, purpose, iss, "
        f"sub, jti (`CLAIMS` in bench/presentations.py); token {token_length} characters, "
        f"QR version {qr_version}, error {qr_error}",
        "- raw = `cryptography` Ed25519 on the same signing input: the ceiling; the forged token "
        "has one claim changed and is refused after a full verify",
        "",
        table,
    ]))


def others_cpu_percent(before: tuple[int, int], after: tuple[int, int], own_cpu_seconds: float,
                       wall_seconds: float) -> float:
    """The machine's CPU used by other processes meanwhile, in % of all its cores."""
    total = after[0] - before[0]
    if not total:
        return 0.0
    busy = 100.0 * (1 - (after[1] - before[1]) / total)
    own = 100.0 * own_cpu_seconds / (wall_seconds * (os.cpu_count() or 1))
    return max(0.0, busy - own)


if __name__ == "__main__":
    try:
        main()
    except BenchError as exc:
        sys.exit(f"bench/presentations.py: {exc}")
