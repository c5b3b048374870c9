"""Reads a TIFF with tifffile, an implementation independent of ours, for the tests.

Usage: tiff_read.py IN.tif OUT.raw
Writes the pixels (row-major, interleaved, little-endian) to OUT.raw and prints what
tifffile saw as JSON: shape, dtype, tile shape, compression, predictor, BigTIFF, the pyramid
levels, and how far level 1 is from the 2x2 average of the image.
"""
import json
import sys

import numpy
import tifffile

def halved(image):
    """The 2x2 box average of an image's even part, as float."""
    h, w = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
    a = image[:h, :w].astype(float)
    return (a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2]) / 4


with tifffile.TiffFile(sys.argv[1]) as tif:
    page = tif.pages[0]
    pixels = page.asarray()
    numpy.ascontiguousarray(pixels.astype(pixels.dtype.newbyteorder("<"))).tofile(sys.argv[2])
    levels = tif.series[0].levels
    level_error = None
    if len(levels) > 1:
        half = halved(pixels)
        below = levels[1].asarray()[: half.shape[0], : half.shape[1]].astype(float)
        level_error = float(abs(below - half).max())
    print(json.dumps({
        "levels": [list(level.shape) for level in levels],
        "level1_error": level_error,
        "shape": list(pixels.shape),
        "dtype": str(pixels.dtype),
        "tile": list(page.tile) if page.is_tiled else None,
        "compression": page.compression.name,
        "predictor": int(page.predictor),
        "bigtiff": tif.is_bigtiff,
        "description": page.description,
    }))
