"""Generation quality with no downloaded weights: the multi-scale sliced Wasserstein
distance (SWD) of Laplacian-pyramid patches (Karras et al. 2018, "Progressive Growing of
GANs", section 5 and appendix D) between a set of images and held-out real crops.

Each image is decomposed into a Laplacian pyramid down to 16x16; at every level 128 7x7
neighbourhoods are drawn at random positions; each level's descriptors are normalised by
the mean and std of both sets together, per channel; the distance is the sliced
Wasserstein distance (512 random directions, 4 repeats, sorted projections compared) x 1e3,
per level and averaged. Lower is closer.

Rows (all the same number of images, `--count`, at the same size):
- infty sample: the model's samples (`infty sample`, z from the prior).
- real, other draw: held-out crops of another seed (the floor: two sets of real crops).
- real, training photos: crops of the training photos (the shift between photos).
- blurred real: held-out crops blurred with a Gaussian of 2 px (too smooth).
- noise texture: white noise with the crops' mean and std per channel (no structure).

At `--scale s`, samples are s times the model's size and the real crops come from the
photos downscaled s times less, so both show the same field of view.
"""

import argparse
import json
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image, ImageFilter

PATCH, PER_IMAGE, DIRECTIONS, REPEATS, SMALLEST = 7, 128, 512, 4, 16


def photo(path, downscale):
    image = Image.open(path).convert("RGB")
    size = (round(image.width / downscale), round(image.height / downscale))
    return np.asarray(image.resize(size, Image.Resampling.BOX), dtype=np.float64) / 255.0


def crops(paths, downscale, size, count, seed):
    """`count` random `size`-square crops, taken from the photos in turn."""
    rng = np.random.default_rng(seed)
    photos = [photo(p, downscale) for p in paths]
    photos = [p for p in photos if min(p.shape[:2]) >= size]
    out = []
    for i in range(count):
        p = photos[i % len(photos)]
        y, x = rng.integers(0, p.shape[0] - size + 1), rng.integers(0, p.shape[1] - size + 1)
        out.append(p[y : y + size, x : x + size])
    return np.stack(out)


def pyramid(images):
    """Laplacian pyramid levels of (N, H, W, 3) images, finest first, down to 16x16."""
    levels, current = [], images
    while current.shape[1] > SMALLEST:
        small = current.reshape(current.shape[0], current.shape[1] // 2, 2, current.shape[2] // 2, 2, 3).mean((2, 4))
        up = small.repeat(2, axis=1).repeat(2, axis=2)
        levels.append(current - up)
        current = small
    levels.append(current)
    return levels


def descriptors(level, rng):
    n, h, w, _ = level.shape
    ys = rng.integers(0, h - PATCH + 1, size=(n, PER_IMAGE))
    xs = rng.integers(0, w - PATCH + 1, size=(n, PER_IMAGE))
    out = np.empty((n * PER_IMAGE, PATCH * PATCH * 3))
    k = 0
    for i in range(n):
        for y, x in zip(ys[i], xs[i]):
            out[k] = level[i, y : y + PATCH, x : x + PATCH].ravel()
            k += 1
    return out


def swd(a, b, rng):
    """Sliced Wasserstein distance between two equal-sized descriptor sets."""
    total = 0.0
    for _ in range(REPEATS):
        directions = rng.standard_normal((a.shape[1], DIRECTIONS))
        directions /= np.linalg.norm(directions, axis=0, keepdims=True)
        pa, pb = np.sort(a @ directions, axis=0), np.sort(b @ directions, axis=0)
        total += np.abs(pa - pb).mean()
    return total / REPEATS


def distance(images, reference, seed=0):
    """SWD x 1e3 per pyramid level (finest first) and their mean."""
    rng = np.random.default_rng(seed)
    result = []
    for la, lb in zip(pyramid(images), pyramid(reference)):
        da, db = descriptors(la, rng), descriptors(lb, rng)
        both = np.concatenate([da, db]).reshape(-1, PATCH * PATCH, 3)
        mean, std = both.mean((0, 1)), both.std((0, 1)) + 1e-8
        norm = lambda d: ((d.reshape(-1, PATCH * PATCH, 3) - mean) / std).reshape(d.shape[0], -1)
        result.append(swd(norm(da), norm(db), rng) * 1e3)
    return result + [float(np.mean(result))]


def sample(infty, model, count, size, extra):
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "s.png"
        args = [infty, "sample", model, str(out), "--count", str(count), "--size", str(size)] + extra
        started = time.time()
        subprocess.run(args, check=True, stdout=sys.stderr)
        seconds = time.time() - started
        names = [out] if count == 1 else sorted(pathlib.Path(tmp).glob("s-*.png"))
        images = np.stack([np.asarray(Image.open(n).convert("RGB"), dtype=np.float64) / 255.0 for n in names])
    return images, seconds


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="the model folder or file infty sample takes")
    p.add_argument("--data", required=True, help="the training photos' folder")
    p.add_argument("--run", required=True, help="the decoder's run.json (held-out photos, downscale, crop size)")
    p.add_argument("--count", type=int, default=128)
    p.add_argument("--scale", type=int, default=1, help="samples at this multiple of the model's size")
    p.add_argument("--infty", default="target/release/infty")
    p.add_argument("extra", nargs="*", help="after --: more infty sample parameters")
    a = p.parse_args()
    run = json.load(open(a.run))
    settings, size = run["settings"], run["model"]["img_size"] * a.scale
    downscale = settings["downscale"] / a.scale
    data = pathlib.Path(a.data)
    held = [data / name for name in run["held_out"]]
    train = sorted(q for q in data.rglob("*") if q.suffix.lower() in (".jpg", ".jpeg", ".png") and q not in held)
    reference = crops(held, downscale, size, a.count, seed=1)
    generated, seconds = sample(a.infty, a.model, a.count, size, a.extra)
    other = crops(held, downscale, size, a.count, seed=2)
    blurred = np.stack(
        [np.asarray(Image.fromarray((c * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(2 * a.scale))) / 255.0 for c in other]
    )
    mean, std = other.mean((0, 1, 2)), other.std((0, 1, 2))
    noise = np.clip(np.random.default_rng(3).standard_normal(other.shape) * std + mean, 0, 1)
    rows = [
        ("infty sample", generated),
        ("real, other draw (floor)", other),
        ("real, training photos", crops(train, downscale, size, a.count, seed=4)),
        ("blurred real", blurred),
        ("noise texture", noise),
    ]
    levels = len(pyramid(reference[:1]))
    header = [f"{size >> i}" for i in range(levels)]
    print(f"SWD x 1e3 against {a.count} held-out crops of {size}x{size} (photos downscaled {downscale:g}x); "
          f"{a.count} samples took {seconds:.0f} s\n")
    print("| images | " + " | ".join(header) + " | mean |")
    print("|---" * (levels + 2) + "|")
    for name, images in rows:
        print(f"| {name} | " + " | ".join(f"{v:.1f}" for v in distance(images, reference)) + " |")


if __name__ == "__main__":
    main()
