# SPDX-License-Identifier: GPL-3.0-or-later
"""What each `beamalign` subcommand runs and prints; cli.py only parses and calls these.

Each function takes the parsed options (an argparse.Namespace or anything with the same
attributes) and returns the process exit status. Errors are raised as the package's
FileFormatError / ValueError / OSError; the command line turns them into one line.
"""
import shlex
import signal
import sys

import numpy as np
from tqdm import tqdm

from . import bench, channels, codebooks, training
from . import protocol as proto
from .align.self_calibration import online_calibration_run, residual_phase_rms
from .arrays.calibration import Calibration, save_calibration
from .arrays.impairments import ElementImpairment
from .bench.ota import emulated_ota, run_trials
from .chanest import eda_grouping, pattern
from .chanest.eda import default_srl_bound, save_grouping
from .fileio import write_json_atomic
from .flowgraphs import alignment, channel_estimation, direction_finding, prediction, rsrp_sweep
from .hw.chamber import (
    FlowgraphChamber,
    calibration_run,
    plot_phase_errors,
    rms_error_deg,
    simulated_array_run,
    uhd_front_end,
)
from .hw.link import bs_node, ue_node
from .plotting import save, subplots
from .predict import probe_system, sector_system, sites
from .predict.datasets import resolve
from .predict.predictor import FusionBeamPredictor, held_out_users, load_predictor
from .predict.raytrace import trace_site, write_stat
from .scaleout import Engine


def _db(power):
    return 10 * np.log10(max(float(power), 1e-30))


def _bar(quiet, desc):
    """A tqdm wrapper for loops, or None when quiet."""
    return None if quiet else (lambda iterable: tqdm(iterable, desc=desc))


def sweep(opts):
    tb = rsrp_sweep(nt=opts.nt, nr=opts.nr, snr_db=opts.snr_db, num_paths=opts.paths,
                    profile=opts.profile, dwell=opts.dwell, seed=opts.seed)
    result = tb.run_sweep(timeout=opts.timeout)
    info = tb.channel_info.messages[-1]
    h = np.asarray(info[proto.H]).reshape(opts.nr, opts.nt)
    angles = codebooks.dft_angles(opts.nt)
    true_power = np.abs(codebooks.dft_codebook(opts.nt) @ h[0]) ** 2  # |w^H H f|^2, w = e_0
    powers = np.asarray(result[proto.POWERS])
    strongest = int(np.argmax(np.abs(info[proto.GAINS])))
    u_true = float(info[proto.U_TX][strongest])
    best = int(result[proto.BEAM_ID])
    if not opts.quiet:
        print(f"Tx sweep of the {opts.nt}-beam DFT codebook, {opts.nt}x{opts.nr} simulated "
              f"array, SNR {opts.snr_db:g} dB, {opts.dwell}-sample pilot per beam, Rx antenna 0")
        print(" beam        u   measured dB   true dB")
        for p in range(opts.nt):
            mark = "  <- best" if p == best else ""
            print(f"{p:5d}  {angles[p]:+.4f}   {_db(powers[p]):10.2f}  "
                  f"{_db(true_power[p]):8.2f}{mark}")
    print(f"best beam {best}: u = {angles[best]:+.4f}, measured {_db(powers[best]):.2f} dB; "
          f"true AoD of the strongest path u = {u_true:+.4f} "
          f"(nearest codeword {int(np.argmin(np.abs(angles - u_true)))})")
    if opts.json:
        write_json_atomic(opts.json, {
            "best_beam": best, "u_best": float(angles[best]), "u_true": u_true,
            "measured_power": powers.tolist(), "true_power": true_power.tolist()})
    return 0


