"""Streaming throughput side by side with libvips (see bench/stream).

For each sample depth: `cp` of the input (the floor), `read ! write` beside `vips copy`,
`mollify --sigma 1` beside `vips gaussblur 1.0 --min-ampl 0.005` at libvips' default
precision and at `--precision float` (whose output is float, so ours writes f32 there),
and `run --sync read ! write` beside `vips copy` followed by `sync` of its output (both
waiting until the file is on the disk).
Every case runs RUNS times, infty and libvips alternating; prints min / median / max
wall time, the largest peak RSS, and infty's time over libvips' for the median and best.
"""
import argparse
import os
import statistics
import subprocess

INFTY = os.environ.get("INFTY") or os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release", "infty")
VIPS_TILED = "[tile,tile-width=256,tile-height=256,bigtiff]"


def make_input(path, side, depth):
    """A side x side RGB tiled BigTIFF of Gaussian noise (mean 128, sigma 40 in u8 units).
    f32 is the u8 image over 255, made in one streaming step (the steps below keep
    intermediates twice the f32 image's size on the disk)."""
    if os.path.exists(path):
        return
    if depth == "f32":
        source = path.replace("-f32.tif", "-u8.tif")
        make_input(source, side, "u8")
        part = path.removesuffix(".tif") + ".part.tif"  # vips picks the format by the extension
        subprocess.run(["vips", "linear", source, part + VIPS_TILED, str(1 / 255), "0"], check=True)
        os.rename(part, path)
        return
    work = path + ".work"
    os.makedirs(work, exist_ok=True)
    step = lambda *args: subprocess.run(["vips", *args], check=True)
    noise, band = os.path.join(work, "n.v"), os.path.join(work, "b.v")
    step("gaussnoise", noise, str(side), str(side), "--mean", "128", "--sigma", "40")
    scale, fmt = {"u8": (1, "uchar"), "u16": (257, "ushort"), "f32": (1 / 255, "float")}[depth]
    scaled = os.path.join(work, "s.v")
    step("linear", noise, scaled, str(scale), "0")
    step("cast", scaled, band, fmt)
    rgb = os.path.join(work, "rgb.v")
    step("bandjoin", f"{band} {band} {band}", rgb)
    step("tiffsave", rgb, path + ".part", "--tile", "--tile-width", "256", "--tile-height", "256", "--bigtiff")
    os.rename(path + ".part", path)
    for name in os.listdir(work):
        os.remove(os.path.join(work, name))
    os.rmdir(work)


def evict(path):
    """Drops `path` from the page cache (the from-disk cases read it from the disk)."""
    fd = os.open(path, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)


def warm(path):
    """Reads `path` once, so that the first run of an in-cache case does not read the disk."""
    with open(path, "rb") as f:
        while f.read(64 << 20):
            pass


def measure(args, out, from_disk, inputs):
    """Runs `args` under /usr/bin/time; returns (seconds, peak MiB)."""
    subprocess.run(["sync"], check=True)
    if from_disk:
        for path in inputs:
            evict(path)
    result = subprocess.run(
        ["/usr/bin/time", "-f", "%e %M", *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    seconds, kib = result.stderr.decode().strip().splitlines()[-1].split()
    if os.path.exists(out):
        os.remove(out)
    return float(seconds), int(kib) / 1024


def cases(src, out, depth):
    """(key, name, infty command or None, peer command): the peer is libvips, or cp."""
    run = lambda *steps: [INFTY, "run", "read", src, "!", *steps]
    write = ["write", out, "--compression", "none"]
    blur = ["gaussblur", src, out + VIPS_TILED, "1.0", "--min-ampl", "0.005"]
    return [
        ("cp", "cp (floor)", None, ["cp", src, out]),
        ("copy", "read ! write | vips copy", run(*write), ["vips", "copy", src, out + VIPS_TILED]),
        ("mollify", "mollify | gaussblur", run("mollify", "--sigma", "1", "!", *write), ["vips", *blur]),
        (
            "float",
            "mollify f32 out | gaussblur --precision float",
            run("mollify", "--sigma", "1", "!", *write, "--depth", "f32"),
            ["vips", *blur, "--precision", "float"],
        ),
        (
            "durable",
            "run --sync read ! write | vips copy; sync",
            [INFTY, "run", "--sync", "read", src, "!", *write],
            ["sh", "-c", 'vips copy "$1" "$2$3" && sync "$2"', "sh", src, out, VIPS_TILED],
        ),
    ]


def summary(times):
    return f"{min(times):6.2f} {statistics.median(times):6.2f} {max(times):6.2f}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--side", type=int, default=16384)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--depths", default="u8,u16,f32")
    parser.add_argument("--cases", default="cp,copy,mollify,float,durable")
    parser.add_argument("--from-disk", action="store_true", help="evict the input from the page cache first")
    parser.add_argument("--data", default="target/bench-data")
    args = parser.parse_args()
    os.makedirs(args.data, exist_ok=True)
    # The first run after a build probes the plugins (docs/pipelines.md): not timed here.
    subprocess.run([INFTY, "plugins"], check=True, stdout=subprocess.DEVNULL)
    where = "from disk" if args.from_disk else "in the page cache"
    print(f"{args.side}x{args.side} RGB tiled 256 BigTIFF, uncompressed in and out, {where}; "
          f"{args.runs} alternating runs; seconds min / median / max, peak RSS MiB")
    for depth in args.depths.split(","):
        src = os.path.join(args.data, f"noise-{args.side}-{depth}.tif")
        make_input(src, args.side, depth)
        out = os.path.join(args.data, "out.tif")
        if not args.from_disk:
            warm(src)
        print(f"\n{depth}: {os.path.getsize(src) / 1e6:.0f} MB")
        for key, name, ours, peer in cases(src, out, depth):
            if key not in args.cases.split(","):
                continue
            timed = {"infty": [], "peer": []}
            rss = {"infty": 0.0, "peer": 0.0}
            for run in range(args.runs):
                # Who goes first alternates, so neither always follows the other's writeback.
                order = (("infty", ours), ("peer", peer))
                for who, command in order[:: 1 if run % 2 == 0 else -1]:
                    if command is None:
                        continue
                    seconds, mib = measure(command, out, args.from_disk, [src])
                    timed[who].append(seconds)
                    rss[who] = max(rss[who], mib)
            peer_name = "cp" if ours is None else "vips"
            line = f"  {name:<46}"
            if ours is not None:
                line += f" infty {summary(timed['infty'])} s {rss['infty']:5.0f} MiB |"
            line += f" {peer_name} {summary(timed['peer'])} s {rss['peer']:5.0f} MiB"
            if ours is not None:
                median = statistics.median(timed["infty"]) / statistics.median(timed["peer"])
                best = min(timed["infty"]) / min(timed["peer"])
                line += f" | ratio median {median:.2f} best {best:.2f}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
