"""Super-resolution quality: the evaluation photos downscaled by the scale factor (area,
antialiased), upscaled back by bicubic, lanczos3, iterative back-projection and
`infty upscale`, and compared with the originals.

Reported per image and as a mean over the photos, with infty's margin over the strongest
classical method under each table:
- PSNR and SSIM on Y (ITU-R BT.601 luma, in [16, 235]), with `scale` pixels shaved off
  each border, as super-resolution papers do; SSIM with an 11-tap Gaussian (σ 1.5).
- consistency: PSNR between the low-resolution input and the output downscaled the same
  way (how faithful the output is to its input).
- detail: the output's spectral energy above the input's Nyquist frequency over the
  ground truth's (`detail_ratio`): on the shaved Y, mean removed, times a 2-D Hann
  window, the power spectrum summed where max(|fx|, |fy|) > 0.5/scale cycles per output
  pixel (per axis, since the input's passband is that square), over the same sum for the
  ground truth. 1.0 is detail at the right energy and the ground truth's score; bicubic
  is far below 1; noise or ringing push it up, so a high value alone is no merit. Under
  each table, the ground truth plus white noise (σ = 5/255 per channel) shows how much.
- seam score: the mean gradient magnitude across the borders of infty's patches divided
  by the mean across the other rows and columns of the same phase (modulo an integer
  scale); 1.0 is seamless. The classical methods, which have no seams, show its spread.

Every method reads the same 8-bit input and delivers an 8-bit image. Back-projection
(Irani & Peleg 1991) is 5 iterations of x ← x + up(lr − down(x)), from x = up(lr), with
`down` the area downscaling that made the input and `up` bicubic (`back_project`); 5
because PSNR stops improving after 3 on photos outside this evaluation
(`BACK_PROJECTION_STEPS`). A figure shows crops of bicubic, back-projection, infty and the
ground truth (`--figure`, default target/eval/sr.png).
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

from eval_report import print_margin, print_table, write_figure

PATCH, OVERLAP = 64, 16  # infty's guided patches on the output, in pixels (default model)

# Chosen once, not on the evaluation photos: on 256² centre crops of the four photos
# default-sr holds out from training (lomiri-aitzgorri, mate-Garden, plasma-Autumn,
# plasma-ColdRipple, downscaled 3× as in training), mean PSNR-Y rises from bicubic by
# 0.42, 0.47 and 0.47 dB after 1, 2 and 3 iterations at 2× (0.31, 0.35, 0.36 dB at 4×)
# and stops improving after that: 5 iterations are within 0.001 dB of 50 at both scales.
BACK_PROJECTION_STEPS = 5

NOISE_SIGMA = 5.0 / 255.0  # the white noise of the detail measure's calibration line
FIGURE_CROP, FIGURE_ZOOM, FIGURE_PHOTOS = 80, 2, 3


def luma(rgb):
    """BT.601 Y of RGB in [0, 1], in [16, 235]."""
    return 16.0 + rgb @ np.array([65.481, 128.553, 24.966])


def load(path):
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255.0


def to_image(rgb):
    return Image.fromarray(np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8))


def quantize(rgb):
    """The 8-bit image every method delivers, back in [0, 1]."""
    return np.clip(np.round(rgb * 255.0), 0, 255) / 255.0


def resize_float(rgb, size, method):
    """PIL's resampling per channel in 32-bit float (no rounding to 8 bits)."""
    channels = [Image.fromarray(rgb[..., c].astype(np.float32), mode="F").resize(size, method) for c in range(3)]
    return np.stack([np.asarray(c, dtype=np.float64) for c in channels], axis=2)


def area_down(rgb, scale):
    """Area (box) downscaling by `scale`, in float."""
    h, w = rgb.shape[:2]
    return resize_float(rgb, (round(w / scale), round(h / scale)), Image.Resampling.BOX)


def upscale_pil(lr, size, method):
    return np.asarray(to_image(lr).resize(size, method), dtype=np.float64) / 255.0


