"""
Embeddings of image files by a recognizer file, as `synface eval` makes them (src/eval/embed.ts):
each image aligned as the file's preprocess says (data.py), normalized to [-1, 1], resized to
the input when it differs, through the backbone in eval mode; --flip adds the mirror's embedding.

    python3 tools/torch/embed.py --weights W.safetensors --out E.safetensors IMAGE... [--flip]

E.safetensors holds "embeddings" (N, E) F32, and in its metadata "files" (JSON, in order).
"""
import argparse
import json

import torch

from . import safetensors
from .data import eval_transform, loader
from .model import load_recognizer


@torch.no_grad()
def embed_files(backbone, preprocess, files, flip=False, batch=64):
    """-> (N, E) float32 embeddings of the files, in order."""
    load, to_input = loader(preprocess), eval_transform(backbone.config['input'])
    out = []
    for i in range(0, len(files), batch):
        x = torch.stack([to_input(load(f)) for f in files[i:i + batch]])  # (n, 3, H, W)
        e = backbone(x)
        out.append(e + backbone(torch.flip(x, [3])) if flip else e)
    return torch.cat(out) if out else torch.zeros(0, backbone.config['embedding'])


def main(argv=None):
    p = argparse.ArgumentParser(prog='python3 tools/torch/embed.py', description=__doc__.split('\n\n')[0])
    p.add_argument('--weights', required=True, help='recognizer file (safetensors, synface-recognizer/1)')
    p.add_argument('--out', required=True, help='safetensors file to write: "embeddings" (N, E)')
    p.add_argument('--flip', action='store_true', help="sum each image's and its mirror's embeddings")
    p.add_argument('files', nargs='+', help='image files')
    args = p.parse_args(argv)
    backbone, file = load_recognizer(args.weights)
    e = embed_files(backbone, file['preprocess'], args.files, args.flip)
    safetensors.save(args.out, {'embeddings': e}, {'files': json.dumps(args.files), 'weights': args.weights})
    print(f'{args.out}: {e.shape[0]} embeddings of {e.shape[1]} values')
