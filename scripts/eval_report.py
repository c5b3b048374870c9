"""What `eval_sr.py` and `eval_inpaint.py` print and draw alike: Markdown tables of
per-method means then per-photo rows, infty's margin over the classical methods, and
a contact sheet of crops."""

import numpy as np
from PIL import Image, ImageDraw


def print_table(rows, methods, columns, formats):
    """rows: (photo, method, values), one value per column. The per-method means first,
    then every photo."""
    def row(label, method, values):
        return f"| {label} | {method} | " + " | ".join(f.format(v) for f, v in zip(formats, values)) + " |"

    header = "| photo | method | " + " | ".join(columns) + " |\n" + "|---" * (2 + len(columns)) + "|"
    print(header)
    for method in methods:
        print(row("**mean**", method, np.mean([v for _, m, v in rows if m == method], axis=0)))
    print()
    print(header)
    for photo, method, values in rows:
        print(row(photo, method, values))
    print()


def print_margin(rows, classical, psnr="PSNR", ssim="SSIM"):
    """infty's margin in PSNR and SSIM (the first two values of a row) over the classical
    method with the best mean PSNR, and over the best classical method on each photo."""
    by = {(p, m): v for p, m, v in rows}
    photos = list(dict.fromkeys(p for p, _, _ in rows))
    mean = {m: np.mean([by[p, m] for p in photos], axis=0) for m in list(classical) + ["infty"]}
    best = max(classical, key=lambda m: mean[m][0])
    per_photo = [by[p, "infty"][0] - max(by[p, m][0] for m in classical) for p in photos]
    ahead = sum(d > 0 for d in per_photo)
    print(
        f"infty − strongest classical ({best}, by mean {psnr}): {mean['infty'][0] - mean[best][0]:+.2f} dB {psnr}, "
        f"{mean['infty'][1] - mean[best][1]:+.4f} {ssim}; against the best classical method on each photo: "
        f"{np.mean(per_photo):+.2f} dB (infty ahead on {ahead} of {len(photos)}).\n"
    )


def write_figure(path, tiles, labels, zoom=1):
    """tiles: rows of (row label, [RGB images in [0, 1]], all of one square size), shown
    `zoom` times larger; columns labelled once at the top."""
    cell, gap, top, left = tiles[0][1][0].shape[0] * zoom, 4, 18, 110
    sheet = Image.new("RGB", (left + len(labels) * (cell + gap), top + len(tiles) * (cell + gap)), "white")
    draw = ImageDraw.Draw(sheet)
    for j, label in enumerate(labels):
        draw.text((left + j * (cell + gap) + 4, 3), label, fill="black")
    for i, (name, images) in enumerate(tiles):
        y = top + i * (cell + gap)
        draw.text((4, y + cell // 2 - 6), name, fill="black")
        for j, image in enumerate(images):
            tile = Image.fromarray(np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8))
            sheet.paste(tile.resize((cell, cell), Image.Resampling.NEAREST), (left + j * (cell + gap), y))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, optimize=True)
