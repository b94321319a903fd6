"""Peer for training throughput: Trinity's networks rebuilt in PyTorch (CPU, 2 threads), trained on the same
data, shapes and batch size for the same number of samples; prints samples per second per network.

Usage: throughput_torch.py <spec.json>
  spec: {"networks": [{"name", "kind": "fasttext"|"contrastive"|"mlp"|"cnn", "dir", "batch", "epochs", "lr", ...}]}
  Arrays come as little-endian raw files in `dir` (written by bench/throughput.bench.ts).

Each network gets a few untimed warm-up steps (allocator, first-call dispatch), then `epochs` timed epochs
(cut short after MAX_SECONDS), with a fresh shuffle per epoch and Adam with the same linear learning-rate
decay the trainers use. Each network is measured in three thread settings; see SETTINGS.
"""
import json, os, subprocess, sys, time
import numpy as np
import torch
from torch import nn

# 2 threads is the configuration asked for (both cores). On a loaded machine libgomp's spinning workers can
# make it many times slower than 1 thread (seen here: 1,000 against 28,000 samples/s for the voice MLP at
# load average 8) while 2 threads that sleep at once (GOMP_SPINCOUNT=0) were the fastest of all. Trinity is
# to be compared with PyTorch at its best, so each setting runs in its own process (libgomp reads its
# environment once) and the caller takes the fastest.
SETTINGS = {'2 threads': (2, {}), '2 threads, no spin': (2, {'GOMP_SPINCOUNT': '0'}), '1 thread': (1, {})}
WARMUP_STEPS = 20
MAX_SECONDS = 10.0


def arr(d, name, dtype):
    return np.fromfile(f"{d}/{name}", dtype=dtype)


class FastText(nn.Module):
    """nlu `fasttext`: weighted mean of n-gram rows (EmbeddingBag, sparse gradient) -> linear softmax head."""

    def __init__(self, rows, dim, classes):
        super().__init__()
        self.bag = nn.EmbeddingBag(rows, dim, mode='sum', sparse=True)
        nn.init.uniform_(self.bag.weight, -1 / dim, 1 / dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, ids, offsets, weights):
        return self.head(self.bag(ids, offsets, per_sample_weights=weights))


def run_fasttext(s):
    d = s['dir']
    offsets = arr(d, 'offsets.u32', '<u4').astype(np.int64)
    ids = torch.from_numpy(arr(d, 'rows.i32', '<i4').astype(np.int64))
    weights = torch.from_numpy(arr(d, 'weights.f32', '<f4'))
    y = torch.from_numpy(arr(d, 'labels.i32', '<i4').astype(np.int64))
    n = len(y)
    model = FastText(s['rows'], s['dim'], s['classes'])
    # SparseAdam updates only the rows a batch touched, as Trinity's lazy row-wise step does.
    opts = [torch.optim.SparseAdam(list(model.bag.parameters()), lr=s['lr']), torch.optim.Adam(model.head.parameters(), lr=s['lr'])]
    loss_fn = nn.CrossEntropyLoss()

    def batch(order):
        order = order.numpy()
        starts, ends = offsets[order], offsets[order + 1]
        idx = torch.from_numpy(np.concatenate([np.arange(a, b) for a, b in zip(starts, ends)]))
        bag_offsets = torch.from_numpy(np.concatenate([[0], np.cumsum(ends - starts)[:-1]]))
        return ids[idx], bag_offsets, weights[idx]

    def step(order):
        for o in opts:
            o.zero_grad()
        loss = loss_fn(model(*batch(order)), y[order])
        loss.backward()
        for o in opts:
            o.step()

    return train_loop(n, s, opts, step)


def run_contrastive(s):
    """embedding `ngram-bag`: weighted sum of n-gram rows (EmbeddingBag, sparse gradient) + each text's fixed
    part -> unit vectors -> symmetric in-batch InfoNCE (texts shared between pairs masked out of the
    negatives) + gap-weighted pairwise ranking of the cosines; SparseAdam on the rows."""
    d, dim = s['dir'], s['dim']
    offsets = arr(d, 'offsets.u32', '<u4').astype(np.int64)
    ids = torch.from_numpy(arr(d, 'rows.i32', '<i4').astype(np.int64))
    weights = torch.from_numpy(arr(d, 'weights.f32', '<f4'))
    fixed = torch.from_numpy(arr(d, 'fixed.f32', '<f4').reshape(-1, dim))
    a, b = arr(d, 'a.i32', '<i4').astype(np.int64), arr(d, 'b.i32', '<i4').astype(np.int64)
    score = torch.from_numpy(arr(d, 'score.f32', '<f4'))
    positive = ((score >= s['positive_threshold']) | torch.isnan(score)).float()
    bag = nn.EmbeddingBag(s['rows'], dim, mode='sum', sparse=True)
    nn.init.uniform_(bag.weight, -dim ** -0.5, dim ** -0.5)
    opts = [torch.optim.SparseAdam(list(bag.parameters()), lr=s['lr'])]
    scale, lam = s['scale'], s['rank_scale']

    def pooled(texts):
        starts, ends = offsets[texts], offsets[texts + 1]
        idx = torch.from_numpy(np.concatenate([np.arange(x, y) for x, y in zip(starts, ends)]))
        bag_offsets = torch.from_numpy(np.concatenate([[0], np.cumsum(ends - starts)[:-1]]))
        return bag(ids[idx], bag_offsets, weights[idx]) + fixed[torch.from_numpy(texts)]

    def step(order):
        o = order.numpy()
        n = len(o)
        ta, tb = a[o], b[o]
        u = nn.functional.normalize(pooled(np.concatenate([ta, tb])), dim=1)
        ua, ub = u[:n], u[n:]
        A, B = torch.from_numpy(ta), torch.from_numpy(tb)
        shared = (A[:, None] == A[None, :]) | (B[:, None] == B[None, :]) | (A[:, None] == B[None, :]) | (B[:, None] == A[None, :])
        shared.fill_diagonal_(False)
        logits = scale * ua @ ub.T - 1e4 * shared.float()
        cos = (ua * ub).sum(1)
        pos = positive[o]
        per_pair = (torch.logsumexp(logits, 1) + torch.logsumexp(logits, 0)) / 2 - scale * cos
        contrastive = (per_pair * pos).sum() / pos.sum().clamp(min=1)
        sc = score[o]
        gap = torch.nan_to_num(sc[:, None] - sc[None, :], nan=0.0).clamp(min=0)
        rank = (gap * nn.functional.softplus(lam * (cos[None, :] - cos[:, None]))).sum() / gap.sum().clamp(min=1e-6)
        opts[0].zero_grad()
        (contrastive + rank).backward()
        opts[0].step()

    return train_loop(len(a), s, opts, step)


