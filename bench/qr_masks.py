"""QR mask and encoder choice for presentation tokens: penalty of each mask, cost of each path.

From the repository root: `.venv/bin/python bench/qr_masks.py [--tokens 200]`.
Signs that many presentation tokens (purposes and fields of varied length, 550 to 1,100
characters), encodes each at error correction Q with every one of the 8 masks (zint, through
zxing-cpp) and scores it by ISO/IEC 18004's penalty rules (segno's scorer); then times the
candidate ways of drawing one QR SVG. Records both tables, dated, in bench/RESULTS.md.
"""

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date

import segno
import zxingcpp
from errors import BenchError
from machine import cpu_busy_percent, machine_line
from paths import REPO_DIR, RESULTS_FILE
from presentations import CLAIMS, segno_qr_svg
from results import write_section
from segno.encoder import evaluate_mask

from app.certificates.qr import QR_BORDER, QR_MASK, QR_SCALE, make_qr, qr_svg, svg_path
from app.certificates.tokens import generate_signing_key, sign_presentation

MASKS = range(8)
QR = zxingcpp.BarcodeFormat.QRCode


def tokens(count: int) -> list[str]:
    """Signed presentation tokens whose claims vary in length, as real ones do."""
    rng = random.Random(20261125)
    key = generate_signing_key()
    made = []
    for index in range(count):
        claims = dict(CLAIMS, jti=f"{rng.getrandbits(128):032x}",
                      purpose="登记" * rng.randint(1, 30),
                      fields={**CLAIMS["fields"], "address": "翠湖南路" * rng.randint(1, 20)})
        made.append(sign_presentation(key, claims, now=1_795_000_000 + index))
    return made


def penalty(token: str, mask: int) -> int:
    """ISO/IEC 18004 penalty score of the token's Q code drawn with this mask."""
    image = zxingcpp.create_barcode(token, QR, ec_level="Q", data_mask=mask).to_image(
        scale=1, add_quiet_zones=False)
    size = image.shape[1]
    pixels = bytes(memoryview(image))
    matrix = [bytearray(pixels[at] == 0 for at in range(row, row + size))
              for row in range(0, len(pixels), size)]
    return evaluate_mask(matrix, size, size)


def mask_table(made: list[str]) -> str:
    """Per mask: mean penalty, how often it is the best, and its excess over the best."""
    scores = [[penalty(token, mask) for mask in MASKS] for token in made]
    lines = ["| mask | mean penalty | best for | mean excess over best | worst excess |",
             "|---:|---:|---:|---:|---:|"]
    for mask in MASKS:
        excess = [row[mask] / min(row) - 1 for row in scores]
        best = sum(row[mask] == min(row) for row in scores)
        lines.append(f"| {mask} | {statistics.mean(row[mask] for row in scores):,.0f} | "
                     f"{best} of {len(scores)} | {100 * statistics.mean(excess):.1f}% | "
                     f"{100 * max(excess):.1f}% |")
    return "\n".join(lines)


def ms_per_call(operation: Callable[[], object], seconds: float) -> float:
    """Median ms per call over 5 slices of about seconds / 5."""
    slices = []
    for _ in range(5):
        calls, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds / 5:
            operation()
            calls += 1
        slices.append((time.perf_counter() - started) * 1e3 / calls)
    return statistics.median(slices)


def options_table(token: str, seconds: float) -> str:
    """Ms per call of each way considered to draw the token's QR SVG."""
    fixed = segno.make(token, error="q", micro=False, mask=QR_MASK)
    code = make_qr(token)

    def segno_svg() -> None:
        fixed.svg_inline(scale=QR_SCALE, border=QR_BORDER)

    options: dict[str, Callable[[], object]] = {
        "segno, best of 8 masks, its SVG (before)": lambda: segno_qr_svg(token),
        "segno encode, mask fixed": lambda: segno.make(token, error="q", micro=False, mask=QR_MASK),
        "segno SVG writer alone": segno_svg,
        "zint encode, best of 8 masks (C)": lambda: zxingcpp.create_barcode(token, QR,
                                                                            ec_level="Q"),
        "zint encode, mask fixed": lambda: zxingcpp.create_barcode(token, QR, ec_level="Q",
                                                                   data_mask=QR_MASK),
        "run-length SVG path alone": lambda: svg_path(code),
        "qr_svg (after): zint, mask fixed, Q→H check, run-length path": lambda: qr_svg(token),
    }
    lines = ["| way | ms per call |", "|---|---:|"]
    for name, operation in options.items():
        operation()
        lines.append(f"| {name} | {ms_per_call(operation, seconds):.3f} |")
    return "\n".join(lines)


def main() -> None:
    """Run the comparison and record it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=200, help="tokens scored (default 200)")
    parser.add_argument("--seconds", type=float, default=2.0,
                        help="seconds per timed way (default 2)")
    parser.add_argument("--no-record", action="store_true", help="do not touch RESULTS.md")
    args = parser.parse_args()
    busy_before = cpu_busy_percent()
    made = tokens(args.tokens)
    lengths = sorted(len(token) for token in made)
    masks = mask_table(made)
    print(masks)
    options = options_table(made[len(made) // 2], args.seconds)
    print(options)
    if not args.no_record:
        write_section(f"QR mask and encoder, {date.today().isoformat()}", "\n".join([
            f"- machine: {machine_line()}; {busy_before:.0f}% of its CPU busy just before",
            f"- command: `.venv/bin/python bench/qr_masks.py --tokens {args.tokens}`; tokens "
            f"{lengths[0]}–{lengths[-1]} characters, error correction Q; penalty by ISO/IEC "
            "18004 (lower reads better)",
            "",
            masks,
            "",
            f"One token of {len(made[len(made) // 2])} characters, median of 5 slices:",
            "",
            options,
        ]))
        print(f"recorded in {RESULTS_FILE.relative_to(REPO_DIR)}")


if __name__ == "__main__":
    try:
        main()
    except BenchError as exc:
        sys.exit(f"bench/qr_masks.py: {exc}")
