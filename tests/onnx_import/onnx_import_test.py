#!/usr/bin/env python3
"""`lpsim import` end to end (README "Importing a model (ONNX)").

  --case builtins   ONNX models of mlp3, cnn3 and the CIFAR-style ResNet-18 built with
                    onnx.helper the way torch.onnx.export writes them (Gemm with transB, the
                    Shape/Gather/Unsqueeze/Concat of x.view(x.size(0), -1), Identity
                    initialiser aliases, a MatMul + Add linear): the import has the built-in's
                    graph and parameter count, the checkpoint holds the ONNX weights under their
                    names, lpsim's forward pass (`lpsim import --forward`) equals the ONNX
                    graph's evaluated here in float64 numpy to 1e-5, and `lpsim run
                    --init-from` trains mlp3 and cnn3 from it.
  --case torch      a module exported with torch.onnx.export (Debian's python3-torch): the
                    state_dict names and values, forward equal to PyTorch's; exit 77 (skipped)
                    without torch.
  --case refusals   unsupported ops, attributes and dynamic shapes: exit 2, the node's name, op
                    type and reason on stderr, nothing written.
Needs python3-onnx and python3-numpy (scripts/setup).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SKIP = 77
TOLERANCE = 1e-5
OPSET = 13


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def run_lpsim(lpsim, *args, expect=0):
    p = subprocess.run([lpsim, *args], capture_output=True, text=True)
    if p.returncode != expect:
        fail("lpsim %s: exit %d (expected %d)\nstdout:\n%s\nstderr:\n%s"
             % (" ".join(args), p.returncode, expect, p.stdout, p.stderr))
    return p


# --- ONNX models as torch.onnx.export writes them --------------------------------------


class Builder:
    """Nodes and initialisers of one graph; weights drawn like PyTorch's defaults."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.inits = []
        self.count = 0

    def init(self, name, array):
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op, inputs, name, **attrs):
        out = name + "_output_0"
        self.nodes.append(helper.make_node(op, inputs, [out], name=name, **attrs))
        return out

    def uniform(self, shape, fan_in):
        bound = 1.0 / np.sqrt(fan_in)
        return self.rng.uniform(-bound, bound, shape).astype(np.float32)

    def conv(self, x, module, cin, cout, k, stride, pad, bias):
        w = self.init(module + ".weight", self.uniform((cout, cin, k, k), cin * k * k))
        inputs = [x, w]
        if bias:
            inputs.append(self.init(module + ".bias", self.uniform((cout,), cin * k * k)))
        return self.node("Conv", inputs, "/" + module.replace(".", "/") + "/Conv",
                         dilations=[1, 1], group=1, kernel_shape=[k, k],
                         pads=[pad] * 4, strides=[stride, stride])

    def bn(self, x, module, c, alias_stats=False):
        r = self.rng
        gamma = np.ones(c, np.float32) if alias_stats else r.uniform(0.3, 0.6, c)
        names = [self.init(module + ".weight", gamma.astype(np.float32)),
                 self.init(module + ".bias", r.normal(0, 0.1, c).astype(np.float32))]
        if alias_stats:
            # torch.onnx.export keeps one copy of equal initialisers and names the other with
            # an Identity (a fresh BatchNorm2d's running_var equals its weight: all ones).
            mean = self.init(module + ".running_mean", np.zeros(c, np.float32))
            var = module + ".running_var"
            self.nodes.append(helper.make_node("Identity", [names[0]], [var],
                                               name="Identity_%d" % len(self.nodes)))
        else:
            mean = self.init(module + ".running_mean", r.normal(0, 0.1, c).astype(np.float32))
            var = self.init(module + ".running_var", r.uniform(0.5, 1.5, c).astype(np.float32))
        return self.node("BatchNormalization", [x] + names + [mean, var],
                         "/" + module.replace(".", "/") + "/BatchNormalization",
                         epsilon=1e-5, momentum=0.9)

    def gemm(self, x, module, fin, fout):
        w = self.init(module + ".weight", self.uniform((fout, fin), fin))
        b = self.init(module + ".bias", self.uniform((fout,), fin))
        return self.node("Gemm", [x, w, b], "/%s/Gemm" % module, alpha=1.0, beta=1.0, transB=1)

    def matmul_add(self, x, module, fin, fout):
        # A linear layer as MatMul with its [in, out] weight, then the bias Add.
        w = self.init(module + ".weight", self.uniform((fin, fout), fin))
        b = self.init(module + ".bias", self.uniform((fout,), fin))
        y = self.node("MatMul", [x, w], "/%s/MatMul" % module)
        return self.node("Add", [y, b], "/%s/Add" % module)

    def view_flat(self, x, scope):
        # x.view(x.size(0), -1) as torch.onnx.export writes it with a dynamic batch.
        shape = self.node("Shape", [x], scope + "/Shape")
        zero = self.const(scope + "/Constant", np.array(0, np.int64))
        n = self.node("Gather", [shape, zero], scope + "/Gather", axis=0)
        axes = self.const(scope + "/Constant_1", np.array([0], np.int64))
        n1 = self.node("Unsqueeze", [n, axes], scope + "/Unsqueeze")
        minus = self.const(scope + "/Constant_2", np.array([-1], np.int64))
        target = self.node("Concat", [n1, minus], scope + "/Concat", axis=0)
        return self.node("Reshape", [x, target], scope + "/Reshape")

    def const(self, name, array):
        out = name + "_output_0"
        self.nodes.append(helper.make_node("Constant", [], [out], name=name,
                                           value=numpy_helper.from_array(array)))
        return out

    def model(self, name, input_shape, output, classes):
        x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch"] + input_shape)
        y = helper.make_tensor_value_info(output, TensorProto.FLOAT, ["batch", classes])
        graph = helper.make_graph(self.nodes, name, [x], [y], self.inits)
        m = helper.make_model(graph, producer_name="lpsim-test",
                              opset_imports=[helper.make_opsetid("", OPSET)])
        onnx.checker.check_model(m)
        return m


