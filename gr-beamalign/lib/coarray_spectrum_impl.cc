/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <gnuradio/beamalign/coarray.h>
#include <gnuradio/beamalign/protocol.h>
#include <gnuradio/beamalign/coarray_spectrum.h>
#include <gnuradio/io_signature.h>
#include <atomic>
#include <cmath>
#include <stdexcept>

namespace gr {
namespace beamalign {

class coarray_spectrum_impl : public coarray_spectrum
{
public:
    coarray_spectrum_impl(int num_antennas,
                          int num_snapshots,
                          const std::vector<double>& grid_deg,
                          const std::string& method,
                          double lambda,
                          double mu,
                          double eps,
                          int rounds,
                          int iterations)
        : gr::sync_block("coarray_spectrum",
                         gr::io_signature::make(
                             1, 1, sizeof(gr_complex) * num_antennas * num_snapshots),
                         gr::io_signature::make(1, 1, sizeof(float) * grid_deg.size()))
        , d_m(num_antennas)
        , d_k(num_snapshots)
        , d_grid(grid_deg)
        , d_scg(method == "scg")
        , d_solver(num_antennas, grid_deg)
        , d_lambda(lambda)
        , d_mu(mu)
        , d_eps(eps)
        , d_rounds(rounds)
        , d_iterations(iterations)
    {
        if (method != "dbf" && method != "scg") {
            throw std::invalid_argument(
                "coarray_spectrum: method must be \"dbf\" or \"scg\"");
        }
        if (num_snapshots < 1) {
            throw std::invalid_argument(
                "coarray_spectrum: num_snapshots must be at least 1");
        }
        d_grid_pmt = pmt::init_f32vector(
            d_grid.size(), std::vector<float>(d_grid.begin(), d_grid.end()));
        message_port_register_out(protocol::DOA);
    }

    uint64_t dropped_vectors() const override { return d_dropped; }

    int work(int noutput_items,
             gr_vector_const_void_star& input_items,
             gr_vector_void_star& output_items) override
    {
        const auto* in = static_cast<const gr_complex*>(input_items[0]);
        auto* out = static_cast<float*>(output_items[0]);
        const size_t l = d_grid.size();
        std::vector<std::complex<double>> r(d_m * d_m);
        for (int v = 0; v < noutput_items; ++v) {
            const gr_complex* h = in + static_cast<size_t>(v) * d_m * d_k;
            float* spectrum = out + static_cast<size_t>(v) * l;
            if (!covariance(h, r)) {
                std::fill(spectrum, spectrum + l, 0.0f);
                if (d_dropped++ == 0) {
                    d_logger->warn("dropped a snapshot vector holding NaN or Inf "
                                   "(further ones are only counted)");
                }
                continue;
            }
            Eigen::VectorXd eta = d_solver.dbf(r.data());
            if (d_scg) {
                eta = d_solver.reconstruct(
                    eta, eta, d_lambda, d_mu, d_eps, d_rounds, d_iterations);
            }
            Eigen::Index peak;
            const double top = eta.maxCoeff(&peak);
            const double scale = top > 0.0 ? 1.0 / top : 0.0;
            for (size_t i = 0; i < l; ++i) {
                spectrum[i] = static_cast<float>(eta(i) * scale);
            }
            publish(spectrum, d_grid[peak]);
        }
        return noutput_items;
    }

private:
    const int d_m;
    const int d_k;
    const std::vector<double> d_grid;
    const bool d_scg;
    const coarray_solver d_solver;
    const double d_lambda, d_mu, d_eps;
    const int d_rounds, d_iterations;
    pmt::pmt_t d_grid_pmt;
    std::atomic<uint64_t> d_dropped{ 0 };

    // R = (1/K) sum_k h(k) h(k)^H; false if any sample is not finite.
    bool covariance(const gr_complex* h, std::vector<std::complex<double>>& r) const
    {
        std::fill(r.begin(), r.end(), std::complex<double>(0.0, 0.0));
        for (int i = 0; i < d_m * d_k; ++i) {
            if (!std::isfinite(h[i].real()) || !std::isfinite(h[i].imag())) {
                return false;
            }
        }
        for (int a = 0; a < d_m; ++a) {
            for (int b = 0; b < d_m; ++b) {
                std::complex<double> sum(0.0, 0.0);
                for (int k = 0; k < d_k; ++k) {
                    sum += std::complex<double>(h[a * d_k + k]) *
                           std::conj(std::complex<double>(h[b * d_k + k]));
                }
                r[a * d_m + b] = sum / static_cast<double>(d_k);
            }
        }
        return true;
    }

    void publish(const float* spectrum, double angle_deg)
    {
        pmt::pmt_t d = pmt::make_dict();
        d = pmt::dict_add(d, protocol::GRID_DEG, d_grid_pmt);
        d = pmt::dict_add(
            d, protocol::SPECTRUM, pmt::init_f32vector(d_grid.size(), spectrum));
        d = pmt::dict_add(d, protocol::ANGLE_DEG, pmt::from_double(angle_deg));
        d = pmt::dict_add(
            d, protocol::U, pmt::from_double(std::sin(angle_deg * M_PI / 180.0)));
        message_port_pub(protocol::DOA, d);
    }
};

coarray_spectrum::sptr coarray_spectrum::make(int num_antennas,
                                              int num_snapshots,
                                              const std::vector<double>& grid_deg,
                                              const std::string& method,
                                              double lambda,
                                              double mu,
                                              double eps,
                                              int rounds,
                                              int iterations)
{
    return gnuradio::make_block_sptr<coarray_spectrum_impl>(num_antennas,
                                                            num_snapshots,
                                                            grid_deg,
                                                            method,
                                                            lambda,
                                                            mu,
                                                            eps,
                                                            rounds,
                                                            iterations);
}

} // namespace beamalign
} // namespace gr
