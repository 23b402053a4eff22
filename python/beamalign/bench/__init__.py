# SPDX-License-Identifier: GPL-3.0-or-later
"""Experiments that reproduce the papers' figures and measure speed, by name.

Each entry of EXPERIMENTS names the function that runs it (returning a report.Report),
its default trial count and its figure. `beamalign bench NAME` passes an option on only
when the user gave it and the function takes it, so a plain run uses the function's own
defaults (the ones the README's figures were made with).
"""
import importlib
import inspect
from dataclasses import dataclass, field
from functools import partial
from typing import Callable, Optional

from ..scaleout import Engine, chunk_store_for


def _resolve(name, **fixed):
    """A function of this package named "module.function", with fixed arguments bound.
    Resolved on use: the experiments import Torch and GNU Radio flowgraphs, which the
    command line should not pay for to print its help or refuse an argument."""
    if name is None:
        return None
    module, function = name.rsplit(".", 1)
    resolved = getattr(importlib.import_module(f"{__package__}.{module}"), function)
    return partial(resolved, **fixed) if fixed else resolved


@dataclass(frozen=True)
class Experiment:
    run_name: str  # "module.function" -> Report
    plot_name: Optional[str] = None  # "module.function": (report, path) -> None
    summary: Optional[Callable] = None  # (report, print) -> None, lines after the run
    help: str = ""
    fixed: dict = field(default_factory=dict)  # arguments bound for this experiment
    plot_fixed: dict = field(default_factory=dict)

    @property
    def run(self):
        return _resolve(self.run_name, **self.fixed)

    @property
    def plot(self):
        return _resolve(self.plot_name, **self.plot_fixed)

    def accepts(self):
        """The option names the run function takes (bound ones are not options)."""
        return set(inspect.signature(self.run).parameters) - set(self.fixed)

    @property
    def trials(self):
        """The default trial count: the run function's own (None: no trials)."""
        parameter = inspect.signature(self.run).parameters.get("trials")
        return None if parameter is None else parameter.default


def _speed_summary(report, say):
    for row in report.rows:
        if row["metric"] == "ratio":
            say(f"dwell {row['x']}: rsrp_meter ({row['variant']}) {row['value']:.2f}x "
                f"{row['baseline']}")


