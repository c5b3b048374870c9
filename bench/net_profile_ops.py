#!/usr/bin/env python3
"""Sorts `perf report --sort dso,symbol --stdio` lines (stdin) into kinds of work by the
function each sample fell in, and prints a Markdown table of their shares.

The first matching rule wins; the patterns name libtorch's, oneDNN's, MKL's and our own
functions as they appear in perf's symbol names."""
import re
import sys

RULES = [
    ("set-up: weight initialisation", r"uniform_kernel|CPUGeneratorImpl|normal_kernel|randperm"),
    ("oneDNN kernels: convolutions (and bf16 matrix products)", r"\[JIT\]|dnnl::impl::cpu::x64::jit_|convolution|conv_|depthwise"),
    ("matrix products (linear, attention)", r"mkl_blas|sgemm|brgemm|matmul|gemm"),
    ("normalisation (LayerNorm)", r"layer_norm|LayerNorm|RowwiseMoments|Welford|var_mean|batch_norm|fused::normalise"),
    ("attention (softmax, flash)", r"flash_attention|softmax|_exp_reduce_sum"),
    ("copies and layout changes", r"copy_kernel|direct_copy|reduced_float_copy|index_copy|index_select"
                                  r"|cat_serial|cat_|gather|scatter|fill_kernel|fill_non_native|memmove|memcpy|memset"
                                  r"|jit_uni_reorder|reorder|permute|contiguous"),
    ("elementwise (add, mul, GELU, …)", r"add_kernel|mul_kernel|div_|addcmul|addcdiv|gelu|Sleef|erf|sub_kernel"
                                       r"|rsqrt|sqrt|clamp|reciprocal|sum_kernel|outer_sum|reduce|mean"),
    ("grid reads (grid_sample)", r"grid_sampler"),
    ("KNN search and point bookkeeping (ours)", r"^forward-|infty_net|libinfty_net"),
    ("OpenMP threads waiting", r"libgomp"),
    ("memory (page faults, malloc/free)", r"page_fault|do_anonymous_page|memcg|clear_page|_int_malloc|_int_free"
                                         r"|malloc|cfree|free|mmap|munmap|unlink_chunk|zap_|unmap"),
    ("operator dispatch and bookkeeping", r"c10::|OperatorEntry|Dispatch|TensorIterator|TensorImpl|at::internal"
                                          r"|intrusive_ptr|_M_release|tls_get_addr|dnnl|ideep|operator new|syscall|spin_"),
]


def main():
    totals = {}
    for line in sys.stdin:
        m = re.match(r"\s*([0-9.]+)%\s+(\S+(?: tid \d+)?|\[[^\]]+\](?: tid \d+)?)\s+\[.\]\s+(.*)", line)
        if not m:
            continue
        share, dso, symbol = float(m.group(1)), m.group(2), m.group(3)
        text = f"{dso} {symbol}"
        kind = next((name for name, pattern in RULES if re.search(pattern, text)), "other")
        totals[kind] = totals.get(kind, 0.0) + share
    print("| kind of work | share of samples |")
    print("| --- | --- |")
    for kind, share in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"| {kind} | {share:.1f}% |")


if __name__ == "__main__":
    main()