def back_project(lr, size, scale, steps=BACK_PROJECTION_STEPS):
    """Iterative back-projection (Irani & Peleg 1991): from the bicubic upscale, add the
    bicubic upscale of the residual between the input and the area-downscaled estimate,
    `steps` times. The area downscaling is the one that made the input."""
    estimate = resize_float(lr, size, Image.Resampling.BICUBIC)
    for _ in range(steps):
        residual = lr - area_down(estimate, scale)
        estimate = estimate + resize_float(residual, size, Image.Resampling.BICUBIC)
    return quantize(estimate)


def shaved_luma(rgb, scale):
    shave = int(np.ceil(scale))
    return luma(rgb)[shave:-shave, shave:-shave]


def scores(hr, sr, scale):
    y_hr, y_sr = shaved_luma(hr, scale), shaved_luma(sr, scale)
    psnr = peak_signal_noise_ratio(y_hr, y_sr, data_range=255.0)
    ssim = structural_similarity(
        y_hr, y_sr, data_range=255.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
    )
    return psnr, ssim


def consistency(lr, sr, scale):
    return peak_signal_noise_ratio(lr, area_down(sr, scale), data_range=1.0)


def high_band_energy(y, scale):
    """The power of Y (mean removed, times a 2-D Hann window against edge leakage) at the
    frequencies the low-resolution input cannot hold: max(|fx|, |fy|) > 0.5/scale cycles
    per output pixel, outside the square passband of a grid `scale` times coarser."""
    window = np.outer(np.hanning(y.shape[0]), np.hanning(y.shape[1]))
    power = np.abs(np.fft.fft2((y - y.mean()) * window)) ** 2
    fy, fx = np.meshgrid(np.fft.fftfreq(y.shape[0]), np.fft.fftfreq(y.shape[1]), indexing="ij")
    return power[np.maximum(np.abs(fx), np.abs(fy)) > 0.5 / scale].sum()


def detail_ratio(hr, sr, scale):
    """The detail measure: the output's high-band energy over the ground truth's, on
    the shaved Y that PSNR reads. The ground truth scores exactly 1."""
    return high_band_energy(shaved_luma(sr, scale), scale) / high_band_energy(shaved_luma(hr, scale), scale)


def noise_calibration(hr, scale, seed):
    """The detail measure of the ground truth plus white noise of σ = NOISE_SIGMA per
    channel: what noise alone does to it."""
    noisy = hr + np.random.default_rng(seed).normal(0.0, NOISE_SIGMA, hr.shape)
    return detail_ratio(hr, quantize(noisy), scale)


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


def evaluation_photos(folder):
    """The photos in `folder` (PNG and JPEG), in name order."""
    return sorted(p for p in folder.iterdir() if p.suffix in (".png", ".jpg"))


