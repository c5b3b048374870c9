"""Groups `perf report --no-children -n --sort symbol` lines (stdin) into the stages of a
streamed tile (see bench/stream-profile) and prints each stage's CPU seconds (sampled
at HZ, the first argument) and share."""
import re
import sys

# (stage, patterns matched against the symbol), first match wins.
STAGES = [
    ("writeback to disk (early starts, final sync)", ["ext4_writepages", "mpage_", "ext4_bio", "writepages",
                                                      "submit_bio", "bio_add_page", "folios_tag"]),
    ("journal", ["journal::Journal"]),
    ("decode (TIFF chunks)", ["tiff::decoder", "DecodingResult", "TiffSource::chunk", "Cache::", "inflate", "zstd"]),
    ("chunk -> planar tile (de-interleave, widen)", ["Source>::read", "copy_region", "gather"]),
    ("operator: widen/round rows", ["widen_row", "narrow_row", "row_to_field", "row_from_field"]),
    ("operator: blur", ["symmetric_taps", "blur::", "Scratch::blur"]),
    ("encode (interleave, convert)", ["encode_tile", "interleave", "scatter", "converted"]),
    ("allocate and zero buffers", ["memset", "malloc", "free", "clear_page", "alloc_pages", "page_fault", "__rmqueue"]),
    ("kernel: page-cache reads, writes, copies", ["memcpy", "_copy_to_iter", "copy_folio", "filemap", "folio",
                                                  "ext4_da_", "block_", "buffer", "pipe_buf", "splice", "lruvec",
                                                  "kmem_cache", "memcg", "xas_", "iter"]),
]
OTHER = "other (locks, startup, kernel)"

hz = float(sys.argv[1]) if len(sys.argv) > 1 else 2000.0
samples, total = {}, 0
for line in sys.stdin:
    m = re.match(r"\s+[\d.]+%\s+(\d+)\s+\[[.k]\]\s+(.*)", line)
    if not m:
        continue
    count, symbol = int(m.group(1)), m.group(2)
    stage = next((name for name, pats in STAGES if any(p in symbol for p in pats)), OTHER)
    samples[stage] = samples.get(stage, 0) + count
    total += count
for name in [name for name, _ in STAGES] + [OTHER]:
    if samples.get(name):
        print(f"  {name:<46} {samples[name] / hz:6.2f} CPU-s {100 * samples[name] / total:5.1f}%")
print(f"  {'total':<46} {total / hz:6.2f} CPU-s")
