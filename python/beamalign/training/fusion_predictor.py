# SPDX-License-Identifier: GPL-3.0-or-later
"""`beamalign train fusion-predictor`: seed 002's predictor and baselines (Sec. IV-7, 8).

Each epoch draws fresh measurement noise at the training SNR (eqs. 14-15). Loss (eq. 21):
0.01 position MSE (coordinates in units of POSITION_SCALE_M) + 0.99 cross entropy on the
best fine beam + LAMBDA_ADV adversarial + LAMBDA_AUTO reconstruction (the paper tunes
the last two without reporting them; ours are recorded in the sidecar). AdamW (lr 5e-4,
weight decay 1e-5), linear warm-up over the first 1/15 of the epochs (the paper's 10 of
150), then ReduceLROnPlateau on validation top-1 (max mode, x0.8 after no 1 % relative
gain for 1/15 of the epochs, cooldown 2, floor 1e-8). The discriminator has its own
AdamW. The weights of the best validation epoch are kept. A tenth of the training users
is held out for validation.
"""
import time

import numpy as np
import torch
import torch.nn.functional as functional
from tqdm import tqdm

from ..models.fusion_predictor import FusionPredictor
from ..models.store import save_model
from ..predict import sector_system, sites
from ..predict.datasets import resolve
from .ddp import World

LAMBDA_POS, LAMBDA_BM, LAMBDA_ADV, LAMBDA_AUTO = 0.01, 0.99, 0.01, 0.1
POSITION_SCALE_M = 200.0
NEAR_MAST_M = 30.0
DEFAULT_SITES = ("munich-3p5ghz",)


def loss_metrics(data, beams, chosen):
    """snr_loss_db (mean), its tail (outage: share losing more than 3 dB;
    snr_loss_p95_db) and snr_loss_far_db (users at least NEAR_MAST_M from the mast)."""
    loss = sector_system.loss_db(data, beams, chosen)
    far = np.linalg.norm(data.position, axis=1) >= NEAR_MAST_M
    return {"snr_loss_db": float(np.mean(loss)), "outage": float(np.mean(loss > 3.0)),
            "snr_loss_p95_db": float(np.percentile(loss, 95)),
            "snr_loss_far_db": float(np.mean(loss[far])) if far.any() else float("nan")}


def evaluate(net, data, beams, snr_db, rng):
    """Held-out metrics: top1, top3, snr_loss_db (mean), its tail (outage: share losing
    more than 3 dB; snr_loss_p95_db) and its mean over users at least NEAR_MAST_M from
    the mast (snr_loss_far_db: steep elevations below it are where the misses gather),
    position error median/p90 (m)."""
    net.eval()
    rsrp = sector_system.noisy_probe_rsrp(data, snr_db, rng)
    scores, position = net.predict(rsrp, data.sector)
    best = data.best(beams)
    order = np.argsort(-scores, axis=1)
    chosen = order[:, 0]
    metrics = {"top1": float(np.mean(chosen == best)),
               "top3": float(np.mean(np.any(order[:, :3] == best[:, None], axis=1))),
               **loss_metrics(data, beams, chosen)}
    if position is not None:
        error = np.linalg.norm(position * POSITION_SCALE_M - data.position, axis=1)
        metrics["position_m"] = float(np.median(error))
        metrics["position_p90_m"] = float(np.percentile(error, 90))
    return metrics


