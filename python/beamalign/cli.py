"""The `beamalign` command line (SPEC section 7): parses, then calls the package."""
import argparse
import json
import sys

import numpy as np

from ._version import __version__


def _common(parser):
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON")
    parser.add_argument("--png", metavar="PATH", help="write a figure")
    parser.add_argument("--quiet", action="store_true", help="print only the summary")


def _db(power):
    return 10 * np.log10(max(float(power), 1e-30))


def cmd_sweep(args):
    from . import codebooks
    from .flowgraphs import rsrp_sweep

    tb = rsrp_sweep(nt=args.nt, nr=args.nr, snr_db=args.snr_db, num_paths=args.paths,
                    profile=args.profile, dwell=args.dwell, seed=args.seed)
    result = tb.run_sweep(timeout=args.timeout)
    info = tb.channel_info.messages[-1]
    h = np.asarray(info["h"]).reshape(args.nr, args.nt)
    angles = codebooks.dft_angles(args.nt)
    true_power = np.abs(codebooks.dft_codebook(args.nt) @ h[0]) ** 2  # |w^H H f|^2, w = e_0
    powers = np.asarray(result["powers"])
    strongest = int(np.argmax(np.abs(info["gains"])))
    u_true = float(info["u_tx"][strongest])
    best = int(result["beam_id"])
    if not args.quiet:
        print(f"Tx sweep of the {args.nt}-beam DFT codebook, {args.nt}x{args.nr} simulated array, "
              f"SNR {args.snr_db:g} dB, {args.dwell}-sample pilot per beam, Rx antenna 0")
        print(" beam        u   measured dB   true dB")
        for p in range(args.nt):
            mark = "  <- best" if p == best else ""
            print(f"{p:5d}  {angles[p]:+.4f}   {_db(powers[p]):10.2f}  {_db(true_power[p]):8.2f}{mark}")
    print(f"best beam {best}: u = {angles[best]:+.4f}, measured {_db(powers[best]):.2f} dB; "
          f"true AoD of the strongest path u = {u_true:+.4f} "
          f"(nearest codeword {int(np.argmin(np.abs(angles - u_true)))})")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"best_beam": best, "u_best": float(angles[best]), "u_true": u_true,
                       "measured_power": powers.tolist(), "true_power": true_power.tolist()},
                      out, indent=1)
    return 0


def cmd_align(args):
    from . import channels
    from .flowgraphs import alignment

    tb = alignment(method=args.method, nt=args.nt, nr=args.nr, snr_db=args.snr_db,
                   num_paths=args.paths, profile=args.profile, dwell=args.dwell,
                   beam_norm=args.beam_norm, seed=args.seed, model=args.model or "")
    trials = channels.saleh_valenzuela(args.trials, args.nt, args.nr, args.paths, args.profile,
                                       rng=args.seed)
    optimum = channels.optimum_power(trials)
    rows = []
    tb.start()
    try:
        for i in range(args.trials):
            result = tb.align(trials[i], timeout=args.timeout)
            opt_db = 10 * np.log10(optimum[i])
            rows.append({"trial": i, "u_tx": result["u_tx"], "u_rx": result["u_rx"],
                         "power_db": result["power_db"], "optimum_db": float(opt_db),
                         "measurements": result["measurements"]})
            if not args.quiet:
                print(f"trial {i:3d}  u_tx {result['u_tx']:+.4f} (true {trials.u_tx[i, 0]:+.4f})  "
                      f"u_rx {result['u_rx']:+.4f} (true {trials.u_rx[i, 0]:+.4f})  "
                      f"power {result['power_db']:7.2f} dB  optimum {opt_db:6.2f} dB  "
                      f"{result['measurements']} measurements")
    finally:
        tb.stop()
        tb.wait()
    mean_db = 10 * np.log10(np.mean([10 ** (r["power_db"] / 10) for r in rows]))
    print(f"{args.method}: mean power {mean_db:.2f} dB vs known-angle optimum "
          f"{10 * np.log10(np.mean(optimum)):.2f} dB over {args.trials} trials, "
          f"{rows[0]['measurements']} measurements each")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"method": args.method, "trials": rows, "mean_power_db": float(mean_db)},
                      out, indent=1)
    return 0