EXPERIMENTS = {
    "speed": Experiment("speed.run", summary=_speed_summary,
                        help="block throughput on one core"),
    "soak": Experiment("soak.soak", help="memory and rate over many flowgraph alignments"),
    "align-snr": Experiment("align.align_snr", "align.plot_power",
                            help="seed 000 Fig. 6: power vs SNR"),
    "align-nlos": Experiment("align.align_nlos", "align.plot_power",
                             help="seed 000 Fig. 8: power vs SNR, 8 NLoS paths"),
    "align-antennas": Experiment("align.align_antennas", "align.plot_power",
                                 help="seed 000 Fig. 7: power vs Tx antennas",
                                 plot_fixed={"x_name": "nt", "xlabel": "Tx antennas Nt"}),
    "align-outage": Experiment("align.align_outage", "align.plot_outage",
                               help="outage vs measurements, one- and two-pass searches"),
    "align-error": Experiment("align.align_error", "align.plot_error",
                              help="seed 000 Fig. 10: AoA estimates"),
    "align-impair": Experiment("align.align_impair", "align.plot_power",
                               help="seed 000 Fig. 11: impaired arrays, self-calibration"),
    "calibration-epochs": Experiment("align.calibration_epochs", "align.plot_epochs",
                                     help="seed 000 Fig. 12: power vs calibration updates"),
    "doa-spectrum": Experiment("doa.doa_spectrum", "doa.plot_spectrum",
                               help="seed 003 Fig. 1c: beamwidth of DBF, SCG, MoD-DNN"),
    "doa-snr": Experiment("doa.doa_snr", "doa.plot_rmse", help="seed 003 Fig. 4: RMSE vs SNR",
                          plot_fixed={"x_name": "snr_db", "xlabel": "SNR (dB)"}),
    "doa-impairment": Experiment("doa.doa_impairment", "doa.plot_rmse",
                                 help="seed 003 Fig. 4g: RMSE vs impairment weight",
                                 plot_fixed={"x_name": "rho",
                                             "xlabel": "impairment weight rho"}),
    "doa-cdf": Experiment("doa.doa_cdf", "doa.plot_cdf", help="seed 003 Fig. 5b: error CDF"),
    "doa-speed": Experiment("doa.doa_speed", help="time per DoA estimate"),
    "chanest-beams": Experiment("chanest.chanest_beams", "chanest.plot",
                                help="seed 004 Fig. 8: beam designs vs SNR",
                                fixed={"x_name": "snr_db"}),
    "chanest-paths": Experiment("chanest.chanest_beams", "chanest.plot",
                                help="seed 004 Fig. 9: beam designs vs paths",
                                fixed={"x_name": "paths"}),
    "chanest-snr": Experiment("chanest.chanest_algorithms", "chanest.plot",
                              help="seed 004 Fig. 10: estimators vs SNR",
                              fixed={"x_name": "snr_db"}),
    "chanest-paths-alg": Experiment("chanest.chanest_algorithms", "chanest.plot",
                                    help="seed 004 Fig. 11: estimators vs paths",
                                    fixed={"x_name": "paths"}),
    "chanest-arrays": Experiment("chanest.chanest_arrays", "chanest.plot_arrays",
                                 help="GW-SC-VBI vs SC-VBI, group-wise vs random beams, per "
                                      "array shape (ours)"),
    "predict-topk": Experiment("predict.predict_topk", "predict.plot_topk",
                               help="seed 001 Fig. 3: top-K of every probe design, quantised"),
    "predict-epochs": Experiment("predict.predict_epochs", "predict.plot_curves",
                                 help="seed 001 Fig. 2: held-out top-3 vs epoch",
                                 plot_fixed={"x_name": "epoch", "metric": "top3",
                                             "ylabel": "held-out top-3 accuracy"}),
    "predict-rate": Experiment("predict.predict_rate", "predict.plot_curves",
                               help="seed 001 Fig. 4: effective rate vs users per slot",
                               plot_fixed={"x_name": "users", "metric": "ear",
                                           "ylabel": "effective rate (bit/s/Hz)"}),
    "predict-probes": Experiment("predict.predict_probes", "predict.plot_curves",
                                 help="top-K and SNR loss vs probe count L (ours)",
                                 plot_fixed={"x_name": "probes", "metric": "top3",
                                             "ylabel": "held-out top-3 accuracy"}),
    "predict-sites": Experiment("predict_sites.predict_sites", "predict_sites.plot_sites",
                                help="seed 002 Tables III-IV, VI: top-1/3, loss, rate per site"),
    "predict-cross-site": Experiment("predict_sites.predict_cross_site",
                                     "predict_sites.plot_sites",
                                     help="seed 002 Table V: zero-shot and few-shot across sites"),
    "predict-speed": Experiment("predict_sites.predict_speed",
                                help="seed 002 Table VII: FLOPs and time per prediction"),
}


def run_experiment(name, options, json_path=None, png_path=None, progress=None, workers=None,
                   scheduler=None):
    """Runs EXPERIMENTS[name] with the options it takes (those not None), writes the JSON
    and the figure; returns the report. A bench that splits its work into chunks runs
    them in this process, on `workers` local Dask workers or on the Dask cluster at
    `scheduler`; its completed chunks are kept beside the JSON until the JSON is written."""
    experiment = EXPERIMENTS[name]
    accepted = experiment.accepts()
    given = {key: value for key, value in options.items()
             if value is not None and key in accepted}
    # Every bench takes --seed; one without randomness (speed) has no use for it.
    unused = sorted(key for key, value in options.items()
                    if value is not None and key not in accepted and key != "seed")
    if unused:
        raise ValueError(f"bench {name} does not take --{', --'.join(u.replace('_', '-') for u in unused)}")
    if "engine" not in accepted and (workers is not None or scheduler is not None):
        raise ValueError(f"bench {name} runs in one process: it does not take --workers or "
                         "--scheduler")
    with Engine(workers, scheduler, chunk_store_for(json_path), progress is not None) as engine:
        if "engine" in accepted:
            given["engine"] = engine
        report = experiment.run(progress=progress, **given)
        if experiment.summary:
            experiment.summary(report, print)
        report.write(json_path)
        engine.discard_chunks()
    if png_path and experiment.plot:
        experiment.plot(report, png_path)
    return report
