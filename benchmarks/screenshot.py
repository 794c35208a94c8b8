"""Render the seed report with the real default model and photograph it for the README.

    .venv/bin/python benchmarks/screenshot.py [--out docs/seed-report.png] [--model NAME]

Uses Debian's Chromium (/usr/bin/chromium) through playwright, offline, with a
fresh profile; the page itself forbids every network fetch (its CSP).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slug", default="dprk-it-workers")
    ap.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    ap.add_argument("--model", default=None, help="default: the packaged default (minilm+mpnet)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "seed-report.png")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=1100)
    args = ap.parse_args(argv)

    from playwright.sync_api import sync_playwright

    from compare.align import match
    from compare.corpus import load_pair
    from compare.report import render, write_atomic

    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: apt-get install chromium", file=sys.stderr)
        return 1
    pair = load_pair(args.slug, args.corpus)
    alignment = match(pair.claim, pair.response, model=args.model)
    with tempfile.TemporaryDirectory() as tmp:
        html = Path(tmp) / f"{args.slug}.html"
        write_atomic(html, render(alignment, pair))
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                str(Path(tmp) / "profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                headless=True, viewport={"width": args.width, "height": args.height},
                device_scale_factor=1,
            )
            page = context.new_page()
            page.goto(html.as_uri())
            page.wait_for_selector("[data-sbs][data-connectors]")
            page.evaluate("document.fonts.ready")
            page.wait_for_timeout(200)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out), full_page=False)
            context.close()
    print(f"{args.out} ({args.out.stat().st_size // 1024} KB, model {alignment.model})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
