"""
Trains the recognizer on a synthetic dataset with DistributedDataParallel, one process per
device, started by torchrun (tools/torch/train.py is the script it runs), or as one process
without it:

    torchrun --standalone --nproc_per_node 2 tools/torch/train.py --data DIR --out OUT \\
        [--real LFWDIR --real-list PEOPLE --real-people M] [--preset small] [--epochs 20 | --steps N] [--batch 64]

(Debian 12's torch 1.13 under Python 3.11 needs `torchrun --redirects 1 --tee 1 ...`: its
default --redirects 0 fails there, as 3.11 no longer yields a flag enum's zero member.)

One step, on every process r of the W:
    (x_S, a, b, w_a, w_b)   B / W synthetic images of r's DistributedSampler shard, augmented
    x = psi x_S + (1 - psi) x_R     domain mixup with a real batch (labels r past the synthetic
                                    classes), psi from {0, 0.05, ..., 1}, the same on every process
                                    (drawn from seed and step); psi = 1 without --real
    cos = head(backbone(x))         (B / W, K), K = synthetic identities + real people
    loss = synface_loss(cos, ...)   the mixed-margin loss (loss.py), margin warmed up from 0
    backward: DDP averages the gradients over the processes; SGD (momentum, weight decay on all)
BatchNorm uses each process's own B / W images (no SyncBatchNorm); DDP copies rank 0's running
statistics to all at every forward, and rank 0's are written.

Written to OUT by rank 0: log.jsonl (step, loss averaged over the processes, lr, margin, psi,
images/s), checkpoint.pt every --ckpt-every steps, at --stop-after and at the end (each time
after checking that every process holds the same finite weights), and recognizer.safetensors,
the backbone in the engine's format: `synface eval --weights OUT/recognizer.safetensors` reads it.
--resume continues checkpoint.pt with the same settings; the number of processes may change
(the global batch stays). Not bit-exact: the augmentation draws restart from a new seed, and
the data order is DistributedSampler's for the new number of processes.
"""
import argparse
import json
import math
import os
import socket
import sys
import time

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, Subset

from .data import RealFaces, SyntheticFaces, read_people, train_transform
from .loss import synface_loss
from .model import PREPROCESS, PRESETS, Recognizer, save_recognizer

# what a resume must keep; the number of processes may change (the global batch stays)
SETTINGS = ('data', 'real', 'real_list', 'real_people', 'backbone', 'preprocess', 'batch', 'classes', 'steps', 'seed')


def parse(argv):
    p = argparse.ArgumentParser(prog='torchrun ... tools/torch/train.py', description=__doc__.split('\n\n')[0])
    a = p.add_argument
    a('--data', required=True, help='synthetic dataset folder (synface synthesize: id_XXXXX/*.png, labels.jsonl)')
    a('--out', required=True, help='run folder: log.jsonl, checkpoint.pt, recognizer.safetensors')
    a('--real', help='domain mixup: an LFW-layout folder of real faces (DIR/images/<Name>/*.jpg, or the folder '
      'of the person folders)')
    a('--real-list', help="an LFW people file naming the real people to use, e.g. weights/split/train-people.txt "
      '(leaves the validation people out)')
    a('--real-people', type=int, help='use the first M of those people (sorted by name)')
    a('--preset', choices=sorted(PRESETS), default='small', help='backbone and preprocessing (src/train/presets.ts)')
    a('--backbone', help='backbone config as JSON (overrides the preset), e.g. {"input":[64,64],"stemStride":2,...}')
    a('--preprocess', help='preprocessing as JSON {"crop":[h,w],"out":[H,W]} (default: the preset\'s)')
    a('--epochs', type=float, default=20, help='epochs over the synthetic images (default 20)')
    a('--steps', type=int, help='optimizer steps (instead of --epochs)')
    a('--batch', type=int, default=64, help='global batch, split evenly over the processes (default 64)')
    a('--lr', type=float, default=0.1, help='learning rate (default 0.1; the paper: 0.1 at batch 512)')
    a('--schedule', choices=['poly', 'multistep'], default='poly',
      help="poly: linear warm-up from 0.1 lr, then (1 - progress)^2; multistep: x0.1 at 24/40, 30/40, 36/40 of the steps")
    a('--warmup-steps', type=int, default=50, help='poly warm-up steps (default 50)')
    a('--momentum', type=float, default=0.9)
    a('--weight-decay', type=float, default=5e-4)
    a('--s', type=float, default=30.0, help='ArcFace scale (SynFace: 30)')
    a('--m', type=float, default=0.5, help='ArcFace margin (SynFace: 0.5)')
    a('--margin-warmup-epochs', type=float, default=3, help='margin from 0 to m over these epochs (default 3)')
    a('--seed', type=int, default=0)
    a('--workers', type=int, default=2, help='DataLoader workers per process (default 2)')
    a('--backend', help='torch.distributed backend (default: nccl with CUDA, else gloo)')
    a('--log-every', type=int, default=10)
    a('--ckpt-every', type=int, default=500)
    a('--resume', action='store_true', help='continue OUT/checkpoint.pt')
    a('--half', action='store_true', help='write recognizer.safetensors in F16 (half the bytes, ~3 significant digits)')
    a('--stop-after', type=int, help='end this session after that step, with a checkpoint (continue with --resume)')
    return p.parse_args(argv)