def cmd_train(args):
    from .align.strategies import DEFAULT_SR_BSNET, qssr_net_path
    from .doa.estimate import DEFAULT_DOA_CNN
    if args.model == "doa-cnn":
        from .models.train_doa_cnn import train
        path = train(args.out or DEFAULT_DOA_CNN, epochs=args.epochs or 60,
                     steps_per_epoch=args.steps or 50, batch=args.batch or 256, seed=args.seed,
                     quiet=args.quiet)
        print(f"wrote {path} and {path.with_suffix('.json')}")
        return 0
    if args.model == "mod-dnn":
        from .doa.estimate import DEFAULT_MOD_DNN
        from .models.train_mod_dnn import train
        path = train(args.out or DEFAULT_MOD_DNN, ae_samples=args.ae_samples,
                     steps=args.steps or 800, batch=args.batch or 32,
                     seed=args.seed, quiet=args.quiet)
        print(f"wrote {path} and {path.with_suffix('.json')}")
        return 0
    if args.model == "qssr-net":
        from .models.train_qssr_net import train
        default_out, default_epochs = qssr_net_path(args.nt, args.nr), 150
    else:
        from .models.train_sr_bsnet import train
        default_out, default_epochs = DEFAULT_SR_BSNET, 150
    path = train(args.out or default_out, nt=args.nt, nr=args.nr,
                 epochs=args.epochs or default_epochs, steps_per_epoch=args.steps or 50,
                 batch=args.batch or 100, seed=args.seed, quiet=args.quiet)
    print(f"wrote {path} and {path.with_suffix('.json')}")
    return 0


def cmd_calibrate(args):
    import numpy as np
    from tqdm import tqdm

    from .arrays.impairments import AngleDependentPhaseError
    from .hw.chamber import (SimulatedChamber, chamber_run, plot_phase_errors,
                             write_chamber_calibration)
    from .hw.positioner import open_positioner

    if args.online == args.chamber:
        raise SystemExit("choose one of --online and --chamber")
    if args.online:
        return _calibrate_online(args)
    start, stop, step = args.angles
    angles = np.round(np.arange(start, stop + step / 2, step), 6)
    # The array under test is simulated: a chamber-like error profile drawn from --seed.
    truth = AngleDependentPhaseError.sample(args.antennas, args.subcarriers, rng=args.seed)
    chamber = SimulatedChamber(truth, args.snr_db, rng=args.seed + 1)
    positioner = open_positioner(args.positioner)
    try:
        table = chamber_run(positioner, chamber.measure, angles, args.state,
                            progress=None if args.quiet else (lambda it: tqdm(it, desc="angles")))
    finally:
        positioner.close()
    write_chamber_calibration(args.out, table, args.array_id, f"chamber {args.positioner}")
    expected = np.stack([truth.phase(angles, k) for k in range(args.subcarriers)], axis=-1)
    error = np.angle(np.exp(1j * (table.table_rad - expected)))
    print(f"measured {len(angles)} angles x {args.antennas} antennas x {args.subcarriers} "
          f"subcarriers; RMS error against the simulated truth {np.degrees(np.sqrt(np.mean(error ** 2))):.2f} deg")
    print(f"wrote {args.out}")
    if args.png:
        plot_phase_errors(table, args.png)
    return 0


