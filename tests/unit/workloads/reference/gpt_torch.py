#!/usr/bin/env python3
"""A GPT decoder in torch float64 (nanoGPT's model without dropout, untied head without bias)
trained one step per minibatch, for gpt_torch_test.cpp.

Usage: gpt_torch.py DIR. Reads DIR/input.txt, written by the test: a line "vocab context width
heads blocks steps batch", a line "optimizer lr momentum weight_decay beta1 beta2 eps" (optimizer
sgd or adamw), then per parameter tensor (lpsim's unit order) "name count" and its values
(row-major, one per line), then per step the batch's token windows [batch, context + 1]. Loads
the tensors by name into the model's state_dict, trains with the mean cross-entropy over every
position, and writes every tensor's final values to DIR/output.txt in the order read (repr:
exact round trip)."""

import math
import sys

import torch
import torch.nn.functional as F


class Block(torch.nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.ln_1 = torch.nn.LayerNorm(width)
        self.attn = torch.nn.Module()
        self.attn.c_attn = torch.nn.Linear(width, 3 * width)
        self.attn.c_proj = torch.nn.Linear(width, width)
        self.ln_2 = torch.nn.LayerNorm(width)
        self.mlp = torch.nn.Module()
        self.mlp.c_fc = torch.nn.Linear(width, 4 * width)
        self.mlp.c_proj = torch.nn.Linear(4 * width, width)

    def attention(self, x):
        b, t, c = x.shape
        q, k, v = self.attn.c_attn(x).split(c, dim=2)
        hs = c // self.heads
        q, k, v = (z.view(b, t, self.heads, hs).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
        mask = torch.tril(torch.ones(t, t, dtype=torch.bool))
        att = att.masked_fill(~mask, float("-inf"))
        y = F.softmax(att, dim=-1) @ v
        return self.attn.c_proj(y.transpose(1, 2).contiguous().view(b, t, c))

    def forward(self, x):
        x = x + self.attention(self.ln_1(x))
        return x + self.mlp.c_proj(F.gelu(self.mlp.c_fc(self.ln_2(x))))


class Gpt(torch.nn.Module):
    def __init__(self, vocab, context, width, heads, blocks):
        super().__init__()
        self.wte = torch.nn.Embedding(vocab, width)
        self.wpe = torch.nn.Embedding(context, width)
        self.h = torch.nn.ModuleList([Block(width, heads) for _ in range(blocks)])
        self.ln_f = torch.nn.LayerNorm(width)
        self.lm_head = torch.nn.Linear(width, vocab, bias=False)

    def forward(self, idx):
        t = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(t))
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))


def main(directory):
    with open(directory + "/input.txt") as f:
        tokens = f.read().split()
    pos = 0

    def take(n, kind=float):
        nonlocal pos
        out = [kind(t) for t in tokens[pos:pos + n]]
        pos += n
        return out

    vocab, context, width, heads, blocks, steps, batch = take(7, int)
    kind = tokens[pos]
    pos += 1
    lr, momentum, weight_decay, beta1, beta2, eps = take(6)
    model = Gpt(vocab, context, width, heads, blocks).double()
    state = model.state_dict()
    names = []
    while tokens[pos] != "data":
        name, count = tokens[pos], int(tokens[pos + 1])
        pos += 2
        values = torch.tensor(take(count), dtype=torch.float64)
        assert state[name].numel() == count, name
        state[name] = values.view(state[name].shape)
        names.append(name)
    pos += 1
    assert sorted(names) == sorted(state.keys()), (names, list(state.keys()))
    model.load_state_dict(state)
    if kind == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum,
                              weight_decay=weight_decay)
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(beta1, beta2), eps=eps,
                                weight_decay=weight_decay)
    for _ in range(steps):
        w = torch.tensor(take(batch * (context + 1), int), dtype=torch.int64).view(batch,
                                                                                 context + 1)
        opt.zero_grad()
        logits = model(w[:, :context])
        F.cross_entropy(logits.reshape(-1, vocab), w[:, 1:].reshape(-1)).backward()
        opt.step()
    final = model.state_dict()
    with open(directory + "/output.txt", "w") as f:
        for name in names:
            for v in final[name].reshape(-1).tolist():
                f.write(repr(v) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