def train_model(data, method="fusion", beams=256, snr_db=20.0, epochs=60, batch=256,
                lr=5e-4, seed=0, quiet=True, initial=None, validation=0.1, world=World()):
    """Trains on `data` (a SectorData); returns (net, validation top-1 per epoch).
    initial: a trained net to fine-tune (few-shot) instead of a fresh one. validation 0:
    every user trains and the last epoch is kept (a few dozen users cannot spare a
    validation set). With a World of several processes, as DDP (training.ddp): the same
    validation users and shuffle on every process, each its share of every global batch
    with its own measurement noise; the discriminator's gradients are averaged by hand
    (it trains outside the predictor's forward). Every process scores the same
    validation set, so the schedule and the epoch kept agree."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(data))
    cut = int(round(len(data) * validation))
    if validation > 0:
        cut = max(1, cut)
    val, train = data.subset(np.sort(order[:cut])), data.subset(np.sort(order[cut:]))
    if world.distributed:
        rng = world.rng(seed)  # this process's measurement noise
    lr = lr * world.lr_scale
    net = initial if initial is not None else FusionPredictor(method, beams)
    model = world.wrap(net)
    discriminator = list(net.discriminator.parameters()) if hasattr(net, "discriminator") else []
    others = [p for n, p in net.named_parameters() if not n.startswith("discriminator.")]
    optimiser = torch.optim.AdamW(others, lr=lr, weight_decay=1e-5)
    d_optimiser = torch.optim.AdamW(discriminator, lr=lr, weight_decay=1e-5) if discriminator else None
    warmup = max(1, epochs // 15)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimiser, mode="max", factor=0.8, patience=max(2, epochs // 15), threshold=0.01,
        threshold_mode="rel", cooldown=2, min_lr=1e-8)
    labels = torch.as_tensor(train.best(beams))
    sectors = torch.as_tensor(train.sector)
    positions = torch.as_tensor(train.position / POSITION_SCALE_M, dtype=torch.float32)
    val_rng_seed = 1_000_000 + seed
    curve, best_state, best_top1 = [], None, -1.0
    for epoch in tqdm(range(epochs), desc=f"fusion-predictor {method}",
                      disable=quiet or not world.leader):
        net.train()
        if epoch < warmup:
            for group in optimiser.param_groups:
                group["lr"] = lr * (epoch + 1) / warmup
        rsrp = torch.as_tensor(sector_system.noisy_probe_rsrp(train, snr_db, rng))
        for pick in world.batches(len(labels), batch, generator):
            out = model(rsrp[pick], sectors[pick])
            loss = LAMBDA_BM * functional.cross_entropy(out["logits"], labels[pick])
            if out["position"] is not None:
                loss = loss + LAMBDA_POS * functional.mse_loss(out["position"], positions[pick])
            if "reconstruction" in out:
                rebuilt, target = out["reconstruction"]
                loss = loss + LAMBDA_AUTO * functional.mse_loss(rebuilt, target.detach())
            if "adversarial" in out:
                generated, enhanced = out["adversarial"]
                verdict = net.discriminator(generated)
                loss = loss + LAMBDA_ADV * functional.binary_cross_entropy_with_logits(
                    verdict, torch.ones_like(verdict))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            if "adversarial" in out:
                real = net.discriminator(enhanced.detach())
                fake = net.discriminator(generated.detach())
                d_loss = (functional.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                          + functional.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
                d_optimiser.zero_grad()
                d_loss.backward()
                world.average_gradients(discriminator)
                d_optimiser.step()
        if len(val) == 0:
            best_state = None
            continue
        top1 = evaluate(net, val, beams, snr_db, np.random.default_rng(val_rng_seed))["top1"]
        curve.append(top1)
        if epoch >= warmup:
            plateau.step(top1)
        if top1 > best_top1:
            best_top1 = top1
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    if best_state is not None:
        net.load_state_dict(best_state)
    net.eval()
    return net, curve


def load_sites(names, system=sector_system.SectorSystem()):
    """SectorData of each named (or file) data set, keyed by name; checks frequency."""
    loaded = {}
    for name in names:
        path = resolve(name)
        site = sites.load_site(path)
        if not 1e9 <= site.frequency <= 10e9:
            raise ValueError(f"{name}: the data set is at {site.frequency / 1e9:g} GHz; seed "
                             "002's scenario is a sub-6 GHz one (make it with --freq 3.5e9)")
        loaded[name] = sector_system.sector_data(site, system, name)
    return loaded


def train(path, dataset=None, seed=0, quiet=False, method="fusion", beams=256, snr_db=20.0,
          epochs=60, batch=256, split="random", world=World()):
    """Trains on the training users (split) of one or more sites; writes the weights."""
    names = [n for n in (dataset or ",".join(DEFAULT_SITES)).split(",") if n]
    loaded = load_sites(names)
    parts, held_out = [], {}
    for name, data in loaded.items():
        train_users, test_users = sites.splits(data.site.subset(data.users), split, seed=0)
        parts.append(data.subset(train_users))
        held_out[name] = len(test_users)
    merged = _concatenate(parts)
    start, cpu_start = time.time(), time.process_time()
    net, curve = train_model(merged, method, beams, snr_db, epochs, batch, seed=seed,
                             quiet=quiet, world=world)
    if not world.leader:
        return path
    training = {
        "command": f"beamalign train fusion-predictor --dataset {','.join(names)} "
                   f"--method {method} --beams {beams} --snr-db {snr_db:g} --epochs {epochs} "
                   f"--batch {batch} --split {split} --seed {seed}" + world.command_options(),
        "parallel": world.record(batch),
        "datasets": [{"name": n, "sha256": sites.dataset_sha256(resolve(n)),
                      "held_out_users": held_out[n]} for n in names],
        "split": split, "split_seed": 0, "system": sector_system.SectorSystem().describe(),
        "snr_db": snr_db, "position_scale_m": POSITION_SCALE_M,
        "loss_weights": {"position": LAMBDA_POS, "beam": LAMBDA_BM,
                         "adversarial": LAMBDA_ADV, "reconstruction": LAMBDA_AUTO},
        "optimiser": {"name": "adamw", "lr": 5e-4, "weight_decay": 1e-5, "batch": batch,
                      "epochs": epochs, "warmup_epochs": max(1, epochs // 15),
                      "plateau": "x0.8, 1 % rel., cooldown 2, min 1e-8"},
        "seed": seed, "torch": torch.__version__,
        "cpu_seconds": round(time.process_time() - cpu_start, 1),
        "wall_seconds": round(time.time() - start, 1),
        "validation_top1_per_epoch": [round(a, 4) for a in curve],
    }
    return save_model(path, net.state_dict(), net.architecture(), training)


def _concatenate(parts):
    first = parts[0]
    return sector_system.SectorData(
        "+".join(p.site_name for p in parts),
        np.concatenate([p.probe_response for p in parts]),
        {b: np.concatenate([p.fine_power[b] for p in parts]) for b in first.fine_power},
        np.concatenate([p.sector for p in parts]), np.concatenate([p.position for p in parts]),
        np.concatenate([p.users for p in parts]), first.system)
