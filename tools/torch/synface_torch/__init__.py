"""
synface_torch: the recognizer of synface-gpu in PyTorch, to train it on a distributed engine
(torchrun, DDP) and bring the weights back (tools/torch/README.md).

    model        IResNet as src/models/iresnet.ts (same names), load_recognizer / save_recognizer
    loss         arcface_logits, synface_loss (src/ops/loss.ts, SynFace's mixed-margin form)
    data         SyntheticFaces (ImageFolder + labels.jsonl), RealFaces, the augmentations
    safetensors  read / write in plain Python (F32, F16, BF16, I32, I64, U8)
    train        the DDP training loop (tools/torch/train.py runs it under torchrun)
    embed        embeddings of image files (tools/torch/embed.py)
"""
from .loss import arcface_logits, synface_loss
from .model import IResNet, Recognizer, load_recognizer, save_recognizer

__all__ = ['IResNet', 'Recognizer', 'load_recognizer', 'save_recognizer', 'arcface_logits', 'synface_loss']
