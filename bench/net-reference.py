#!/usr/bin/env python3
"""Times the reference ∞-Diff network (samb-t/infty-diff, ffhq_128 config) forward on CPU.

    net-reference.py [--reference DIR] [--conv loop|grid] sparse SIZE FRACTION | dense SIZE | encoder SIZE
    net-reference.py [--reference DIR] --check

The reference needs CUDA-only packages (its fork of torchsparse, pytorch3d, flash-attn), so
before importing it we put CPU stand-ins of our own into sys.modules:
  * torchsparse: SparseTensor and nn.Conv3d with the fork's kernel layout (volume, in or 1, out),
    computing the submanifold (stride 1) convolution either as a gather/scatter loop over the
    k² offsets (--conv loop) or by scattering the points into a zero grid and running a grouped
    conv2d (--conv grid, what plugins/net/src/sparse.rs does);
  * pytorch3d.ops.knn_points/knn_gather: a brute-force KNN computed once per case in the
    warm-up and replayed afterwards, so the timed runs pay only for the gathers and the
    weighting (the reference's best case);
  * flash_attn.flash_attention.FlashAttention: exact softmax attention through
    torch.nn.functional.scaled_dot_product_attention.
Prints one line in the style of plugins/net/benches/forward.rs.
"""
import argparse
import collections
import importlib.util
import resource
import sys
import time
import types
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

CONV_MODE = "grid"  # set from --conv before the model runs


# ---------------------------------------------------------------- torchsparse stand-in
class SparseTensor:
    """Points with integer coords (N, 4) = (depth, row, col, batch) and feats (N, C)."""

    def __init__(self, feats, coords, stride=1):
        self.feats, self.coords = feats, coords
        self.stride = stride if isinstance(stride, tuple) else (stride,) * 3
        self.cmaps, self.kmaps = {}, {}  # shared between tensors on the same points


def point_layout(x):
    """Flat grid index of every point and the grid's (B, H, W); cached in the shared kmaps."""
    if "layout" not in x.kmaps:
        c = x.coords.long()
        b, h, w = (int(c[:, i].max()) + 1 for i in (3, 1, 2))
        x.kmaps["layout"] = ((c[:, 3] * h + c[:, 1]) * w + c[:, 2], (b, h, w))
    return x.kmaps["layout"]


