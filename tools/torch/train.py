#!/usr/bin/env python3
"""
The recognizer's training under torchrun (DDP), or as one process without it; see
synface_torch/train.py and README.md:
    torchrun --standalone --nproc_per_node 2 tools/torch/train.py --data DIR --out OUT ...
"""
import sys

from synface_torch.train import main

if __name__ == '__main__':
    try:
        main()
    except (ValueError, OSError) as e:  # bad data or files: the message, not a traceback
        sys.exit(f'train: {e}')
