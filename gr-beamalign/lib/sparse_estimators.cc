/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <gnuradio/beamalign/sparse_estimators.h>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <numeric>
#include <thread>
#include <stdexcept>
#include <string>

namespace gr {
namespace beamalign {

sparse_estimate omp(const Eigen::Ref<const Eigen::MatrixXcd>& phi,
                    const Eigen::Ref<const Eigen::VectorXcd>& y,
                    int max_atoms,
                    double stop_energy)
{
    const Eigen::Index m = phi.rows(), n = phi.cols();
    if (y.size() != m) {
        throw std::invalid_argument("omp: y has " + std::to_string(y.size()) +
                                    " entries, phi has " + std::to_string(m) + " rows");
    }
    if (max_atoms < 1 || max_atoms > std::min(m, n)) {
        throw std::invalid_argument("omp: max_atoms must be in 1..min(M, N) = " +
                                    std::to_string(std::min(m, n)));
    }
    if (!phi.allFinite() || !y.allFinite()) {
        throw std::invalid_argument("omp: phi and y must be finite");
    }
    Eigen::VectorXd inverse_norm = phi.colwise().norm().transpose();
    for (Eigen::Index j = 0; j < n; ++j) {
        inverse_norm[j] = inverse_norm[j] > 0 ? 1.0 / inverse_norm[j] : 0.0;
    }

    sparse_estimate out;
    Eigen::VectorXcd residual = y;
    Eigen::MatrixXcd chosen(m, 0);
    std::vector<bool> used(n, false);
    out.residual_energy = residual.squaredNorm();
    while (static_cast<int>(out.support.size()) < max_atoms &&
           out.residual_energy > stop_energy) {
        Eigen::VectorXd score =
            (phi.adjoint() * residual).cwiseAbs().cwiseProduct(inverse_norm);
        for (int j : out.support) {
            score[j] = -1.0; // a re-fitted atom is orthogonal to the residual anyway
        }
        Eigen::Index best;
        if (score.maxCoeff(&best) <= 0.0) {
            break; // the residual is orthogonal to every remaining atom
        }
        out.support.push_back(static_cast<int>(best));
        chosen.conservativeResize(Eigen::NoChange, chosen.cols() + 1);
        chosen.col(chosen.cols() - 1) = phi.col(best);
        out.coefficients = chosen.householderQr().solve(y);
        residual = y - chosen * out.coefficients;
        out.residual_energy = residual.squaredNorm();
    }
    return out;
}

} // namespace beamalign
} // namespace gr

// ---------------------------------------------------------------------------
// Sparse Bayesian estimators of seed 004 (ALGORITHMS.md section 6).