def crop(rgb, size, scale):
    """A centred crop of at most size×size whose sides are multiples of the scale's
    denominator-free part (so the low resolution is whole pixels)."""
    h, w = rgb.shape[:2]
    step = int(round(scale)) if abs(scale - round(scale)) < 1e-9 else 10
    ch, cw = (min(size, n) // step * step for n in (h, w))
    y, x = (h - ch) // 2, (w - cw) // 2
    return rgb[y : y + ch, x : x + cw]


def run_infty(args, lr_path, sr_path, scale):
    cmd = [args.infty, "upscale", str(lr_path), str(sr_path), "--scale", f"{scale:g}", *args.upscale_args]
    start = time.time()
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({run.returncode}):\n{run.stderr}")
    return load(sr_path), time.time() - start


def evaluate_photo(args, work, photo, scale):
    """The outputs of every method on one photo, and the ground truth."""
    hr = crop(load(photo), args.size, scale)
    size = (hr.shape[1], hr.shape[0])
    lr_path, sr_path = work / f"{photo.stem}-lr.png", work / f"{photo.stem}-x{scale:g}.png"
    to_image(area_down(hr, scale)).save(lr_path)
    lr = load(lr_path)  # the 8-bit input every method sees
    sr, seconds = run_infty(args, lr_path, sr_path, scale)
    if sr.shape != hr.shape:
        sys.exit(f"{photo.name}: infty gave {sr.shape[1]}×{sr.shape[0]}, expected {size[0]}×{size[1]}")
    outputs = {
        "bicubic": upscale_pil(lr, size, Image.Resampling.BICUBIC),
        "lanczos3": upscale_pil(lr, size, Image.Resampling.LANCZOS),
        "back-projection": back_project(lr, size, scale),
        "infty": sr,
    }
    return hr, lr, outputs, seconds


def metrics(hr, lr, out, scale):
    """PSNR-Y, SSIM-Y, consistency, detail and seam score of one output."""
    return [*scores(hr, out, scale), consistency(lr, out, scale), detail_ratio(hr, out, scale), seam_score(out, scale)]


COLUMNS = ("PSNR-Y", "SSIM-Y", "consistency", "detail", "seam")
FORMATS = ("{:.2f}", "{:.4f}", "{:.2f}", "{:.3f}", "{:.3f}")


def detail_crop(hr, side):
    """The side×side window with the most ground-truth Laplacian energy (chosen from the
    ground truth alone, on a grid of side/4)."""
    y = luma(hr)
    lap = np.abs(4 * y[1:-1, 1:-1] - y[:-2, 1:-1] - y[2:, 1:-1] - y[1:-1, :-2] - y[1:-1, 2:])
    step = side // 4
    spots = [(r, c) for r in range(0, lap.shape[0] - side + 1, step) for c in range(0, lap.shape[1] - side + 1, step)]
    r, c = max(spots, key=lambda rc: lap[rc[0] : rc[0] + side, rc[1] : rc[1] + side].sum())
    return slice(r + 1, r + 1 + side), slice(c + 1, c + 1 + side)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=pathlib.Path, required=True)
    parser.add_argument("--scales", default="2,4")
    parser.add_argument("--size", type=int, default=256, help="centred crop of each photo (CPU time)")
    parser.add_argument("--infty", default="target/release/infty")
    parser.add_argument("--figure", type=pathlib.Path, default=pathlib.Path("target/eval/sr.png"),
                        help="PNG: crops of bicubic, back-projection, infty and the original")
    parser.add_argument("upscale_args", nargs="*", help="extra infty upscale parameters (after --)")
    args = parser.parse_args()
    photos = evaluation_photos(args.photos)
    shown = {int(i) for i in np.linspace(0, len(photos) - 1, min(FIGURE_PHOTOS, len(photos)))}
    work = pathlib.Path(tempfile.mkdtemp(prefix="eval-sr-"))
    methods = ["bicubic", "lanczos3", "back-projection", "infty"]
    shown_methods = ["bicubic", "back-projection", "infty"]
    print(
        f"infty upscale {' '.join(args.upscale_args)}; photos cropped to at most {args.size}²; "
        f"back-projection {BACK_PROJECTION_STEPS} iterations\n"
    )
    tiles = []
    for scale in (float(s) for s in args.scales.split(",")):
        rows, seconds, calibration = [], 0.0, []
        for n, photo in enumerate(photos):
            hr, lr, outputs, took = evaluate_photo(args, work, photo, scale)
            seconds += took
            rows += [(photo.stem, m, metrics(hr, lr, outputs[m], scale)) for m in methods]
            calibration.append(noise_calibration(hr, scale, seed=n))
            if n in shown:
                window = detail_crop(hr, FIGURE_CROP)
                tiles.append((f"{photo.stem} x{scale:g}", [outputs[m][window] for m in shown_methods] + [hr[window]]))
        print(f"### {scale:g}× ({len(photos)} photos, infty {seconds:.0f} s in all)\n")
        print_table(rows, methods, COLUMNS, FORMATS)
        print_margin(rows, methods[:-1], psnr="PSNR-Y", ssim="SSIM-Y")
        print(
            f"Detail calibration: the ground truth scores 1 by definition; plus white noise of "
            f"σ = {NOISE_SIGMA * 255:g}/255 per channel, {np.mean(calibration):.3f} (mean).\n"
        )
    write_figure(args.figure, tiles, shown_methods + ["ground truth"], zoom=FIGURE_ZOOM)
    print(f"figure: {args.figure} (crops {FIGURE_CROP}² shown ×{FIGURE_ZOOM}: {', '.join(shown_methods)}, ground truth)")


if __name__ == "__main__":
    main()
