/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <gnuradio/beamalign/hybrid_sensing.h>
#include <algorithm>
#include <cmath>
#include <complex>
#include <stdexcept>
#include <string>

namespace gr {
namespace beamalign {

hybrid_sensing::hybrid_sensing(std::vector<int> chain_column,
                               std::vector<int> chain_row,
                               Eigen::MatrixXcd weights_conj)
    : d_column(std::move(chain_column))
    , d_row(std::move(chain_row))
    , d_weights_conj(std::move(weights_conj))
{
    if (d_column.size() != d_row.size() ||
        static_cast<Eigen::Index>(d_column.size()) != d_weights_conj.rows()) {
        throw std::invalid_argument("hybrid_sensing: chain_column, chain_row and weights "
                                    "need one entry per RF chain");
    }
    if (d_column.empty() || d_weights_conj.cols() < 1) {
        throw std::invalid_argument(
            "hybrid_sensing: needs at least one RF chain and element");
    }
    if (!d_weights_conj.allFinite()) {
        throw std::invalid_argument("hybrid_sensing: weights must be finite");
    }
    for (size_t k = 0; k < d_column.size(); ++k) {
        if (d_column[k] < 0 || d_row[k] < 0) {
            throw std::invalid_argument("hybrid_sensing: chain positions must be >= 0");
        }
        d_max_column = std::max(d_max_column, d_column[k]);
        d_max_row = std::max(d_max_row, d_row[k]);
    }
    d_pattern.resize(d_column.size());
    std::vector<int> first_chain; // a chain of each pattern
    for (size_t k = 0; k < d_column.size(); ++k) {
        const auto same = [&](int other) {
            return d_row[other] == d_row[k] &&
                   d_weights_conj.row(other) == d_weights_conj.row(k);
        };
        const auto found = std::find_if(first_chain.begin(), first_chain.end(), same);
        d_pattern[k] = static_cast<int>(found - first_chain.begin());
        if (found == first_chain.end()) {
            first_chain.push_back(static_cast<int>(k));
        }
    }
    d_pattern_weights.resize(first_chain.size(), d_weights_conj.cols());
    for (size_t p = 0; p < first_chain.size(); ++p) {
        d_pattern_row.push_back(d_row[first_chain[p]]);
        d_pattern_weights.row(p) = d_weights_conj.row(first_chain[p]);
    }
}

hybrid_sensing hybrid_sensing::subset(const std::vector<int>& chains) const
{
    std::vector<int> column, row;
    Eigen::MatrixXcd weights(chains.size(), d_weights_conj.cols());
    for (size_t i = 0; i < chains.size(); ++i) {
        const int k = chains[i];
        if (k < 0 || k >= rows()) {
            throw std::invalid_argument("hybrid_sensing: chain " + std::to_string(k) +
                                        " out of range 0.." + std::to_string(rows() - 1));
        }
        column.push_back(d_column[k]);
        row.push_back(d_row[k]);
        weights.row(i) = d_weights_conj.row(k);
    }
    return hybrid_sensing(std::move(column), std::move(row), std::move(weights));
}

namespace {

// exp(j pi n u) for n = 0..count-1 by repeated multiplication, in four interleaved
// chains (n, n + 4, ...): one chain of dependent complex products was the column's
// critical path.
void phase_powers(double u, int count, std::vector<std::complex<double>>& out)
{
    out.resize(count);
    const std::complex<double> step = std::polar(1.0, M_PI * u);
    std::complex<double> lane[4] = { 1.0, step, step * step, step * step * step };
    const std::complex<double> stride = lane[2] * lane[2];
    int n = 0;
    for (; n + 4 <= count; n += 4) {
        for (int i = 0; i < 4; ++i) {
            out[n + i] = lane[i];
            lane[i] *= stride;
        }
    }
    for (int i = 0; n < count; ++n, ++i) {
        out[n] = lane[i];
    }
}

} // namespace

void hybrid_sensing::column(double u_h,
                            double u_v,
                            Eigen::Ref<Eigen::VectorXcd> phi) const
{
    thread_local std::vector<std::complex<double>> horizontal, vertical, factor;
    phase_powers(u_h, d_max_column + 1, horizontal);
    const Eigen::Index m = d_pattern_weights.cols();
    phase_powers(u_v, d_max_row + static_cast<int>(m), vertical);
    const size_t patterns = d_pattern_row.size();
    factor.resize(patterns);
    for (size_t p = 0; p < patterns; ++p) {
        const std::complex<double>* weights = d_pattern_weights.data() + p * m;
        const std::complex<double>* phases = vertical.data() + d_pattern_row[p];
        std::complex<double> sum(0.0, 0.0);
        for (Eigen::Index j = 0; j < m; ++j) {
            sum += weights[j] * phases[j];
        }
        factor[p] = sum;
    }
    for (int k = 0; k < rows(); ++k) {
        phi[k] = horizontal[d_column[k]] * factor[d_pattern[k]];
    }
}

void hybrid_sensing::column_derivatives(double u_h,
                                        double u_v,
                                        Eigen::Ref<Eigen::VectorXcd> phi,
                                        Eigen::Ref<Eigen::VectorXcd> d_h,
                                        Eigen::Ref<Eigen::VectorXcd> d_v) const
{
    thread_local std::vector<std::complex<double>> horizontal, vertical, factor, weighted;
    phase_powers(u_h, d_max_column + 1, horizontal);
    const Eigen::Index m = d_pattern_weights.cols();
    phase_powers(u_v, d_max_row + static_cast<int>(m), vertical);
    const size_t patterns = d_pattern_row.size();
    factor.resize(patterns);
    weighted.resize(patterns);
    const std::complex<double> j_pi(0.0, M_PI);
    for (size_t p = 0; p < patterns; ++p) {
        std::complex<double> sum(0.0, 0.0), by_row(0.0, 0.0);
        for (Eigen::Index j = 0; j < m; ++j) {
            const auto term = d_pattern_weights(p, j) * vertical[d_pattern_row[p] + j];
            sum += term;
            by_row += static_cast<double>(d_pattern_row[p] + j) * term;
        }
        factor[p] = sum;
        weighted[p] = j_pi * by_row;
    }
    for (int k = 0; k < rows(); ++k) {
        const std::complex<double> h = horizontal[d_column[k]];
        phi[k] = h * factor[d_pattern[k]];
        d_h[k] = j_pi * static_cast<double>(d_column[k]) * phi[k];
        d_v[k] = h * weighted[d_pattern[k]];
    }
}

Eigen::MatrixXcd hybrid_sensing::columns(const Eigen::VectorXd& u_h,
                                         const Eigen::VectorXd& u_v) const
{
    if (u_h.size() != u_v.size()) {
        throw std::invalid_argument("hybrid_sensing: u_h and u_v differ in length");
    }
    Eigen::MatrixXcd phi(rows(), u_h.size());
    for (Eigen::Index n = 0; n < u_h.size(); ++n) {
        column(u_h[n], u_v[n], phi.col(n));
    }
    return phi;
}

} // namespace beamalign
} // namespace gr