def align(opts):
    tb = alignment(method=opts.method, nt=opts.nt, nr=opts.nr, snr_db=opts.snr_db,
                   num_paths=opts.paths, profile=opts.profile, dwell=opts.dwell,
                   beam_norm=opts.beam_norm, seed=opts.seed, model=opts.model or "")
    trials = channels.saleh_valenzuela(opts.trials, opts.nt, opts.nr, opts.paths, opts.profile,
                                       rng=opts.seed)
    optimum = channels.optimum_power(trials)
    rows, powers_db = [], []
    tb.start()
    try:
        for i in range(opts.trials):
            result = tb.align(trials[i], timeout=opts.timeout)
            opt_db = 10 * np.log10(optimum[i])
            if result.get(proto.FAILED):
                rows.append({"trial": i, "failed": True, "reason": result[proto.REASON]})
                print(f"trial {i:3d}  failed: {result[proto.REASON]}")
                continue
            rows.append({"trial": i, "u_tx": result[proto.U_TX], "u_rx": result[proto.U_RX],
                         "power_db": result[proto.POWER_DB], "optimum_db": float(opt_db),
                         "measurements": result[proto.MEASUREMENTS]})
            powers_db.append(result[proto.POWER_DB])
            if not opts.quiet:
                print(f"trial {i:3d}  u_tx {result[proto.U_TX]:+.4f} "
                      f"(true {trials.u_tx[i, 0]:+.4f})  u_rx {result[proto.U_RX]:+.4f} "
                      f"(true {trials.u_rx[i, 0]:+.4f})  power {result[proto.POWER_DB]:7.2f} dB"
                      f"  optimum {opt_db:6.2f} dB  {result[proto.MEASUREMENTS]} measurements")
    finally:
        tb.stop()
        tb.wait()
    if not powers_db:
        raise ValueError(f"align: all {opts.trials} alignments failed")
    mean_db = 10 * np.log10(np.mean([10 ** (power / 10) for power in powers_db]))
    failed = opts.trials - len(powers_db)
    print(f"{opts.method}: mean power {mean_db:.2f} dB vs known-angle optimum "
          f"{10 * np.log10(np.mean(optimum)):.2f} dB over {len(powers_db)} trials"
          f"{f' ({failed} failed)' if failed else ''}, {tb.aligner.strategy.measurements} "
          "measurements each")
    if opts.json:
        write_json_atomic(opts.json, {"method": opts.method, "trials": rows,
                                      "mean_power_db": float(mean_db)})
    return 0


def train(opts):
    path = training.run_training(opts.model, out=opts.out, seed=opts.seed, quiet=opts.quiet,
                                 **{key: getattr(opts, key) for key in
                                    ("epochs", "steps", "batch", "ae_samples", "nt", "nr",
                                     "dataset", "probes", "num_probes", "noise_bits",
                                     "noise_width", "split", "method", "beams", "snr_db",
                                     "calibration", "array_seed", "nproc", "master", "nnodes",
                                     "node_rank")})
    if opts.node_rank:  # the weights are written by node 0 only
        print(f"node {opts.node_rank}: training done")
    else:
        print(f"wrote {path} and {path.with_suffix('.json')}")
    return 0


def calibrate(opts):
    if opts.online == opts.chamber:
        raise ValueError("choose one of --online and --chamber")
    return _calibrate_online(opts) if opts.online else _calibrate_chamber(opts)


def _calibrate_chamber(opts):
    start, stop, step = opts.angles
    angles = np.round(np.arange(start, stop + step / 2, step), 6)
    progress = _bar(opts.quiet, "angles")
    if opts.source == "uhd":
        chamber = FlowgraphChamber(uhd_front_end(opts.device_args, opts.antennas,
                                                 opts.subcarriers), opts.antennas,
                                   opts.subcarriers)
        table = calibration_run(opts.positioner, angles, chamber.measure, opts.state, opts.out,
                                opts.array_id, progress)
    else:
        table, truth = simulated_array_run(opts.positioner, angles, opts.antennas,
                                           opts.subcarriers, opts.snr_db, opts.seed,
                                           opts.state, opts.out, opts.array_id, progress,
                                           opts.source)
        print(f"measured {len(angles)} angles x {opts.antennas} antennas x "
              f"{opts.subcarriers} subcarriers ({opts.source}); RMS error against the "
              f"simulated truth {rms_error_deg(table, truth):.2f} deg")
    print(f"wrote {opts.out}")
    if opts.png:
        plot_phase_errors(table, opts.png)
    return 0


