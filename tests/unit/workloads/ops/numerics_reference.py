#!/usr/bin/env python3
"""Independent references for numerics_test.cpp.

  numerics_reference.py fp16 DIR   numpy: DIR/input.bin (float32 bit patterns, little-endian
                                   uint32) -> DIR/output.bin (numpy.float16 codes, uint16)
  numerics_reference.py bf16 DIR   torch: DIR/input.bin -> DIR/output.bin (torch.bfloat16
                                   codes, uint16)
Exit status 77: numpy or torch is missing (the test skips).
"""
import sys

try:
    import numpy as np
except ImportError:
    sys.exit(77)  # the test skips


def main():
    mode, folder = sys.argv[1], sys.argv[2]
    bits = np.fromfile(folder + "/input.bin", dtype="<u4")
    values = bits.view("<f4")
    if mode == "fp16":
        with np.errstate(over="ignore", invalid="ignore"):
            codes = values.astype(np.float16).view("<u2")
    elif mode == "bf16":
        try:
            import torch
        except ImportError:
            sys.exit(77)  # the test skips

        t = torch.from_numpy(values.copy()).to(torch.bfloat16)
        codes = t.view(torch.int16).numpy().view("<u2")
    else:
        raise SystemExit("unknown mode " + mode)
    codes.astype("<u2").tofile(folder + "/output.bin")


if __name__ == "__main__":
    main()
