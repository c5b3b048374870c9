"""Inpainting quality: centred crops of the evaluation photos with synthetic masks
(centre boxes of 10% and 25% of the area, and random brush strokes), filled by
`infty inpaint`, OpenCV's Telea and Navier-Stokes inpainting (radius 3) and a harmonic
fill (Laplace's equation with the known pixels as boundary values, solved exactly),
and compared with the originals inside the mask.

- PSNR over the masked pixels (RGB in [0, 1]).
- SSIM: the mean of scikit-image's SSIM map (RGB, 7-px window) over the masked pixels.

Every method sees the same 8-bit image with the masked pixels set to mid-grey.
"""

import argparse
import pathlib
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np
import scipy.sparse
import scipy.sparse.linalg
from PIL import Image, ImageDraw
from skimage.metrics import structural_similarity

MASKS = ("box10", "box25", "brush")


def load(path):
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255.0


def to_u8(rgb):
    return np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8)


def centre_crop(rgb, size):
    h, w = rgb.shape[:2]
    side = min(size, h, w)
    y, x = (h - side) // 2, (w - side) // 2
    return rgb[y : y + side, x : x + side]


def make_mask(kind, side, seed):
    """True where the pixel is to be filled."""
    if kind.startswith("box"):
        box = int(round(side * np.sqrt(int(kind[3:]) / 100.0)))
        mask = np.zeros((side, side), bool)
        start = (side - box) // 2
        mask[start : start + box, start : start + box] = True
        return mask
    rng = np.random.default_rng(seed)
    image = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(image)
    for _ in range(4):
        points = [tuple(rng.uniform(0.1, 0.9, 2) * side)]
        for _ in range(rng.integers(3, 6)):
            angle, length = rng.uniform(0, 2 * np.pi), rng.uniform(0.15, 0.35) * side
            x, y = points[-1]
            points.append((np.clip(x + np.cos(angle) * length, 0, side - 1), np.clip(y + np.sin(angle) * length, 0, side - 1)))
        width = int(rng.uniform(0.03, 0.06) * side)
        draw.line(points, fill=255, width=width, joint="curve")
    return np.asarray(image) > 0


def downscale(rgb, mask, factor):
    """Area-downscales the crop by `factor`; a pixel is a hole where any of its block was."""
    side = rgb.shape[0] // factor * factor
    s = side // factor
    rgb = rgb[:side, :side].reshape(s, factor, s, factor, 3).mean(axis=(1, 3))
    return rgb, mask[:side, :side].reshape(s, factor, s, factor).any(axis=(1, 3))


def harmonic_fill(rgb, mask):
    """Solves Δu = 0 over the masked pixels, the known pixels as Dirichlet values (image
    edges: zero normal derivative)."""
    h, w = mask.shape
    index = -np.ones((h, w), int)
    ys, xs = np.nonzero(mask)
    index[ys, xs] = np.arange(len(ys))
    rows, cols, vals = [], [], []
    rhs = np.zeros((len(ys), 3))
    for k, (y, x) in enumerate(zip(ys, xs)):
        neighbours = [(y + dy, x + dx) for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)) if 0 <= y + dy < h and 0 <= x + dx < w]
        rows.append(k), cols.append(k), vals.append(float(len(neighbours)))
        for ny, nx in neighbours:
            if mask[ny, nx]:
                rows.append(k), cols.append(index[ny, nx]), vals.append(-1.0)
            else:
                rhs[k] += rgb[ny, nx]
    system = scipy.sparse.csr_matrix((vals, (rows, cols)), shape=(len(ys), len(ys)))
    out = rgb.copy()
    out[ys, xs] = np.stack([scipy.sparse.linalg.spsolve(system, rhs[:, c]) for c in range(3)], axis=1)
    return np.clip(out, 0, 1)


def opencv(rgb, mask, flag):
    bgr = cv2.cvtColor(to_u8(rgb), cv2.COLOR_RGB2BGR)
    out = cv2.inpaint(bgr, mask.astype(np.uint8) * 255, 3, flag)
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB).astype(np.float64) / 255.0


