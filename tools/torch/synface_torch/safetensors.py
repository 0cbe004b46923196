"""
The safetensors format in plain Python (struct + json), as src/io/safetensors.ts reads and
writes it; Debian 12 packages no `safetensors`, and this needs nothing but torch.

    8 bytes   N, the header length, unsigned 64-bit little-endian
    N bytes   JSON: {"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [b, e]}}
              padded with spaces so that 8 + N is a multiple of 8
    the rest  every tensor's bytes (little-endian, row-major), offsets relative to here

Read: F32, F16, BF16, I32, I64, U8, with the format's rules checked (offsets inside the data,
sizes matching shapes, no overlap, no gap); F16 and BF16 come back as float32 unless asked
not to. Written: F32 (or F16 for float tensors with half=True; a value F16 cannot hold is an
error naming the tensor), I32, I64, U8; __metadata__ first; atomically (temp file + rename).
"""
import json
import os
import struct
import sys

import torch

if sys.byteorder != 'little':
    raise ImportError('synface_torch.safetensors: a big-endian platform is not supported')

DTYPES = {  # file name -> (torch dtype, bytes per value)
    'F32': (torch.float32, 4),
    'F16': (torch.float16, 2),
    'BF16': (torch.bfloat16, 2),
    'I32': (torch.int32, 4),
    'I64': (torch.int64, 8),
    'U8': (torch.uint8, 1),
}
NAMES = {dtype: name for name, (dtype, _) in DTYPES.items()}
F16_MAX = 65504.0


def parse(data, source='safetensors data', float32=True):
    """bytes -> (tensors {name: Tensor}, metadata {str: str}, stored {name: 'F32' | 'F16' | ...})."""
    def fail(msg):
        raise ValueError(f'{source}: {msg}')

    if len(data) < 8:
        fail(f'truncated: {len(data)} bytes, not even the 8-byte header length')
    (n,) = struct.unpack('<Q', data[:8])
    if 8 + n > len(data):
        fail(f'truncated: the header needs {n} bytes, the file has {len(data) - 8} after the length')
    try:
        header = json.loads(data[8:8 + n].decode('utf-8'))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        fail(f'the header is not UTF-8 JSON ({e}); not a safetensors file?')
    if not isinstance(header, dict):
        fail('the header is not a JSON object')
    metadata = header.pop('__metadata__', None) or {}
    if not all(isinstance(v, str) for v in metadata.values()):
        fail('__metadata__ values must be strings')
    body = memoryview(data)[8 + n:]
    tensors, stored, spans = {}, {}, []
    for name, info in header.items():
        dtype, shape, (begin, end) = info.get('dtype'), info.get('shape'), info.get('data_offsets', (0, -1))
        if dtype not in DTYPES:
            fail(f"tensor '{name}': unsupported dtype {dtype!r} (supported: {', '.join(DTYPES)})")
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            fail(f"tensor '{name}': invalid shape {shape!r}")
        count = 1
        for d in shape:
            count *= d
        if not 0 <= begin <= end <= len(body):
            fail(f"tensor '{name}': data_offsets [{begin}, {end}] outside the {len(body)} bytes of data")
        if end - begin != count * DTYPES[dtype][1]:
            fail(f"tensor '{name}': {end - begin} bytes for {dtype} {shape}, which needs {count * DTYPES[dtype][1]}")
        spans.append((begin, end, name))
        torch_dtype = DTYPES[dtype][0]
        t = torch.frombuffer(bytearray(body[begin:end]), dtype=torch_dtype) if count else torch.empty(0, dtype=torch_dtype)
        t = t.reshape(shape)
        tensors[name] = t.float() if float32 and dtype in ('F16', 'BF16') else t
        stored[name] = dtype
    covered = 0
    for begin, end, name in sorted(spans):
        if begin != covered:
            fail(f"tensor '{name}' starts at byte {begin}, expected {covered} (overlap or gap)")
        covered = end
    if covered != len(body):
        fail(f'{len(body) - covered} bytes after the last tensor belong to no tensor')
    return tensors, metadata, stored


def load(path, float32=True):
    """A file -> (tensors, metadata, stored); see parse."""
    with open(path, 'rb') as f:
        return parse(f.read(), str(path), float32)


def serialize(tensors, metadata=None, half=False):
    """{name: Tensor}, {str: str} -> bytes. half: float tensors stored as F16."""
    header, blobs, offset = {}, [], 0
    if metadata:
        bad = [k for k, v in metadata.items() if not isinstance(v, str)]
        if bad:
            raise TypeError(f'safetensors: metadata {bad} must be strings (json.dumps them)')
        header['__metadata__'] = metadata
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        if t.is_floating_point():
            if half:
                big = t.abs() > F16_MAX
                if big.any():
                    i = int(big.flatten().nonzero()[0])
                    raise ValueError(f"safetensors: tensor '{name}' {list(t.shape)} holds {t.flatten()[i].item()} at index {i}, "
                                     'which half precision cannot hold (|x| <= 65504): store it as F32')
                t = t.half()
            else:
                t = t.float()
        if t.dtype not in NAMES:
            raise TypeError(f"safetensors: tensor '{name}' has unsupported dtype {t.dtype}")
        blob = t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.view(torch.int16).numpy().tobytes()
        header[name] = {'dtype': NAMES[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * (-(8 + len(text)) % 8)
    return struct.pack('<Q', len(text)) + text + b''.join(blobs)


def save(path, tensors, metadata=None, half=False):
    """Writes serialize(...) to path atomically: a temp file beside it, fsynced, renamed over it."""
    data = serialize(tensors, metadata, half)
    tmp = f'{path}.tmp-{os.getpid()}'
    with open(tmp, 'wb') as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
