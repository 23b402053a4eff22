/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <gnuradio/beamalign/coarray.h>
#include <cmath>
#include <stdexcept>

namespace gr {
namespace beamalign {

coarray_solver::coarray_solver(int num_antennas, const std::vector<double>& grid_deg)
    : d_num_antennas(num_antennas)
{
    if (num_antennas < 2) {
        throw std::invalid_argument("coarray_solver: at least 2 antennas are needed");
    }
    if (grid_deg.size() < 2) {
        throw std::invalid_argument("coarray_solver: the grid needs at least 2 angles");
    }
    const int m = num_antennas;
    const int l = static_cast<int>(grid_deg.size());
    d_basis.resize(l, 2 * m);
    for (int j = 0; j < l; ++j) {
        const double s = std::sin(grid_deg[j] * M_PI / 180.0);
        for (int k = 0; k < m; ++k) {
            d_basis(j, k) = std::cos(M_PI * k * s);
            d_basis(j, m + k) = std::sin(M_PI * k * s);
        }
    }
    // Lag k occurs M - |k| times; lags +k and -k fold into one real term.
    d_lag_weight.resize(2 * m);
    for (int k = 0; k < m; ++k) {
        d_lag_weight(k) = d_lag_weight(m + k) = k == 0 ? m : 2.0 * (m - k);
    }
    // Power iteration from a fixed positive start: P is PSD with a dominant eigenvector
    // close to all-positive, so 50 steps settle the step size of the solver.
    Eigen::VectorXd v = Eigen::VectorXd::Ones(l) / std::sqrt(static_cast<double>(l));
    double norm = 0.0;
    for (int it = 0; it < 50; ++it) {
        Eigen::VectorXd pv = apply_p(v);
        norm = pv.norm();
        v = pv / norm;
    }
    d_p_norm = norm;
}

Eigen::VectorXd coarray_solver::apply_p(const Eigen::VectorXd& x) const
{
    Eigen::VectorXd out(x.size());
    apply_p(x, out);
    return out;
}

void coarray_solver::apply_p(const Eigen::VectorXd& x, Eigen::VectorXd& out) const
{
    // P x = B diag(w) B^T x: 2M dot products along the grid, then 2M axpys.
    const Eigen::VectorXd lags = d_lag_weight.cwiseProduct(d_basis.transpose() * x);
    out.noalias() = d_basis * lags;
}

Eigen::VectorXd coarray_solver::dbf(const std::complex<double>* covariance,
                                    bool remove_noise) const
{
    const int m = d_num_antennas;
    double noise = 0.0;
    if (remove_noise) {
        const Eigen::Map<const Eigen::Matrix<std::complex<double>,
                                             Eigen::Dynamic,
                                             Eigen::Dynamic,
                                             Eigen::RowMajor>>
            r(covariance, m, m);
        const Eigen::MatrixXcd hermitian = 0.5 * (r + r.adjoint());
        noise = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXcd>(hermitian,
                                                                Eigen::EigenvaluesOnly)
                    .eigenvalues()
                    .minCoeff();
    }
    // c_k = sum over i - j = k of R_ij; the spectrum is real for Hermitian R:
    // eta_l = c_0 + 2 sum_{k>0} Re(c_k exp(-j pi k s_l)).
    Eigen::VectorXd lags(2 * m);
    for (int k = 0; k < m; ++k) {
        std::complex<double> c(0.0, 0.0);
        for (int j = 0; j + k < m; ++j) {
            c += covariance[(j + k) * m + j];
        }
        if (k == 0) {
            c -= noise * m; // the trace of sigma^2 I
        }
        const double fold = k == 0 ? 1.0 : 2.0;
        lags(k) = fold * c.real();
        lags(m + k) = fold * c.imag();
    }
    return d_basis * lags;
}

Eigen::VectorXd coarray_solver::reconstruct(const Eigen::VectorXd& eta_i,
                                            const Eigen::VectorXd& z,
                                            double lambda,
                                            double mu,
                                            double eps,
                                            int rounds,
                                            int iterations) const
{
    const int l = grid_size();
    if (eta_i.size() != l || z.size() != l) {
        throw std::invalid_argument(
            "reconstruct: eta_i and z must have the grid's length");
    }
    if (!(lambda >= 0.0) || !(mu >= 0.0) || !(eps > 0.0) || rounds < 1 ||
        iterations < 1) {
        throw std::invalid_argument("reconstruct: need lambda >= 0, mu >= 0, eps > 0, "
                                    "rounds and iterations >= 1");
    }
    const double scale = eta_i.maxCoeff() > 0.0 ? eta_i.maxCoeff() : 1.0;
    const Eigen::VectorXd b = (eta_i + lambda * z) / scale;
    const double step = 1.0 / (d_p_norm + lambda);

    Eigen::VectorXd eta = b.cwiseMax(0.0) * step;
    Eigen::VectorXd weights = Eigen::VectorXd::Ones(l);
    Eigen::VectorXd x(l), y(l), x_new(l), p_y(l);
    for (int round = 0; round < rounds; ++round) {
        x = eta;
        y = eta;
        double t = 1.0;
        for (int it = 0; it < iterations; ++it) {
            apply_p(y, p_y);
            // Gradient step, then the proximal step of mu * sum w_l eta_l on eta >= 0.
            x_new = (y - step * (p_y + lambda * y - b + mu * weights)).cwiseMax(0.0);
            const double t_new = 0.5 * (1.0 + std::sqrt(1.0 + 4.0 * t * t));
            y = x_new + ((t - 1.0) / t_new) * (x_new - x);
            x.swap(x_new);
            t = t_new;
        }
        eta = x;
        const double peak = std::max(eta.maxCoeff(), 1e-30);
        weights = ((eta / peak).array() + eps).inverse().matrix();
    }
    return eta * scale;
}

} // namespace beamalign
} // namespace gr