def _calibrate_online(args):
    """Alg. 2 of seed 000 on a simulated impaired link; writes tx and rx calibration files."""
    import numpy as np
    from tqdm import tqdm

    from .align.self_calibration import residual_phase_rms
    from .align.strategies import CompensatedQSSRNet
    from .arrays.calibration import Calibration, save_calibration
    from .arrays.impairments import ElementImpairment
    from .bench.align import evaluate_strategy, impaired_channels, mean_power_db, self_calibrate

    rng = np.random.default_rng(args.seed)
    tx_true = ElementImpairment.sample(args.nt, args.sigma_d, args.sigma_p, rng)
    rx_true = ElementImpairment.sample(args.nr, args.sigma_d, args.sigma_p, rng)
    held_out = impaired_channels(args.eval_trials, args.nt, args.nr, 3, tx_true, rx_true,
                                 np.random.default_rng(args.seed + 1))
    before = mean_power_db(evaluate_strategy(CompensatedQSSRNet(args.nt, args.nr), held_out,
                                             args.snr_db, rng=rng)[0])[0]
    print(f"update     0: power {before:.3f} dB (uncalibrated)")
    bar = None if args.quiet else tqdm(total=args.updates, desc="updates")

    def tick(step):
        if bar:
            bar.update()
            bar.set_postfix(loss=f"{step.loss_after:.5f}")

    def report(update, step, power_db):
        line = f"update {update:5d}: loss {step.loss_after:.5f}, power {power_db:.3f} dB"
        tqdm.write(line) if bar else print(line)

    strategy, calibrator, _ = self_calibrate(
        args.nt, args.nr, args.snr_db, args.updates, args.batch, 3, tx_true, rx_true, rng=rng,
        evaluate_every=args.report_every, evaluate_on=held_out, evaluate_first=False,
        on_evaluate=report, on_update=tick)
    tx_est, rx_est = calibrator.estimates()
    if bar:
        bar.close()
    after = mean_power_db(evaluate_strategy(strategy, held_out, args.snr_db, rng=rng)[0])[0]
    print(f"{args.updates} updates of {args.batch} alignments at {args.snr_db:g} dB: "
          f"power {before:.3f} dB uncalibrated -> {after:.3f} dB calibrated "
          f"({args.eval_trials} held-out channels)")
    for side, estimate, truth in (("tx", tx_est, tx_true), ("rx", rx_est, rx_true)):
        none = ElementImpairment.ideal(truth.num_elements)
        print(f"{side}: residual phase RMS {np.degrees(residual_phase_rms(estimate, truth)):.2f} deg "
              f"(uncalibrated {np.degrees(residual_phase_rms(none, truth)):.2f} deg)")
        path = f"{args.out}.{side}.json"
        save_calibration(path, Calibration(args.array_id, side, estimate.phase_rad,
                                           estimate.position_wl,
                                           source_run=f"online seed {args.seed} snr {args.snr_db:g} dB"))
        print(f"wrote {path}")
    return 0


def cmd_eda(args):
    import numpy as np
    from tqdm import tqdm

    from .bench import plotting
    from .chanest import eda_grouping, pattern
    from .chanest.eda import GROUPING_KIND, GROUPING_SCHEMA
    from .fileio import write_json_atomic

    positions = np.arange(args.antennas)
    srl_bound = args.srl_bound if args.srl_bound > 0 else None
    try:
        result = eda_grouping(positions, args.groups, args.population, args.generations,
                              snr_db=args.snr_db, srl_bound=srl_bound, rng=args.seed,
                              progress=None if args.quiet else (lambda it: tqdm(it, desc="eda")))
    except ValueError as err:
        raise SystemExit(f"eda: {err}") from None
    print(f"max group ISL: {result.initial_max_isl:.3f} (interleaved) -> {result.max_isl:.3f} "
          f"after {args.generations} generations")
    for g, (members, limit) in enumerate(zip(result.groups, result.srls)):
        print(f"group {g}: antennas {members.tolist()}  SRL {limit:.4f}")
    if args.json:
        write_json_atomic(args.json, {
            "kind": GROUPING_KIND, "schema_version": GROUPING_SCHEMA, "antennas": args.antennas,
            "groups": [m.tolist() for m in result.groups], "max_isl": result.max_isl,
            "initial_max_isl": result.initial_max_isl, "srl": result.srls,
            "history": result.history, "snr_db": args.snr_db, "srl_bound": srl_bound,
            "seed": args.seed})
    if args.png:
        fig, (left, right) = plotting.subplots(1, 2, figsize=(10, 4))
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
        plotting.save(fig, args.png)
    return 0


