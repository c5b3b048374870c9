"""Inpainting quality: centred crops of the evaluation photos with synthetic masks
(centre boxes of 10% and 25% of the area, and random brush strokes), filled by
`infty inpaint`, OpenCV's Telea and Navier-Stokes inpainting (radius 3) and a harmonic
fill (Laplace's equation with the known pixels as boundary values, solved exactly),
and compared with the originals inside the mask.

Reported per photo and as a mean over the photos, with infty's margin over the best
classical method under each table:
- PSNR over the masked pixels (RGB in [0, 1]).
- SSIM: the mean of scikit-image's SSIM map (RGB, 7-px window) over the masked pixels.
- detail (`detail_ratio`): the sum over the hole's pixels of the squared 5-point
  Laplacian of Y (BT.601), for the fill over the same sum for the original. A high-pass
  and not the gradient, since the gradient rewards the smooth ramp any fill draws
  between different sides of a hole. 1.0 is texture at the right energy and the
  original's score; a smooth fill is near 0 (the harmonic fill's Laplacian is zero in
  the hole by construction, up to 8-bit rounding); noise, blotches and seams at the rim
  push it up (the original plus white noise of σ = 5/255 scores about 1.2), so a high
  value alone is no merit.

Every method sees the same 8-bit image with the masked pixels set to mid-grey, and
delivers an 8-bit image. A figure shows (masked | harmonic | Telea | infty | original)
for one photo per mask kind (`--figure`, default target/eval/inpaint.png).
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

from eval_report import print_margin, print_table, write_figure

MASKS = ("box10", "box25", "brush")
METHODS = ("infty", "harmonic", "telea", "navier-stokes")


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
    return to_u8(out) / 255.0


def opencv(rgb, mask, flag):
    bgr = cv2.cvtColor(to_u8(rgb), cv2.COLOR_RGB2BGR)
    out = cv2.inpaint(bgr, mask.astype(np.uint8) * 255, 3, flag)
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB).astype(np.float64) / 255.0


def laplacian_energy(rgb, mask):
    """The sum over the hole of the squared 5-point Laplacian of Y (BT.601, in [0, 1];
    image edges replicated). At the hole's rim the stencil reads the known pixels, so a
    seam counts as energy. The Laplacian, unlike the gradient, ignores the smooth ramps
    a fill draws across the hole (its response grows as |f|²): what remains is texture."""
    y = np.pad(rgb @ np.array([0.299, 0.587, 0.114]), 1, mode="edge")
    lap = 4 * y[1:-1, 1:-1] - y[:-2, 1:-1] - y[2:, 1:-1] - y[1:-1, :-2] - y[1:-1, 2:]
    return np.sum(lap[mask] ** 2)


def detail_ratio(truth, filled, mask):
    """The detail measure: the fill's Laplacian energy in the hole over the original's."""
    return laplacian_energy(filled, mask) / laplacian_energy(truth, mask)


def scores(truth, filled, mask):
    """PSNR, SSIM and detail inside the hole."""
    mse = np.mean((truth[mask] - filled[mask]) ** 2)
    _, ssim_map = structural_similarity(truth, filled, data_range=1.0, channel_axis=2, win_size=7, full=True)
    return [10 * np.log10(1.0 / mse), ssim_map.mean(axis=2)[mask].mean(), detail_ratio(truth, filled, mask)]


def run_infty(args, image_path, mask_path, out_path):
    cmd = [args.infty, "inpaint", str(image_path), str(out_path), "--mask", str(mask_path), *args.inpaint_args]
    start = time.time()
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({run.returncode}):\n{run.stderr}")
    return load(out_path), time.time() - start


def fill_photo(args, work, photo, kind, n):
    """The fills of every method for one photo and mask, the given image, the original
    and the mask."""
    truth = centre_crop(load(photo), args.size)
    mask = make_mask(kind, truth.shape[0], seed=n)
    truth, mask = downscale(truth, mask, args.downscale)
    given = np.where(mask[..., None], 0.5, truth)
    image_path, mask_path = work / f"{photo.stem}-{kind}.png", work / f"{photo.stem}-{kind}-mask.png"
    Image.fromarray(to_u8(given)).save(image_path)
    Image.fromarray(mask.astype(np.uint8) * 255).save(mask_path)
    given = load(image_path)
    ours, seconds = run_infty(args, image_path, mask_path, work / f"{photo.stem}-{kind}-infty.png")
    fills = {
        "infty": ours,
        "harmonic": harmonic_fill(given, mask),
        "telea": opencv(given, mask, cv2.INPAINT_TELEA),
        "navier-stokes": opencv(given, mask, cv2.INPAINT_NS),
    }
    return fills, given, truth, mask, seconds


COLUMNS = ("PSNR", "SSIM", "detail")
FORMATS = ("{:.2f}", "{:.4f}", "{:.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=pathlib.Path, required=True)
    parser.add_argument("--photos-limit", type=int, default=0, help="only the first N photos (0: all)")
    parser.add_argument("--size", type=int, default=256, help="centred square crop of each photo (CPU time)")
    parser.add_argument("--downscale", type=int, default=1, help="then area-downscale crop and mask by this factor (the model's own scale)")
    parser.add_argument("--masks", default=",".join(MASKS))
    parser.add_argument("--infty", default="target/release/infty")
    parser.add_argument("--figure", type=pathlib.Path, default=pathlib.Path("target/eval/inpaint.png"),
                        help="PNG: masked, harmonic, Telea, infty, original for one photo per mask kind")
    parser.add_argument("inpaint_args", nargs="*", help="extra infty inpaint parameters (after --)")
    args = parser.parse_args()
    photos = sorted(p for p in args.photos.iterdir() if p.suffix in (".png", ".jpg"))
    photos = photos[: args.photos_limit or None]
    kinds = args.masks.split(",")
    shown = [int(i) for i in np.linspace(0, len(photos) - 1, len(kinds))]  # evenly spread, one per mask kind
    shown_methods = ["harmonic", "telea", "infty"]
    work = pathlib.Path(tempfile.mkdtemp(prefix="eval-inpaint-"))
    print(f"infty inpaint {' '.join(args.inpaint_args)}; {len(photos)} photos cropped to {args.size}², downscaled {args.downscale}x\n")
    tiles = []
    for k, kind in enumerate(kinds):
        rows, holes, seconds = [], [], 0.0
        for n, photo in enumerate(photos):
            fills, given, truth, mask, took = fill_photo(args, work, photo, kind, n)
            seconds += took
            holes.append(mask.mean())
            rows += [(photo.stem, m, scores(truth, fills[m], mask)) for m in METHODS]
            if n == shown[k]:
                tiles.append((f"{photo.stem}, {kind}", [given] + [fills[m] for m in shown_methods] + [truth]))
        print(f"### {kind} ({len(photos)} photos, mean hole {np.mean(holes):.1%}; infty {seconds:.0f} s in all)\n")
        print_table(rows, METHODS, COLUMNS, FORMATS)
        print_margin(rows, METHODS[1:])
    write_figure(args.figure, tiles, ["masked"] + shown_methods + ["original"])
    print(f"figure: {args.figure} (columns: masked, {', '.join(shown_methods)}, original)")


if __name__ == "__main__":
    main()