def scores(truth, filled, mask):
    mse = np.mean((truth[mask] - filled[mask]) ** 2)
    _, ssim_map = structural_similarity(truth, filled, data_range=1.0, channel_axis=2, win_size=7, full=True)
    return 10 * np.log10(1.0 / mse), ssim_map.mean(axis=2)[mask].mean()


def run_infty(args, image_path, mask_path, out_path):
    cmd = [args.infty, "inpaint", str(image_path), str(out_path), "--mask", str(mask_path), *args.inpaint_args]
    start = time.time()
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({run.returncode}):\n{run.stderr}")
    return load(out_path), time.time() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=pathlib.Path, required=True)
    parser.add_argument("--photos-limit", type=int, default=0, help="only the first N photos (0: all)")
    parser.add_argument("--size", type=int, default=256, help="centred square crop of each photo (CPU time)")
    parser.add_argument("--downscale", type=int, default=1, help="then area-downscale crop and mask by this factor (the model's own scale)")
    parser.add_argument("--masks", default=",".join(MASKS))
    parser.add_argument("--infty", default="target/release/infty")
    parser.add_argument("--figure", type=pathlib.Path, help="write a PNG grid: input, mask, ours, baselines, original")
    parser.add_argument("inpaint_args", nargs="*", help="extra infty inpaint parameters (after --)")
    args = parser.parse_args()
    photos = sorted(p for p in args.photos.iterdir() if p.suffix in (".png", ".jpg"))
    photos = photos[: args.photos_limit or None]
    work = pathlib.Path(tempfile.mkdtemp(prefix="eval-inpaint-"))
    methods = ("infty", "telea", "navier-stokes", "harmonic")
    print(f"infty inpaint {' '.join(args.inpaint_args)}; {len(photos)} photos cropped to {args.size}², downscaled {args.downscale}x\n")
    figure_rows = []
    for kind in args.masks.split(","):
        rows, seconds = [], 0.0
        for n, photo in enumerate(photos):
            truth = centre_crop(load(photo), args.size)
            mask = make_mask(kind, truth.shape[0], seed=n)
            truth, mask = downscale(truth, mask, args.downscale)
            given = np.where(mask[..., None], 0.5, truth)
            image_path, mask_path = work / f"{photo.stem}-{kind}.png", work / f"{photo.stem}-{kind}-mask.png"
            Image.fromarray(to_u8(given)).save(image_path)
            Image.fromarray(mask.astype(np.uint8) * 255).save(mask_path)
            given = load(image_path)
            ours, took = run_infty(args, image_path, mask_path, work / f"{photo.stem}-{kind}-infty.png")
            seconds += took
            fills = [ours, opencv(given, mask, cv2.INPAINT_TELEA), opencv(given, mask, cv2.INPAINT_NS), harmonic_fill(given, mask)]
            rows.append([photo.stem, mask.mean()] + [v for fill in fills for v in scores(truth, fill, mask)])
            if n < 3:
                figure_rows.append([given, np.repeat(mask[..., None], 3, axis=2).astype(float)] + fills + [truth])
        print(f"### {kind} ({len(rows)} photos, mean hole {np.mean([r[1] for r in rows]):.1%}; infty {seconds:.0f} s in all)\n")
        print("| photo | " + " | ".join(f"{m} PSNR | SSIM" for m in methods) + " |")
        print("|---" * (1 + 2 * len(methods)) + "|")
        for row in rows + [["**mean**", 0.0] + list(np.mean([r[2:] for r in rows], axis=0))]:
            cells = [row[0]] + [f"{v:.4f}" if i % 2 else f"{v:.2f}" for i, v in enumerate(row[2:])]
            print("| " + " | ".join(cells) + " |")
        print()
    if args.figure:
        grid = np.concatenate([np.concatenate(row, axis=1) for row in figure_rows], axis=0)
        Image.fromarray(to_u8(grid)).save(args.figure)
        print(f"figure: {args.figure} (columns: input, mask, {', '.join(methods)}, original)")


if __name__ == "__main__":
    main()
