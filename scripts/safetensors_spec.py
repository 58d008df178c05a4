"""safetensors in Python for the scripts: the `safetensors` package when it is installed, else a
small reader and writer that follow the format's specification as the reference implementation
does (compact JSON header with `__metadata__` first and the tensors ordered by element size,
widest first, then by name; the header padded with spaces to a multiple of 8; the byte buffer
tiled by the tensors in that order). Debian has no package for `safetensors` and this machine
cannot reach PyPI, hence the fallback.
"""
import json
import struct

import torch

try:
    from safetensors.torch import load_file as st_load, save_file as st_save
except ImportError:
    st_load = st_save = None

CODES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.bool: "BOOL",
}
TYPES = {v: k for k, v in CODES.items()}


def spec_serialize(tensors, metadata=None):
    items = sorted(tensors.items(), key=lambda kv: (-kv[1].element_size(), kv[0]))
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    offset = 0
    buffers = []
    for name, t in items:
        t = t.contiguous()
        raw = t.reshape(-1).view(torch.uint8).numpy().tobytes()
        header[name] = {"dtype": CODES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        buffers.append(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(buffers)


def spec_deserialize(data):
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", None)
    buf = data[8 + n:]
    position = 0
    out = {}
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        b, end = e["data_offsets"]
        assert b == position, f"gap or overlap at {name}"
        position = end
        raw = bytearray(buf[b:end])
        t = torch.frombuffer(raw, dtype=TYPES[e["dtype"]]) if raw else torch.empty(0, dtype=TYPES[e["dtype"]])
        out[name] = t.reshape(e["shape"])
    assert position == len(buf), "trailing bytes"
    return out, meta


def save(tensors, path, metadata=None):
    if st_save is not None:
        st_save(tensors, path, metadata=metadata)
    else:
        with open(path, "wb") as f:
            f.write(spec_serialize(tensors, metadata))


def load(path):
    if st_load is not None:
        return st_load(path)
    with open(path, "rb") as f:
        return spec_deserialize(f.read())[0]