def offset_pairs(x, kh, kw):
    """For each kernel offset, in the fork's order (column offset slowest, row offset fastest),
    the (input, output) point pairs with input = output + offset: torchsparse's kernel map,
    built once per forward (from a dense index table) and shared by every conv."""
    key = ("pairs", kh, kw)
    if key not in x.kmaps:
        flat, (b, h, w) = point_layout(x)
        table = torch.full((b, h + kh - 1, w + kw - 1), -1, dtype=torch.long)
        c = x.coords.long()
        rows, cols = c[:, 1] + kh // 2, c[:, 2] + kw // 2
        table[c[:, 3], rows, cols] = torch.arange(len(c))
        pairs = []
        for dw in range(-(kw // 2), kw // 2 + 1):
            for dh in range(-(kh // 2), kh // 2 + 1):
                src = table[c[:, 3], rows + dh, cols + dw]
                hit = src >= 0
                pairs.append((src[hit], hit.nonzero().squeeze(1)))
        x.kmaps[key] = pairs
    return x.kmaps[key]


class Conv3d(nn.Module):
    """Submanifold convolution with a (1, k, k) kernel, no bias, stride 1 (all the reference uses)."""

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, dilation=1,
                 bias=False, depthwise=False, transposed=False):
        super().__init__()
        size = kernel_size if isinstance(kernel_size, tuple) else (kernel_size,) * 3
        assert size[0] == 1 and stride == 1 and dilation == 1 and not bias and not transposed
        self.kh, self.kw, self.depthwise = size[1], size[2], depthwise
        self.kernel = nn.Parameter(torch.empty(self.kh * self.kw, 1 if depthwise else in_channels,
                                               out_channels))
        bound = (in_channels * self.kh * self.kw) ** -0.5
        nn.init.uniform_(self.kernel, -bound, bound)

    def conv2d_weight(self):
        # kernel row j = column offset * kh + row offset  ->  (out, in, kh, kw)
        k = self.kernel
        return k.reshape(self.kw, self.kh, k.size(1), k.size(2)).permute(3, 2, 1, 0)

    def forward(self, x):
        feats = x.feats
        if CONV_MODE == "loop":
            out = feats.new_zeros(feats.size(0), self.kernel.size(2))
            for k, (src, dst) in zip(self.kernel, offset_pairs(x, self.kh, self.kw)):
                picked = feats[src]
                out.index_add_(0, dst, picked * k[0] if self.depthwise else picked @ k)
        else:
            flat, (b, h, w) = point_layout(x)
            c = feats.size(1)
            grid = feats.new_zeros(b * h * w, c).index_copy_(0, flat, feats)
            grid = grid.view(b, h, w, c).permute(0, 3, 1, 2)
            y = F.conv2d(grid, self.conv2d_weight(), padding=(self.kh // 2, self.kw // 2),
                         groups=c if self.depthwise else 1)
            out = y.permute(0, 2, 3, 1).reshape(b * h * w, -1)[flat]
        result = SparseTensor(out, x.coords, x.stride)
        result.cmaps, result.kmaps = x.cmaps, x.kmaps
        return result


# ---------------------------------------------------------------- pytorch3d stand-in
KNN = collections.namedtuple("KNN", "dists idx knn")
knn_cache = {}


def knn_gather(x, idx):
    """x (B, N, C), idx (B, L, K) -> (B, L, K, C)."""
    return x[torch.arange(x.size(0))[:, None, None], idx]


def knn_points(p1, p2, K=1, return_nn=False):
    """Squared distances to the K nearest points of p2, ascending; replayed after the first call."""
    key = (tuple(p1.shape), tuple(p2.shape), K, return_nn)
    hit = knn_cache.get(key)
    if hit is not None and torch.equal(hit[0], p1) and torch.equal(hit[1], p2):
        return hit[2]
    dists, idx = [], []
    for rows in p1.split(256, dim=1):  # brute force in chunks, (256 × N) distances at a time
        d, i = torch.cdist(rows, p2).square().topk(K, dim=-1, largest=False, sorted=True)
        dists.append(d)
        idx.append(i)
    dists, idx = torch.cat(dists, 1), torch.cat(idx, 1)
    result = KNN(dists, idx, knn_gather(p2, idx) if return_nn else None)
    knn_cache[key] = (p1.clone(), p2.clone(), result)
    return result


# ---------------------------------------------------------------- flash-attn stand-in
class FlashAttention(nn.Module):
    """flash_attn's old module API: qkv (B, S, 3, H, D) -> ((B, S, H, D), None)."""

    def __init__(self, softmax_scale=None, attention_dropout=0.0):
        super().__init__()
        self.scale = softmax_scale

    def forward(self, qkv, key_padding_mask=None, causal=False, **_):
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (B, H, S, D)
        out = F.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=self.scale)
        return out.transpose(1, 2), None


def install_stand_ins():
    def module(name, **attrs):
        m = types.ModuleType(name)
        m.__dict__.update(attrs)
        sys.modules[name] = m
        return m

    spnn = module("torchsparse.nn", Conv3d=Conv3d)
    module("torchsparse", SparseTensor=SparseTensor, nn=spnn)
    ops = module("pytorch3d.ops", knn_points=knn_points, knn_gather=knn_gather)
    module("pytorch3d", ops=ops)
    fa = module("flash_attn.flash_attention", FlashAttention=FlashAttention)
    module("flash_attn", flash_attention=fa)


# ---------------------------------------------------------------- the reference's models
def build(reference, what):
    spec = importlib.util.spec_from_file_location("ffhq_128_config",
                                                  f"{reference}/configs/ffhq_128_config.py")
    config = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(config)
    H = config.get_config()
    m = H.model
    sys.path.insert(0, reference)
    from models.model_sparse import SparseEncoder, SparseUNet  # noqa: E402 (after the stand-ins)
    common = dict(channels=H.data.channels, nf=m.nf, img_size=H.data.img_size,
                  num_conv_blocks=m.num_conv_blocks, knn_neighbours=m.knn_neighbours,
                  uno_res=m.uno_res, uno_mults=m.uno_mults, conv_type=m.uno_conv_type,
                  depthwise_sparse=m.depthwise_sparse, kernel_size=m.kernel_size,
                  backend=m.backend, blocks_per_level=m.uno_blocks_per_level,
                  attn_res=m.uno_attn_resolutions, dropout_res=m.uno_dropout_from_resolution,
                  dropout=m.uno_dropout, uno_base_nf=m.uno_base_channels)
    torch.manual_seed(0)
    if what == "encoder":
        net = SparseEncoder(out_channels=m.z_dim, stochastic=m.stochastic_encoding, **common)
    else:
        net = SparseUNet(time_emb_dim=m.time_emb_dim, z_dim=m.z_dim, **common)
    return net.eval(), H


def case_inputs(net, H, mode, size, fraction):
    """The call the reference makes in each case, as a closure."""
    torch.manual_seed(1)
    t, z = torch.tensor([500.0]), torch.randn(1, H.model.z_dim)
    if mode == "encoder":  # encoding an image: every pixel (utils/utils.py)
        image = torch.randn(1, H.data.channels, size, size) * 0.3
        return lambda: net(image)
    if mode == "dense":
        image = torch.randn(1, H.data.channels, size, size) * 0.3
        return lambda: net.dense_forward(image, t, z=z)
    # training: np.random.choice(S², N, replace=False) pixels, coords derived from them
    assert size == H.data.img_size, "the sparse path runs at the config's img_size"
    n = round(size * size * fraction)
    sample_lst = torch.from_numpy(np.random.default_rng(0).choice(size * size, n, replace=False))[None]
    x = torch.randn(1, n, H.data.channels) * 0.3
    return lambda: net(x, t, z=z, sample_lst=sample_lst)


def check(reference):
    """loop vs grid on a small input, and the sparse path at 100% vs the reference's dense path."""
    global CONV_MODE
    torch.manual_seed(0)
    s, n = 20, 150
    flat = torch.randperm(s * s)[:n]
    coords = torch.stack([torch.zeros_like(flat), flat // s, flat % s, torch.zeros_like(flat)], 1).int()
    for depthwise, (cin, cout) in ((True, (8, 8)), (False, (3, 5))):
        conv, x = Conv3d(cin, cout, (1, 7, 7), depthwise=depthwise), torch.randn(n, cin)
        results = {}
        for CONV_MODE in ("loop", "grid"):
            results[CONV_MODE] = conv(SparseTensor(x, coords)).feats
        diff = (results["loop"] - results["grid"]).abs().max().item()
        print(f"check conv depthwise={depthwise}: max |loop - grid| = {diff:.2e}")
    net, H = build(reference, "decoder")
    S = H.data.img_size
    image, t, z = torch.randn(1, 3, S, S) * 0.3, torch.tensor([500.0]), torch.randn(1, H.model.z_dim)
    with torch.no_grad():
        dense = net.dense_forward(image, t, z=z).flatten(2).transpose(1, 2)
        for CONV_MODE in ("loop", "grid"):
            sparse = net(image.flatten(2).transpose(1, 2), t, z=z, sample_lst=torch.arange(S * S)[None])
            diff = ((sparse - dense).abs().max() / dense.abs().max()).item()
            print(f"check sparse 100% ({CONV_MODE}) vs dense_forward at {S}²: max rel diff = {diff:.2e}")


def main():
    global CONV_MODE
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reference", default="target/reference")
    ap.add_argument("--conv", choices=("loop", "grid"), default="grid")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("case", nargs="*", help="sparse SIZE FRACTION | dense SIZE | encoder SIZE")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")  # the reference's meshgrid/grid_sample defaults
    torch.set_num_threads(args.threads)
    install_stand_ins()
    if args.check:
        return check(args.reference)
    mode, size = args.case[0], int(args.case[1])
    fraction = float(args.case[2]) if mode == "sparse" and len(args.case) > 2 else 1.0
    CONV_MODE = args.conv
    net, H = build(args.reference, "encoder" if mode == "encoder" else "decoder")
    run = case_inputs(net, H, mode, size, fraction)
    times = []
    with torch.no_grad():
        run()  # warm-up; also records the KNN
        for _ in range(args.repeats):
            start = time.perf_counter()
            run().sum().item()
            times.append(time.perf_counter() - start)
    times.sort()
    conv = "dense conv2d" if mode == "dense" else f"conv {args.conv}"
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"reference ffhq128 {mode} {size}² {fraction * 100:.1f}% ({conv}): "
          f"median {times[len(times) // 2]:.3f} s (min {times[0]:.3f}), "
          f"peak RSS {rss:.0f} MiB, {torch.get_num_threads()} threads")


if __name__ == "__main__":
    main()
