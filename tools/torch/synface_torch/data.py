"""
Training data as the engine sees it, through torchvision's ImageFolder.

Synthetic (`synface synthesize`, src/data/synthetic-labels.ts):
    DIR/id_00012/00003.png   identity 12's image 3 (64x64 RGB); ImageFolder's class = the folder
    DIR/labels.jsonl         one line per image: {"file":"id_00012/00004.png","identity":12,
                             "mix":{"partner":57,"phi":0.35}}; a mixed image's soft label is phi on
                             12 and 1 - phi on 57 (SynFace's identity mixup); "mix" is optional
    an item: (x (3, H, W), a, b, w_a, w_b) = (image, 12, 57, 0.35, 0.65), unmixed (x, a, a, 1, 0)
Real (domain mixup): an LFW-layout folder (DIR/images/<Name>/<Name>_NNNN.jpg or the folder of
    the person folders), one class per person, labels offset past the synthetic classes.

Pixels (src/data/preprocess.ts): an image already of the recognizer's `out` size is used as it is
(aligned data: synthetic images, data/lfw-sample); another (a 250x250 deep-funneled LFW image)
is centre-cropped to `crop` and area-averaged to `out` (each source pixel weighted by its
overlap with the output pixel), rounded to u8 as the engine's image cache does. Then
v -> (v / 255 - 0.5) / 0.5, in [-1, 1].

Augmentation (src/ops/augment.ts; train only), in normalized units:
    zoom-crop  area fraction s ~ U[0.8, 1] of the largest box of the output's aspect, sides x sqrt(s),
               integer box at a uniform position, bilinear to the input size (align_corners=False)
    flip       horizontal, p = 0.5
    erase      torchvision's RandomErasing(p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0)
The random numbers come from torch's generator (per DataLoader worker), not the engine's Philox
streams: the same distributions, not the same draws.
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision import datasets, transforms


def js_round(x):
    return math.floor(x + 0.5)  # JavaScript's Math.round (halves up), as the engine rounds


def axis_weights(length, out):
    """(out, length) float64 matrix: output i averages source [i s, (i + 1) s), s = length / out,
    each source pixel j weighted by its overlap / s; upscaling (s < 1) is bilinear, centres aligned."""
    s, w = length / out, np.zeros((out, length))
    for i in range(out):
        if s >= 1:
            a, b = i * s, (i + 1) * s
            for j in range(math.floor(a), min(math.ceil(b), length)):
                overlap = min(b, j + 1) - max(a, j)
                if overlap > 1e-12:
                    w[i, j] = overlap / s
        else:
            p = min(max((i + 0.5) * s - 0.5, 0), length - 1)
            j, f = math.floor(p), p - math.floor(p)
            w[i, j] += 1 - f
            if f > 0:
                w[i, j + 1] += f
    return w


def align(img, crop, out):
    """PIL image -> u8 tensor (3, H, W): as it is when already H x W, else centre crop + area resize."""
    rgb = np.asarray(img.convert('RGB'))  # (h, w, 3); grey replicated
    H, W = out
    if rgb.shape[:2] == (H, W):
        return torch.from_numpy(rgb.copy()).permute(2, 0, 1)
    h, w = crop
    top, left = js_round((rgb.shape[0] - h) / 2), js_round((rgb.shape[1] - w) / 2)
    if top < 0 or left < 0 or top + h > rgb.shape[0] or left + w > rgb.shape[1]:
        raise ValueError(f'crop {h}x{w} does not fit in the {rgb.shape[0]}x{rgb.shape[1]} image')
    box = rgb[top:top + h, left:left + w].astype(np.float64).transpose(2, 0, 1)  # (3, h, w)
    res = axis_weights(h, H) @ box @ axis_weights(w, W).T  # rows first, then columns: (3, H, W)
    return torch.from_numpy(np.clip(np.floor(res + 0.5), 0, 255).astype(np.uint8))


def normalize(u8):
    """u8 (3, H, W) -> float32 in [-1, 1]: (v / 255 - 0.5) / 0.5."""
    return (u8.float() / 255 - 0.5) / 0.5


def resize(x, size):
    """(3, h, w) -> (3, H, W) bilinear, align_corners=False, no antialiasing (the engine's)."""
    if tuple(x.shape[1:]) == tuple(size):
        return x
    return F.interpolate(x[None], size=tuple(size), mode='bilinear', align_corners=False)[0]


class ZoomCrop:
    """A random box of the output's aspect, area fraction U[zoom_min, 1] of the largest one, resized to `size`."""

    def __init__(self, size, zoom_min=0.8):
        self.size, self.zoom_min = tuple(size), zoom_min

    def __call__(self, x):  # (3, inH, inW) -> (3, H, W)
        inH, inW = x.shape[1:]
        H, W = self.size
        baseH, baseW = min(inH, inW * H / W), min(inW, inH * W / H)
        u = torch.rand(3).tolist()
        side = math.sqrt(self.zoom_min + (1 - self.zoom_min) * u[0])
        h = min(inH, max(1, js_round(baseH * side)))
        w = min(inW, max(1, js_round(baseW * side)))
        top, left = math.floor(u[1] * (inH - h + 1)), math.floor(u[2] * (inW - w + 1))
        return resize(x[:, top:top + h, left:left + w], self.size)


def train_transform(size):
    """u8 (3, h, w) -> augmented float32 (3, H, W) in normalized units."""
    return transforms.Compose([normalize, ZoomCrop(size), transforms.RandomHorizontalFlip(0.5),
                               transforms.RandomErasing(p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0)])


def eval_transform(size):
    """u8 (3, h, w) -> float32 (3, H, W): normalized, resized to the input when it differs (as embed.ts)."""
    return lambda u8: resize(normalize(u8), size)


def loader(preprocess):
    def load(path):
        with Image.open(path) as img:
            try:
                return align(img, preprocess['crop'], preprocess['out'])
            except ValueError as e:
                raise ValueError(f'{path}: {e}') from None
    return load


def read_labels(path, classes):
    """labels.jsonl -> {file: (a, b, w_a, w_b)}; errors name the file and line."""
    labels = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            try:
                o = json.loads(line)
                mix = o.get('mix')
                a, b, phi = (o['identity'], mix['partner'], mix['phi']) if mix else (o['identity'], o['identity'], 1.0)
                file = o['file']
            except (ValueError, KeyError, TypeError, AttributeError):
                raise ValueError(f'{path}:{n}: not a label line: {line.strip()[:80]!r}') from None
            if not (0 <= a < classes and 0 <= b < classes and 0 <= phi <= 1):
                raise ValueError(f'{path}:{n}: identity {a}, partner {b} or phi {phi} outside the {classes} '
                                 'identity folders or [0, 1]')
            labels[file] = (a, b, phi, 1 - phi if mix else 0.0)  # (a, b, w_a, w_b)
    return labels


class SyntheticFaces(torch.utils.data.Dataset):
    """A synthetic dataset: ImageFolder over DIR, soft labels from DIR/labels.jsonl (header)."""

    def __init__(self, root, preprocess, transform):
        path = os.path.join(root, 'labels.jsonl')
        if not os.path.exists(path):
            raise FileNotFoundError(f'{path} is missing: not a finished synthetic dataset (synface synthesize '
                                    'writes it when every identity is done; shards: synface synthesize --merge)')
        self.folder = datasets.ImageFolder(root, loader=loader(preprocess), transform=transform)
        self.classes = len(self.folder.classes)
        labels = read_labels(path, self.classes)
        self.labels = []  # per ImageFolder sample: (a, b, w_a, w_b)
        for file, cls in self.folder.samples:
            rel = os.path.relpath(file, root).replace(os.sep, '/')
            if rel not in labels:
                raise ValueError(f'{rel}: an image of {root} without a line in labels.jsonl')
            if labels[rel][0] != cls:  # id_00012 is the 13th folder: a folder missing or extra otherwise
                raise ValueError(f'{path}: {rel} is labelled identity {labels[rel][0]}, but ImageFolder made its '
                                 f'folder class {cls} (of {self.folder.classes[0]} .. {self.folder.classes[-1]})')
            self.labels.append(labels.pop(rel))
        if labels:
            raise ValueError(f'{path}: {len(labels)} lines name no image of {root}, e.g. {next(iter(labels))}')

    def __len__(self):
        return len(self.folder)

    def __getitem__(self, i):
        x, _ = self.folder[i]
        a, b, w_a, w_b = self.labels[i]
        return x, a, b, torch.tensor(w_a, dtype=torch.float32), torch.tensor(w_b, dtype=torch.float32)


def read_people(path):
    """An LFW people file (an optional count line, then 'Name<TAB>images' lines) -> the names."""
    rows = [line.split() for line in open(path) if line.strip()]
    return [r[0] for r in rows if not (len(r) == 1 and r[0].isdigit())]


class RealFaces(torch.utils.data.Dataset):
    """An LFW-layout folder through ImageFolder, one class per person: the people of `names`
    (all when None), sorted, the first `people` of them; labels offset past the synthetic classes."""

    def __init__(self, root, preprocess, transform, offset, people=None, names=None):
        root = os.path.join(root, 'images') if os.path.isdir(os.path.join(root, 'images')) else root
        self.folder = datasets.ImageFolder(root, loader=loader(preprocess), transform=transform)
        if names is not None:
            missing = sorted(set(names) - set(self.folder.classes))
            if missing:
                raise ValueError(f'{root}: no folder for {len(missing)} listed people, e.g. {missing[0]}')
        wanted = set(names or self.folder.classes)
        kept = [c for c, name in enumerate(self.folder.classes) if name in wanted]
        kept = kept[:people] if people is not None else kept
        label = {c: k for k, c in enumerate(kept)}
        self.people = len(kept)
        self.index = [(i, label[c]) for i, (_, c) in enumerate(self.folder.samples) if c in label]
        self.offset = offset

    def __len__(self):
        return len(self.index)

    def __getitem__(self, i):
        j, label = self.index[i]
        x, _ = self.folder[j]
        return x, label + self.offset
