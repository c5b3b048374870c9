"""Super-resolution quality: the evaluation photos downscaled by the scale factor (area,
antialiased), upscaled back by bicubic, lanczos3 and `infty upscale`, and compared with
the originals.

Reported per image and as a mean:
- PSNR and SSIM on Y (ITU-R BT.601 luma, in [16, 235]), with `scale` pixels shaved off
  each border, as super-resolution papers do; SSIM with an 11-tap Gaussian (σ 1.5).
- consistency: PSNR between the low-resolution input and the output downscaled the same
  way (how faithful the output is to its input; bicubic's is given for comparison).
- seam score: the mean gradient magnitude across the borders of infty's patches divided
  by the mean across the other rows and columns of the same phase (modulo an integer
  scale); 1.0 is seamless. Bicubic's, which has no seams, shows the metric's spread.
"""

import argparse
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

PATCH, OVERLAP = 64, 16  # infty's guided patches on the output, in pixels (default model)


def luma(rgb):
    """BT.601 Y of RGB in [0, 1], in [16, 235]."""
    return 16.0 + rgb @ np.array([65.481, 128.553, 24.966])


def load(path):
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255.0


def to_image(rgb):
    return Image.fromarray(np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8))


def area_down(rgb, scale):
    h, w = rgb.shape[:2]
    size = (round(w / scale), round(h / scale))
    return np.asarray(to_image(rgb).resize(size, Image.Resampling.BOX), dtype=np.float64) / 255.0


def upscale_pil(lr, size, method):
    return np.asarray(to_image(lr).resize(size, method), dtype=np.float64) / 255.0


def scores(hr, sr, scale):
    shave = int(np.ceil(scale))
    y_hr, y_sr = (luma(a)[shave:-shave, shave:-shave] for a in (hr, sr))
    psnr = peak_signal_noise_ratio(y_hr, y_sr, data_range=255.0)
    ssim = structural_similarity(
        y_hr, y_sr, data_range=255.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
    )
    return psnr, ssim


def consistency(lr, sr, scale):
    return peak_signal_noise_ratio(lr, area_down(sr, scale), data_range=1.0)


def patch_borders(n):
    """The first pixel after each patch border on an axis of n pixels (the lattice of
    kit/src/patches/lattice.rs)."""
    stride = PATCH - OVERLAP
    origins = [o for o in range(0, n, stride) if o + PATCH < n] + [n - PATCH]
    edges = {o for o in origins[1:]} | {o + PATCH for o in origins[:-1]}
    return sorted(e for e in edges if 0 < e < n)


def border_masks(n, period):
    """Gradient positions (between pixels k and k+1) across patch borders, and the
    other positions of the same phase modulo the upscaling period: an interpolated
    image's gradients vary with that phase, seams or not."""
    across = np.zeros(n - 1, bool)
    across[[e - 1 for e in patch_borders(n)]] = True
    phase = np.arange(n - 1) % period
    inside = ~across & np.isin(phase, phase[across])
    return across, inside


def seam_score(sr, scale):
    period = int(round(scale)) if abs(scale - round(scale)) < 1e-9 else 1
    y = luma(sr)
    gx, gy = np.abs(np.diff(y, axis=1)), np.abs(np.diff(y, axis=0))
    ax, ix = border_masks(y.shape[1], period)
    ay, iy = border_masks(y.shape[0], period)
    across = np.concatenate([gx[:, ax].ravel(), gy[ay, :].ravel()]).mean()
    inside = np.concatenate([gx[:, ix].ravel(), gy[iy, :].ravel()]).mean()
    return across / inside


def crop(rgb, size, scale):
    """A centred crop of at most size×size whose sides are multiples of the scale's
    denominator-free part (so the low resolution is whole pixels)."""
    h, w = rgb.shape[:2]
    step = int(round(scale)) if abs(scale - round(scale)) < 1e-9 else 10
    ch, cw = (min(size, n) // step * step for n in (h, w))
    y, x = (h - ch) // 2, (w - cw) // 2
    return rgb[y : y + ch, x : x + cw]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=pathlib.Path, required=True)
    parser.add_argument("--scales", default="2,4")
    parser.add_argument("--size", type=int, default=384, help="centred crop of each photo (CPU time)")
    parser.add_argument("--infty", default="target/release/infty")
    parser.add_argument("upscale_args", nargs="*", help="extra infty upscale parameters (after --)")
    args = parser.parse_args()
    photos = sorted(p for p in args.photos.iterdir() if p.suffix in (".png", ".jpg"))
    work = pathlib.Path(tempfile.mkdtemp(prefix="eval-sr-"))
    print(f"infty upscale {' '.join(args.upscale_args)}; photos cropped to at most {args.size}²\n")
    for scale in (float(s) for s in args.scales.split(",")):
        rows, seconds = [], 0.0
        for photo in photos:
            hr = crop(load(photo), args.size, scale)
            lr = area_down(hr, scale)
            size = (hr.shape[1], hr.shape[0])
            lr_path, sr_path = work / f"{photo.stem}-lr.png", work / f"{photo.stem}-x{scale:g}.png"
            to_image(lr).save(lr_path)
            lr = load(lr_path)  # the 8-bit input every method sees
            start = time.time()
            cmd = [args.infty, "upscale", str(lr_path), str(sr_path), "--scale", f"{scale:g}", *args.upscale_args]
            run = subprocess.run(cmd, capture_output=True, text=True)
            seconds += time.time() - start
            if run.returncode != 0:
                sys.exit(f"{' '.join(cmd)} failed ({run.returncode}):\n{run.stderr}")
            sr = load(sr_path)
            if sr.shape != hr.shape:
                sys.exit(f"{photo.name}: infty gave {sr.shape[1]}×{sr.shape[0]}, expected {size[0]}×{size[1]}")
            bicubic = upscale_pil(lr, size, Image.Resampling.BICUBIC)
            lanczos = upscale_pil(lr, size, Image.Resampling.LANCZOS)
            row = [photo.stem]
            for method in (bicubic, lanczos, sr):
                row += scores(hr, method, scale)
            row += [consistency(lr, bicubic, scale), consistency(lr, sr, scale), seam_score(bicubic, scale), seam_score(sr, scale)]
            rows.append(row)
        print(f"### {scale:g}× ({len(rows)} photos, infty {seconds:.0f} s in all)\n")
        print("| photo | bicubic PSNR | SSIM | lanczos3 PSNR | SSIM | infty PSNR | SSIM "
              "| consistency bicubic | consistency infty | seam bicubic | seam infty |")
        print("|---" * 11 + "|")
        for row in rows + [["**mean**"] + list(np.mean([r[1:] for r in rows], axis=0))]:
            cells = [row[0]] + [
                f"{v:.4f}" if i in (1, 3, 5) else (f"{v:.3f}" if i >= 8 else f"{v:.2f}") for i, v in enumerate(row[1:])
            ]
            print("| " + " | ".join(cells) + " |")
        print()


if __name__ == "__main__":
    main()