def _calibrate_online(opts):
    """Alg. 2 of seed 000 on a simulated impaired link; writes tx and rx calibration files."""

    bar = None if opts.quiet else tqdm(total=opts.updates, desc="updates")

    def tick(step):
        if bar:
            bar.update()
            bar.set_postfix(loss=f"{step.loss_after:.5f}")

    def report(update, step, power_db):
        line = f"update {update:5d}: loss {step.loss_after:.5f}, power {power_db:.3f} dB"
        tqdm.write(line) if bar else print(line)

    run = online_calibration_run(opts.nt, opts.nr, opts.snr_db, opts.updates, opts.batch,
                                 opts.sigma_d, opts.sigma_p, opts.eval_trials, opts.seed,
                                 report_every=opts.report_every, on_report=report,
                                 on_update=tick)
    if bar:
        bar.close()
    print(f"{opts.updates} updates of {opts.batch} alignments at {opts.snr_db:g} dB: "
          f"power {run.before_db:.3f} dB uncalibrated -> {run.after_db:.3f} dB calibrated "
          f"({opts.eval_trials} held-out channels)")
    for side in ("tx", "rx"):
        estimate, truth = run.estimates[side], run.truth[side]
        none = ElementImpairment.ideal(truth.num_elements)
        print(f"{side}: residual phase RMS "
              f"{np.degrees(residual_phase_rms(estimate, truth)):.2f} deg (uncalibrated "
              f"{np.degrees(residual_phase_rms(none, truth)):.2f} deg)")
        path = f"{opts.out}.{side}.json"
        save_calibration(path, Calibration(
            opts.array_id, side, estimate.phase_rad, estimate.position_wl,
            source_run=f"online seed {opts.seed} snr {opts.snr_db:g} dB"))
        print(f"wrote {path}")
    return 0


def eda(opts):
    srl_bound = default_srl_bound(opts.antennas, opts.groups, opts.snr_db) \
        if opts.srl_bound is None else opts.srl_bound if opts.srl_bound > 0 else None
    result = eda_grouping(np.arange(opts.antennas), opts.groups, opts.population,
                          opts.generations, snr_db=opts.snr_db, srl_bound=srl_bound,
                          rng=opts.seed, progress=_bar(opts.quiet, "eda"))
    print(f"max group ISL: {result.initial_max_isl:.3f} (interleaved) -> {result.max_isl:.3f} "
          f"after {opts.generations} generations")
    for g, (members, limit) in enumerate(zip(result.groups, result.srls)):
        print(f"group {g}: antennas {members.tolist()}  SRL {limit:.4f}")
    if opts.json:
        save_grouping(opts.json, result, opts.antennas, opts.snr_db, srl_bound, opts.seed)
    if opts.png:
        _plot_grouping(result, opts.png)
    return 0


def _plot_grouping(result, path):
    fig, (left, right) = subplots(1, 2, figsize=(10, 4))
    left.plot(np.arange(1, len(result.history) + 1), result.history)
    left.set_xlabel("generation")
    left.set_ylabel("max group ISL")
    left.grid(True, alpha=0.3)
    u = np.linspace(-1, 1, 2001)
    for g, members in enumerate(result.groups):
        weights = np.ones(len(members)) / np.sqrt(len(members))
        right.plot(u, 10 * np.log10(np.maximum(pattern(weights, members, u), 1e-6)),
                   label=f"group {g}")
    right.set_xlabel("u")
    right.set_ylabel("pattern (dB)")
    right.set_ylim(-30, 10)
    right.legend()
    save(fig, path)


