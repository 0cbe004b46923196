"""
The recognizer of src/models/iresnet.ts in PyTorch: the same layers, the same parameter names
and the same conventions, so a state dict moves between the two unchanged.

    stem    conv3x3/stemStride (3 -> stem) + BN + PReLU                  (N, stem, H/t, W/t)
    stages  for each stage s: blocks[s] IR blocks of width widths[s], the first with stride 2
    block   BN - conv3x3/1 - BN - PReLU - conv3x3/stride - BN  (+ shortcut: identity, or
            conv1x1/stride + BN when the shape changes)
    head    BN2d - Dropout - Flatten (C, H, W order) - Linear(w_last * H/16t * W/16t, emb) - BN1d

Names: conv1, bn1, prelu, layer{s}_{b}.{bn1,conv1,bn2,prelu,conv2,bn3,shortcut.conv,shortcut.bn},
bn2, dropout, fc, features. BatchNorm: eps 1e-5, momentum 0.1, affine, the running variance
unbiased (PyTorch's, which the engine copies). Initialization as the engine's (the values
differ, the distributions do not): convs kaiming-uniform with gain sqrt(2), Linear PyTorch's
default, PReLU 0.25, ArcFace centres Xavier-uniform.

The weights file (src/models/recognizer-weights.ts): safetensors of the backbone's state dict
(no num_batches_tracked, which the engine does not keep) with __metadata__
    format "synface-recognizer/1", backbone (JSON config), preprocess (JSON {crop, out}), info (JSON).
"""
import json

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import safetensors

FORMAT = 'synface-recognizer/1'

PRESETS = {  # src/models/iresnet.ts IRESNET_PRESETS
    'paper': {'input': [112, 96], 'blocks': [3, 4, 14, 3], 'widths': [64, 128, 256, 512],
              'stem': 64, 'embedding': 512, 'dropout': 0.5},
    'small': {'input': [64, 64], 'stemStride': 2, 'blocks': [1, 2, 2, 1], 'widths': [16, 32, 64, 128],
              'stem': 16, 'embedding': 256, 'dropout': 0.2},
}
PREPROCESS = {'paper': {'crop': [112, 96], 'out': [112, 96]}, 'small': {'crop': [112, 112], 'out': [64, 64]}}


def conv(cin, cout, k, stride=1):
    c = nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False)
    nn.init.kaiming_uniform_(c.weight, nonlinearity='relu')  # U(-b, b), b = sqrt(2) sqrt(3 / fan_in)
    return c


class Shortcut(nn.Module):
    """conv1x1/stride + BN, when a block changes shape."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv = conv(cin, cout, 1, stride)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.bn(self.conv(x))


class IRBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = conv(cin, cout, 3)
        self.bn2 = nn.BatchNorm2d(cout)
        self.prelu = nn.PReLU(cout, 0.25)
        self.conv2 = conv(cout, cout, 3, stride)
        self.bn3 = nn.BatchNorm2d(cout)
        self.shortcut = Shortcut(cin, cout, stride) if stride != 1 or cin != cout else None

    def forward(self, x):  # (N, cin, H, W) -> (N, cout, H/stride, W/stride)
        h = self.bn3(self.conv2(self.prelu(self.bn2(self.conv1(self.bn1(x))))))
        return h + (self.shortcut(x) if self.shortcut is not None else x)


class IResNet(nn.Module):
    def __init__(self, config):
        super().__init__()
        problem = backbone_problem(config)
        if problem:
            raise ValueError(f'IResNet: the config {problem}')
        self.config = dict(config)
        H, W = config['input']
        t = config.get('stemStride', 1)
        shrink = 16 * t
        if t not in (1, 2) or H % shrink or W % shrink or len(config['blocks']) != 4:
            raise ValueError(f'IResNet: input {H}x{W} must be multiples of {shrink} (stem stride {t} of 1 or 2, '
                             'four stride-2 stages)')
        self.conv1 = conv(3, config['stem'], 3, t)
        self.bn1 = nn.BatchNorm2d(config['stem'])
        self.prelu = nn.PReLU(config['stem'], 0.25)
        self.blocks = []
        cin = config['stem']
        for s, (count, width) in enumerate(zip(config['blocks'], config['widths'])):
            for b in range(count):
                block = IRBlock(cin, width, 2 if b == 0 else 1)
                self.add_module(f'layer{s + 1}_{b}', block)  # the engine's names, not a ModuleList's
                self.blocks.append(block)
                cin = width
        self.bn2 = nn.BatchNorm2d(cin)
        self.dropout = nn.Dropout(config['dropout'])
        self.fc = nn.Linear(cin * (H // shrink) * (W // shrink), config['embedding'])
        self.features = nn.BatchNorm1d(config['embedding'])

    def forward(self, x):
        """images (N, 3, H, W) in [-1, 1] -> embeddings (N, embedding)"""
        H, W = self.config['input']
        if x.dim() != 4 or tuple(x.shape[1:]) != (3, H, W):
            raise ValueError(f'IResNet: expected images of shape [N, 3, {H}, {W}], got {list(x.shape)}')
        h = self.prelu(self.bn1(self.conv1(x)))  # (N, stem, H/t, W/t)
        for block in self.blocks:
            h = block(h)  # (N, w_last, H/16t, W/16t)
        h = torch.flatten(self.dropout(self.bn2(h)), 1)  # (N, w_last * H/16t * W/16t)
        return self.features(self.fc(h))  # (N, embedding)


class ArcFaceHead(nn.Module):
    """Class centres W (K, embedding); cosine(f) = <f / |f|, W_k / |W_k|>  (B, K)."""

    def __init__(self, classes, embedding):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(classes, embedding))
        nn.init.xavier_uniform_(self.weight)  # U(-b, b), b = sqrt(6 / (K + embedding))

    def forward(self, f):
        return F.linear(F.normalize(f), F.normalize(self.weight))


class Recognizer(nn.Module):
    """Backbone + ArcFace head; forward gives the cosines (B, K) the losses take."""

    def __init__(self, backbone_config, classes):
        super().__init__()
        self.backbone = IResNet(backbone_config)
        self.head = ArcFaceHead(classes, backbone_config['embedding'])

    def forward(self, x):
        return self.head(self.backbone(x))


# ---------------------------------------------------------------- the weights file

def backbone_problem(c):
    """What is wrong with a backbone config (recognizer-weights.ts backboneProblem), or None."""
    if not isinstance(c, dict):
        return 'is missing (expected an IResNetConfig object)'
    pos = lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0
    ints = lambda v, n=None: isinstance(v, list) and len(v) > 0 and (n is None or len(v) == n) and all(map(pos, v))
    checks = [('input', ints(c.get('input'), 2)), ('blocks', ints(c.get('blocks'))), ('widths', ints(c.get('widths'))),
              ('stem', pos(c.get('stem'))), ('embedding', pos(c.get('embedding'))),
              ('dropout', isinstance(c.get('dropout'), (int, float)) and 0 <= c['dropout'] < 1)]
    for name, ok in checks:
        if not ok:
            return f'has a bad "{name}": {json.dumps(c.get(name))}' if name in c else f'lacks "{name}"'
    if 'stemStride' in c and not pos(c['stemStride']):
        return f'has a bad "stemStride": {json.dumps(c["stemStride"])}'
    if len(c['blocks']) != len(c['widths']):
        return f'has {len(c["blocks"])} "blocks" but {len(c["widths"])} "widths"'
    return None


def engine_state(backbone):
    """The backbone's state dict as the engine names it: no num_batches_tracked."""
    return {k: v for k, v in backbone.state_dict().items() if not k.endswith('num_batches_tracked')}


