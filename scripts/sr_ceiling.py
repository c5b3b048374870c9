"""The ceiling a mollifier puts on `infty upscale`: PSNR-Y of the ground truth itself
passed through what the upscaler does to a perfect sample, for each σ and ε asked for.

A guided model samples T·x, the image mollified by a Gaussian of σ pixels at the output's
resolution (∞-Diff, Bond-Taylor & Willcocks 2024, §3: the diffusion runs on mollified
functions); the upscaler then applies the Wiener inverse g / (g² + ε²), ε = --inv-snr
(reference `DCTGaussianBlur.undo_wiener`), and one back-projection onto the input
(`plugins/superres/src/sample.rs`, `finish`). Here the sample is exact — the ground
truth mollified in the DCT domain as the reference's `DCTGaussianBlur` does — so the PSNR
is the most that any model of that σ can reach with that ε, and the detail measure
(eval-sr's) what is left of the ground truth's detail. Frequencies where the
Gaussian's gain g is small against ε are lost: above about 0.3 cycles per pixel at σ = 1,
which is most of what a 2× upscale must restore (0.25 to 0.5).

The inverse runs on the whole crop here, on 64² patches in infty (with blending), so
infty's own ceiling is a little lower. Back-projection (5 iterations, as eval-sr's
baseline) is printed beside it. Each cell: mean PSNR-Y, mean detail.
"""

import argparse
import pathlib

import numpy as np
from scipy.fft import dctn, idctn

import eval_sr as sr


def dct_gains(shape, sigma):
    """The Gaussian's gain at each 2-D DCT-II coefficient of an image of `shape`."""
    gy, gx = (np.exp(-0.5 * (sigma * np.pi * np.arange(n) / n) ** 2) for n in shape)
    return np.outer(gy, gx)


def through_the_upscaler(hr, lr, scale, sigma, inv_snr):
    """T, then the Wiener inverse, then one back-projection onto `lr`, per channel."""
    g = dct_gains(hr.shape[:2], sigma)
    wiener = g * g / (g * g + inv_snr * inv_snr)  # mollify and invert in one product
    out = np.stack([idctn(dctn(hr[..., c], norm="ortho") * wiener, norm="ortho") for c in range(3)], axis=2)
    size = (hr.shape[1], hr.shape[0])
    out = out + sr.resize_float(lr - sr.area_down(out, scale), size, sr.Image.Resampling.BICUBIC)
    return sr.quantize(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=pathlib.Path, required=True)
    parser.add_argument("--scales", default="2,4")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--sigmas", default="1,0.5")
    parser.add_argument("--inv-snrs", default="0.3,0.1")
    args = parser.parse_args()
    settings = [(float(s), float(e)) for s in args.sigmas.split(",") for e in args.inv_snrs.split(",")]
    photos = sr.evaluation_photos(args.photos)
    print("| scale | back-projection | " + " | ".join(f"σ {s:g}, ε {e:g}" for s, e in settings) + " |")
    print("|---" * (len(settings) + 2) + "|")
    for scale in (float(s) for s in args.scales.split(",")):
        rows = []
        for photo in photos:
            hr = sr.crop(sr.load(photo), args.size, scale)
            lr = sr.quantize(sr.area_down(hr, scale))
            size = (hr.shape[1], hr.shape[0])
            outputs = [sr.back_project(lr, size, scale)]
            outputs += [through_the_upscaler(hr, lr, scale, s, e) for s, e in settings]
            rows.append([(sr.scores(hr, out, scale)[0], sr.detail_ratio(hr, out, scale)) for out in outputs])
        means = np.mean(rows, axis=0)
        print(f"| {scale:g}× | " + " | ".join(f"{p:.2f} dB, {d:.2f}" for p, d in means) + " |")


if __name__ == "__main__":
    main()
