"""Reads a TIFF with tifffile, an implementation independent of ours, for the tests.

Usage: tiff_read.py IN.tif OUT.raw
Writes the pixels (row-major, interleaved, little-endian) to OUT.raw and prints what
tifffile saw as JSON: shape, dtype, tile shape, compression, BigTIFF.
"""
import json
import sys

import numpy
import tifffile

with tifffile.TiffFile(sys.argv[1]) as tif:
    page = tif.pages[0]
    pixels = page.asarray()
    numpy.ascontiguousarray(pixels.astype(pixels.dtype.newbyteorder("<"))).tofile(sys.argv[2])
    print(json.dumps({
        "shape": list(pixels.shape),
        "dtype": str(pixels.dtype),
        "tile": list(page.tile) if page.is_tiled else None,
        "compression": page.compression.name,
        "bigtiff": tif.is_bigtiff,
        "description": page.description,
    }))