def run_mlp(s):
    d = s['dir']
    x = torch.from_numpy(arr(d, 'x.f32', '<f4').reshape(-1, s['sizes'][0]))
    y = torch.from_numpy(arr(d, 'labels.i32', '<i4').astype(np.int64))
    layers = []
    for i in range(len(s['sizes']) - 1):
        layers.append(nn.Linear(s['sizes'][i], s['sizes'][i + 1]))
        if i + 2 < len(s['sizes']):
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    opts = [torch.optim.Adam(model.parameters(), lr=s['lr'])]
    loss_fn = nn.CrossEntropyLoss()
    noise = s.get('noise', 0.0)

    def step(order):
        xb = x[order]
        # The voice trainer's regulariser: Gaussian noise on the standardised features, fresh each step.
        if noise > 0:
            xb = xb + noise * torch.randn_like(xb)
        opts[0].zero_grad()
        loss_fn(model(xb), y[order]).backward()
        opts[0].step()

    return train_loop(len(y), s, opts, step)


def run_cnn(s):
    d = s['dir']
    h, w, c = s['height'], s['width'], s['channels']
    # Trinity keeps images HWC; PyTorch's convolutions want CHW.
    x = torch.from_numpy(arr(d, 'x.f32', '<f4').reshape(-1, h, w, c)).permute(0, 3, 1, 2).contiguous()
    y = torch.from_numpy(arr(d, 'labels.i32', '<i4').astype(np.int64))
    c1, c2 = s['filters']
    second_pool = min(h, w) // 2 >= 8
    f = 4 if second_pool else 2
    layers = [nn.Conv2d(c, c1, 3, padding=1), nn.MaxPool2d(2), nn.ReLU(), nn.Conv2d(c1, c2, 3, padding=1)]
    layers += [nn.MaxPool2d(2), nn.ReLU()] if second_pool else [nn.ReLU()]
    layers += [nn.Flatten(), nn.Linear((h // f) * (w // f) * c2, s['classes'])]
    model = nn.Sequential(*layers)
    opts = [torch.optim.Adam(model.parameters(), lr=s['lr'])]
    loss_fn = nn.CrossEntropyLoss(label_smoothing=s.get('label_smoothing', 0.0))

    def step(order):
        opts[0].zero_grad()
        loss_fn(model(x[order]), y[order]).backward()
        opts[0].step()

    return train_loop(len(y), s, opts, step)


def train_loop(n, s, opts, step):
    """Warm-up steps untimed, then `epochs` epochs timed, stopping early after MAX_SECONDS (samples so far count)."""
    batch = s['batch']
    total_steps = (s['epochs'] + 1) * ((n + batch - 1) // batch)
    rng = np.random.default_rng(0)
    t = 0

    def one(order):
        nonlocal t
        t += 1
        for o in opts:
            for g in o.param_groups:
                g['lr'] = s['lr'] * max(0.01, 1 - (t - 1) / total_steps)
        step(torch.from_numpy(order))

    warm = rng.permutation(n)
    for start in range(0, min(n, WARMUP_STEPS * batch), batch):
        one(warm[start:start + batch])
    samples = 0
    t0 = time.perf_counter()
    c0 = time.process_time()
    for epoch in range(s['epochs']):
        order = rng.permutation(n)
        for start in range(0, n, batch):
            one(order[start:start + batch])
            samples += len(order[start:start + batch])
            if time.perf_counter() - t0 > MAX_SECONDS:
                break
        else:
            continue
        break
    seconds = time.perf_counter() - t0
    # CPU seconds of all the process's threads: per CPU-second, a loaded machine hardly changes the figure.
    cpu = time.process_time() - c0
    return {"samples": samples, "seconds": seconds, "cpu_seconds": cpu, "samples_per_second": samples / seconds}


RUNNERS = {'fasttext': run_fasttext, 'contrastive': run_contrastive, 'mlp': run_mlp, 'cnn': run_cnn}
with open(sys.argv[1]) as f:
    spec = json.load(f)
if len(sys.argv) > 2:
    # A child: one setting, every network.
    torch.set_num_threads(int(sys.argv[2]))
    out = {}
    for s in spec['networks']:
        torch.manual_seed(0)
        out[s['name']] = RUNNERS[s['kind']](s)
    print(json.dumps(out))
else:
    out = {}
    for setting, (threads, env) in SETTINGS.items():
        child = subprocess.run([sys.executable, __file__, sys.argv[1], str(threads)], env={**os.environ, **env}, capture_output=True, text=True, check=True)
        for name, rate in json.loads(child.stdout.strip().splitlines()[-1]).items():
            out.setdefault(name, {})[setting] = rate
    print(json.dumps({"torch": torch.__version__, "settings": list(SETTINGS), "networks": out}))
