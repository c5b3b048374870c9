"""Writes fuzz/seeds/<target>/ (run through fuzz/make-seeds): small valid inputs
that reach deep into each reader or check, for libFuzzer to mutate."""

import json
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "fuzz" / "seeds"
INFTY = str(Path(sys.argv[1]).resolve())
# 24x20: 16-pixel tiles and 7-row strips leave partial chunks at the edges.
W, H = 24, 20


def image(dtype, channels):
    """A gradient with some texture, in `dtype`'s range."""
    y, x = np.mgrid[0:H, 0:W]
    planes = [(x * (c + 1) + y * 3 + (x * y) % 7) / (W * 4 + H * 3 + 7) for c in range(channels)]
    a = np.stack(planes, axis=-1)
    if channels == 1:
        a = a[..., 0]
    if dtype == np.float32:
        return (a * 2 - 0.5).astype(np.float32)
    info = np.iinfo(dtype)
    return (info.min + a * (int(info.max) - int(info.min))).astype(dtype)


def tiffs(out):
    # (name, dtype, channels, compression, tiled, extra tifffile arguments)
    cases = [
        ("u8-gray-none-strips", np.uint8, 1, None, False, {}),
        ("u8-rgb-deflate-tiles", np.uint8, 3, "zlib", True, {}),
        ("u8-rgba-lzw-strips", np.uint8, 4, "lzw", False, {}),
        ("u8-rgb-packbits-tiles", np.uint8, 3, "packbits", True, {}),
        ("u16-gray-packbits-strips", np.uint16, 1, "packbits", False, {}),
        ("u16-rgb-zstd-tiles", np.uint16, 3, "zstd", True, {}),
        ("u16-rgba-lzw-predictor-strips", np.uint16, 4, "lzw", False, {"predictor": True}),
        ("u16-gray-deflate-bigendian", np.uint16, 1, "zlib", True, {"byteorder": ">"}),
        ("f32-gray-deflate-tiles", np.float32, 1, "zlib", True, {}),
        ("f32-rgb-zstd-predictor-strips", np.float32, 3, "zstd", False, {"predictor": True}),
        ("i16-gray-none-strips", np.int16, 1, None, False, {}),
        ("i16-rgb-deflate-tiles", np.int16, 3, "zlib", True, {}),
        ("u8-rgb-jpeg-tiles", np.uint8, 3, "jpeg", True, {}),
        ("u8-ycbcr-jpeg-tiles", np.uint8, 3, "jpeg", True, {"photometric": "ycbcr"}),
        ("u8-gray-deflate-bigtiff", np.uint8, 1, "zlib", True, {"bigtiff": True}),
        ("u8-rgb-separate-planes", np.uint8, 3, None, False, {"planarconfig": "separate"}),
    ]
    for name, dtype, channels, compression, tiled, extra in cases:
        data = image(dtype, channels)
        kwargs = dict(extra)
        kwargs.setdefault("photometric", "minisblack" if channels == 1 else "rgb")
        if channels == 4:
            kwargs["extrasamples"] = ["unassalpha"]
        if tiled:
            kwargs["tile"] = (16, 16)
        else:
            kwargs["rowsperstrip"] = 7
        tifffile.imwrite(out / f"{name}.tif", data, compression=compression, metadata=None, **kwargs)
    # One written by infty itself: tiled, zstd, with a pyramid level.
    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "in.png"
        Image.fromarray(image(np.uint8, 3)).save(png)
        subprocess.run(
            [INFTY, "run", f"read {png} ! write {out / 'infty-u8-rgb-zstd-pyramid.tif'} "
             "--compression zstd --tile-size 16 --pyramid"],
            check=True,
        )


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(path, data, color_type):
    """A PNG by hand, so 16-bit colour is possible too (Pillow writes 16-bit gray only)."""
    depth = 16 if data.dtype == np.uint16 else 8
    h, w = data.shape[:2]
    rows = data.astype(">u2" if depth == 16 else "u1").reshape(h, -1)
    raw = b"".join(b"\x01" + sub(row.tobytes(), data.itemsize * (1 if data.ndim == 2 else data.shape[2]))
                   for row in rows)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
                     + png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b""))


def sub(row, bpp):
    """PNG's Sub filter (type 1), so the decoder's unfiltering runs."""
    return bytes((row[i] - (row[i - bpp] if i >= bpp else 0)) & 0xFF for i in range(len(row)))


