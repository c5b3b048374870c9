"""Groups `perf report --no-children --sort symbol` lines (stdin) into the stages of a
streamed tile (see bench/stream-profile) and prints each stage's share of the samples."""
import re
import sys

# (stage, patterns matched against the symbol), first match wins; kernel symbols are
# told apart by the call they serve.
STAGES = [
    ("final sync (fsync)", ["ext4_writepages", "mpage_", "ext4_bio", "writepages", "submit_bio"]),
    ("journal", ["journal::Journal"]),
    ("decode (TIFF chunks)", ["tiff::decoder", "DecodingResult", "TiffSource::chunk", "Cache::", "inflate", "zstd"]),
    ("read from the page cache", ["_copy_to_iter", "filemap_read", "filemap_get_read_batch", "copy_page_to_iter"]),
    ("chunk -> planar tile (de-interleave, widen)", ["Source>::read", "copy_region", "gather"]),
    ("operator: widen/round rows", ["widen_row", "narrow_row", "row_to_field", "row_from_field"]),
    ("operator: blur", ["symmetric_taps", "blur::", "Scratch::blur"]),
    ("encode (interleave, convert)", ["encode_tile", "interleave", "scatter", "converted"]),
    ("write to the page cache", ["copy_folio_from_iter", "ext4_da_write", "generic_perform_write", "ext4_block_write",
                                 "filemap_add_folio", "__filemap_get_folio", "copy_file_range", "splice", "memcpy"]),
    ("allocate and zero buffers", ["memset", "malloc", "free", "clear_page", "alloc_pages", "page_fault", "__rmqueue"]),
]

share = {}
for line in sys.stdin:
    m = re.match(r"\s+([\d.]+)%\s+\[[.k]\]\s+(.*)", line)
    if not m:
        continue
    percent, symbol = float(m.group(1)), m.group(2)
    stage = next((name for name, pats in STAGES if any(p in symbol for p in pats)), "other (kernel, startup, locks)")
    share[stage] = share.get(stage, 0.0) + percent
for name, _ in STAGES + [("other (kernel, startup, locks)", None)]:
    if share.get(name, 0) >= 0.05:
        print(f"  {name:<46} {share[name]:5.1f}%")
