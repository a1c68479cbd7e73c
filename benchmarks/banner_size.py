"""The cookie banner's weight: JS + CSS + fr/en texts, gzipped, against the 6 KB budget.

    python benchmarks/banner_size.py [MANIFEST]

Prints the sizes and exits 1 when the gzipped script is over budget.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

from charte.manifest import load_manifest
from charte.web.banner import HERE, SIZE_BUDGET, build_banner, compact_css, compact_js

ROOT = Path(__file__).resolve().parents[1]


def gzipped(text: str) -> int:
    """Size of ``text`` gzipped at level 9, as served."""
    return len(gzip.compress(text.encode(), compresslevel=9, mtime=0))


def main() -> int:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "examples" / "equasens" / "charte.yaml"
    banner = build_banner(load_manifest(path))
    source = (HERE / "banner.js").read_text(encoding="utf-8")
    code = compact_js(source)
    css = compact_css((HERE / "banner.css").read_text(encoding="utf-8"))
    texts = json.dumps(banner.notice.content["t"], ensure_ascii=False, separators=(",", ":"))
    total = len(banner.gzipped)
    print(f"manifest                 {path}")
    print(f"banner.js source         {len(source):6d} B (readable, with comments)")
    print(f"served script            {len(banner.script):6d} B raw, {total:6d} B gzipped")
    print(f"  of which code          {len(code):6d} B raw, {gzipped(code):6d} B gzipped alone")
    print(f"  of which CSS           {len(css):6d} B raw, {gzipped(css):6d} B gzipped alone")
    print(f"  of which fr/en texts   {len(texts.encode()):6d} B raw, {gzipped(texts):6d} B gzipped alone")
    print(f"budget                   {SIZE_BUDGET:6d} B gzipped: {'OK' if total <= SIZE_BUDGET else 'OVER'} "
          f"({100 * total / SIZE_BUDGET:.0f} %)")
    return 0 if total <= SIZE_BUDGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
