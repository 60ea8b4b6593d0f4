#!/usr/bin/env python3
"""Rewrites a GGUF file with its 2-D weights requantized to Q8_0 or Q4_0 by the `gguf` package
(gguf.quants.dequantize, then gguf.quants.quantize), every metadata key copied and
general.file_type set. Made to measure qbench's low-bit GGUF storage on a real model (e.g. the
Q4_1 SmolLM2 file fetched by scripts/fetch_real_models.py) without downloading another file:

    .venv/bin/python scripts/requant_gguf.py ~/.cache/qbench/models/SmolLM2-135M-Instruct.Q4_1.gguf \\
        /tmp/smollm2.q8_0.gguf --type Q8_0

The result is a second quantization of already quantized weights: fine for weight bytes and
speed, and for comparing low-bit storage with dequantize-at-load on the same file, not a
statement about the model's quality at that type. Tensors whose rows are not a multiple of 32,
and 1-D tensors, keep their stored type.
"""
from __future__ import annotations

import argparse

import gguf
import numpy as np
from gguf import GGMLQuantizationType as T

FILE_TYPES = {"Q8_0": gguf.LlamaFileType.MOSTLY_Q8_0, "Q4_0": gguf.LlamaFileType.MOSTLY_Q4_0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--type", choices=sorted(FILE_TYPES), required=True)
    args = ap.parse_args()
    target = T[args.type]
    reader = gguf.GGUFReader(args.src)
    arch = reader.fields[gguf.Keys.General.ARCHITECTURE].contents()
    writer = gguf.GGUFWriter(args.dst, arch)
    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue
        if field.name == gguf.Keys.General.FILE_TYPE:
            continue
        val_type = field.types[0]
        sub_type = field.types[-1] if val_type == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), val_type, sub_type=sub_type)
    writer.add_file_type(FILE_TYPES[args.type])
    counts: dict[str, int] = {}
    for t in reader.tensors:
        shape = [int(d) for d in reversed(t.shape)]  # numpy order
        if len(shape) == 2 and shape[1] % 32 == 0:
            x = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32).reshape(shape)
            writer.add_tensor(t.name, gguf.quants.quantize(x, target), raw_dtype=target)
            kind = target.name
        else:
            writer.add_tensor(t.name, t.data, raw_dtype=t.tensor_type)
            kind = t.tensor_type.name
        counts[kind] = counts.get(kind, 0) + 1
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    print(f"{args.dst}: {counts}")


if __name__ == "__main__":
    main()