def mlp3_onnx():
    b = Builder(1)
    x = b.node("Flatten", ["input"], "/flatten/Flatten", axis=1)
    x = b.node("Relu", [b.gemm(x, "fc1", 784, 256)], "/relu1/Relu")
    x = b.node("Relu", [b.gemm(x, "fc2", 256, 128)], "/relu2/Relu")
    x = b.node("Identity", [b.gemm(x, "fc3", 128, 10)], "Identity_0")
    return b.model("mlp3", [1, 28, 28], x, 10)


def cnn3_onnx():
    b = Builder(2)
    x = b.node("Relu", [b.conv("input", "conv1", 1, 16, 3, 1, 1, True)], "/relu1/Relu")
    x = b.node("MaxPool", [x], "/pool1/MaxPool", kernel_shape=[2, 2], strides=[2, 2],
               pads=[0, 0, 0, 0], ceil_mode=0)
    x = b.node("Relu", [b.conv(x, "conv2", 16, 32, 3, 1, 1, True)], "/relu2/Relu")
    x = b.node("MaxPool", [x], "/pool2/MaxPool", kernel_shape=[2, 2], strides=[2, 2])
    x = b.view_flat(x, "")
    x = b.matmul_add(x, "fc", 32 * 7 * 7, 10)
    return b.model("cnn3", [1, 28, 28], x, 10)