def cmd_chanest(args):
    from .fileio import write_json_atomic
    from .flowgraphs import channel_estimation

    tb = channel_estimation(method=args.method, beam=args.beam, grouping=args.grouping or "",
                            num_pilots=args.pilots, snr_db=args.snr_db, num_paths=args.paths,
                            seed=args.seed, threads=args.threads,
                            element_pattern=args.element_pattern)
    messages = tb.estimates()
    if not messages:
        raise SystemExit("chanest: the estimator published nothing")
    for msg in messages if not args.quiet else ():
        strongest = msg["paths"][0] if msg["paths"] else None
        where = (f"strongest path u_h {strongest['u_h']:+.4f} u_v {strongest['u_v']:+.4f}"
                 if strongest else "no path")
        print(f"pilot {msg['pilot']:3d}  NMSE {msg['nmse_db']:7.2f} dB  {len(msg['paths'])} "
              f"paths, {where}  {1e3 * msg['cpu_s']:.1f} ms")
    nmse = np.array([10 ** (msg["nmse_db"] / 10) for msg in messages])
    cpu = np.array([msg["cpu_s"] for msg in messages])
    print(f"{args.method} with {args.beam} beams at {args.snr_db:g} dB, L = {args.paths}: "
          f"NMSE {_db(nmse.mean()):.2f} dB over {len(messages)} pilots "
          f"(median {np.median(10 * np.log10(nmse)):.2f} dB), {1e3 * cpu.mean():.2f} ms "
          "per estimate")
    if args.json:
        write_json_atomic(args.json, {
            "method": args.method, "beam": args.beam, "snr_db": args.snr_db,
            "paths": args.paths, "nmse_db": _db(nmse.mean()),
            "pilots": [{"pilot": int(m["pilot"]), "nmse_db": float(m["nmse_db"]),
                        "cpu_s": float(m["cpu_s"])} for m in messages]})
    return 0


def cmd_doa(args):
    from .fileio import write_json_atomic
    from .flowgraphs import direction_finding

    tb = direction_finding(method=args.method, angle_deg=args.angle_deg, snr_db=args.snr_db,
                           rho=args.rho, num_nlos=args.nlos, symbols=args.symbols,
                           seed=args.seed)
    messages = tb.estimates()
    if not messages:
        raise SystemExit("doa: the estimator published nothing")
    errors = np.array([m["angle_deg"] - args.angle_deg for m in messages])
    for i, msg in enumerate(messages if not args.quiet else ()):
        print(f"symbol {i:3d}  AoA {msg['angle_deg']:+7.2f} deg (true {args.angle_deg:+.2f}, "
              f"error {errors[i]:+.2f})")
    print(f"{args.method} at {args.snr_db:g} dB, rho {args.rho:g}, {args.nlos} NLoS: "
          f"RMSE {np.sqrt(np.mean(errors ** 2)):.3f} deg over {len(messages)} SRS symbols "
          f"(true AoA {args.angle_deg:+.2f} deg)")
    if args.json:
        write_json_atomic(args.json, {"method": args.method, "angle_deg": args.angle_deg,
                                      "snr_db": args.snr_db, "rho": args.rho,
                                      "estimates_deg": [float(m["angle_deg"]) for m in messages]})
    return 0


