#!/usr/bin/python3
"""One SGD training step (forward, loss, backward, momentum update) of lpsim's mlp3, cnn3 and
resnet18 in PyTorch, at batch 32 on [1,28,28] inputs, and one AdamW step of gpt_small at batch
16 on 128-token windows, as the peer lpsim's speed is measured against (issues 14 and 30). Prints milliseconds per step per model and thread count as JSON lines.

    pytorch_step.py [--threads N ...] [--steps S] [--models mlp3 cnn3 resnet18]

Needs Debian's python3-torch with libopenblas0-pthread (without it torch falls back to the
reference BLAS and the comparison would flatter lpsim); run it with /usr/bin/python3. The
models are built layer for layer as workloads/models/builtin.cpp builds them.
"""
import argparse
import ctypes
import json
import os
import sys
import time

import torch
from torch import nn


def mlp3():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128),
                         nn.ReLU(), nn.Linear(128, 10))


def cnn3():
    return nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2, 2),
                         nn.Conv2d(16, 32, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2, 2),
                         nn.Flatten(), nn.Linear(1568, 10))


class BasicBlock(nn.Module):
    def __init__(self, in_planes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or in_planes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride, 0, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet18(nn.Module):
    def __init__(self, in_channels=1, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        blocks, in_planes = [], 64
        for g, width in enumerate([64, 128, 256, 512]):
            for b in range(2):
                blocks.append(BasicBlock(in_planes, width, 2 if g > 0 and b == 0 else 1))
                in_planes = width
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        x = self.blocks(torch.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def gpt_small():
    """nanoGPT's modules as tests/unit/workloads/reference/gpt_torch.py builds them (the model
    lpsim's GPT equals in float64): vocabulary 256, context 128, width 384, 6 heads, 6 blocks."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                    "unit", "workloads", "reference"))
    import gpt_torch  # pylint: disable=import-outside-toplevel
    return gpt_torch.Gpt(256, 128, 384, 6, 6)


MODELS = {"mlp3": mlp3, "cnn3": cnn3, "resnet18": ResNet18, "gpt_small": gpt_small}
# gpt_small trains with AdamW at batch 16 on 128-token windows (issue 30), the others with SGD
# at batch 32 on [1, 28, 28].
BATCH = {"gpt_small": 16}


def set_blas_threads(threads):
    """torch.set_num_threads does not reach Debian's OpenBLAS (a pthread build torch links as
    libblas.so.3), which otherwise runs every GEMM on all cores: a "1-thread" torch step then
    used both cores of a 2-core machine. Found and fixed in issue 30; set it directly."""
    path = loaded_blas()
    if "openblas" in path:
        ctypes.CDLL(path).openblas_set_num_threads(threads)


def step_ms(model_name, threads, steps):
    torch.set_num_threads(threads)
    set_blas_threads(threads)
    torch.manual_seed(1)
    model = MODELS[model_name]()
    batch = BATCH.get(model_name, 32)
    if model_name == "gpt_small":
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
        w = torch.randint(0, 256, (batch, 129))
        x, y = w[:, :128], w[:, 1:]

        def loss():
            return nn.functional.cross_entropy(model(x).reshape(-1, 256), y.reshape(-1))
    else:
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        loss_fn = nn.CrossEntropyLoss()
        x = torch.randn(batch, 1, 28, 28)
        y = torch.randint(0, 10, (batch,))

        def loss():
            return loss_fn(model(x), y)

    def one():
        opt.zero_grad(set_to_none=True)
        loss().backward()
        opt.step()

    for _ in range(2):  # warm-up
        one()
    start = time.perf_counter()
    for _ in range(steps):
        one()
    return 1000.0 * (time.perf_counter() - start) / steps


def loaded_blas():
    """The BLAS library this process has mapped (Debian's torch links the libblas.so.3
    alternative: OpenBLAS with libopenblas0-pthread, else the slow reference BLAS)."""
    torch.ones(64, 64) @ torch.ones(64, 64)
    with open("/proc/self/maps", encoding="utf-8") as maps:
        for line in maps:
            if "blas" in line:
                return line.split()[-1]
    return "none"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, torch.get_num_threads()])
    parser.add_argument("--steps", type=int, default=0,
                        help="0: 200 (mlp3), 50 (cnn3), 5 (resnet18), 5 (gpt_small)")
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    args = parser.parse_args()
    default_steps = {"mlp3": 200, "cnn3": 50, "resnet18": 5, "gpt_small": 5}
    for name in args.models:
        for t in sorted(set(args.threads)):
            ms = step_ms(name, t, args.steps or default_steps[name])
            print(json.dumps({"model": name, "threads": t, "ms_per_step": round(ms, 3),
                              "torch": torch.__version__, "blas": loaded_blas()}))


if __name__ == "__main__":
    main()
