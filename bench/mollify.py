"""Side-by-side timing of `mollify` against OpenCV and libvips (see bench/mollify).

Prints medians in megapixels per second (MP/s) of one image, higher is better.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np
import tifffile

SIZE = int(sys.argv[1])
IN_PROCESS = sys.argv[2]
RUNS = 5
INFTY = os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release", "infty")
MP = SIZE * SIZE / 1e6


def median_seconds(run, runs=RUNS):
    run()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def process(args):
    return lambda: subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def row(name, seconds):
    print(f"  {name:<52} {seconds * 1e3:8.1f} ms {MP / seconds:8.0f} MP/s")


def main():
    work = tempfile.mkdtemp(prefix="infty-bench-")
    image = np.random.default_rng(0).random((SIZE, SIZE, 3), dtype=np.float32)
    src = os.path.join(work, "in.tif")
    tifffile.imwrite(src, image, photometric="rgb")
    vips_src = os.path.join(work, "in.v")
    subprocess.run(["vips", "copy", src, vips_src], check=True)
    out = lambda ext: os.path.join(work, "out." + ext)

    print(f"mollify on {SIZE}x{SIZE} RGB f32, {os.cpu_count()} cores; medians of {RUNS} runs")
    print("in-process (the operation only):")
    for line in IN_PROCESS.splitlines()[1:]:
        print("  infty " + line)
    for sigma in (1, 4):
        for threads in (1, 2):
            cv2.setNumThreads(threads)
            s = median_seconds(lambda: cv2.GaussianBlur(image, (0, 0), sigma))
            row(f"OpenCV GaussianBlur f32 sigma {sigma}, {threads} thread(s)", s)
        vips = ["vips", "gaussblur", vips_src, out("v"), str(sigma), "--min-ampl", "0.005"]
        row(f"vips gaussblur sigma {sigma} (.v in/out, whole process)", median_seconds(process(vips)))

    print("whole process, f32 TIFF in and out (uncompressed):")
    for sigma in (1, 4):
        infty = [INFTY, "run", "read", src, "!", "mollify", "--sigma", str(sigma), "!",
                 "write", out("tif"), "--compression", "none"]
        row(f"infty run ... mollify --sigma {sigma}", median_seconds(process(infty)))
        vips = ["vips", "gaussblur", src, out("tif") + "[compression=none]", str(sigma), "--min-ampl", "0.005"]
        row(f"vips gaussblur {sigma} --min-ampl 0.005", median_seconds(process(vips)))
        script = (f"import cv2; cv2.setNumThreads(2); x = cv2.imread({src!r}, cv2.IMREAD_UNCHANGED); "
                  f"cv2.imwrite({out('tif')!r}, cv2.GaussianBlur(x, (0, 0), {sigma}))")
        row(f"python OpenCV imread + GaussianBlur {sigma} + imwrite", median_seconds(process([sys.executable, "-c", script])))


if __name__ == "__main__":
    main()