def cmd_bench(args):
    if args.experiment == "speed":
        from .bench import speed
        report = speed.run(samples=args.samples, dwells=args.dwell, repeats=args.repeats,
                           progress=None if args.quiet else print)
        for row in report.rows:
            if row["metric"] == "ratio":
                print(f"dwell {row['x']}: rsrp_meter ({row['variant']}) {row['value']:.2f}x "
                      f"{speed.BASELINE}")
        report.write(args.json)
        return 0
    if args.experiment.startswith("align-"):
        from .bench import align
        run, default_trials = {"align-snr": (align.align_snr, 200000),
                               "align-nlos": (align.align_nlos, 200000),
                               "align-antennas": (align.align_antennas, 50000),
                               "align-error": (align.align_error, 2000),
                               "align-impair": (align.align_impair, 20000)}[args.experiment]
        extra = {} if args.experiment == "align-impair" else {"model": args.model}
        report = run(trials=args.trials or default_trials, seed=args.seed,
                     progress=None if args.quiet else print, **extra)
        report.write(args.json)
        if args.png:
            if args.experiment == "align-error":
                align.plot_error(report, args.png)
            elif args.experiment == "align-antennas":
                align.plot_power(report, args.png, "nt", "Tx antennas Nt")
            else:
                align.plot_power(report, args.png)
        return 0
    if args.experiment == "calibration-epochs":
        from .bench import align
        report = align.calibration_epochs(trials=args.trials or 4000, seed=args.seed,
                                          progress=None if args.quiet else print)
        report.write(args.json)
        if args.png:
            align.plot_epochs(report, args.png)
        return 0
    if args.experiment.startswith("doa-"):
        from .bench import doa
        progress = None if args.quiet else print
        if args.experiment == "doa-spectrum":
            report = doa.doa_spectrum(trials=args.trials or 200, seed=args.seed,
                                      progress=progress)
            if args.png:
                doa.plot_spectrum(report, args.png)
        elif args.experiment == "doa-snr":
            report = doa.doa_snr(trials=args.trials or 500, seed=args.seed, progress=progress)
            if args.png:
                doa.plot_rmse(report, args.png, "snr_db", "SNR (dB)")
        elif args.experiment == "doa-cdf":
            report = doa.doa_cdf(trials=args.trials or 500, seed=args.seed, progress=progress)
            if args.png:
                doa.plot_cdf(report, args.png)
        elif args.experiment == "doa-impairment":
            report = doa.doa_impairment(trials=args.trials or 500, seed=args.seed,
                                        progress=progress)
            if args.png:
                doa.plot_rmse(report, args.png, "rho", "impairment weight rho")
        else:
            report = doa.doa_speed(trials=args.trials or 50, seed=args.seed,
                                   progress=None if args.quiet else print)
        report.write(args.json)
        return 0
    if args.experiment.startswith("chanest-"):
        from .bench import chanest
        progress = None if args.quiet else print
        x_name = "paths" if args.experiment.startswith("chanest-paths") else "snr_db"
        if args.experiment in ("chanest-beams", "chanest-paths"):
            report = chanest.chanest_beams(args.trials or 200, args.seed, x_name, args.grouping,
                                           progress)
        else:
            report = chanest.chanest_algorithms(args.trials or 200, args.seed, x_name,
                                                args.grouping, args.turbo_trials, progress)
        report.write(args.json)
        if args.png:
            chanest.plot(report, args.png)
        return 0
    raise SystemExit(f"unknown experiment {args.experiment!r}")


