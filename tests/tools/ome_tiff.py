"""Writes and reads OME-TIFFs with tifffile, an implementation independent of ours.

Usage: ome_tiff.py write OUT.ome.tif WIDTH HEIGHT PHYSICAL_SIZE
         an RGB u8 OME-TIFF of smooth gradients, PhysicalSizeX/Y = PHYSICAL_SIZE µm
       ome_tiff.py read IN.ome.tif
         prints JSON: shape, whether tifffile sees OME, the Pixels element's attributes,
         the ImageDescription's start and the XMP packet (tag 700) as text
"""
import json
import sys
import xml.etree.ElementTree as ElementTree

import numpy
import tifffile


def write(path, width, height, physical_size):
    y, x = numpy.mgrid[0:height, 0:width]
    image = numpy.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), (x + y) % 256], axis=-1)
    metadata = {"axes": "YXS", "PhysicalSizeX": physical_size, "PhysicalSizeY": physical_size}
    tifffile.imwrite(path, image.astype(numpy.uint8), photometric="rgb", metadata=metadata)


def read(path):
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        pixels = {}
        if tif.is_ome:
            for element in ElementTree.fromstring(tif.ome_metadata).iter():
                if element.tag.endswith("}Pixels"):
                    pixels = dict(element.attrib)
        xmp = page.tags.get(700)
        print(json.dumps({
            "shape": list(page.shape),
            "is_ome": tif.is_ome,
            "pixels": pixels,
            "description": page.description[:200],
            "xmp": bytes(xmp.value).decode() if xmp is not None else None,
        }))


if sys.argv[1] == "write":
    write(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
else:
    read(sys.argv[2])
