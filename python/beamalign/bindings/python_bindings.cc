/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * pybind11 bindings of the gr-beamalign blocks and C++ kernels.
 */
#include <optional>

#include <pybind11/complex.h>
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <gnuradio/beamalign/beam_combiner.h>
#include <gnuradio/beamalign/beam_splitter.h>
#include <gnuradio/beamalign/channel_model.h>
#include <gnuradio/beamalign/coarray.h>
#include <gnuradio/beamalign/coarray_spectrum.h>
#include <gnuradio/beamalign/qssr.h>
#include <gnuradio/beamalign/rsrp_meter.h>
#include <gnuradio/beamalign/sim_array_source.h>
#include <gnuradio/beamalign/hybrid_sensing.h>
#include <gnuradio/beamalign/omp.h>
#include <gnuradio/beamalign/vbi.h>
#include <gnuradio/beamalign/srs_cfr.h>

namespace py = pybind11;
using namespace gr::beamalign;

PYBIND11_MODULE(beamalign_python, m)
{
    // Block base classes (gr::sync_block, ...) are registered by gnuradio.gr.
    py::module::import("gnuradio.gr");
    m.doc() = "C++ blocks and kernels of gr-beamalign";

    py::class_<sim_array_source,
               gr::sync_block,
               gr::block,
               gr::basic_block,
               std::shared_ptr<sim_array_source>>(m, "sim_array_source", R"doc(
Simulated analog-beamforming link y = w^H H f x + w^H n (ULA, half-wavelength).

Weights change on `beam_cmd` messages; the first sample under new weights carries a
`beam` tag. A `channel` message sets H (field `h`), paths (`gains`, `u_tx`, `u_rx`),
or draws a new Saleh-Valenzuela channel; `tx_phase`, `tx_position`, `rx_phase`,
`rx_position` set a persistent impairment. Channels in force go out on `channel_info`.

Args:
    nt: transmit elements
    nr: receive elements
    snr_db: SNR 1/sigma^2 in dB (>= 300 means noiseless)
    num_paths: paths of the built-in generator
    profile: "los" or "nlos"
    pilot: pilot symbols (empty: all ones), restarting at each beam tag
    seed: seed of the generator and the noise
)doc")
        .def(py::init(&sim_array_source::make),
             py::arg("nt"),
             py::arg("nr"),
             py::arg("snr_db") = 20.0f,
             py::arg("num_paths") = 3,
             py::arg("profile") = "los",
             py::arg("pilot") = std::vector<gr_complex>(),
             py::arg("seed") = 0)
        .def("set_snr_db", &sim_array_source::set_snr_db, py::arg("snr_db"))
        .def("snr_db", &sim_array_source::snr_db)
        .def("channel",
             &sim_array_source::channel,
             "The channel in force, row-major Nr x Nt.")
        .def("malformed_messages", &sim_array_source::malformed_messages);

    py::class_<beam_combiner,
               gr::sync_block,
               gr::block,
               gr::basic_block,
               std::shared_ptr<beam_combiner>>(m, "beam_combiner", R"doc(
Combines N array channels into one beam: y = sum_n conj(w_n) c_n x_n.

Weights come from `beam_cmd` messages with side "rx"; an optional integer field
`sample` names the input sample they apply from, or `time` the radio time (through
the `rx_time` tags of channel 0 and the sample rate). The first output sample under new
weights carries a `beam` tag. bits > 0 quantises weight phases to 2^bits levels; the
calibration vector c (empty: none) corrects each channel.

Args:
    num_channels: number of inputs N
    bits: phase-shifter resolution, 0 for none
    calibration: per-channel complex correction (length N or empty)
    samp_rate: samples per second for `time` commands (0: from an `rx_rate` tag)
)doc")
        .def(py::init(&beam_combiner::make),
             py::arg("num_channels"),
             py::arg("bits") = 0,
             py::arg("calibration") = std::vector<gr_complex>(),
             py::arg("samp_rate") = 0.0)
        .def("set_calibration", &beam_combiner::set_calibration, py::arg("calibration"))
        .def("set_bits", &beam_combiner::set_bits, py::arg("bits"))
        .def("set_switch_boundary",
             &beam_combiner::set_switch_boundary,
             py::arg("samples"))
        .def("weights", &beam_combiner::weights)
        .def("malformed_messages", &beam_combiner::malformed_messages)
        .def("late_commands", &beam_combiner::late_commands);

    py::class_<beam_splitter,
               gr::sync_block,
               gr::block,
               gr::basic_block,
               std::shared_ptr<beam_splitter>>(m, "beam_splitter", R"doc(
Splits one stream into N weighted element streams: x_n = w_n c_n s (transmit array).

Weights come from `beam_cmd` messages with side "tx", applied at once, from an input
`sample`, or from a radio `time` (through `tx_time` tags and the sample rate). The first
sample under new weights carries a `beam` tag on every output. bits > 0 quantises
weight phases; c (empty: none) corrects each element.

Args:
    num_channels: number of outputs N
    bits: phase-shifter resolution, 0 for none
    calibration: per-element complex correction (length N or empty)
    samp_rate: samples per second for `time` commands (0: from a `tx_rate` tag)
)doc")
        .def(py::init(&beam_splitter::make),
             py::arg("num_channels"),
             py::arg("bits") = 0,
             py::arg("calibration") = std::vector<gr_complex>(),
             py::arg("samp_rate") = 0.0)
        .def("set_calibration", &beam_splitter::set_calibration, py::arg("calibration"))
        .def("set_bits", &beam_splitter::set_bits, py::arg("bits"))
        .def("set_switch_boundary",
             &beam_splitter::set_switch_boundary,
             py::arg("samples"))
        .def("weights", &beam_splitter::weights)
        .def("malformed_messages", &beam_splitter::malformed_messages)
        .def("late_commands", &beam_splitter::late_commands);

    py::class_<rsrp_meter, gr::block, gr::basic_block, std::shared_ptr<rsrp_meter>>(
        m, "rsrp_meter", R"doc(
Measures each beam dwell (from a `beam` tag) and publishes an `rsrp` message.

After `guard` samples, `dwell` samples (0: until the next tag) are measured: "pilot"
mode |mean(y_i conj(p_i))|^2 with the pilot restarting at the tag, "energy" mode
mean |y_i|^2. Message fields: beam_id, tx_beam_id, rx_beam_id, power, rsrp_dbm,
nsamples, offset, complete. NaN/Inf samples are left out and counted. The optional
float output carries the linear power, one item per dwell.

Args:
    mode: "pilot" or "energy"
    pilot: pilot symbols (empty: all ones)
    guard: settling samples skipped after each tag
    dwell: samples per measurement, 0 until the next tag
    ref_dbm: dBm of linear power 1.0
    clamp_quantise: clamp to [-140, -40] dBm and round to 1 dB
    publish_messages: publish an `rsrp` message per dwell (False: stream output only)
)doc")
        .def(py::init(&rsrp_meter::make),
             py::arg("mode") = "pilot",
             py::arg("pilot") = std::vector<gr_complex>(),
             py::arg("guard") = 0,
             py::arg("dwell") = 64,
             py::arg("ref_dbm") = 0.0f,
             py::arg("clamp_quantise") = false,
             py::arg("publish_messages") = true)
        .def("set_ref_dbm", &rsrp_meter::set_ref_dbm, py::arg("ref_dbm"))
        .def("dropped_samples", &rsrp_meter::dropped_samples)
        .def("dwells", &rsrp_meter::dwells);

    m.def(
        "qssr_invert_ratio",
        [](py::array_t<double, py::array::c_style | py::array::forcecast> u_anchor,
           py::array_t<double, py::array::c_style | py::array::forcecast> u_aux,
           py::array_t<double, py::array::c_style | py::array::forcecast> ratio,
           int num_beams) {
            if (u_anchor.size() != u_aux.size() || u_anchor.size() != ratio.size()) {
                throw std::invalid_argument(
                    "qssr_invert_ratio: u_anchor, u_aux and ratio must have equal sizes");
            }
            py::array_t<double> out(u_anchor.request().shape);
            qssr_invert_ratio(u_anchor.data(),
                              u_aux.data(),
                              ratio.data(),
                              static_cast<std::size_t>(u_anchor.size()),
                              num_beams,
                              out.mutable_data());
            return out;
        },
        py::arg("u_anchor"),
        py::arg("u_aux"),
        py::arg("ratio"),
        py::arg("num_beams"),
        R"doc(
QSSR power-ratio inversion (seed 000 eq. 8) for adjacent beams of a K-beam layer.

Args:
    u_anchor: directions of the stronger beams (array)
    u_aux: directions of their probed neighbours (u_anchor +- 2/K)
    ratio: P_anchor / P_aux per trial
    num_beams: K
Returns:
    estimated u per trial, in [-1, 1)
)doc");

    m.def(
        "omp",
        [](const Eigen::MatrixXcd& phi,
           const Eigen::VectorXcd& y,
           int max_atoms,
           double stop_energy) {
            sparse_estimate result;
            {
                py::gil_scoped_release release; // estimators may run in parallel threads
                result = omp(phi, y, max_atoms, stop_energy);
            }
            return py::make_tuple(
                result.support, result.coefficients, result.residual_energy);
        },
        py::arg("phi"),
        py::arg("y"),
        py::arg("max_atoms"),
        py::arg("stop_energy") = 0.0,
        R"doc(
Orthogonal matching pursuit (C++/Eigen): y = Phi x + w.

Args:
    phi: M x N complex measurement matrix
    y: M complex observations
    max_atoms: most atoms to pick
    stop_energy: stop once ||residual||^2 <= this (0: after max_atoms)
Returns:
    (support indices, coefficients on the support, residual energy)
)doc");

    py::class_<hybrid_sensing>(m, "hybrid_sensing", R"doc(
Sensing model of the partially-connected hybrid array (seed 004): RF chain k sits in
UPA column chain_column[k] and drives vertical elements chain_row[k]..+m-1 with
weights whose conjugates are weights_conj[k] (M x m).
)doc")
        .def(py::init<std::vector<int>, std::vector<int>, Eigen::MatrixXcd>(),
             py::arg("chain_column"),
             py::arg("chain_row"),
             py::arg("weights_conj"))
        .def("rows", &hybrid_sensing::rows)
        .def("subset", &hybrid_sensing::subset, py::arg("chains"))
        .def("columns",
             &hybrid_sensing::columns,
             py::arg("u_h"),
             py::arg("u_v"),
             "Sensing columns of the directions (u_h[n], u_v[n]), M x len(u_h).");

    py::class_<vbi_options>(m, "vbi_options", "Settings of the VBI estimators.")
        .def(py::init([](int sparsity,
                         int extra,
                         int iterations,
                         int grid_steps,
                         double tolerance,
                         double reach,
                         double merge_reach,
                         bool single_precision) {
                 return vbi_options{ sparsity,  extra, iterations,  grid_steps,
                                     tolerance, reach, merge_reach, single_precision };
             }),
             py::arg("sparsity") = 4,
             py::arg("extra") = 4,
             py::arg("iterations") = 60,
             py::arg("grid_steps") = 1,
             py::arg("tolerance") = 1e-5,
             py::arg("reach") = 0.5,
             py::arg("merge_reach") = 2.5,
             py::arg("single_precision") = false)
        .def_readwrite("sparsity", &vbi_options::sparsity)
        .def_readwrite("extra", &vbi_options::extra)
        .def_readwrite("iterations", &vbi_options::iterations)
        .def_readwrite("grid_steps", &vbi_options::grid_steps)
        .def_readwrite("tolerance", &vbi_options::tolerance)
        .def_readwrite("reach", &vbi_options::reach)
        .def_readwrite("merge_reach", &vbi_options::merge_reach)
        .def_readwrite("single_precision", &vbi_options::single_precision);

    py::class_<vbi_estimate>(m, "vbi_estimate", "Posterior means on the refined grid.")
        .def_readonly("x", &vbi_estimate::x)
        .def_readonly("u_h", &vbi_estimate::u_h)
        .def_readonly("u_v", &vbi_estimate::u_v)
        .def_readonly("support", &vbi_estimate::support)
        .def_readonly("noise_precision", &vbi_estimate::noise_precision)
        .def_readonly("iterations", &vbi_estimate::iterations);

    const char* vbi_doc = R"doc(
y = Phi(u) x + w on a dynamic grid (docs/algorithms.md, channel estimation), C++/Eigen, GIL released.

Args:
    sensing: hybrid_sensing of the observation
    y: M complex observations
    u_h, u_v: initial grid (one entry per atom)
    step_h, step_v: grid spacing (gradient scale; options.reach is in these units)
    options: vbi_options
    phi: the grid's sensing columns (M x len(u_h)) when kept between calls, else None
Returns:
    vbi_estimate (x, u_h, u_v, support, noise_precision, iterations)
)doc";
    // A kept sensing matrix arrives as an F-ordered complex128 array (copied once if
    // not).
    using columns_array =
        py::array_t<std::complex<double>, py::array::f_style | py::array::forcecast>;
    using maybe_columns = std::optional<columns_array>;
    auto columns_view = [](const maybe_columns& phi) {
        std::optional<Eigen::Ref<const Eigen::MatrixXcd>> view;
        if (phi) {
            if (phi->ndim() != 2) {
                throw std::invalid_argument("phi must be a 2-D matrix");
            }
            view.emplace(Eigen::Map<const Eigen::MatrixXcd>(
                phi->data(), phi->shape(0), phi->shape(1)));
        }
        return view;
    };
    for (auto [name, estimator] :
         { std::make_pair("sc_vbi", &sc_vbi), std::make_pair("turbo_vbi", &turbo_vbi) }) {
        m.def(
            name,
            [estimator = estimator, columns_view](const hybrid_sensing& sensing,
                                                  const Eigen::VectorXcd& y,
                                                  const Eigen::VectorXd& u_h,
                                                  const Eigen::VectorXd& u_v,
                                                  double step_h,
                                                  double step_v,
                                                  const vbi_options& options,
                                                  const maybe_columns& phi) {
                const auto view = columns_view(phi);
                py::gil_scoped_release release;
                return estimator(sensing,
                                 y,
                                 u_h,
                                 u_v,
                                 step_h,
                                 step_v,
                                 options,
                                 view ? &*view : nullptr);
            },
            py::arg("sensing"),
            py::arg("y"),
            py::arg("u_h"),
            py::arg("u_v"),
            py::arg("step_h"),
            py::arg("step_v"),
            py::arg("options") = vbi_options(),
            py::arg("phi") = py::none(),
            vbi_doc);
    }
    py::class_<gw_sc_vbi_plan>(m, "gw_sc_vbi_plan", R"doc(
GW-SC-VBI (seed 004 Sec. V-C) prepared for one grid, beam set and grouping: the group
models, each group's sensing columns and the alias table, built once; estimate(y) per
pilot (GIL released).

The alias table (alias_offsets, alias_atoms; empty: no dictionary stage) has one row per
group atom, the groups' atom lists concatenated in group order: row i is
alias_atoms[alias_offsets[i]:alias_offsets[i+1]], the grid atoms whose columns on the
group's chains correlate with atom i's above a threshold.
)doc")
        .def(py::init([columns_view](const hybrid_sensing& sensing,
                                     const Eigen::VectorXd& u_h,
                                     const Eigen::VectorXd& u_v,
                                     double step_h,
                                     double step_v,
                                     const std::vector<std::vector<int>>& group_chains,
                                     const std::vector<std::vector<int>>& group_atoms,
                                     const maybe_columns& phi,
                                     std::vector<int> alias_offsets,
                                     std::vector<int> alias_atoms) {
                 const auto view = columns_view(phi);
                 return gw_sc_vbi_plan(sensing,
                                       u_h,
                                       u_v,
                                       step_h,
                                       step_v,
                                       group_chains,
                                       group_atoms,
                                       view ? &*view : nullptr,
                                       std::move(alias_offsets),
                                       std::move(alias_atoms));
             }),
             py::arg("sensing"),
             py::arg("u_h"),
             py::arg("u_v"),
             py::arg("step_h"),
             py::arg("step_v"),
             py::arg("group_chains"),
             py::arg("group_atoms"),
             py::arg("phi") = py::none(),
             py::arg("alias_offsets") = std::vector<int>(),
             py::arg("alias_atoms") = std::vector<int>())
        .def(
            "estimate",
            [](const gw_sc_vbi_plan& plan,
               const Eigen::VectorXcd& y,
               const vbi_options& group_options,
               const vbi_options& joint_options,
               int candidates,
               int dictionary_iterations,
               double alias_floor,
               double path_snr) {
                py::gil_scoped_release release;
                return plan.estimate(y,
                                     group_options,
                                     joint_options,
                                     candidates,
                                     dictionary_iterations,
                                     alias_floor,
                                     path_snr);
            },
            py::arg("y"),
            py::arg("group_options"),
            py::arg("joint_options"),
            py::arg("candidates") = 4,
            py::arg("dictionary_iterations") = 10,
            py::arg("alias_floor") = 0.0,
            py::arg("path_snr") = 0.0,
            R"doc(
One pilot's estimate: SC-VBI per group on the grid (strongest group first, each group's
paths cancelled from the later groups' samples); with an alias table, SC-VBI on all
chains over the aliases of every group atom within alias_floor of the strongest (plus
the `candidates` grid atoms best matched to the groups' residual) for
dictionary_iterations of the joint budget; then the joint SC-VBI over what that found
plus `candidates` residual atoms, its sparsity at least the number of dictionary atoms
above path_snr (linear, over the noise; 0: K_hat). The estimate's u_h/u_v are the joint
stage's atoms.
)doc")
        .def("groups", &gw_sc_vbi_plan::groups)
        .def("has_aliases", &gw_sc_vbi_plan::has_aliases);
    m.def(
        "gw_sc_vbi",
        [columns_view](const hybrid_sensing& sensing,
                       const Eigen::VectorXcd& y,
                       const Eigen::VectorXd& u_h,
                       const Eigen::VectorXd& u_v,
                       double step_h,
                       double step_v,
                       const std::vector<std::vector<int>>& group_chains,
                       const std::vector<std::vector<int>>& group_atoms,
                       const vbi_options& group_options,
                       const vbi_options& joint_options,
                       int threads,
                       int candidates,
                       const maybe_columns& phi) {
            const auto view = columns_view(phi);
            py::gil_scoped_release release;
            return gw_sc_vbi(sensing,
                             y,
                             u_h,
                             u_v,
                             step_h,
                             step_v,
                             group_chains,
                             group_atoms,
                             group_options,
                             joint_options,
                             threads,
                             candidates,
                             view ? &*view : nullptr);
        },
        py::arg("sensing"),
        py::arg("y"),
        py::arg("u_h"),
        py::arg("u_v"),
        py::arg("step_h"),
        py::arg("step_v"),
        py::arg("group_chains"),
        py::arg("group_atoms"),
        py::arg("group_options"),
        py::arg("joint_options"),
        py::arg("threads") = 1,
        py::arg("candidates") = 4,
        py::arg("phi") = py::none(),
        R"doc(
GW-SC-VBI (seed 004 Sec. V-C): SC-VBI per group (its RF chains, its sub-interval's grid
atoms; strongest group first, each group's paths cancelled from the later groups'
samples; `threads` is deprecated and has no effect), then a joint SC-VBI over the union of the group
supports at their refined directions, plus the `candidates` grid atoms best matched to
the group estimates' residual. The estimate's u_h/u_v are that union. A
gw_sc_vbi_plan keeps what does not change between pilots and adds the dictionary stage.
)doc");

    py::class_<coarray_solver>(m, "coarray_solver", R"doc(
Coarray spatial spectrum and sparse reconstruction of seed 003 for an M-element
half-wavelength ULA on a grid of angles (degrees). P = A~^H A~ is applied through the
2M-1 lags, never formed.
)doc")
        .def(py::init<int, const std::vector<double>&>(),
             py::arg("num_antennas"),
             py::arg("grid_deg"))
        .def_property_readonly("num_antennas", &coarray_solver::num_antennas)
        .def_property_readonly("grid_size", &coarray_solver::grid_size)
        .def_property_readonly(
            "p_norm", &coarray_solver::p_norm, "Largest eigenvalue of P.")
        .def(
            "dbf",
            [](const coarray_solver& self,
               py::array_t<std::complex<double>,
                           py::array::c_style | py::array::forcecast> r,
               bool remove_noise) {
                const int m = self.num_antennas();
                if (r.ndim() != 2 || r.shape(0) != m || r.shape(1) != m) {
                    throw std::invalid_argument("dbf: covariance must be " +
                                                std::to_string(m) + " x " +
                                                std::to_string(m));
                }
                return self.dbf(r.data(), remove_noise);
            },
            py::arg("covariance"),
            py::arg("remove_noise") = true,
            "Coarray DBF spectrum A~^H vec(R); remove_noise first takes out sigma^2 I, "
            "sigma^2 = the smallest eigenvalue of R.")
        .def("apply_p",
             static_cast<Eigen::VectorXd (coarray_solver::*)(const Eigen::VectorXd&)
                             const>(&coarray_solver::apply_p),
             py::arg("x"),
             "P x without forming P.")
        .def("reconstruct",
             &coarray_solver::reconstruct,
             py::arg("eta_i"),
             py::arg("z"),
             py::arg("lam") = 0.1,
             py::arg("mu") = 0.1,
             py::arg("eps") = 0.5,
             py::arg("rounds") = 4,
             py::arg("iterations") = 150,
             py::call_guard<py::gil_scoped_release>(),
             R"doc(
Sparse spectrum reconstruction (the SCG layer's objective, eq. 23, solved stably):
minimises 1/2 eta^T P eta - eta_i^T eta + lam/2 ||eta - z||^2 + mu s(eta) over eta >= 0,
s by reweighted l1 (weights 1/(eta/max + eps), `rounds` rounds of `iterations` FISTA steps).
)doc");

    py::class_<coarray_spectrum,
               gr::sync_block,
               gr::block,
               gr::basic_block,
               std::shared_ptr<coarray_spectrum>>(m, "coarray_spectrum", R"doc(
Coarray spatial spectrum (DBF or SCG) of M x K CFR snapshot vectors (antenna-major), as
a float vector on the grid normalised to peak 1, and a `doa` message per vector
(u, angle_deg, spectrum, grid_deg). NaN/Inf vectors: zero spectrum, no message, counted.
)doc")
        .def(py::init(&coarray_spectrum::make),
             py::arg("num_antennas"),
             py::arg("num_snapshots"),
             py::arg("grid_deg"),
             py::arg("method") = "scg",
             py::arg("lam") = 0.1,
             py::arg("mu") = 0.1,
             py::arg("eps") = 0.5,
             py::arg("rounds") = 4,
             py::arg("iterations") = 150)
        .def("dropped_vectors", &coarray_spectrum::dropped_vectors);

    py::class_<srs_cfr, gr::block, gr::basic_block, std::shared_ptr<srs_cfr>>(m,
                                                                              "srs_cfr",
                                                                              R"doc(
CFR snapshots from M antenna streams of SRS-like OFDM symbols (seed 003): per symbol and
antenna, CP removal, FFT, LS estimate on the SRS subcarriers, K of them evenly spaced.
Output: one M*K vector per symbol (antenna-major), the input of coarray_spectrum.
SRS symbol i sits on subcarrier comb_offset + comb (i - L/2). Symbols with NaN/Inf
samples are dropped and counted.
)doc")
        .def(py::init(&srs_cfr::make),
             py::arg("num_antennas"),
             py::arg("fft_size"),
             py::arg("cp_len"),
             py::arg("comb"),
             py::arg("comb_offset"),
             py::arg("sequence"),
             py::arg("num_subcarriers"))
        .def_static("srs_bin",
                    &srs_cfr::srs_bin,
                    py::arg("fft_size"),
                    py::arg("comb"),
                    py::arg("comb_offset"),
                    py::arg("length"),
                    py::arg("i"))
        .def("dropped_symbols", &srs_cfr::dropped_symbols);

    py::class_<gaussian_noise>(
        m, "gaussian_noise", "Complex white Gaussian noise (C++ kernel).")
        .def(py::init<uint64_t>(), py::arg("seed"))
        .def(
            "draw",
            [](gaussian_noise& self, int n, float variance) {
                std::vector<cfloat> out(n);
                self.fill(out.data(), n, variance);
                return out;
            },
            py::arg("n"),
            py::arg("variance") = 1.0f);
}