def build_parser():
    from .chanest.eda import DEFAULT_SRL_BOUND

    parser = argparse.ArgumentParser(
        prog="beamalign", description="Beam management and array signal processing for GNU Radio.")
    parser.add_argument("--version", action="version", version=f"beamalign {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    sweep = sub.add_parser("sweep", help="sweep the Tx DFT codebook on the simulated array")
    _common(sweep)
    sweep.add_argument("--nt", type=int, default=64)
    sweep.add_argument("--nr", type=int, default=16)
    sweep.add_argument("--snr-db", type=float, default=20.0)
    sweep.add_argument("--paths", type=int, default=3)
    sweep.add_argument("--profile", choices=("los", "nlos"), default="los")
    sweep.add_argument("--dwell", type=int, default=64, help="pilot samples per beam")
    sweep.add_argument("--timeout", type=float, default=60.0)
    sweep.set_defaults(func=cmd_sweep)

    align = sub.add_parser("align", help="closed-loop beam alignment on the simulated array")
    _common(align)
    align.add_argument("--method", choices=("exhaustive", "binary", "qssr", "qssr-net", "sr-bsnet"),
                       default="qssr-net")
    align.add_argument("--model", help="QSSR-Net weight file (default: the shipped one)")
    align.add_argument("--trials", type=int, default=10)
    align.add_argument("--nt", type=int, default=64)
    align.add_argument("--nr", type=int, default=16)
    align.add_argument("--snr-db", type=float, default=20.0)
    align.add_argument("--paths", type=int, default=3)
    align.add_argument("--profile", choices=("los", "nlos"), default="los")
    align.add_argument("--dwell", type=int, default=64, help="pilot samples per measurement")
    align.add_argument("--beam-norm", choices=("unit", "seed"), default="unit")
    align.add_argument("--timeout", type=float, default=120.0, help="seconds per alignment")
    align.set_defaults(func=cmd_align)

    train = sub.add_parser("train", help="train a shipped model (safetensors + JSON sidecar)")
    train.add_argument("model", choices=("qssr-net", "sr-bsnet", "doa-cnn", "mod-dnn"))
    _common(train)
    train.add_argument("--out", help="weight file (default: the shipped one)")
    train.add_argument("--nt", type=int, default=64)
    train.add_argument("--nr", type=int, default=16)
    train.add_argument("--epochs", type=int, default=None,
                       help="epochs (qssr-net 150, sr-bsnet 150, doa-cnn 60)")
    train.add_argument("--steps", type=int, default=None,
                       help="batches per epoch (default 50); mod-dnn: calibrator steps "
                            "(default 800)")
    train.add_argument("--batch", type=int, default=None,
                       help="examples per batch (default 100; doa-cnn 256; mod-dnn 32)")
    train.add_argument("--ae-samples", type=int, default=200000,
                       help="mod-dnn: examples for the autoencoder's least-squares fit")
    train.set_defaults(func=cmd_train)

    calibrate = sub.add_parser("calibrate", help="online self-calibration or a chamber run; "
                                                 "writes calibration files")
    _common(calibrate)
    calibrate.add_argument("--online", action="store_true",
                           help="self-calibrate a simulated impaired link (seed 000 Alg. 2)")
    calibrate.add_argument("--chamber", action="store_true", help="step a turntable")
    calibrate.add_argument("--nt", type=int, default=64, help="Tx antennas (online)")
    calibrate.add_argument("--nr", type=int, default=16, help="Rx antennas (online)")
    calibrate.add_argument("--updates", type=int, default=300, help="calibration updates (online)")
    calibrate.add_argument("--batch", type=int, default=64, help="alignments per update (online)")
    calibrate.add_argument("--sigma-d", type=float, default=0.05,
                           help="position error std, wavelengths (online)")
    calibrate.add_argument("--sigma-p", type=float, default=0.1 * 3.141592653589793,
                           help="phase error std, radians (online)")
    calibrate.add_argument("--report-every", type=int, default=50,
                           help="print the held-out power every this many updates (online; 0: never)")
    calibrate.add_argument("--eval-trials", type=int, default=4000,
                           help="held-out channels for the power before/after (online)")
    calibrate.add_argument("--positioner", default="sim", help="'sim' or 'tcp://host:port'")
    calibrate.add_argument("--angles", type=float, nargs=3, default=[-60.0, 60.0, 5.0],
                           metavar=("START", "STOP", "STEP"))
    calibrate.add_argument("--antennas", type=int, default=4)
    calibrate.add_argument("--subcarriers", type=int, default=16)
    calibrate.add_argument("--snr-db", type=float, default=30.0)
    calibrate.add_argument("--array-id", default="sim-array")
    calibrate.add_argument("--state", default="chamber-state.json",
                           help="progress file: a rerun resumes from it")
    calibrate.add_argument("--out", default="calibration.json",
                           help="chamber: the file; online: prefix of PREFIX.tx.json, PREFIX.rx.json")
    calibrate.set_defaults(func=cmd_calibrate)

    eda = sub.add_parser("eda", help="antenna grouping by EDA (min-max ISL, SRL bound)")
    _common(eda)
    eda.add_argument("--antennas", type=int, default=32, help="horizontal elements")
    eda.add_argument("--groups", type=int, default=4)
    eda.add_argument("--population", type=int, default=100)
    eda.add_argument("--generations", type=int, default=60)
    eda.add_argument("--snr-db", type=float, default=10.0, help="SNR of the SRL")
    eda.add_argument("--srl-bound", type=float, default=DEFAULT_SRL_BOUND,
                     help=f"largest SRL a group may have (default {DEFAULT_SRL_BOUND}; "
                          "0: unconstrained)")
    eda.set_defaults(func=cmd_eda)

    chanest = sub.add_parser("chanest", help="hybrid-beamforming channel estimation flowgraph "
                             "on the simulated array; prints NMSE")
    _common(chanest)
    chanest.add_argument("--method", choices=("gw-sc-vbi", "sc-vbi", "turbo-vbi", "omp"),
                         default="gw-sc-vbi")
    chanest.add_argument("--beam", choices=("groupwise", "wide", "random"), default="groupwise")
    chanest.add_argument("--grouping", metavar="PATH",
                         help="grouping file from `beamalign eda` (default: adjacent columns)")
    chanest.add_argument("--pilots", type=int, default=20, help="pilots, a new channel each")
    chanest.add_argument("--snr-db", type=float, default=20.0)
    chanest.add_argument("--paths", type=int, default=4)
    chanest.add_argument("--threads", type=int, default=1, help="GW-SC-VBI group threads")
    chanest.add_argument("--element-pattern", choices=("isotropic", "3gpp"),
                         default="isotropic", help="element pattern on every path")
    chanest.set_defaults(func=cmd_chanest)

    doa = sub.add_parser("doa", help="SRS direction finding on the simulated M-antenna "
                         "receiver; prints estimate vs truth")
    _common(doa)
    doa.add_argument("--method", choices=("scg", "dbf", "music", "root-music", "cnn", "mod-dnn"),
                     default="scg")
    doa.add_argument("--angle-deg", type=float, default=20.0)
    doa.add_argument("--snr-db", type=float, default=20.0)
    doa.add_argument("--rho", type=float, default=1.0, help="phase-error weight in [0, 1]")
    doa.add_argument("--nlos", type=int, default=0, help="NLoS paths")
    doa.add_argument("--symbols", type=int, default=10, help="SRS symbols to estimate")
    doa.set_defaults(func=cmd_doa)

    bench = sub.add_parser("bench", help="run an experiment, write JSON")
    bench.add_argument("experiment", choices=("speed", "align-snr", "align-nlos",
                                              "align-antennas", "align-error",
                                              "align-impair", "calibration-epochs",
                                              "doa-spectrum", "doa-speed", "doa-snr",
                                              "doa-impairment", "doa-cdf", "chanest-beams",
                                              "chanest-paths", "chanest-snr",
                                              "chanest-paths-alg"))
    _common(bench)
    bench.add_argument("--trials", type=int, default=None,
                       help="Monte Carlo trials (align-snr, align-nlos: 200000, for 95 %% "
                            "intervals under 0.1 dB; align-antennas 50000; align-error 2000; "
                            "align-impair 20000; calibration-epochs 4000 held-out channels)")
    bench.add_argument("--samples", type=int, default=50_000_000,
                       help="samples per flowgraph run (speed)")
    bench.add_argument("--dwell", type=int, nargs="+", default=[64, 1024, 16384],
                       help="samples per dwell (speed)")
    bench.add_argument("--repeats", type=int, default=3, help="runs per figure, best kept")
    bench.add_argument("--model", help="QSSR-Net weight file (default: the shipped one)")
    bench.add_argument("--grouping", metavar="PATH",
                       help="EDA grouping file for chanest-* (default: run the EDA, seeded)")
    bench.add_argument("--turbo-trials", type=int, default=20,
                       help="trials per point for Turbo-VBI (chanest-snr, chanest-paths-alg)")
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