def pngs_and_jpegs(out):
    for dtype, bits in [(np.uint8, 8), (np.uint16, 16)]:
        for channels, color_type, name in [(1, 0, "gray"), (2, 4, "gray-alpha"), (3, 2, "rgb"), (4, 6, "rgba")]:
            png(out / f"png{bits}-{name}.png", image(dtype, channels), color_type)
    Image.fromarray(image(np.uint8, 3)).quantize(16).save(out / "png8-palette.png")
    rgb, gray = Image.fromarray(image(np.uint8, 3)), Image.fromarray(image(np.uint8, 1))
    rgb.save(out / "jpeg-baseline-rgb.jpg", quality=80)
    rgb.save(out / "jpeg-baseline-rgb-444.jpg", quality=80, subsampling=0)
    gray.save(out / "jpeg-baseline-gray.jpg", quality=80)
    rgb.save(out / "jpeg-progressive-rgb.jpg", quality=80, progressive=True)
    gray.save(out / "jpeg-progressive-gray.jpg", quality=80, progressive=True)
    rgb.save(out / "jpeg-restarts-rgb.jpg", quality=80, restart_marker_blocks=2)
    rgb.convert("CMYK").save(out / "jpeg-cmyk.jpg", quality=80)


def pipelines(out):
    """Every `infty run` pipeline in the README and docs, and a few by hand."""
    found = set()
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for line in doc.read_text().splitlines():
            m = re.search(r"infty run (.*)", line)
            if m:
                found.add(m.group(1).split("#")[0].strip().strip("`'\"").strip())
    found |= {
        "read in.tif --format tiff --unlimited ! write - --format png --depth u16",
        "read - ! write out.jpg --quality 50",
        "'read my file.png' ! write 'out file.tif' --tile-size 512 --pyramid --compression=lzw",
        "read in.png ! write out.tif --depth=f32 --compression packbits --tile-size 17",
        "read --help",
    }
    for i, text in enumerate(sorted(t for t in found if "!" in t or "--help" in t)):
        (out / f"pipeline-{i:02}.txt").write_text(text + "\n")


def params(out):
    """Lines for the params target: its first byte picks the declaration."""
    cases = {
        0: ["factor=2.5"], 1: ["value=-0.1"], 2: ["min=0.1", "max=0.9"], 3: ["standard=rec601"],
        4: ["x=10", "y=10", "width=256", "height=256"], 5: ["sigma=2"], 6: ["sigma=1", "inv-snr=0.05"],
        7: ["path=in.tif", "format=tiff", "unlimited="],
        8: ["path=out.tif", "format=auto", "depth=u16", "compression=zstd", "quality=90",
            "tile-size=512", "pyramid="],
    }
    for pick, lines in cases.items():
        (out / f"params-{pick}.txt").write_bytes(bytes([pick]) + "\n".join(lines).encode() + b"\n")


def checkpoints(out):
    """A tiny network and its latent prior, trained one step by infty itself, so their
    headers, configs and data sizes agree. The smallest config the checks take."""
    config = {
        "img_size": 8, "channels": 3, "nf": 2, "time_emb_dim": 4, "num_conv_blocks": 0,
        "knn_neighbours": 1, "kernel_size": 1, "uno_res": 2, "uno_base_channels": 1, "uno_mults": [1],
        "uno_blocks_per_level": [0], "uno_attn_resolutions": [], "uno_dropout_from_resolution": 16,
        "uno_dropout": 0.0, "z_dim": 1, "guide_channels": 0, "reference_grid_sample": False,
        "layer_norm_eps": 1e-5, "mollifier_sigma": 1.0, "noise_schedule": "cosine", "diffusion_steps": 10,
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "data").mkdir()
        for i in range(2):
            Image.fromarray(np.roll(image(np.uint8, 3), i * 5, axis=1)).save(tmp / "data" / f"{i}.png")
        (tmp / "config.json").write_text(json.dumps(config))
        quiet = {"check": True, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        subprocess.run([INFTY, "train", tmp / "data", tmp / "net", "--config", tmp / "config.json",
                        "--steps", "1", "--batch", "1", "--val-fraction", "0"], **quiet)
        subprocess.run([INFTY, "train-latent", tmp / "net" / "model.safetensors", tmp / "data", tmp / "prior",
                        "--hid-channels", "4", "--num-layers", "2", "--steps", "1", "--batch", "1",
                        "--val-fraction", "0"], **quiet)
        shutil.copy(tmp / "net" / "model.safetensors", out / "net-model.safetensors")
        shutil.copy(tmp / "prior" / "prior.safetensors", out / "latent-prior.safetensors")
        shutil.copy(tmp / "prior" / "checkpoint.safetensors", out / "latent-checkpoint.safetensors")


def main():
    for target, make in [("tiff", tiffs), ("png_jpeg", pngs_and_jpegs), ("pipeline", pipelines),
                         ("params", params), ("model_header", checkpoints)]:
        out = SEEDS / target
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        make(out)
        files = sorted(out.iterdir())
        print(f"{target}: {len(files)} seeds, largest {max(f.stat().st_size for f in files)} bytes")


main()