def chanest(opts):
    tb = channel_estimation(method=opts.method, beam=opts.beam, grouping=opts.grouping or "",
                            num_pilots=opts.pilots, snr_db=opts.snr_db, num_paths=opts.paths,
                            seed=opts.seed, threads=opts.threads,
                            element_pattern=opts.element_pattern)
    messages = tb.estimates()
    if not messages:
        raise ValueError("chanest: the estimator published nothing")
    for msg in messages if not opts.quiet else ():
        strongest = msg[proto.PATHS][0] if msg[proto.PATHS] else None
        where = (f"strongest path u_h {strongest['u_h']:+.4f} u_v {strongest['u_v']:+.4f}"
                 if strongest else "no path")
        print(f"pilot {msg['pilot']:3d}  NMSE {msg['nmse_db']:7.2f} dB  {len(msg['paths'])} "
              f"paths, {where}  {1e3 * msg['cpu_s']:.1f} ms")
    nmse = np.array([10 ** (msg[proto.NMSE_DB] / 10) for msg in messages])
    cpu = np.array([msg[proto.CPU_S] for msg in messages])
    print(f"{opts.method} with {opts.beam} beams at {opts.snr_db:g} dB, L = {opts.paths}: "
          f"NMSE {_db(nmse.mean()):.2f} dB over {len(messages)} pilots "
          f"(median {np.median(10 * np.log10(nmse)):.2f} dB), {1e3 * cpu.mean():.2f} ms "
          "per estimate")
    if opts.json:
        write_json_atomic(opts.json, {
            "method": opts.method, "beam": opts.beam, "snr_db": opts.snr_db,
            "paths": opts.paths, "nmse_db": _db(nmse.mean()),
            "pilots": [{"pilot": int(m[proto.PILOT]), "nmse_db": float(m[proto.NMSE_DB]),
                        "cpu_s": float(m[proto.CPU_S])} for m in messages]})
    return 0


def doa(opts):
    tb = direction_finding(method=opts.method, angle_deg=opts.angle_deg, snr_db=opts.snr_db,
                           rho=opts.rho, num_nlos=opts.nlos, symbols=opts.symbols,
                           seed=opts.seed)
    messages = tb.estimates()
    if not messages:
        raise ValueError("doa: the estimator published nothing")
    errors = np.array([m[proto.ANGLE_DEG] - opts.angle_deg for m in messages])
    for i, msg in enumerate(messages if not opts.quiet else ()):
        print(f"symbol {i:3d}  AoA {msg['angle_deg']:+7.2f} deg (true {opts.angle_deg:+.2f}, "
              f"error {errors[i]:+.2f})")
    print(f"{opts.method} at {opts.snr_db:g} dB, rho {opts.rho:g}, {opts.nlos} NLoS: "
          f"RMSE {np.sqrt(np.mean(errors ** 2)):.3f} deg over {len(messages)} SRS symbols "
          f"(true AoA {opts.angle_deg:+.2f} deg)")
    if opts.json:
        write_json_atomic(opts.json, {"method": opts.method, "angle_deg": opts.angle_deg,
                                      "snr_db": opts.snr_db, "rho": opts.rho,
                                      "estimates_deg": [float(m[proto.ANGLE_DEG])
                                                        for m in messages]})
    return 0


BENCH_OPTIONS = ("trials", "seed", "samples", "dwells", "repeats", "model", "method", "grouping",
                 "turbo_trials", "nt", "nr", "paths", "profile", "nx", "nz", "m",
                 "array_seed", "calibration", "dataset", "epochs", "seeds", "split", "beams",
                 "snr_db", "methods", "mod_dnn_model", "doa_cnn_model", "subcarriers",
                 "chunk_trials", "groups", "nlos_power", "sparsity", "arrays")