def resnet18_onnx():
    b = Builder(3)
    x = b.node("Relu", [b.bn(b.conv("input", "conv1", 3, 64, 3, 1, 1, False), "bn1", 64)],
               "/relu/Relu")
    cin = 64
    for g, width in enumerate([64, 128, 256, 512]):
        for k in range(2):
            stride = 2 if g > 0 and k == 0 else 1
            p = "layer%d.%d" % (g + 1, k)
            scope = "/layer%d/%s" % (g + 1, p)
            y = b.conv(x, p + ".conv1", cin, width, 3, stride, 1, False)
            y = b.node("Relu", [b.bn(y, p + ".bn1", width, alias_stats=(g == 0 and k == 0))],
                       scope + "/relu/Relu")
            y = b.bn(b.conv(y, p + ".conv2", width, width, 3, 1, 1, False), p + ".bn2", width)
            short = x
            if stride != 1 or cin != width:
                short = b.conv(x, p + ".downsample.0", cin, width, 1, stride, 0, False)
                short = b.bn(short, p + ".downsample.1", width)
            y = b.node("Add", [y, short], scope + "/Add")
            x = b.node("Relu", [y], scope + "/relu_1/Relu")
            cin = width
    x = b.node("GlobalAveragePool", [x], "/avgpool/GlobalAveragePool")
    x = b.node("Flatten", [x], "/Flatten", axis=1)
    x = b.gemm(x, "fc", 512, 10)
    return b.model("resnet18", [3, 32, 32], x, 10)


# --- The ONNX graph evaluated in float64 numpy (independent of lpsim) ---------------------


def windows(x, kh, kw, stride, pad, fill):
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=fill)
    w = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))
    return w[:, :, ::stride, ::stride]  # [N, C, Ho, Wo, kh, kw]


