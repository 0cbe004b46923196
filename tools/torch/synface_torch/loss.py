"""
ArcFace logits and SynFace's mixed-margin loss, as src/ops/loss.ts computes them (arcfaceLogits,
synfaceLoss), which follow the official code: ArcMarginProduct in lib/models/metrics.py and
train() in lib/core/functions.py of github.com/haibo-qiu/SynFace.

    Arc(cos, k)  s cos everywhere, and at column k of each row s cos(theta + m) in insightface's
                 safe form: cos(theta + m) = cos cos(m) - sin sin(m), sin = sqrt(clamp(1 - cos^2, 0, 1)),
                 and cos - m sin(pi - m) where cos <= cos(pi - m) (keeps the logit monotonic)
    out  = psi (w_a Arc(cos, a) + w_b Arc(cos, b)) + (1 - psi) Arc(cos, r)        (B, K)
    loss = psi (mean_i w_a,i CE_i(out, a) + mean_i w_b,i CE_i(out, b)) + (1 - psi) mean_i CE_i(out, r)

Identity mixup gives each image (a, w_a = phi) and (b, w_b = 1 - phi); an unmixed image has
b = a and w_b = 0. Domain mixup blends a real image of class r (offset past the synthetic
classes) with weight 1 - psi; psi = 1 (synthetic only) skips the real branch.
The gradient through sin is -cos / max(sin, 1e-4), as the engine's (ARC_SIN_EPS): finite at
cos = +-1, where sqrt's own is infinite. The forward value is untouched.
"""
import math

import torch
import torch.nn.functional as F

ARC_SIN_EPS = 1e-4


def arc_margin(cos, s=30.0, m=0.5):
    """s cos(theta + m) elementwise, in the safe form above."""
    sin0 = torch.sqrt(torch.clamp((1 - cos) * (1 + cos), 0, 1)).detach()
    one_minus = (1 - cos) * (1 + cos)
    # value sin0; derivative d/dcos (1 - cos^2) / (2 max(sin0, eps)) = -cos / max(sin0, eps)
    sin = sin0 + (one_minus - one_minus.detach()) / (2 * sin0.clamp(min=ARC_SIN_EPS))
    phi = cos * math.cos(m) - sin * math.sin(m)
    th, mm = math.cos(math.pi - m), math.sin(math.pi - m) * m
    return s * torch.where(cos > th, phi, cos - mm)


def arcface_logits(cosine, labels, s=30.0, m=0.5):
    """cosine (B, K), labels (B) -> logits (B, K): s cos, with s cos(theta + m) at each row's label."""
    at = F.one_hot(labels.long(), cosine.shape[1]).bool()
    return torch.where(at, arc_margin(cosine, s, m), s * cosine)


def synface_loss(cosine, a, b, w_a, w_b, psi=1.0, r=None, s=30.0, m=0.5):
    """The scalar loss and the mixed logits out (B, K); see the file header."""
    if not 0 <= psi <= 1:
        raise ValueError(f'synface_loss: psi must be in [0, 1], got {psi}')
    if r is None and psi < 1:
        raise ValueError(f'synface_loss: real labels r are needed when psi = {psi} < 1')
    w_a, w_b = w_a.to(cosine.dtype), w_b.to(cosine.dtype)
    out = w_a[:, None] * arcface_logits(cosine, a, s, m) + w_b[:, None] * arcface_logits(cosine, b, s, m)
    if psi < 1:
        out = psi * out + (1 - psi) * arcface_logits(cosine, r, s, m)
    ce = lambda labels: F.cross_entropy(out, labels.long(), reduction='none')  # (B), of the final out
    loss = (w_a * ce(a)).mean() + (w_b * ce(b)).mean()
    if psi < 1:
        loss = psi * loss + (1 - psi) * ce(r).mean()
    return loss, out