def run_bench(opts):
    bench.run_experiment(opts.experiment, {key: getattr(opts, key) for key in BENCH_OPTIONS},
                         json_path=opts.json, png_path=opts.png,
                         progress=None if opts.quiet else print, workers=opts.workers,
                         scheduler=opts.scheduler)
    return 0


def node(opts):
    radio = {} if opts.source == "link" else dict(
        device_args=opts.device_args, samp_rate=opts.samp_rate, center_freq=opts.center_freq,
        **({} if opts.gain is None else dict(gain=opts.gain)))
    if opts.role == "bs":
        tb = bs_node(opts.link, opts.nt, **radio)
        # Blocked before the flowgraph's threads start, so they inherit the mask and the
        # signal reaches sigwait below: the flowgraph then stops cleanly.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        tb.start()
        print(f"base station on {opts.link}: {opts.nt} elements; Ctrl-C ends it", flush=True)
        try:
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
        finally:
            tb.stop()
            tb.wait()
        return 0
    trials = channels.saleh_valenzuela(opts.trials, opts.nt, opts.nr, 3, "los", rng=opts.seed)
    ue = ue_node(opts.link, opts.method, opts.nt, opts.nr, opts.snr_db, seed=opts.seed,
                 loss=opts.loss, **radio)
    results, seconds = run_trials(ue, trials)
    if radio:  # over the air: no known channel, so angles and the strongest probe
        for i, r in enumerate(results):
            print(f"alignment {i}: " + (f"failed: {r[proto.REASON]}" if r[proto.FAILED] else
                  f"u_tx {r[proto.U_TX]:+.4f} u_rx {r[proto.U_RX]:+.4f}, strongest probe "
                  f"{max(r[proto.PROBES_DBM]):.1f} dBm"))
        return 0
    good = [r[proto.POWER_DB] for r in results if not r[proto.FAILED]]
    if not good:
        raise ValueError(f"node ue: all {opts.trials} alignments failed (is the base "
                         f"station running at {opts.link}?)")
    print(f"{opts.method} over {opts.link}: mean power "
          f"{10 * np.log10(np.mean(10 ** (np.array(good) / 10))):.2f} dB over {len(good)} "
          f"alignments ({opts.trials - len(good)} failed), {np.mean(seconds) * 1e3:.1f} ms each")
    return 0


def ota(opts):
    report = emulated_ota(opts.trials, opts.seed, opts.method, snr_db=opts.snr_db,
                          loss=opts.loss, link=opts.link)
    for row in report.rows:
        extra = f" (optimum {row['optimum_db']:.2f} dB)" if "optimum_db" in row else ""
        value = "n/a" if row["value"] is None else f"{row['value']:.4g}"
        print(f"{row['link']:12s} {row['metric']:10s} {value}{extra}")
    report.write(opts.json)
    return 0


def dataset(opts):
    command = "beamalign " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    if opts.source == "rt":
        with Engine(opts.workers, opts.scheduler) as engine:
            path, site = trace_site(opts.out, opts.scene, opts.freq, opts.bs, opts.radius,
                                    opts.spacing, opts.max_depth, opts.samples,
                                    opts.map_samples, opts.paths, opts.batch, opts.seed,
                                    opts.quiet, command, opts.bs_height, engine)
    else:
        if opts.workers is not None or opts.scheduler is not None:
            raise ValueError("dataset stat runs in one process (it takes about a second): "
                             "--workers and --scheduler are for dataset rt")
        path, site = write_stat(opts.out, command, radius=opts.radius, spacing=opts.spacing,
                                frequency=opts.freq, paths=opts.paths, seed=opts.seed)
    print(f"wrote {path}: {sites.describe(site)}; {site.meta['wall_s']} s")
    return 0


