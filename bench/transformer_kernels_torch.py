#!/usr/bin/python3
"""PyTorch's time for the calls of transformer_kernels_bench.cpp, float32 on the CPU, at gpt_small's
sizes (batch 16, context 128, C 384, 6 heads; GELU on [B*T, 4C]): milliseconds per call, the
shortest of five after one untimed call (thread CPU time at 1 thread, else wall time, as
transformer_kernels_bench.cpp).

    transformer_kernels_torch.py [--threads N ...]     (default: 1 and every core)

The attention is nanoGPT's CausalSelfAttention without dropout and without c_attn and c_proj
(the masked softmax written out: torch 1.13 has no F.scaled_dot_product_attention); its
backward is autograd's, timed as forward + backward minus the forward. Needs Debian's
python3-torch; run it with /usr/bin/python3.
"""
import argparse
import math
import os
import time

import torch
import torch.nn.functional as F

import pytorch_step  # bench/pytorch_step.py: set_blas_threads

B, T, C, HEADS = 16, 128, 384, 6


def attention(qkv, mask):
    hs = C // HEADS
    q, k, v = qkv.split(C, dim=2)
    q = q.view(B, T, HEADS, hs).transpose(1, 2)
    k = k.view(B, T, HEADS, hs).transpose(1, 2)
    v = v.view(B, T, HEADS, hs).transpose(1, 2)
    att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
    att = att.masked_fill(~mask, float("-inf"))
    att = F.softmax(att, dim=-1)
    return (att @ v).transpose(1, 2).contiguous().view(B, T, C)


def best_seconds(f, clock):
    f()
    best = 1e30
    for _ in range(5):
        t0 = clock()
        f()
        best = min(best, clock() - t0)
    return best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, nargs="+", default=[1, len(os.sched_getaffinity(0))])
    args = parser.parse_args()
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    qkv = torch.rand(B, T, 3 * C, requires_grad=True)
    dy = torch.rand(B, T, C)
    x = torch.rand(B * T, C, requires_grad=True)
    gamma = torch.rand(C, requires_grad=True)
    beta = torch.rand(C, requires_grad=True)
    dln = torch.rand(B * T, C)
    xm = (3 * torch.rand(B * T, 4 * C)).requires_grad_(True)
    dym = torch.rand(B * T, 4 * C)

    def attention_forward():
        with torch.no_grad():
            attention(qkv, mask)

    def attention_forward_backward():
        qkv.grad = None
        attention(qkv, mask).backward(dy)

    def layernorm_forward():
        with torch.no_grad():
            F.layer_norm(x, (C,), gamma, beta)

    def layernorm_forward_backward():
        x.grad = gamma.grad = beta.grad = None
        F.layer_norm(x, (C,), gamma, beta).backward(dln)

    def gelu_forward():
        with torch.no_grad():
            F.gelu(xm)

    def gelu_forward_backward():
        xm.grad = None
        F.gelu(xm).backward(dym)

    for threads in args.threads:
        torch.set_num_threads(threads)
        pytorch_step.set_blas_threads(threads)  # torch.set_num_threads misses OpenBLAS
        clock = time.thread_time if threads == 1 else time.perf_counter
        af = best_seconds(attention_forward, clock)
        afb = best_seconds(attention_forward_backward, clock)
        lf = best_seconds(layernorm_forward, clock)
        lfb = best_seconds(layernorm_forward_backward, clock)
        gf = best_seconds(gelu_forward, clock)
        gfb = best_seconds(gelu_forward_backward, clock)
        print(f"torch {torch.__version__}, {threads} thread(s), B {B} T {T} C {C} heads {HEADS}")
        print(f"  attention F       {af * 1e3:7.2f} ms")
        print(f"  attention B       {(afb - af) * 1e3:7.2f} ms  (F+B minus F)")
        print(f"  attention F+B     {afb * 1e3:7.2f} ms")
        print(f"  layernorm F       {lf * 1e3:7.2f} ms")
        print(f"  layernorm B       {(lfb - lf) * 1e3:7.2f} ms  (F+B minus F)")
        print(f"  gelu F            {gf * 1e3:7.2f} ms")
        print(f"  gelu B            {(gfb - gf) * 1e3:7.2f} ms  (F+B minus F)")


if __name__ == "__main__":
    main()