def save_recognizer(path, backbone, preprocess, info=None, half=False):
    """Writes the backbone as our recognizer file (`synface eval --weights path` reads it)."""
    state = engine_state(backbone)
    bad = [k for k, v in state.items() if not torch.isfinite(v).all()]
    if bad:
        raise ValueError(f'{path}: not written: {", ".join(bad)} hold NaN or infinite values (did the training diverge?)')
    meta = {'format': FORMAT, 'backbone': json.dumps(backbone.config, separators=(',', ':')),
            'preprocess': json.dumps(preprocess, separators=(',', ':')),
            'info': json.dumps(info or {}, separators=(',', ':'))}
    safetensors.save(path, state, meta, half=half)


def load_recognizer(path):
    """A recognizer file -> (backbone in eval mode, {backbone, preprocess, info}); errors name the file."""
    tensors, meta, _ = safetensors.load(path)
    if meta.get('format') != FORMAT:
        raise ValueError(f'{path}: not a recognizer file (format {meta.get("format")!r}, expected {FORMAT!r})')
    try:
        file = {k: json.loads(meta.get(k, 'null')) for k in ('backbone', 'preprocess', 'info')}
    except json.JSONDecodeError as e:
        raise ValueError(f'{path}: metadata is not JSON: {e}') from None
    problem = backbone_problem(file['backbone'])
    if problem:
        raise ValueError(f'{path}: metadata "backbone" {problem}')
    p = file['preprocess']
    if not (isinstance(p, dict) and all(isinstance(p.get(k), list) and len(p[k]) == 2 for k in ('crop', 'out'))):
        raise ValueError(f'{path}: metadata "preprocess" is not {{crop: [h, w], out: [H, W]}}: {p!r}')
    backbone = IResNet(file['backbone'])
    own = engine_state(backbone)
    missing, unexpected = sorted(set(own) - set(tensors)), sorted(set(tensors) - set(own))
    if missing or unexpected:
        raise ValueError(f'{path}: missing keys {missing}, unexpected keys {unexpected}')
    for k, v in tensors.items():
        if tuple(v.shape) != tuple(own[k].shape):
            raise ValueError(f'{path}: tensor {k!r} is {list(v.shape)}, the backbone wants {list(own[k].shape)}')
        if not torch.isfinite(v).all():
            raise ValueError(f'{path}: tensor {k!r} holds NaN or infinite values')
    backbone.load_state_dict(tensors, strict=False)  # only num_batches_tracked stays as built
    return backbone.eval(), file