namespace gr {
namespace beamalign {

hybrid_sensing::hybrid_sensing(std::vector<int> chain_column,
                               std::vector<int> chain_row,
                               Eigen::MatrixXcd weights_conj)
    : d_column(std::move(chain_column)),
      d_row(std::move(chain_row)),
      d_weights_conj(std::move(weights_conj))
{
    if (d_column.size() != d_row.size() ||
        static_cast<Eigen::Index>(d_column.size()) != d_weights_conj.rows()) {
        throw std::invalid_argument(
            "hybrid_sensing: chain_column, chain_row and weights need one entry per RF chain");
    }
    if (d_column.empty() || d_weights_conj.cols() < 1) {
        throw std::invalid_argument("hybrid_sensing: needs at least one RF chain and element");
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

// exp(j pi n u) for n = 0..count-1 by repeated multiplication.
void phase_powers(double u, int count, std::vector<std::complex<double>>& out)
{
    out.resize(count);
    const std::complex<double> step = std::polar(1.0, M_PI * u);
    std::complex<double> value(1.0, 0.0);
    for (int n = 0; n < count; ++n) {
        out[n] = value;
        value *= step;
    }
}

} // namespace

void hybrid_sensing::column(double u_h, double u_v, Eigen::Ref<Eigen::VectorXcd> phi) const
{
    thread_local std::vector<std::complex<double>> horizontal, vertical;
    phase_powers(u_h, d_max_column + 1, horizontal);
    phase_powers(u_v, d_max_row + static_cast<int>(d_weights_conj.cols()), vertical);
    const Eigen::Index m = d_weights_conj.cols();
    for (int k = 0; k < rows(); ++k) {
        const std::complex<double>* weights = d_weights_conj.data() + k * m;
        const std::complex<double>* phases = vertical.data() + d_row[k];
        std::complex<double> sum(0.0, 0.0);
        for (Eigen::Index j = 0; j < m; ++j) {
            sum += weights[j] * phases[j];
        }
        phi[k] = horizontal[d_column[k]] * sum;
    }
}

void hybrid_sensing::column_derivatives(double u_h,
                                        double u_v,
                                        Eigen::Ref<Eigen::VectorXcd> phi,
                                        Eigen::Ref<Eigen::VectorXcd> d_h,
                                        Eigen::Ref<Eigen::VectorXcd> d_v) const
{
    thread_local std::vector<std::complex<double>> horizontal, vertical;
    phase_powers(u_h, d_max_column + 1, horizontal);
    phase_powers(u_v, d_max_row + static_cast<int>(d_weights_conj.cols()), vertical);
    const std::complex<double> j_pi(0.0, M_PI);
    for (int k = 0; k < rows(); ++k) {
        std::complex<double> sum(0.0, 0.0), weighted(0.0, 0.0);
        for (Eigen::Index j = 0; j < d_weights_conj.cols(); ++j) {
            const auto term = d_weights_conj(k, j) * vertical[d_row[k] + j];
            sum += term;
            weighted += static_cast<double>(d_row[k] + j) * term;
        }
        phi[k] = horizontal[d_column[k]] * sum;
        d_h[k] = j_pi * static_cast<double>(d_column[k]) * phi[k];
        d_v[k] = j_pi * horizontal[d_column[k]] * weighted;
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

namespace {

constexpr double inactive_rate_factor = 1e-3; // b_bar = 1e-3 P_on
constexpr double noise_prior = 1e-6;          // c = d -> 0
constexpr double armijo_sigma = 1e-4, armijo_beta = 0.5;
constexpr int armijo_tries = 12;
// First trial move of the steepest atom, in grid steps: at most a quarter step (half
// the reach when that is larger), else twice the last accepted move, so a settled grid
// costs one or two trials per step.
constexpr double first_move_min = 1e-6;

// The `count` largest entries of score (ties to the lower index), in ascending index order.
std::vector<int> top_indices(const Eigen::VectorXd& score, int count)
{
    std::vector<int> order(score.size());
    for (size_t n = 0; n < order.size(); ++n) {
        order[n] = static_cast<int>(n);
    }
    // A strict total order, so selection picks the same set as a stable sort, in O(N).
    auto before = [&](int a, int b) {
        return score[a] > score[b] || (score[a] == score[b] && a < b);
    };
    std::nth_element(order.begin(), order.begin() + count, order.end(), before);
    order.resize(count);
    std::sort(order.begin(), order.end());
    return order;
}

struct grid_bounds {
    Eigen::VectorXd anchor_h, anchor_v;
    double scale_h, scale_v; // half grid steps: the gradient's units
    double reach_h, reach_v;
    double first_move_max;
};

// One Armijo gradient step of f(u) = -||r0 - Phi_S(u) x_S||^2 on the support atoms;
// an accepted step updates their directions, sensing columns (phi) and squared norms.
// first_move carries the trial size between steps.
void grid_step(const hybrid_sensing& sensing,
               const Eigen::VectorXcd& r0,
               const Eigen::VectorXcd& x_support,
               const std::vector<int>& support,
               const grid_bounds& bounds,
               Eigen::VectorXd& u_h,
               Eigen::VectorXd& u_v,
               Eigen::MatrixXcd& phi_all,
               Eigen::VectorXd& norms2,
               double& first_move)
{
    if (first_move < first_move_min) {
        return; // the grid has settled
    }
    const int count = static_cast<int>(support.size());
    const int m = sensing.rows();
    Eigen::MatrixXcd phi(m, count), d_h(m, count), d_v(m, count);
    for (int i = 0; i < count; ++i) {
        sensing.column_derivatives(
            u_h[support[i]], u_v[support[i]], phi.col(i), d_h.col(i), d_v.col(i));
    }
    const Eigen::VectorXcd r = r0 - phi * x_support;
    const double f0 = -r.squaredNorm();
    Eigen::VectorXd g_h(count), g_v(count);
    for (int i = 0; i < count; ++i) {
        g_h[i] = 2.0 * std::real(std::conj(x_support[i]) * d_h.col(i).dot(r)) * bounds.scale_h;
        g_v[i] = 2.0 * std::real(std::conj(x_support[i]) * d_v.col(i).dot(r)) * bounds.scale_v;
    }
    const double largest = std::max(g_h.cwiseAbs().maxCoeff(), g_v.cwiseAbs().maxCoeff());
    if (!(largest > 0.0)) {
        return;
    }
    const double slope = g_h.squaredNorm() + g_v.squaredNorm();
    // Gradients are per half grid step, so t * largest / 2 is the steepest atom's move.
    double t = 2.0 * first_move / largest;
    Eigen::VectorXd new_h(count), new_v(count);
    Eigen::MatrixXcd trial(m, count);
    for (int attempt = 0; attempt < armijo_tries; ++attempt) {
        for (int i = 0; i < count; ++i) {
            const int n = support[i];
            new_h[i] = std::clamp(u_h[n] + t * g_h[i] * bounds.scale_h,
                                  bounds.anchor_h[n] - bounds.reach_h,
                                  bounds.anchor_h[n] + bounds.reach_h);
            new_v[i] = std::clamp(u_v[n] + t * g_v[i] * bounds.scale_v,
                                  bounds.anchor_v[n] - bounds.reach_v,
                                  bounds.anchor_v[n] + bounds.reach_v);
            sensing.column(new_h[i], new_v[i], trial.col(i));
        }
        if (-(r0 - trial * x_support).squaredNorm() >= f0 + armijo_sigma * t * slope) {
            for (int i = 0; i < count; ++i) {
                u_h[support[i]] = new_h[i];
                u_v[support[i]] = new_v[i];
                phi_all.col(support[i]) = trial.col(i);
                norms2[support[i]] = trial.col(i).squaredNorm();
            }
            first_move = std::min(bounds.first_move_max, t * largest);
            return;
        }
        t *= armijo_beta;
    }
    first_move = t * largest / 2.0;
}

void check_problem(const hybrid_sensing& sensing,
                   const Eigen::Ref<const Eigen::VectorXcd>& y,
                   const Eigen::Ref<const Eigen::VectorXd>& u_h,
                   const Eigen::Ref<const Eigen::VectorXd>& u_v,
                   double step_h,
                   double step_v,
                   const vbi_options& options,
                   const char* name)
{
    const std::string who(name);
    if (y.size() != sensing.rows()) {
        throw std::invalid_argument(who + ": y has " + std::to_string(y.size()) +
                                    " entries, the sensing model has " +
                                    std::to_string(sensing.rows()) + " RF chains");
    }
    if (u_h.size() != u_v.size() || u_h.size() < 1) {
        throw std::invalid_argument(who + ": u_h and u_v must be non-empty and equally long");
    }
    if (!y.allFinite() || !u_h.allFinite() || !u_v.allFinite()) {
        throw std::invalid_argument(who + ": y and the grid must be finite");
    }
    if (!(step_h > 0.0) || !(step_v > 0.0)) {
        throw std::invalid_argument(who + ": grid steps must be positive");
    }
    if (options.sparsity < 1 || options.extra < 0 || options.iterations < 1 ||
        options.grid_steps < 0 || !(options.reach >= 0.0)) {
        throw std::invalid_argument(who + ": need sparsity >= 1, extra >= 0, iterations >= 1, "
                                          "grid_steps >= 0, reach >= 0");
    }
}

void check_columns(const hybrid_sensing& sensing,
                   const Eigen::Ref<const Eigen::VectorXd>& u_h,
                   const Eigen::Ref<const Eigen::MatrixXcd>* phi,
                   const char* name)
{
    if (phi && (phi->rows() != sensing.rows() || phi->cols() != u_h.size())) {
        throw std::invalid_argument(std::string(name) + ": phi must be " +
                                    std::to_string(sensing.rows()) + " x " +
                                    std::to_string(u_h.size()) + " (RF chains x grid atoms)");
    }
}

vbi_estimate vbi(const hybrid_sensing& sensing,
                 const Eigen::Ref<const Eigen::VectorXcd>& y,
                 const Eigen::Ref<const Eigen::VectorXd>& u_h0,
                 const Eigen::Ref<const Eigen::VectorXd>& u_v0,
                 double step_h,
                 double step_v,
                 const vbi_options& options,
                 bool full_posterior,
                 const Eigen::VectorXcd* warm_start = nullptr,
                 Eigen::MatrixXcd phi = Eigen::MatrixXcd())
{
    const int m = sensing.rows();
    const int n = static_cast<int>(u_h0.size());
    vbi_estimate out;
    out.u_h = u_h0;
    out.u_v = u_v0;
    out.x = Eigen::VectorXcd::Zero(n);
    const double energy = y.squaredNorm();
    if (!(energy > 0.0)) {
        return out; // nothing received: the zero channel
    }
    const grid_bounds bounds{ u_h0,         u_v0,
                              step_h / 2,   step_v / 2,
                              options.reach * step_h, options.reach * step_v,
                              std::max(0.25, options.reach / 2) };
    if (phi.size() == 0) {
        phi = sensing.columns(out.u_h, out.u_v);
    }
    Eigen::VectorXd norms2 = phi.colwise().squaredNorm().transpose();
    const int size = std::min({ options.sparsity + options.extra, std::max(1, m / 2), n });
    const double p_on = energy / (options.sparsity * norms2.mean());
    // With every atom in the model, N inactive atoms of variance b_bar would together
    // absorb noise and weak paths; scaling by M/N keeps their total at M atoms' worth.
    const double inactive_scale = full_posterior ? std::min(1.0, static_cast<double>(m) / n) : 1.0;
    const double a = 1.0, a_bar = 1.0, b = p_on,
                 b_bar = inactive_rate_factor * p_on * inactive_scale;
    const double rate = std::min(static_cast<double>(options.sparsity) / n, 0.5);
    const double prior_logit =
        std::log(rate / (1.0 - rate)) + a * std::log(b) - a_bar * std::log(b_bar);
    double gamma = 100.0 * m / energy;

    // The first support: the strongest atoms of a warm start, else those best matched
    // to y.
    Eigen::VectorXd correlation = (phi.adjoint() * y).cwiseAbs();
    for (int k = 0; k < n; ++k) {
        correlation[k] = norms2[k] > 0 ? correlation[k] / std::sqrt(norms2[k]) : 0.0;
    }
    std::vector<int> support =
        top_indices(warm_start ? Eigen::VectorXd(warm_start->cwiseAbs()) : correlation, size);
    Eigen::VectorXd pi = Eigen::VectorXd::Constant(n, rate);
    for (int k : support) {
        pi[k] = 0.5;
    }
    Eigen::VectorXd rho = (pi * (a / b)).array() + (1.0 - pi.array()) * (a_bar / b_bar);
    Eigen::VectorXcd& mu = out.x;
    if (warm_start) {
        mu = *warm_start;
    }
    Eigen::VectorXd var(n), power(n);
    Eigen::VectorXcd r(m);
    std::vector<bool> on(n);
    double first_move = bounds.first_move_max;

    for (out.iterations = 1; out.iterations <= options.iterations; ++out.iterations) {
        const Eigen::VectorXcd previous = mu;
        double trace;
        if (full_posterior) {
            // Sigma = (D + gamma Phi^H Phi)^-1 with D = diag(rho), through Woodbury:
            // C = Phi D^-1 Phi^H + I / gamma (M x M), mu = D^-1 Phi^H C^-1 y.
            const Eigen::VectorXd d_inv = rho.cwiseInverse();
            const Eigen::MatrixXcd scaled = phi * d_inv.asDiagonal();
            const Eigen::MatrixXcd coupling = scaled * phi.adjoint();
            Eigen::MatrixXcd c = coupling;
            c.diagonal().array() += 1.0 / gamma;
            const Eigen::LLT<Eigen::MatrixXcd> chol(c);
            mu = d_inv.asDiagonal() * (phi.adjoint() * chol.solve(y));
            const Eigen::MatrixXcd c_inv_phi = chol.solve(phi);
            for (int k = 0; k < n; ++k) {
                var[k] = d_inv[k] - d_inv[k] * d_inv[k] * std::real(phi.col(k).dot(c_inv_phi.col(k)));
            }
            r = y - phi * mu;
            trace = std::real(coupling.trace() - (coupling * chol.solve(coupling)).trace());
        } else {
            const int count = static_cast<int>(support.size());
            Eigen::MatrixXcd ps(m, count);
            for (int i = 0; i < count; ++i) {
                ps.col(i) = phi.col(support[i]);
            }
            const Eigen::MatrixXcd gram = ps.adjoint() * ps;
            Eigen::MatrixXcd precision = gamma * gram;
            for (int i = 0; i < count; ++i) {
                precision(i, i) += rho[support[i]];
            }
            const Eigen::MatrixXcd sigma =
                precision.llt().solve(Eigen::MatrixXcd::Identity(count, count));
            const Eigen::VectorXcd x_support = gamma * (sigma * (ps.adjoint() * y));
            r = y - ps * x_support;
            // Off the support each atom gets the posterior it would have if it alone
            // joined the support model; they are not fed back into the residual (a joint
            // update of ~N weakly shrunk atoms oscillates).
            const Eigen::VectorXcd correlation_r = phi.adjoint() * r;
            for (int k = 0; k < n; ++k) {
                var[k] = 1.0 / (gamma * norms2[k] + rho[k]);
                mu[k] = gamma * var[k] * correlation_r[k];
            }
            for (int i = 0; i < count; ++i) {
                mu[support[i]] = x_support[i];
                var[support[i]] = std::real(sigma(i, i));
            }
            trace = std::real((sigma.array() * gram.transpose().array()).sum());
        }
        for (int k = 0; k < n; ++k) {
            power[k] = std::norm(mu[k]) + var[k];
            const double shape = pi[k] * a + (1.0 - pi[k]) * a_bar + 1.0;
            const double rate_post = power[k] + pi[k] * b + (1.0 - pi[k]) * b_bar;
            rho[k] = shape / rate_post;
            // The support log-odds' (a - 1) <ln rho> terms cancel because a = a_bar.
            const double logit = prior_logit - (b - b_bar) * rho[k];
            // Clamped: exp overflowing for clearly inactive atoms takes libm's slow path.
            pi[k] = logit < -700.0 ? 0.0 : 1.0 / (1.0 + std::exp(-logit));
        }
        gamma = (noise_prior + m) / (noise_prior + r.squaredNorm() + trace);

        if (full_posterior) {
            support = top_indices(power, size); // the grid of the strongest atoms moves
        }
        if (options.grid_steps > 0) {
            // Every support atom moves: weak paths below the activity threshold need
            // their grid refined as much as strong ones.
            const std::vector<int>& moving = support;
            std::fill(on.begin(), on.end(), false);
            Eigen::VectorXcd x_moving(moving.size());
            for (size_t i = 0; i < moving.size(); ++i) {
                on[moving[i]] = true;
                x_moving[i] = mu[moving[i]];
            }
            // r0: y minus the atoms that stay put (with SC-VBI, none are in the model).
            Eigen::VectorXcd r0 = y;
            if (full_posterior) {
                for (int k = 0; k < n; ++k) {
                    if (!on[k]) {
                        r0 -= phi.col(k) * mu[k];
                    }
                }
            }
            for (int step = 0; step < options.grid_steps && !moving.empty(); ++step) {
                grid_step(sensing, r0, x_moving, moving, bounds, out.u_h, out.u_v, phi, norms2,
                          first_move);
            }
        }
        support = top_indices(power, size);
        // Converged when the support's coefficients settle (off-support atoms only hold
        // trial posteriors, which follow the residual).
        double change = 0.0, size2 = 0.0;
        for (int k : support) {
            change += std::norm(mu[k] - previous[k]);
            size2 += std::norm(mu[k]);
        }
        if (std::sqrt(change) <= options.tolerance * std::max(std::sqrt(size2), 1e-30)) {
            break;
        }
    }
    out.iterations = std::min(out.iterations, options.iterations);
    if (full_posterior) {
        // Every atom is in the model: the channel's posterior mean sums all of them (a
        // path's energy spreads over its grid neighbours).
        support.resize(n);
        std::iota(support.begin(), support.end(), 0);
    }
    out.support = support;
    out.noise_precision = gamma;
    return out;
}

} // namespace

vbi_estimate sc_vbi(const hybrid_sensing& sensing,
                    const Eigen::Ref<const Eigen::VectorXcd>& y,
                    const Eigen::Ref<const Eigen::VectorXd>& u_h,
                    const Eigen::Ref<const Eigen::VectorXd>& u_v,
                    double step_h,
                    double step_v,
                    const vbi_options& options,
                    const Eigen::Ref<const Eigen::MatrixXcd>* phi)
{
    check_problem(sensing, y, u_h, u_v, step_h, step_v, options, "sc_vbi");
    check_columns(sensing, u_h, phi, "sc_vbi");
    return vbi(sensing, y, u_h, u_v, step_h, step_v, options, false, nullptr,
               phi ? Eigen::MatrixXcd(*phi) : Eigen::MatrixXcd());
}

vbi_estimate turbo_vbi(const hybrid_sensing& sensing,
                       const Eigen::Ref<const Eigen::VectorXcd>& y,
                       const Eigen::Ref<const Eigen::VectorXd>& u_h,
                       const Eigen::Ref<const Eigen::VectorXd>& u_v,
                       double step_h,
                       double step_v,
                       const vbi_options& options,
                       const Eigen::Ref<const Eigen::MatrixXcd>* phi)
{
    check_problem(sensing, y, u_h, u_v, step_h, step_v, options, "turbo_vbi");
    check_columns(sensing, u_h, phi, "turbo_vbi");
    return vbi(sensing, y, u_h, u_v, step_h, step_v, options, true, nullptr,
               phi ? Eigen::MatrixXcd(*phi) : Eigen::MatrixXcd());
}

vbi_estimate gw_sc_vbi(const hybrid_sensing& sensing,
                       const Eigen::Ref<const Eigen::VectorXcd>& y,
                       const Eigen::Ref<const Eigen::VectorXd>& u_h,
                       const Eigen::Ref<const Eigen::VectorXd>& u_v,
                       double step_h,
                       double step_v,
                       const std::vector<std::vector<int>>& group_chains,
                       const std::vector<std::vector<int>>& group_atoms,
                       const vbi_options& group_options,
                       const vbi_options& joint_options,
                       int threads,
                       int candidates,
                       const Eigen::Ref<const Eigen::MatrixXcd>* phi)
{
    check_problem(sensing, y, u_h, u_v, step_h, step_v, group_options, "gw_sc_vbi");
    check_columns(sensing, u_h, phi, "gw_sc_vbi");
    check_problem(sensing, y, u_h, u_v, step_h, step_v, joint_options, "gw_sc_vbi");
    const size_t groups = group_chains.size();
    if (groups < 1 || group_atoms.size() != groups) {
        throw std::invalid_argument("gw_sc_vbi: need chains and atoms for each of >= 1 groups");
    }
    for (const auto& atoms : group_atoms) {
        for (int k : atoms) {
            if (k < 0 || k >= u_h.size()) {
                throw std::invalid_argument("gw_sc_vbi: atom " + std::to_string(k) +
                                            " outside the grid");
            }
        }
    }
    std::vector<hybrid_sensing> models;
    for (const auto& chains : group_chains) {
        models.push_back(sensing.subset(chains)); // validates the chain indices
    }

    std::vector<vbi_estimate> estimates(groups);
    auto run_group = [&](size_t g) {
        if (group_chains[g].empty() || group_atoms[g].empty()) {
            return;
        }
        Eigen::VectorXcd y_group(group_chains[g].size());
        for (size_t i = 0; i < group_chains[g].size(); ++i) {
            y_group[i] = y[group_chains[g][i]];
        }
        Eigen::VectorXd h(group_atoms[g].size()), v(group_atoms[g].size());
        for (size_t i = 0; i < group_atoms[g].size(); ++i) {
            h[i] = u_h[group_atoms[g][i]];
            v[i] = u_v[group_atoms[g][i]];
        }
        Eigen::MatrixXcd phi_group;
        if (phi) {
            phi_group.resize(group_chains[g].size(), group_atoms[g].size());
            for (size_t j = 0; j < group_atoms[g].size(); ++j) {
                for (size_t i = 0; i < group_chains[g].size(); ++i) {
                    phi_group(i, j) = (*phi)(group_chains[g][i], group_atoms[g][j]);
                }
            }
        }
        estimates[g] = vbi(models[g], y_group, h, v, step_h, step_v, group_options, false,
                           nullptr, std::move(phi_group));
    };
    const size_t workers = std::min<size_t>(std::max(threads, 1), groups);
    if (workers <= 1) {
        for (size_t g = 0; g < groups; ++g) {
            run_group(g);
        }
    } else {
        std::atomic<size_t> next{ 0 };
        std::vector<std::exception_ptr> errors(workers);
        std::vector<std::thread> pool;
        for (size_t w = 0; w < workers; ++w) {
            pool.emplace_back([&, w] {
                try {
                    for (size_t g = next++; g < groups; g = next++) {
                        run_group(g);
                    }
                } catch (...) {
                    errors[w] = std::current_exception();
                }
            });
        }
        for (auto& worker : pool) {
            worker.join();
        }
        for (const auto& error : errors) {
            if (error) {
                std::rethrow_exception(error);
            }
        }
    }

    // Robust stage: all RF chains over the union of the group supports.
    std::vector<double> h, v;
    std::vector<std::complex<double>> x;
    for (const auto& estimate : estimates) {
        for (int k : estimate.support) {
            h.push_back(estimate.u_h[k]);
            v.push_back(estimate.u_v[k]);
            x.push_back(estimate.x[k]);
        }
    }
    // Paths the groups missed (weak ones beside a strong path, or leaking across a
    // sub-interval edge) remain in the residual: the grid atoms best matched to it join
    // the union, so the joint stage can still pick them up.
    if (candidates > 0) {
        Eigen::VectorXcd residual = y, column(sensing.rows());
        for (size_t i = 0; i < h.size(); ++i) {
            sensing.column(h[i], v[i], column);
            residual -= column * x[i];
        }
        const Eigen::MatrixXcd computed = phi ? Eigen::MatrixXcd() : sensing.columns(u_h, u_v);
        const Eigen::Ref<const Eigen::MatrixXcd> grid =
            phi ? *phi : Eigen::Ref<const Eigen::MatrixXcd>(computed);
        const Eigen::VectorXd match = (grid.adjoint() * residual).cwiseAbs().cwiseQuotient(
            grid.colwise().norm().transpose().cwiseMax(1e-300));
        for (int k : top_indices(match, std::min<int>(candidates, u_h.size()))) {
            h.push_back(u_h[k]);
            v.push_back(u_v[k]);
            x.push_back(0.0);
        }
    }
    if (h.empty()) {
        vbi_estimate empty;
        empty.x = Eigen::VectorXcd::Zero(0);
        empty.u_h = empty.u_v = Eigen::VectorXd::Zero(0);
        return empty;
    }
    const Eigen::VectorXd union_h = Eigen::Map<Eigen::VectorXd>(h.data(), h.size());
    const Eigen::VectorXd union_v = Eigen::Map<Eigen::VectorXd>(v.data(), v.size());
    // Warm start from the group estimates: the joint stage only has to repair them.
    const Eigen::VectorXcd union_x =
        Eigen::Map<Eigen::VectorXcd>(x.data(), static_cast<Eigen::Index>(x.size()));
    return vbi(sensing, y, union_h, union_v, step_h, step_v, joint_options, false, &union_x);
}

} // namespace beamalign
} // namespace gr
