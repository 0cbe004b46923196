#!/usr/bin/env python3
"""
Embeddings of image files by a recognizer file; see synface_torch/embed.py:
    python3 tools/torch/embed.py --weights W.safetensors --out E.safetensors IMAGE...
"""
import sys

from synface_torch.embed import main

if __name__ == '__main__':
    try:
        main()
    except (ValueError, OSError) as e:
        sys.exit(f'embed: {e}')
