#!/usr/bin/env python3
"""torch.optim.AdamW in float64 on the MLP of adamw_test.cpp (AdamW.OneStageTrainingEquals...).

Usage: adamw_torch.py DIR. Reads DIR/input.txt, written by the test: a line "steps batch lr
beta1 beta2 eps weight_decay", the number of linear layers, then per layer "rows cols" and its
weight ([out, in], row-major) and bias values, one per line; then per step the batch's inputs
[batch, features] and its labels. Trains Linear-ReLU-...-Linear with the mean cross-entropy,
one step per minibatch, and writes every layer's final weight and bias to DIR/output.txt, one
value per line (repr: exact round trip)."""

import sys

import torch


def main(directory):
    with open(directory + "/input.txt") as f:
        tokens = f.read().split()
    pos = 0

    def take(n, kind=float):
        nonlocal pos
        out = [kind(t) for t in tokens[pos:pos + n]]
        pos += n
        return out

    steps, batch = take(2, int)
    lr, beta1, beta2, eps, weight_decay = take(5)
    (layers,) = take(1, int)
    linears = []
    for _ in range(layers):
        rows, cols = take(2, int)
        lin = torch.nn.Linear(cols, rows).double()
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(take(rows * cols), dtype=torch.float64).view(rows, cols))
            lin.bias.copy_(torch.tensor(take(rows), dtype=torch.float64))
        linears.append(lin)
    modules = []
    for i, lin in enumerate(linears):
        modules.append(lin)
        if i + 1 < len(linears):
            modules.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*modules)
    features = linears[0].in_features
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(beta1, beta2), eps=eps,
                            weight_decay=weight_decay, amsgrad=False)
    loss_fn = torch.nn.CrossEntropyLoss()
    for _ in range(steps):
        x = torch.tensor(take(batch * features), dtype=torch.float64).view(batch, features)
        y = torch.tensor(take(batch, int), dtype=torch.int64)
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    with open(directory + "/output.txt", "w") as f:
        for lin in linears:
            for v in lin.weight.detach().reshape(-1).tolist() + lin.bias.detach().tolist():
                f.write(repr(v) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
