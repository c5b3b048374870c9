"""File sizes of compressed TIFF output: infty beside libvips and GDAL (see bench/filesize).

Inputs: the first N photographs of data/wallpapers (by name), or the images --image names
(bench/inpaint's 16384² photo, say), each written once as an
uncompressed tiled (256) TIFF at u8, u16 (v * 257) and f32 (v / 255) into
target/bench-data/filesize. Every tool rewrites every input tiled 256 with the same
compression; each tool's total output size (MB, and as a share of the uncompressed
input), its total wall time (seconds, best of RUNS), and the Predictor tag it wrote.
"""
import argparse
import glob
import os
import subprocess
import time

import cv2
import numpy
import tifffile

INFTY = os.environ.get("INFTY") or os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release", "infty")
GDAL_NAMES = {"deflate": "DEFLATE", "zstd": "ZSTD", "lzw": "LZW"}


def make_inputs(photos, depths, folder):
    """Writes each photo at each depth as an uncompressed tiled TIFF; returns {depth: [paths]}."""
    os.makedirs(folder, exist_ok=True)
    inputs = {depth: [] for depth in depths}
    for photo in photos:
        name = os.path.splitext(os.path.basename(photo))[0]
        rgb = None
        for depth in depths:
            path = os.path.join(folder, f"{name}-{depth}.tif")
            if not os.path.exists(path):
                if rgb is None:
                    rgb = cv2.cvtColor(cv2.imread(photo, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
                pixels = {"u8": rgb, "u16": rgb.astype(numpy.uint16) * 257, "f32": rgb.astype(numpy.float32) / 255}[depth]
                tifffile.imwrite(path, pixels, tile=(256, 256), photometric="rgb")
            inputs[depth].append(path)
    return inputs


def tools(depth, compression):
    """(name, command maker) for each tool; a maker takes (input, output)."""
    gdal_predictor = "3" if depth == "f32" else "2"
    gdal = ["gdal_translate", "-q", "-co", "TILED=YES", "-co", "BLOCKXSIZE=256", "-co", "BLOCKYSIZE=256",
            "-co", f"COMPRESS={GDAL_NAMES[compression]}"]
    infty = lambda extra: lambda i, o: [INFTY, "run", "read", i, "!", "write", o, "--compression", compression, *extra]
    return [
        ("infty --predictor none", infty(["--predictor", "none"])),
        ("infty (default)", infty([])),
        ("vips copy (default)", lambda i, o: ["vips", "copy", i, f"{o}[tile,tile-width=256,tile-height=256,compression={compression}]"]),
        ("gdal_translate (default)", lambda i, o: [*gdal, i, o]),
        (f"gdal_translate PREDICTOR={gdal_predictor}", lambda i, o: [*gdal, "-co", f"PREDICTOR={gdal_predictor}", i, o]),
    ]


def predictor_of(path):
    with tifffile.TiffFile(path) as tif:
        return int(tif.pages[0].predictor)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--depths", default="u8,u16,f32")
    parser.add_argument("--compressions", default="deflate,zstd,lzw")
    parser.add_argument("--data", default="target/bench-data/filesize")
    parser.add_argument("--image", action="append", help="an image to use instead of the photographs")
    args = parser.parse_args()
    photos = args.image or sorted(glob.glob("data/wallpapers/*"))[: args.photos]
    depths = args.depths.split(",")
    inputs = make_inputs(photos, depths, args.data)
    out = os.path.join(args.data, "out.tif")
    megapixels = sum(cv2.imread(p, cv2.IMREAD_REDUCED_GRAYSCALE_8).size * 64 for p in photos) / 1e6
    source = "the given images" if args.image else "photographs of data/wallpapers"
    print(f"{len(photos)} {source} (about {megapixels:.0f} MP), RGB, tiled 256; "
          f"sizes in MB (share of the uncompressed input), seconds best of {args.runs}")
    for depth in depths:
        raw = sum(os.path.getsize(p) for p in inputs[depth]) / 1e6
        print(f"\n{depth}: {raw:.0f} MB uncompressed")
        for compression in args.compressions.split(","):
            for name, command in tools(depth, compression):
                best, size, predictors = float("inf"), 0, set()
                for _ in range(args.runs):
                    total, size = 0.0, 0
                    for path in inputs[depth]:
                        start = time.perf_counter()
                        subprocess.run(command(path, out), check=True, stdout=subprocess.DEVNULL)
                        total += time.perf_counter() - start
                        size += os.path.getsize(out)
                        predictors.add(predictor_of(out))
                        os.remove(out)
                    best = min(best, total)
                predictor = ",".join(str(p) for p in sorted(predictors))
                print(f"  {compression:<8} {name:<28} {size / 1e6:8.1f} MB ({size / 1e6 / raw:5.1%})"
                      f" {best:7.2f} s  predictor {predictor}", flush=True)


if __name__ == "__main__":
    main()
