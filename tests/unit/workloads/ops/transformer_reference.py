#!/usr/bin/env python3
"""PyTorch's float64 autograd on the transformer kernels of transformer_test.cpp
(TransformerTorchReference).

Usage: transformer_reference.py DIR. DIR/dims.txt holds "B T C heads V"; every other input is
DIR/<name>.bin, float64 little-endian, row-major:
  ln_x [N, C], ln_gamma [C], ln_beta [C], ln_dy [N, C]          (N = B*T)
  gelu_x [N, C], gelu_dy [N, C]
  emb_ids [B, T] (integer values), emb_w [V, C], emb_dy [N, C]
  pos_x [N, C], pos_w [T, C], pos_dy [N, C]
  att_qkv [N, 3C], att_dy [N, C]
Writes, the same way: ln_y, ln_dx, ln_dgamma, ln_dbeta; gelu_y, gelu_dx; emb_y, emb_dw;
pos_y, pos_dx, pos_dw; att_y, att_dqkv. The attention is nanoGPT's CausalSelfAttention without
dropout and without c_attn and c_proj, the masked softmax written out (torch 1.13 has no
F.scaled_dot_product_attention).
Exit status 77: torch or numpy is missing (the test skips).
"""
import math
import sys

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError:
    sys.exit(77)


def attention(qkv, batch, context, heads):
    c = qkv.shape[-1] // 3
    x = qkv.view(batch, context, 3 * c)
    q, k, v = x.split(c, dim=2)
    hs = c // heads
    q = q.view(batch, context, heads, hs).transpose(1, 2)
    k = k.view(batch, context, heads, hs).transpose(1, 2)
    v = v.view(batch, context, heads, hs).transpose(1, 2)
    att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
    mask = torch.tril(torch.ones(context, context, dtype=torch.bool))
    att = att.masked_fill(~mask, float("-inf"))
    att = F.softmax(att, dim=-1)
    y = att @ v
    return y.transpose(1, 2).contiguous().view(batch * context, c)


def main(folder):
    with open(folder + "/dims.txt") as f:
        batch, context, c, heads, vocab = (int(t) for t in f.read().split())
    n = batch * context

    def load(name, *shape):
        a = np.fromfile(folder + "/" + name + ".bin", dtype="<f8")
        return torch.from_numpy(a.reshape(shape).copy()).requires_grad_(True)

    def save(name, t):
        t.detach().contiguous().numpy().astype("<f8").tofile(folder + "/" + name + ".bin")

    x, gamma, beta = load("ln_x", n, c), load("ln_gamma", c), load("ln_beta", c)
    y = F.layer_norm(x, (c,), gamma, beta, eps=1e-5)
    y.backward(load("ln_dy", n, c))
    save("ln_y", y)
    save("ln_dx", x.grad)
    save("ln_dgamma", gamma.grad)
    save("ln_dbeta", beta.grad)

    x = load("gelu_x", n, c)
    y = F.gelu(x)  # approximate='none': the erf form
    y.backward(load("gelu_dy", n, c))
    save("gelu_y", y)
    save("gelu_dx", x.grad)

    ids = load("emb_ids", batch, context).detach().long()
    w = load("emb_w", vocab, c)
    y = F.embedding(ids, w).view(n, c)
    y.backward(load("emb_dy", n, c))
    save("emb_y", y)
    save("emb_dw", w.grad)

    x, w = load("pos_x", n, c), load("pos_w", context, c)
    y = (x.view(batch, context, c) + w).view(n, c)
    y.backward(load("pos_dy", n, c))
    save("pos_y", y)
    save("pos_dx", x.grad)
    save("pos_dw", w.grad)

    qkv = load("att_qkv", n, 3 * c)
    y = attention(qkv, batch, context, heads)
    y.backward(load("att_dy", n, c))
    save("att_y", y)
    save("att_dqkv", qkv.grad)


if __name__ == "__main__":
    torch.set_num_threads(1)
    main(sys.argv[1])
