"""The demo's side-by-side figure: crops of the bundled photo upscaled 4× by bicubic
interpolation and by `infty upscale` (the demo's own output), at the same places."""

import argparse
import pathlib

import numpy as np
from PIL import Image

from eval_report import write_figure

# (x, y) of the crops' top-left corners in the input, and their side in input pixels:
# the eye, the fur of the cheek and the whiskers.
CROPS = ((170, 80), (60, 150), (120, 170))
SIDE = 40


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", type=pathlib.Path, default=pathlib.Path("examples/images/chelsea.png"))
    parser.add_argument("--ours", type=pathlib.Path, default=pathlib.Path("out/chelsea-x4.png"))
    parser.add_argument("--figure", type=pathlib.Path, default=pathlib.Path("docs/images/demo-x4.png"))
    args = parser.parse_args()
    small = Image.open(args.input).convert("RGB")
    ours = Image.open(args.ours).convert("RGB")
    scale = ours.width / small.width
    if abs(ours.height / small.height - scale) > 1e-6:
        raise SystemExit(f"{args.ours} is not a uniform upscale of {args.input}")
    bicubic = small.resize(ours.size, Image.Resampling.BICUBIC)
    side = round(SIDE * scale)
    rows = []
    for x, y in CROPS:
        box = (round(x * scale), round(y * scale), round(x * scale) + side, round(y * scale) + side)
        rows.append((f"({x}, {y})", [np.asarray(im.crop(box)) / 255.0 for im in (bicubic, ours)]))
    write_figure(args.figure, rows, ["bicubic", "infty upscale"], zoom=2)
    print(f"figure: {args.figure} ({len(CROPS)} crops of {SIDE}² input pixels, {scale:g}×, shown ×2)")


if __name__ == "__main__":
    main()