def lr_at(args, step, steps):
    if args.schedule == 'multistep':
        return args.lr * 0.1 ** sum(step >= round(f * steps) for f in (24 / 40, 30 / 40, 36 / 40))
    warm = args.warmup_steps if args.warmup_steps <= steps else steps // 10  # as recognizer-trainer.ts
    if step < warm:
        return args.lr * (0.1 + 0.9 * step / warm)
    return args.lr * (1 - (step - warm) / max(1, steps - warm)) ** 2 if step < steps else 0.0


def psi_at(seed, step):
    """Domain mixup's psi for a step: k / 20, k uniform in 0..20, from (seed, step) alone."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + step)
    return int(torch.randint(0, 21, (1,), generator=g)) / 20


def batches(dataset, world, rank, per_rank, seed, start, workers):
    """Endless batches of this process's shard, epoch after epoch (DistributedSampler's order
    for epoch e), from global step `start` on; yields (epoch, batch)."""
    per_epoch = len(dataset) // world // per_rank
    if per_epoch < 1:
        raise ValueError(f'{len(dataset)} images cannot fill one step of {per_rank} images on each of '
                         f'{world} processes')
    epoch, skip = divmod(start, per_epoch)
    while True:
        sampler = DistributedSampler(dataset, world, rank, shuffle=True, seed=seed, drop_last=True)
        sampler.set_epoch(epoch)
        order = list(sampler)[skip * per_rank:]
        loader = DataLoader(Subset(dataset, order), batch_size=per_rank, num_workers=workers, drop_last=True)
        for batch in loader:
            yield epoch, batch
        epoch, skip = epoch + 1, 0


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def save_atomic(obj, path):
    tmp = f'{path}.tmp-{os.getpid()}'
    torch.save(obj, tmp)
    os.replace(tmp, path)


def weights_agree(model, step):
    """Every process must hold rank 0's weights (DDP's averaged gradients, identical steps), all finite."""
    flat = torch.cat([p.detach().flatten() for p in model.parameters()])
    if not torch.isfinite(flat).all():
        raise SystemExit(f'train: weights NaN or infinite at step {step}: diverged (the last checkpoint is kept)')
    ref = flat.clone()
    dist.broadcast(ref, 0)
    diff = (flat - ref).abs().max()
    dist.all_reduce(diff, op=dist.ReduceOp.MAX)
    if diff.item() != 0:
        raise SystemExit(f'train: the processes hold different weights at step {step} (max difference {diff.item():.3g})')
    return diff.item()


def main(argv=None):
    args = parse(argv)
    backend = args.backend or ('nccl' if torch.cuda.is_available() else 'gloo')
    if 'RANK' not in os.environ:  # run without torchrun: one process
        os.environ.update(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1', MASTER_ADDR='127.0.0.1',
                          MASTER_PORT=str(free_port()))
    dist.init_process_group(backend)
    rank, world = dist.get_rank(), dist.get_world_size()
    local = int(os.environ.get('LOCAL_RANK', 0))
    device = torch.device(f'cuda:{local}') if backend == 'nccl' else torch.device('cpu')
    say = (lambda *m: print(*m, flush=True)) if rank == 0 else (lambda *m: None)
    if args.batch % world:
        raise SystemExit(f'train: --batch {args.batch} does not split evenly over {world} processes')
    per_rank = args.batch // world
    ckpt_path = os.path.join(args.out, 'checkpoint.pt')
    if not args.resume and os.path.exists(ckpt_path):
        raise SystemExit(f'train: {ckpt_path} exists: continue that run with --resume, or choose another --out')
    backbone = json.loads(args.backbone) if args.backbone else PRESETS[args.preset]
    preprocess = json.loads(args.preprocess) if args.preprocess else PREPROCESS[args.preset]

    augment = train_transform(backbone['input'])
    syn = SyntheticFaces(args.data, preprocess, augment)
    names = read_people(args.real_list) if args.real_list else None
    real = RealFaces(args.real, preprocess, augment, syn.classes, args.real_people, names) if args.real else None
    classes = syn.classes + (real.people if real is not None else 0)
    per_epoch = len(syn) // args.batch  # steps per epoch of the global batch
    steps = args.steps or max(1, round(args.epochs * per_epoch))
    margin_warmup = round(args.margin_warmup_epochs * per_epoch)
    settings = {'data': os.path.abspath(args.data), 'real': args.real and os.path.abspath(args.real),
                'real_list': args.real_list and os.path.abspath(args.real_list),
                'real_people': real.people if real is not None else None, 'backbone': backbone,
                'preprocess': preprocess, 'batch': args.batch, 'world': world, 'classes': classes,
                'steps': steps, 'seed': args.seed}

    torch.manual_seed(args.seed)  # the same initial weights everywhere (DDP broadcasts rank 0's anyway)
    model = Recognizer(backbone, classes).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay)
    start, wall = 0, 0.0
    if args.resume:
        ckpt = torch.load(ckpt_path, map_location='cpu')
        changed = [k for k in SETTINGS if ckpt['settings'].get(k) != settings[k]]
        if changed:
            raise SystemExit(f'train: {ckpt_path} was made with other settings: ' +
                             '; '.join(f'{k} {ckpt["settings"].get(k)} -> {settings[k]}' for k in changed))
        model.load_state_dict(ckpt['model'])
        opt.load_state_dict(ckpt['optimizer'])
        start, wall, before = ckpt['step'], ckpt['wall_seconds'], ckpt['settings']['world']
        say(f'resumed {ckpt_path} at step {start}' +
            (f' (made by {before} processes, now {world})' if before != world else ''))
    os.makedirs(args.out, exist_ok=True)
    ddp = DistributedDataParallel(model, device_ids=[local] if backend == 'nccl' else None)
    torch.manual_seed(args.seed * 7919 + 1000 * start + rank)  # this process's augmentation draws
    syn_batches = batches(syn, world, rank, per_rank, args.seed, start, args.workers)
    real_batches = batches(real, world, rank, per_rank, args.seed + 1, start, args.workers) if real is not None else None
    say(f'{len(syn)} synthetic images of {syn.classes} identities' +
        (f', {len(real)} real of {real.people} people' if real is not None else '') +
        f'; {world} processes x {per_rank} images, {steps} steps ({per_epoch} per epoch), backend {backend}')

    log = None
    if rank == 0:  # the log of the steps the checkpoint holds, then this session's
        log_path = os.path.join(args.out, 'log.jsonl')
        kept = open(log_path).readlines() if start and os.path.exists(log_path) else []
        log = open(log_path, 'w')
        log.writelines(line for line in kept if json.loads(line)['step'] <= start)
    t0, seen = time.time(), 0

    ddp.train()
    for step in range(start, steps):
        epoch, (x, a, b, w_a, w_b) = next(syn_batches)  # (B/W, 3, H, W), (B/W) x 4
        psi, r = 1.0, None
        if real is not None:
            psi = psi_at(args.seed, step)
            _, (xr, r) = next(real_batches)
            x, r = psi * x + (1 - psi) * xr, r.to(device)  # domain mixup, in normalized pixels
        lr = lr_at(args, step, steps)
        m = args.m * step / margin_warmup if step < margin_warmup else args.m
        for group in opt.param_groups:
            group['lr'] = lr
        cos = ddp(x.to(device))  # (B/W, K)
        a, b, w_a, w_b = (t.to(device) for t in (a, b, w_a, w_b))
        loss, _ = synface_loss(cos, a, b, w_a, w_b, psi, r, args.s, m)
        opt.zero_grad(set_to_none=True)
        loss.backward()  # DDP: gradients averaged over the processes
        opt.step()
        seen += args.batch
        done = step + 1
        if done % args.log_every == 0 or done == steps:
            mean_loss = loss.detach().clone()
            dist.all_reduce(mean_loss)
            mean_loss = mean_loss.item() / world
            if not math.isfinite(mean_loss):
                raise SystemExit(f'train: the loss is {mean_loss} at step {done}: diverged (the last checkpoint is kept)')
            rate = seen / (time.time() - t0)
            say(f'step {done}/{steps}  epoch {epoch}  loss {mean_loss:.4f}  lr {lr:.4g}  m {m:.3f}  psi {psi:.2f}  '
                f'{rate:.1f} images/s')
            if log:
                log.write(json.dumps({'step': done, 'epoch': epoch, 'loss': mean_loss, 'lr': lr, 'margin': m,
                                      'psi': psi, 'images_per_s': rate}) + '\n')
                log.flush()
        stop = done == args.stop_after
        if done % args.ckpt_every == 0 or done == steps or stop:
            say(f'step {done}: processes agree: max |w_rank - w_0| = {weights_agree(model, done):.3g}')
            if rank == 0:
                save_atomic({'step': done, 'model': model.state_dict(), 'optimizer': opt.state_dict(),
                             'settings': settings, 'wall_seconds': wall + time.time() - t0}, ckpt_path)
            dist.barrier()
        if stop and done < steps:
            say(f'stopped after step {done} (--stop-after): continue with --resume')
            dist.destroy_process_group()
            return

    if rank == 0:
        info = {'trainer': 'synface_torch (tools/torch)', 'torch': torch.__version__, 'command': ' '.join(sys.argv),
                'classes': classes, 'images': len(syn), 'wall_seconds': wall + time.time() - t0,
                **{k: settings[k] for k in ('data', 'real', 'real_list', 'real_people', 'steps', 'batch', 'world', 'seed')}}
        path = os.path.join(args.out, 'recognizer.safetensors')
        save_recognizer(path, model.backbone, preprocess, info, half=args.half)
        say(f'wrote {path}')
    dist.barrier()
    dist.destroy_process_group()