def attrs_of(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def evaluate(model, x):
    env = {}
    for t in model.graph.initializer:
        kind = np.float64 if t.data_type == TensorProto.FLOAT else np.int64
        env[t.name] = numpy_helper.to_array(t).astype(kind)
    env[model.graph.input[0].name] = x.astype(np.float64)
    for n in model.graph.node:
        a = attrs_of(n)
        i = [env[name] if name else None for name in n.input]
        op = n.op_type
        if op == "Conv":
            s, p = a.get("strides", [1, 1])[0], a.get("pads", [0] * 4)[0]
            w = windows(i[0], i[1].shape[2], i[1].shape[3], s, p, 0)
            y = np.tensordot(w, i[1], axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)
            if len(i) > 2:
                y = y + i[2][None, :, None, None]
        elif op == "Gemm":
            w = i[1].T if a.get("transB", 0) else i[1]
            y = i[0] @ w + (i[2] if len(i) > 2 else 0)
        elif op == "MatMul":
            y = i[0] @ i[1]
        elif op == "Add":
            y = i[0] + i[1]
        elif op == "Relu":
            y = np.maximum(i[0], 0)
        elif op in ("MaxPool", "AveragePool"):
            kh, kw = a["kernel_shape"]
            s, p = a.get("strides", [1, 1])[0], a.get("pads", [0] * 4)[0]
            if op == "MaxPool":
                y = windows(i[0], kh, kw, s, p, -np.inf).max(axis=(4, 5))
            else:
                y = windows(i[0], kh, kw, s, p, 0).sum(axis=(4, 5)) / (kh * kw)
        elif op == "GlobalAveragePool":
            y = i[0].mean(axis=(2, 3), keepdims=True)
        elif op == "BatchNormalization":
            c = (slice(None),) + (None,) * (i[0].ndim - 2)
            y = (i[0] - i[3][c]) / np.sqrt(i[4][c] + a.get("epsilon", 1e-5)) * i[1][c] + i[2][c]
        elif op == "Flatten":
            y = i[0].reshape(i[0].shape[0], -1)
        elif op == "Reshape":
            y = i[0].reshape([i[0].shape[j] if d == 0 else d for j, d in enumerate(i[1])])
        elif op == "Identity":
            y = i[0]
        elif op == "Constant":
            y = numpy_helper.to_array(a["value"])
        elif op == "Shape":
            y = np.array(i[0].shape, np.int64)
        elif op == "Gather":
            y = np.take(i[0], i[1], axis=a.get("axis", 0))
        elif op == "Unsqueeze":
            y = np.expand_dims(i[0], tuple(i[1]))
        elif op == "Concat":
            y = np.concatenate(i, axis=a["axis"])
        else:
            fail("the test's evaluator has no " + op)
        env[n.output[0]] = y
    return env[model.graph.output[0].name]


# --- Checks --------------------------------------------------------------------------------


def graph_of(doc):
    """Layer types, attributes and wiring (by index); names of the parametrised layers."""
    index = {l["name"]: k for k, l in enumerate(doc["layers"])}
    index["input"] = -1
    out = []
    for l in doc["layers"]:
        entry = {k: v for k, v in l.items() if k not in ("name", "inputs")}
        entry["inputs"] = [index[n] for n in l.get("inputs", [])]
        if l["type"] in ("linear", "conv2d", "batchnorm2d"):
            entry["name"] = l["name"]
        out.append(entry)
    return doc["input"], out


def read_checkpoint(path):
    manifest = json.load(open(os.path.join(path, "manifest.json")))
    return {t["name"]: np.load(os.path.join(path, t["file"])) for t in manifest["tensors"]}


def train_from(lpsim, imported, run_dir, input_shape):
    """`lpsim run` of the imported network from its checkpoint on a small synthetic set."""
    run_lpsim(lpsim, "run",
              "--set", "/workload/network_file=" + os.path.join(imported, "network.json"),
              "--init-from", os.path.join(imported, "checkpoint"),
              "--set", "/workload/dataset/kind=synthetic",
              "--set", '/workload/dataset/synthetic={"shape":%s,"train_samples":128,'
              '"test_samples":64}' % json.dumps(input_shape),
              "--set", "/pipeline/stability_check=false", "--out", run_dir)
    return json.load(open(os.path.join(run_dir, "report.json"))).get("status", "?")


def max_difference(got, want):
    diff = float(np.max(np.abs(got.astype(np.float64) - want)))
    return diff, diff / max(1.0, float(np.max(np.abs(want))))


def check_builtin(lpsim, work, name, model, input_shape, batch, train):
    d = os.path.join(work, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    path = os.path.join(d, name + ".onnx")
    onnx.save(model, path)
    x = np.random.default_rng(7).normal(0, 1, [batch] + input_shape).astype(np.float32)
    np.save(os.path.join(d, "x.npy"), x)
    out = os.path.join(d, "imported")
    summary = json.loads(run_lpsim(lpsim, "import", path, "--out", out, "--json", "--forward",
                                   os.path.join(d, "x.npy"), "--forward-out",
                                   os.path.join(d, "y.npy")).stdout)
    shape = ",".join(str(s) for s in input_shape)
    builtin = json.loads(run_lpsim(lpsim, "models", "--show", name, "--input-shape", shape).stdout)
    imported = json.load(open(os.path.join(out, "network.json")))
    if graph_of(imported) != graph_of(builtin):
        fail("%s: the imported graph is not the built-in's\nimported: %s\nbuilt-in: %s"
             % (name, json.dumps(graph_of(imported)), json.dumps(graph_of(builtin))))
    listed = {m["name"]: m for m in json.loads(
        run_lpsim(lpsim, "models", "--json", "--input-shape", shape).stdout)}
    params = listed[name]["parameters"]
    if summary["parameters"] != params:
        fail("%s: %d parameters imported, the built-in has %d"
             % (name, summary["parameters"], params))
    # The checkpoint: the ONNX weights under their names (a MatMul's [in, out] transposed).
    ck = read_checkpoint(os.path.join(out, "checkpoint"))
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    trainable = 0
    for tname, value in ck.items():
        if not tname.endswith((".running_mean", ".running_var")):
            trainable += value.size
        if tname in inits:
            want = inits[tname]
            if want.shape != value.shape:
                want = want.T
            if not np.array_equal(want, value):
                fail("%s: checkpoint tensor %s differs from the ONNX initialiser" % (name, tname))
    if trainable != params:
        fail("%s: the checkpoint holds %d parameters, expected %d" % (name, trainable, params))
    missing = [t for t in inits if t not in ck]
    if missing:
        fail("%s: ONNX initialisers missing from the checkpoint: %s" % (name, missing))
    got = np.load(os.path.join(d, "y.npy"))
    want = evaluate(model, x)
    diff, rel = max_difference(got, want)
    print("%s: %d layers, %d parameters, graph = built-in; forward max |diff| %.3g "
          "(relative to max(1, |logit|) %.3g, logits up to %.3g) on %d samples"
          % (name, summary["layers"], params, diff, rel, float(np.max(np.abs(want))), batch))
    if rel > TOLERANCE:
        fail("%s: forward differs from the ONNX model's by %.3g (> %g)" % (name, rel, TOLERANCE))
    if train:
        status = train_from(lpsim, out, os.path.join(d, "run"), input_shape)
        print("%s: lpsim run --init-from trained it (%s)" % (name, status))


def case_builtins(lpsim, work):
    check_builtin(lpsim, work, "mlp3", mlp3_onnx(), [1, 28, 28], 8, True)
    check_builtin(lpsim, work, "cnn3", cnn3_onnx(), [1, 28, 28], 8, True)
    check_builtin(lpsim, work, "resnet18", resnet18_onnx(), [3, 32, 32], 4, False)


def case_torch(lpsim, work):
    try:
        import torch
        import torch.nn as nn
    except ImportError:
        print("SKIP: no torch (Debian's python3-torch)")
        return SKIP
    torch.manual_seed(0)

    class Block(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(c)
            self.relu = nn.ReLU()

        def forward(self, x):
            return self.relu(self.bn1(self.conv1(x)) + x)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
            self.bn1 = nn.BatchNorm2d(8)
            self.pool = nn.MaxPool2d(2)
            self.layer1 = nn.Sequential(Block(8), Block(8))
            self.avg = nn.AvgPool2d(2)
            self.smooth = nn.AvgPool2d(3, stride=1, padding=1)  # exported as Pad + AveragePool
            self.fc1 = nn.Linear(8 * 7 * 7, 32)
            self.fc2 = nn.Linear(32, 10)

        def forward(self, x):
            x = self.pool(torch.relu(self.bn1(self.conv1(x))))
            x = self.smooth(self.avg(self.layer1(x)))
            x = x.view(x.size(0), -1)
            return self.fc2(torch.relu(self.fc1(x)))

    net = Net()
    # Batch norm statistics away from their initial values, as after training.
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.randn(16, 1, 28, 28))
    net.eval()
    d = os.path.join(work, "torch")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    x = torch.randn(8, 1, 28, 28)
    np.save(os.path.join(d, "x.npy"), x.numpy())
    with torch.no_grad():
        want = net(x).double().numpy()
    state = {k: v.numpy() for k, v in net.state_dict().items()
             if not k.endswith("num_batches_tracked")}
    params = sum(p.numel() for p in net.parameters())
    for mode, keeps_bn in (("PRESERVE", True), ("EVAL", False)):
        path = os.path.join(d, "net_%s.onnx" % mode.lower())
        # PRESERVE with the module in eval mode keeps batch norm as BatchNormalization with
        # its state_dict names; EVAL (the default) folds it into the convolutions.
        torch.onnx.export(net, torch.randn(1, 1, 28, 28), path, input_names=["input"],
                          output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                          training=getattr(torch.onnx.TrainingMode, mode))
        out = os.path.join(d, "imported_" + mode.lower())
        summary = json.loads(run_lpsim(lpsim, "import", path, "--out", out, "--json", "--forward",
                                       os.path.join(d, "x.npy"), "--forward-out",
                                       os.path.join(d, "y.npy")).stdout)
        diff, rel = max_difference(np.load(os.path.join(d, "y.npy")), want)
        print("torch.onnx.export (%s): %d layers, %d parameters, forward max |diff| vs PyTorch "
              "%.3g (relative %.3g)" % (mode, summary["layers"], summary["parameters"], diff, rel))
        if rel > TOLERANCE:
            fail("torch %s: forward differs from PyTorch's by %.3g" % (mode, rel))
        if keeps_bn:
            ck = read_checkpoint(os.path.join(out, "checkpoint"))
            if set(ck) != set(state):
                fail("torch: checkpoint names %s, state_dict %s" % (sorted(ck), sorted(state)))
            for k, v in state.items():
                if not np.array_equal(ck[k], v):
                    fail("torch: checkpoint tensor %s differs from the state_dict's" % k)
            if summary["parameters"] != params:
                fail("torch: %d parameters imported, the module has %d"
                     % (summary["parameters"], params))
            status = train_from(lpsim, out, os.path.join(d, "run"), [1, 28, 28])
            print("torch: state_dict names and values in the checkpoint; lpsim run --init-from "
                  "trained it (%s)" % status)
    return 0


def refusal_models():
    """(label, model, words the message must hold)."""
    def graph(nodes, inits, in_shape=("batch", 1, 8, 8), out="y", classes=10, opset=OPSET):
        x = helper.make_tensor_value_info("input", TensorProto.FLOAT, list(in_shape))
        y = helper.make_tensor_value_info(out, TensorProto.FLOAT, ["batch", classes])
        g = helper.make_graph(nodes, "refused", [x], [y], inits)
        return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])

    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.normal(0, 1, (4, 1, 3, 3)).astype(np.float32), "conv.weight")
    fc = numpy_helper.from_array(rng.normal(0, 1, (10, 4 * 8 * 8)).astype(np.float32), "fc.weight")
    fc_in = numpy_helper.from_array(rng.normal(0, 1, (10, 4 * 4 * 4)).astype(np.float32),
                                    "fc.weight")

    def conv_net(conv_attrs, pre=(), fc_init=fc):
        nodes = list(pre) + [
            helper.make_node("Conv", ["input", "conv.weight"], ["c"], name="conv", **conv_attrs),
            helper.make_node("Flatten", ["c"], ["f"], name="flatten"),
            helper.make_node("Gemm", ["f", "fc.weight"], ["y"], name="fc", transB=1)]
        return graph(nodes, [w, fc_init])

    cases = [
        ("an op lpsim lacks", graph([
            helper.make_node("Flatten", ["input"], ["f"], name="flatten"),
            helper.make_node("Gemm", ["f", "fc.weight"], ["g"], name="fc", transB=1),
            helper.make_node("Sigmoid", ["g"], ["y"], name="act1")],
            [numpy_helper.from_array(np.zeros((10, 64), np.float32), "fc.weight")]),
         ['node "act1" (Sigmoid)', "not supported"]),
        ("dilation", conv_net({"kernel_shape": [3, 3], "pads": [2] * 4, "dilations": [2, 2]}),
         ['node "conv" (Conv)', "dilations"]),
        ("groups", conv_net({"kernel_shape": [3, 3], "pads": [1] * 4, "group": 2}),
         ['node "conv" (Conv)', "group 2"]),
        ("auto_pad", conv_net({"kernel_shape": [3, 3], "auto_pad": "SAME_UPPER"}),
         ['node "conv" (Conv)', "auto_pad SAME_UPPER"]),
        ("unequal pads", conv_net({"kernel_shape": [3, 3], "pads": [1, 1, 0, 0]}),
         ['node "conv" (Conv)', "pads"]),
        ("ceil_mode", graph([
            helper.make_node("Conv", ["input", "conv.weight"], ["c"], name="conv", pads=[1] * 4),
            helper.make_node("MaxPool", ["c"], ["p"], name="pool", kernel_shape=[2, 2],
                             strides=[2, 2], ceil_mode=1),
            helper.make_node("Flatten", ["p"], ["f"], name="flatten"),
            helper.make_node("Gemm", ["f", "fc.weight"], ["y"], name="fc", transB=1)], [w, fc_in]),
         ['node "pool" (MaxPool)', "ceil_mode 1"]),
        ("a dynamic spatial size", graph([
            helper.make_node("Conv", ["input", "conv.weight"], ["c"], name="conv", pads=[1] * 4),
            helper.make_node("GlobalAveragePool", ["c"], ["p"], name="gap"),
            helper.make_node("Flatten", ["p"], ["f"], name="flatten"),
            helper.make_node("Gemm", ["f", "fc.weight"], ["y"], name="fc", transB=1)],
            [w, numpy_helper.from_array(np.zeros((10, 4), np.float32), "fc.weight")],
            in_shape=("batch", 1, "height", "width")),
         ['input "input"', "dimension 2", "dynamic shape"]),
        ("a reshape that is not [N, -1]", graph([
            helper.make_node("Constant", [], ["s"], name="shape",
                             value=numpy_helper.from_array(np.array([0, 8, -1], np.int64))),
            helper.make_node("Reshape", ["input", "s"], ["r"], name="reshape"),
            helper.make_node("Flatten", ["r"], ["f"], name="flatten"),
            helper.make_node("Gemm", ["f", "fc.weight"], ["y"], name="fc", transB=1)],
            [numpy_helper.from_array(np.zeros((10, 64), np.float32), "fc.weight")]),
         ['node "reshape" (Reshape)', "[N, -1]"]),
        ("softmax on the logits", graph([
            helper.make_node("Flatten", ["input"], ["f"], name="flatten"),
            helper.make_node("Gemm", ["f", "fc.weight"], ["g"], name="fc", transB=1),
            helper.make_node("Softmax", ["g"], ["y"], name="softmax", axis=1)],
            [numpy_helper.from_array(np.zeros((10, 64), np.float32), "fc.weight")]),
         ['node "softmax" (Softmax)', "export the logits"]),
    ]
    return cases