def predict(opts):
    predictor = load_predictor(opts.model, opts.bits)
    if isinstance(predictor, FusionBeamPredictor):
        return _predict_fusion(opts, predictor)
    site = sites.load_site(resolve(opts.dataset))
    sc = probe_system.site_channels(site, predictor.system)
    held_out = held_out_users(predictor.sidecar, site, sc.users)
    rng = np.random.default_rng(opts.seed)
    users = np.sort(rng.choice(held_out, size=min(opts.users, len(held_out)), replace=False))
    if opts.flowgraph:
        tb = prediction(opts.dataset, users, opts.model, opts.bits, opts.top_k, seed=opts.seed)
        tb.start()
        try:
            outcomes = []
            for _ in users:
                user, result = tb.predict_next(opts.timeout)
                if result[proto.FAILED]:
                    raise RuntimeError(f"prediction failed: {result[proto.REASON]}")
                outcomes.append((user, result[proto.BEAM_ID], result[proto.MEASUREMENTS]))
        finally:
            tb.stop()
            tb.wait()
    else:
        test = sc.subset(users)
        chosen, _, measurements = probe_system.algorithm1(
            test, predictor.probe_weights, predictor.scores, opts.top_k, rng, opts.bits)
        outcomes = [(u, int(c), measurements) for u, c in zip(users, chosen)]
    if not opts.quiet:
        print(" user  chosen  best  loss dB  measurements")
    losses = []
    for user, chosen, measurements in outcomes:
        best = int(sc.best[user])
        loss = float(probe_system.snr_loss_db(sc.subset([user]), np.array([chosen]))[0])
        losses.append(loss)
        if not opts.quiet:
            print(f"{user:5d}  {chosen:6d}  {best:4d}  {loss:7.2f}  {measurements:12d}")
    losses = np.array(losses)
    print(f"{len(losses)} held-out users: best beam chosen {100 * np.mean(losses == 0):.1f} %, "
          f"SNR loss mean {losses.mean():.2f} dB, p90 {np.percentile(losses, 90):.2f} dB")
    if opts.json:
        write_json_atomic(opts.json, {"users": [int(u) for u, _, _ in outcomes],
                                      "chosen": [int(c) for _, c, _ in outcomes],
                                      "snr_loss_db": losses.tolist()})
    return 0


def _predict_fusion(opts, predictor):
    """Seed 002's predictor on held-out users: top-1 beam from 16 probe RSRPs, and the
    position estimate beside the true one."""
    name = "munich-3p5ghz" if opts.dataset == "munich-30ghz" else opts.dataset
    site = sites.load_site(resolve(name))
    data = sector_system.sector_data(site, predictor.system, name)
    held = held_out_users(predictor.sidecar, site, data.users)
    rng = np.random.default_rng(opts.seed)
    test = data.subset(np.sort(rng.choice(held, size=min(opts.users, len(held)),
                                          replace=False)))
    rsrp = 10 * np.log10(sector_system.noisy_probe_rsrp(test, opts.snr_db, rng))
    scores = predictor.scores(rsrp, test.sector)
    chosen = np.argmax(scores, axis=1)
    beams = predictor.beams
    best, loss = test.best(beams), sector_system.loss_db(test, beams, chosen)
    error = np.linalg.norm(predictor.last_position - test.position, axis=1)
    if not opts.quiet:
        print(" user sector  chosen  best  loss dB   position (m)      estimate (m)")
        for i in range(len(test)):
            print(f"{test.users[i]:5d} {test.sector[i]:6d}  {chosen[i]:6d}  {best[i]:4d}  "
                  f"{loss[i]:7.2f}   ({test.position[i, 0]:6.1f}, {test.position[i, 1]:6.1f})"
                  f"  ({predictor.last_position[i, 0]:6.1f}, {predictor.last_position[i, 1]:6.1f})")
    print(f"{len(test)} held-out users of {name} at {opts.snr_db:g} dB, 16 -> {beams}: best "
          f"beam chosen {100 * np.mean(chosen == best):.1f} %, SNR loss mean {loss.mean():.2f} "
          f"dB; position error median {np.median(error):.1f} m")
    return 0
