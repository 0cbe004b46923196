#!/usr/bin/env python3
"""
synface_loss (synface_torch/loss.py) on the cases of a fixture made from SynFace's official form
(test/fixtures/synface_loss.json, tools/fixtures/make_fixtures.py), in float32 as training runs:

    python3 tools/torch/check_loss.py test/fixtures/synface_loss.json

Prints one JSON object: per case our loss, logits and the gradient of
L = w_loss loss + sum(w_logits * logits) wrt the cosines, and the largest difference from the
fixture's of each. test/torch.test.ts runs the engine's synfaceLoss on the same inputs and
compares it with these.
"""
import json
import sys

import torch

from synface_torch.loss import synface_loss


def tensor(t, dtype=torch.float32):
    return torch.tensor(t['data'], dtype=torch.int64 if t.get('dtype') == 'i32' else dtype).reshape(t['shape'])


def main(path):
    fixture, out = json.load(open(path)), []
    for c in fixture['cases']:
        x = {k: tensor(v) for k, v in c['inputs'].items()}
        cosine = x['cosine'].requires_grad_()
        p = c['params']
        loss, logits = synface_loss(cosine, x['a'], x['b'], x['wA'], x['wB'], p['psi'], x.get('r'), p['s'], p['m'])
        w = {k: tensor(v) for k, v in c['weights'].items()}
        (w['loss'] * loss + (w['logits'] * logits).sum()).backward()
        ours = {'loss': loss.reshape(-1), 'logits': logits.flatten(), 'grad_cosine': cosine.grad.flatten()}
        ref = {'loss': tensor(c['outputs']['loss']).reshape(-1), 'logits': tensor(c['outputs']['logits']).flatten(),
               'grad_cosine': tensor(c['grads']['cosine']).flatten()}
        out.append({'name': c['name'], **{k: v.tolist() for k, v in ours.items()},
                    'max_diff': {k: (ours[k] - ref[k]).abs().max().item() for k in ours},
                    'max_abs': {k: ref[k].abs().max().item() for k in ours}})
    print(json.dumps({'fixture': path, 'torch': torch.__version__, 'cases': out}))


if __name__ == '__main__':
    main(sys.argv[1])