def case_refusals(lpsim, work):
    d = os.path.join(work, "refusals")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for k, (label, model, words) in enumerate(refusal_models()):
        path = os.path.join(d, "case%d.onnx" % k)
        onnx.save(model, path)
        out = os.path.join(d, "out%d" % k)
        p = run_lpsim(lpsim, "import", path, "--out", out, expect=2)
        for word in words:
            if word not in p.stderr:
                fail("%s: the message lacks %r:\n%s" % (label, word, p.stderr))
        leftovers = [e for e in os.listdir(d) if e.startswith("out%d." % k)]
        if p.stdout or os.path.exists(out) or leftovers:
            fail("%s: something was written (stdout %r)" % (label, p.stdout))
        print("refused %s: %s" % (label, p.stderr.strip()))
    # A directory holding anything else is never replaced.
    onnx.save(mlp3_onnx(), os.path.join(d, "mlp3.onnx"))
    busy = os.path.join(d, "busy")
    os.makedirs(busy)
    open(os.path.join(busy, "notes.txt"), "w").write("mine\n")
    p = run_lpsim(lpsim, "import", os.path.join(d, "mlp3.onnx"), "--out", busy, expect=2)
    if "notes.txt" not in p.stderr or sorted(os.listdir(busy)) != ["notes.txt"]:
        fail("a directory with other files: %s / %s" % (p.stderr, os.listdir(busy)))
    # An earlier import is replaced whole.
    again = os.path.join(d, "again")
    run_lpsim(lpsim, "import", os.path.join(d, "mlp3.onnx"), "--out", again)
    run_lpsim(lpsim, "import", os.path.join(d, "mlp3.onnx"), "--out", again)
    if sorted(os.listdir(again)) != ["checkpoint", "network.json"]:
        fail("re-import: %s" % os.listdir(again))
    print("refused a directory holding other files; replaced an earlier import")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--lpsim", required=True)
    ap.add_argument("--work", required=True, help="scratch directory")
    ap.add_argument("--case", required=True, choices=["builtins", "torch", "refusals"])
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    if args.case == "builtins":
        case_builtins(args.lpsim, args.work)
        return 0
    if args.case == "torch":
        return case_torch(args.lpsim, args.work)
    return case_refusals(args.lpsim, args.work)


if __name__ == "__main__":
    sys.exit(main())
