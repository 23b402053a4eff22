/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
// SC-VBI and Turbo-VBI (seed 004): one loop (vbi_loop) with two posterior steps.
#include "vbi_core.h"
#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

namespace gr {
namespace beamalign {
namespace detail {

std::vector<int> top_indices(const Eigen::VectorXd& score, int count)
{
    const int n = static_cast<int>(score.size());
    count = std::clamp(count, 0, n);
    // A strict total order, so the selection is the set a stable sort would pick.
    auto before = [&](int a, int b) {
        return score[a] > score[b] || (score[a] == score[b] && a < b);
    };
    std::vector<int> best;
    best.reserve(count + 1);
    // Few atoms out of many (every VBI iteration): one pass keeping a small sorted list,
    // where most entries lose to the weakest kept one at the first comparison (entries
    // come in index order, so a tie with it loses too).
    for (int k = 0; k < n && count > 0; ++k) {
        if (static_cast<int>(best.size()) == count && score[k] <= score[best.back()]) {
            continue;
        }
        auto at = best.end();
        while (at != best.begin() && before(k, *(at - 1))) {
            --at;
        }
        best.insert(at, k);
        if (static_cast<int>(best.size()) > count) {
            best.pop_back();
        }
    }
    std::sort(best.begin(), best.end());
    return best;
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
        g_h[i] =
            2.0 * std::real(std::conj(x_support[i]) * d_h.col(i).dot(r)) * bounds.scale_h;
        g_v[i] =
            2.0 * std::real(std::conj(x_support[i]) * d_v.col(i).dot(r)) * bounds.scale_v;
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

// The inverse of a Hermitian positive-definite matrix of a few atoms, by a Cholesky
// factor and two triangular solves. (Eigen's LLT also computes the matrix's L1 norm for a
// condition estimate we never read: a hypot per entry, about a tenth of a small stage's
// iteration.)
Eigen::MatrixXcd hermitian_inverse(Eigen::MatrixXcd a)
{
    const Eigen::Index n = a.rows();
    for (Eigen::Index j = 0; j < n; ++j) {
        double diagonal = std::real(a(j, j));
        for (Eigen::Index k = 0; k < j; ++k) {
            diagonal -= std::norm(a(j, k));
        }
        const double pivot = std::sqrt(diagonal);
        a(j, j) = pivot;
        for (Eigen::Index i = j + 1; i < n; ++i) {
            std::complex<double> sum = a(i, j);
            for (Eigen::Index k = 0; k < j; ++k) {
                sum -= a(i, k) * std::conj(a(j, k));
            }
            a(i, j) = sum / pivot;
        }
    }
    Eigen::MatrixXcd inverse = Eigen::MatrixXcd::Identity(n, n);
    a.triangularView<Eigen::Lower>().solveInPlace(inverse);
    a.triangularView<Eigen::Lower>().adjoint().solveInPlace(inverse);
    return inverse;
}

// Least-squares gains x of y on the columns; returns the residual energy.
double least_squares(const Eigen::MatrixXcd& columns,
                     const Eigen::Ref<const Eigen::VectorXcd>& y,
                     Eigen::VectorXcd& x)
{
    Eigen::MatrixXcd gram = columns.adjoint() * columns;
    // A whisker of ridge keeps two nearly equal columns invertible.
    gram.diagonal().array() += 1e-12 * gram.diagonal().real().maxCoeff();
    x = hermitian_inverse(std::move(gram)) * (columns.adjoint() * y);
    return (y - columns * x).squaredNorm();
}

// One path that SC-VBI fitted as several support atoms, and the one atom standing for
// them all.
struct split_path {
    int keep = -1;
    std::vector<int> drop;
    double u_h = 0.0, u_v = 0.0;
    std::complex<double> gain;
};

// The Bayesian information criterion's price of one atom (two directions and a complex
// gain) in noise variances, for M complex samples: 2 ln(2M).
double merge_price(int m)
{
    return 2.0 * std::log(2.0 * m);
}

// Armijo refinements of a merged atom, alternating with the gains' least squares: 1 x 3
// is as accurate as 2 x 2 over 2-8 paths on 32 x 8 (200 trials) and cheaper; 4 x 3
// gained under 0.5 dB at 30 dB.
constexpr int merge_refinements = 1, merge_steps = 3;

// The residual energy when the support atoms at positions `joined` (of `columns`) give
// way to one atom, started at their energy-weighted direction and refined; the merged
// atom's direction and gain.
// What a merge test reads: the samples, the atoms' directions and energies, the grid.
struct merge_problem {
    const hybrid_sensing& sensing;
    const Eigen::Ref<const Eigen::VectorXcd>& y;
    const Eigen::VectorXd& u_h;
    const Eigen::VectorXd& u_v;
    const Eigen::VectorXd& energy;
    double step_h, step_v, merge_reach;
};

double merged_loss(const merge_problem& problem,
                   const Eigen::MatrixXcd& columns,
                   const std::vector<int>& atoms,
                   const std::vector<int>& joined,
                   split_path& path)
{
    const auto& [sensing, y, u_h, u_v, energy, step_h, step_v, merge_reach] = problem;
    const int m = sensing.rows(), count = static_cast<int>(columns.cols());
    const int kept = count - static_cast<int>(joined.size());
    Eigen::MatrixXcd merged(m, kept + 1);
    double total = 0.0, centre_h = 0.0, centre_v = 0.0;
    for (int k = 0, c = 0; k < count; ++k) {
        if (std::find(joined.begin(), joined.end(), k) == joined.end()) {
            merged.col(c++) = columns.col(k);
        }
    }
    for (int k : joined) {
        const int atom = atoms[k];
        total += energy[atom];
        centre_h += energy[atom] * u_h[atom];
        centre_v += energy[atom] * u_v[atom];
    }
    Eigen::VectorXd merged_h(1), merged_v(1), merged_norm2(1);
    merged_h[0] = centre_h / total;
    merged_v[0] = centre_v / total;
    Eigen::MatrixXcd merged_column(m, 1);
    sensing.column(merged_h[0], merged_v[0], merged_column.col(0));
    const grid_bounds local{ merged_h,
                             merged_v,
                             step_h / 2,
                             step_v / 2,
                             merge_reach * step_h,
                             merge_reach * step_v,
                             0.25 };
    double first_move = local.first_move_max, loss = 0.0;
    Eigen::VectorXcd gains;
    const std::vector<int> only{ 0 };
    for (int refinement = 0;; ++refinement) {
        merged.col(kept) = merged_column.col(0);
        loss = least_squares(merged, y, gains);
        if (refinement == merge_refinements) {
            break;
        }
        const Eigen::VectorXcd others = y - merged.leftCols(kept) * gains.head(kept);
        const Eigen::VectorXcd gain = gains.tail(1);
        for (int s = 0; s < merge_steps; ++s) {
            grid_step(sensing,
                      others,
                      gain,
                      only,
                      local,
                      merged_h,
                      merged_v,
                      merged_column,
                      merged_norm2,
                      first_move);
        }
    }
    path.u_h = merged_h[0];
    path.u_v = merged_v[0];
    path.gain = gains[kept];
    path.keep = -1;
    path.drop.clear();
    for (int k : joined) {
        const int atom = atoms[k];
        if (path.keep < 0 || energy[atom] > energy[path.keep]) {
            path.keep = atom;
        }
    }
    for (int k : joined) {
        if (atoms[k] != path.keep) {
            path.drop.push_back(atoms[k]);
        }
    }
    return loss;
}

// The support atoms above the noise that one atom fits best (two within merge_reach grid
// steps, or one atom and all within merge_reach of it), if the loss is below the Bayesian
// information criterion's price of the atoms it saves (2 ln(2M) noise variances each: two
// directions and a complex gain, 2M real samples). With group-wise beams a path's
// vertical direction is seen through a few flat 4-element beams, so atoms a grid step
// apart fit it almost as well as one (bench chanest-beams at 30 dB), and the gradient
// steps never join them: they descend to the path's sides.
std::vector<split_path> find_split_paths(const merge_problem& problem,
                                         const std::vector<int>& support,
                                         const Eigen::MatrixXcd& phi,
                                         double gamma)
{
    const auto& [sensing, y, u_h, u_v, energy, step_h, step_v, merge_reach] = problem;
    std::vector<std::pair<double, split_path>> accepted;
    std::vector<split_path> paths;
    split_path trial;
    const int count = static_cast<int>(support.size());
    const int m = sensing.rows();
    std::vector<int> strong;
    for (int i = 0; i < count; ++i) {
        if (energy[support[i]] * gamma > 1.0) {
            strong.push_back(i);
        }
    }
    if (strong.size() < 2) {
        return paths;
    }
    Eigen::MatrixXcd columns(m, count);
    for (int i = 0; i < count; ++i) {
        columns.col(i) = phi.col(support[i]);
    }
    Eigen::VectorXcd x;
    const double split_loss = least_squares(columns, y, x);
    const double price = merge_price(m);
    const auto near = [&](int i, int j) {
        const double dh = (u_h[support[i]] - u_h[support[j]]) / step_h;
        const double dv = (u_v[support[i]] - u_v[support[j]]) / step_v;
        return dh * dh + dv * dv <= merge_reach * merge_reach;
    };
    const auto consider = [&](const std::vector<int>& joined) {
        const double loss = merged_loss(problem, columns, support, joined, trial);
        const double margin =
            gamma * (loss - split_loss) - price * static_cast<double>(joined.size() - 1);
        if (margin < 0.0) {
            accepted.emplace_back(margin, trial);
        }
    };
    for (size_t a = 0; a < strong.size(); ++a) {
        std::vector<int> cluster{ strong[a] };
        for (size_t b = 0; b < strong.size(); ++b) {
            if (b != a && near(strong[a], strong[b])) {
                cluster.push_back(strong[b]);
                if (b > a) {
                    consider({ strong[a], strong[b] });
                }
            }
        }
        if (cluster.size() > 2) {
            consider(cluster);
        }
    }
    // The most clearly split first; each atom joins one merge at most (merges far apart
    // barely change each other's loss).
    std::sort(accepted.begin(), accepted.end(), [](const auto& a, const auto& b) {
        return a.first < b.first;
    });
    std::vector<int> used;
    for (const auto& [margin, path] : accepted) {
        std::vector<int> atoms = path.drop;
        atoms.push_back(path.keep);
        if (std::none_of(atoms.begin(), atoms.end(), [&](int k) {
                return std::find(used.begin(), used.end(), k) != used.end();
            })) {
            used.insert(used.end(), atoms.begin(), atoms.end());
            paths.push_back(path);
        }
    }
    return paths;
}

// Turbo-VBI: every atom is in the model.
class full_posterior_step : public posterior_step
{
public:
    // N inactive atoms of variance b_bar would together absorb noise and weak paths;
    // scaling by M/N keeps their total at M atoms' worth.
    double inactive_scale(int m, int n) const override
    {
        return std::min(1.0, static_cast<double>(m) / n);
    }

    double update(const Eigen::MatrixXcd& phi,
                  const Eigen::VectorXd& /* norms2 */,
                  const Eigen::Ref<const Eigen::VectorXcd>& y,
                  const Eigen::VectorXd& rho,
                  double gamma,
                  const std::vector<int>& /* support */,
                  Eigen::VectorXcd& mu,
                  Eigen::VectorXd& var,
                  Eigen::VectorXcd& r,
                  const Eigen::MatrixXcf* /* phi_single */) const override
    {
        const int n = static_cast<int>(phi.cols());
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
            var[k] = d_inv[k] -
                     d_inv[k] * d_inv[k] * std::real(phi.col(k).dot(c_inv_phi.col(k)));
        }
        r = y - phi * mu;
        const double trace =
            std::real(coupling.trace() - (coupling * chol.solve(coupling)).trace());
        return trace;
    }

    // The grid of the strongest atoms moves.
    std::vector<int>
    moving(const Eigen::VectorXd& power, int size, const std::vector<int>&) const override
    {
        return top_indices(power, size);
    }

    Eigen::VectorXcd grid_residual(const Eigen::Ref<const Eigen::VectorXcd>& y,
                                   const Eigen::MatrixXcd& phi,
                                   const Eigen::VectorXcd& mu,
                                   const std::vector<bool>& on) const override
    {
        Eigen::VectorXcd r0 = y;
        for (int k = 0; k < static_cast<int>(on.size()); ++k) {
            if (!on[k]) {
                r0 -= phi.col(k) * mu[k];
            }
        }
        return r0;
    }

    // The channel's posterior mean sums every atom (a path's energy spreads over its
    // grid neighbours).
    std::vector<int> reported(const std::vector<int>&, int n) const override
    {
        std::vector<int> all(n);
        std::iota(all.begin(), all.end(), 0);
        return all;
    }

    // Its posterior spreads a path over grid neighbours by design.
    bool merges_split_paths() const override { return false; }
};

// SC-VBI: the posterior inverted on the support only.
class support_restricted_step : public posterior_step
{
public:
    double inactive_scale(int, int) const override { return 1.0; }

    double update(const Eigen::MatrixXcd& phi,
                  const Eigen::VectorXd& norms2,
                  const Eigen::Ref<const Eigen::VectorXcd>& y,
                  const Eigen::VectorXd& rho,
                  double gamma,
                  const std::vector<int>& support,
                  Eigen::VectorXcd& mu,
                  Eigen::VectorXd& var,
                  Eigen::VectorXcd& r,
                  const Eigen::MatrixXcf* phi_single) const override
    {
        const int m = static_cast<int>(phi.rows()), n = static_cast<int>(phi.cols());
        const int count = static_cast<int>(support.size());
        Eigen::MatrixXcd ps(m, count);
        for (int i = 0; i < count; ++i) {
            ps.col(i) = phi.col(support[i]);
        }
        // The support is a few atoms, where blocked GEMM's packing costs more than the
        // arithmetic: the Hermitian Gram matrix by column dot products, each pair once.
        Eigen::MatrixXcd gram(count, count);
        for (int j = 0; j < count; ++j) {
            for (int i = 0; i <= j; ++i) {
                gram(i, j) = ps.col(i).dot(ps.col(j));
                gram(j, i) = std::conj(gram(i, j));
            }
        }
        Eigen::MatrixXcd precision = gamma * gram;
        for (int i = 0; i < count; ++i) {
            precision(i, i) += rho[support[i]];
        }
        const Eigen::MatrixXcd sigma = hermitian_inverse(std::move(precision));
        const Eigen::VectorXcd x_support = gamma * sigma.lazyProduct(ps.adjoint() * y);
        r = y - ps * x_support;
        // Off the support each atom gets the posterior it would have if it alone
        // joined the support model; they are not fed back into the residual (a joint
        // update of ~N weakly shrunk atoms oscillates).
        const Eigen::VectorXcd correlation_r =
            phi_single
                ? Eigen::VectorXcd((phi_single->adjoint() * r.cast<std::complex<float>>())
                                       .cast<std::complex<double>>())
                : Eigen::VectorXcd(phi.adjoint() * r);
        for (int k = 0; k < n; ++k) {
            var[k] = 1.0 / (gamma * norms2[k] + rho[k]);
            mu[k] = gamma * var[k] * correlation_r[k];
        }
        for (int i = 0; i < count; ++i) {
            mu[support[i]] = x_support[i];
            var[support[i]] = std::real(sigma(i, i));
        }
        const double trace = std::real((sigma.array() * gram.transpose().array()).sum());
        return trace;
    }

    // Every support atom moves: weak paths below the activity threshold need their grid
    // refined as much as strong ones.
    std::vector<int>
    moving(const Eigen::VectorXd&, int, const std::vector<int>& support) const override
    {
        return support;
    }

    // Only the support atoms are in the model, and they all move.
    Eigen::VectorXcd grid_residual(const Eigen::Ref<const Eigen::VectorXcd>& y,
                                   const Eigen::MatrixXcd&,
                                   const Eigen::VectorXcd&,
                                   const std::vector<bool>&) const override
    {
        return y;
    }

    std::vector<int> reported(const std::vector<int>& support, int) const override
    {
        return support;
    }

    bool merges_split_paths() const override { return true; }
};

} // namespace

const posterior_step& support_restricted_posterior()
{
    static const support_restricted_step step;
    return step;
}

const posterior_step& full_posterior()
{
    static const full_posterior_step step;
    return step;
}

void check_samples(const hybrid_sensing& sensing,
                   const Eigen::Ref<const Eigen::VectorXcd>& y,
                   const char* name)
{
    const std::string who(name);
    if (y.size() != sensing.rows()) {
        throw std::invalid_argument(who + ": y has " + std::to_string(y.size()) +
                                    " entries, the sensing model has " +
                                    std::to_string(sensing.rows()) + " RF chains");
    }
    if (!y.allFinite()) {
        throw std::invalid_argument(who + ": y and the grid must be finite");
    }
}

void check_grid(const Eigen::Ref<const Eigen::VectorXd>& u_h,
                const Eigen::Ref<const Eigen::VectorXd>& u_v,
                double step_h,
                double step_v,
                const char* name)
{
    const std::string who(name);
    if (u_h.size() != u_v.size() || u_h.size() < 1) {
        throw std::invalid_argument(who +
                                    ": u_h and u_v must be non-empty and equally long");
    }
    if (!u_h.allFinite() || !u_v.allFinite()) {
        throw std::invalid_argument(who + ": y and the grid must be finite");
    }
    if (!(step_h > 0.0) || !(step_v > 0.0)) {
        throw std::invalid_argument(who + ": grid steps must be positive");
    }
}

void check_options(const vbi_options& options, const char* name)
{
    if (options.sparsity < 1 || options.extra < 0 || options.iterations < 1 ||
        options.grid_steps < 0 || !(options.reach >= 0.0) ||
        !(options.merge_reach >= 0.0)) {
        throw std::invalid_argument(std::string(name) +
                                    ": need sparsity >= 1, extra >= 0, iterations >= 1, "
                                    "grid_steps >= 0, reach >= 0, merge_reach >= 0");
    }
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
    check_samples(sensing, y, name);
    check_grid(u_h, u_v, step_h, step_v, name);
    check_options(options, name);
}

void check_columns(const hybrid_sensing& sensing,
                   const Eigen::Ref<const Eigen::VectorXd>& u_h,
                   const Eigen::Ref<const Eigen::MatrixXcd>* phi,
                   const char* name)
{
    if (phi && (phi->rows() != sensing.rows() || phi->cols() != u_h.size())) {
        throw std::invalid_argument(
            std::string(name) + ": phi must be " + std::to_string(sensing.rows()) +
            " x " + std::to_string(u_h.size()) + " (RF chains x grid atoms)");
    }
}

vbi_estimate vbi_loop(const hybrid_sensing& sensing,
                      const Eigen::Ref<const Eigen::VectorXcd>& y,
                      const Eigen::Ref<const Eigen::VectorXd>& u_h0,
                      const Eigen::Ref<const Eigen::VectorXd>& u_v0,
                      double step_h,
                      double step_v,
                      const vbi_options& options,
                      const posterior_step& step,
                      const Eigen::VectorXcd* warm_start,
                      Eigen::MatrixXcd owned_phi,
                      const Eigen::MatrixXcd* shared_phi,
                      int prior_atoms,
                      const Eigen::MatrixXcf* shared_phi_single)
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
    grid_bounds bounds{ u_h0,
                        u_v0,
                        step_h / 2,
                        step_v / 2,
                        options.reach * step_h,
                        options.reach * step_v,
                        std::max(0.25, options.reach / 2) };
    const bool read_only = shared_phi && options.grid_steps == 0;
    if (shared_phi && !read_only) {
        owned_phi = *shared_phi;
    } else if (!shared_phi && owned_phi.size() == 0) {
        owned_phi = sensing.columns(out.u_h, out.u_v);
    }
    // Columns are only written by grid steps, which need an own copy.
    const Eigen::MatrixXcd& phi = read_only ? *shared_phi : owned_phi;
    // Single-precision columns for the off-support correlations: the caller's copy of a
    // grid that stays put, else our own, refreshed wherever a column moves.
    Eigen::MatrixXcf owned_single;
    const Eigen::MatrixXcf* phi_single = nullptr;
    if (options.single_precision) {
        if (read_only && shared_phi_single) {
            phi_single = shared_phi_single;
        } else {
            owned_single = phi.cast<std::complex<float>>();
            phi_single = &owned_single;
        }
    }
    const auto refresh_single = [&](int k) {
        if (owned_single.size() != 0) {
            owned_single.col(k) = owned_phi.col(k).cast<std::complex<float>>();
        }
    };
    Eigen::VectorXd norms2 = phi.colwise().squaredNorm().transpose();
    int size = std::min({ options.sparsity + options.extra, std::max(1, m / 2), n });
    const double p_on = energy / (options.sparsity * norms2.mean());
    const double inactive_scale = step.inactive_scale(m, n);
    const double a = 1.0, a_bar = 1.0, b = p_on,
                 b_bar = inactive_rate_factor * p_on * inactive_scale;
    // The prior activity rate K_hat / N over the grid the atoms stand for: a stage on a
    // few atoms picked from the grid would otherwise shrink noise atoms far less.
    const double rate =
        std::min(static_cast<double>(options.sparsity) / std::max(n, prior_atoms), 0.5);
    const double prior_logit =
        std::log(rate / (1.0 - rate)) + a * std::log(b) - a_bar * std::log(b_bar);
    double gamma = 100.0 * m / energy;

    // The first support: the strongest atoms of a warm start, else those best matched
    // to y.
    // (Squared magnitudes: the same order as magnitudes, without a hypot per atom.)
    std::vector<int> support;
    if (warm_start) {
        support = top_indices(warm_start->cwiseAbs2(), size);
    } else {
        Eigen::VectorXd correlation = (phi.adjoint() * y).cwiseAbs2();
        for (int k = 0; k < n; ++k) {
            correlation[k] = norms2[k] > 0 ? correlation[k] / norms2[k] : 0.0;
        }
        support = top_indices(correlation, size);
    }
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
    const bool merging =
        options.merge_reach > 0.0 && options.grid_steps > 0 && step.merges_split_paths();
    // One merge pass, at half the budget or where the loop settles before: the same
    // iteration budget with or without it. (A second pass at three quarters gained
    // 0.1-0.4 dB on 32 x 8 at 20-30 dB and cost GW-SC-VBI 10 % more time; side script.)
    std::vector<int> limits;
    if (merging) {
        limits.push_back(options.iterations / 2);
    }
    limits.push_back(options.iterations);
    out.iterations = 0;

    for (size_t pass = 0;; ++pass) {
        bool settled = false;
        while (out.iterations < limits[pass]) {
            ++out.iterations;
            const Eigen::VectorXcd previous = mu;
            const double trace =
                step.update(phi, norms2, y, rho, gamma, support, mu, var, r, phi_single);
            for (int k = 0; k < n; ++k) {
                power[k] = std::norm(mu[k]) + var[k];
                const double shape = pi[k] * a + (1.0 - pi[k]) * a_bar + 1.0;
                const double rate_post = power[k] + pi[k] * b + (1.0 - pi[k]) * b_bar;
                rho[k] = shape / rate_post;
                // The support log-odds' (a - 1) <ln rho> terms cancel because a = a_bar.
                const double logit = prior_logit - (b - b_bar) * rho[k];
                // Below -40 the probability (< 5e-18) is zero beside b_bar's 1e-3: no exp
                // (and none overflowing, libm's slow path) for the clearly inactive
                // atoms.
                pi[k] = logit < -40.0 ? 0.0 : 1.0 / (1.0 + std::exp(-logit));
            }
            gamma = (noise_prior + m) / (noise_prior + r.squaredNorm() + trace);

            support = step.moving(power, size, support);
            if (options.grid_steps > 0) {
                const std::vector<int>& moving = support;
                std::fill(on.begin(), on.end(), false);
                Eigen::VectorXcd x_moving(moving.size());
                for (size_t i = 0; i < moving.size(); ++i) {
                    on[moving[i]] = true;
                    x_moving[i] = mu[moving[i]];
                }
                const Eigen::VectorXcd r0 = step.grid_residual(y, phi, mu, on);
                for (int s = 0; s < options.grid_steps && !moving.empty(); ++s) {
                    grid_step(sensing,
                              r0,
                              x_moving,
                              moving,
                              bounds,
                              out.u_h,
                              out.u_v,
                              owned_phi,
                              norms2,
                              first_move);
                }
                for (int k : moving) {
                    refresh_single(k);
                }
            }
            support = top_indices(power, size);
            // Converged when the support's coefficients settle (off-support atoms only
            // hold trial posteriors, which follow the residual).
            double change = 0.0, size2 = 0.0;
            for (int k : support) {
                change += std::norm(mu[k] - previous[k]);
                size2 += std::norm(mu[k]);
            }
            if (std::sqrt(change) <=
                options.tolerance * std::max(std::sqrt(size2), 1e-30)) {
                settled = true;
                break;
            }
        }
        if (pass + 1 == limits.size()) {
            break;
        }
        // Join the support atoms that are one path split in several, then let the loop
        // settle the merged model.
        Eigen::VectorXd energy = Eigen::VectorXd::Zero(n);
        for (int k : support) {
            energy[k] = std::norm(mu[k]) * norms2[k];
        }
        const merge_problem problem{ sensing, y,      out.u_h, out.u_v,
                                     energy,  step_h, step_v,  options.merge_reach };
        const std::vector<split_path> paths =
            find_split_paths(problem, support, owned_phi, gamma);
        const bool merged = !paths.empty();
        for (const split_path& path : paths) {
            // The kept atom may move reach grid steps from where it now stands.
            out.u_h[path.keep] = bounds.anchor_h[path.keep] = path.u_h;
            out.u_v[path.keep] = bounds.anchor_v[path.keep] = path.u_v;
            mu[path.keep] = path.gain;
            power[path.keep] = std::norm(path.gain);
            sensing.column(path.u_h, path.u_v, owned_phi.col(path.keep));
            norms2[path.keep] = owned_phi.col(path.keep).squaredNorm();
            refresh_single(path.keep);
            // The dropped atoms return to their grid points, inactive.
            for (int drop : path.drop) {
                out.u_h[drop] = bounds.anchor_h[drop];
                out.u_v[drop] = bounds.anchor_v[drop];
                mu[drop] = 0.0;
                power[drop] = 0.0;
                pi[drop] = 0.0;
                rho[drop] = a_bar / b_bar;
                sensing.column(out.u_h[drop], out.u_v[drop], owned_phi.col(drop));
                norms2[drop] = owned_phi.col(drop).squaredNorm();
                refresh_single(drop);
                support.erase(std::find(support.begin(), support.end(), drop));
            }
        }
        if (settled && !merged) {
            break; // settled, and nothing to join
        }
        if (merged) {
            // A freed place goes to an atom off the support only if that atom pays the
            // same price (its trial posterior's energy over 2 ln(2M) noise variances:
            // another path's); filled with the next atoms regardless, the places took up
            // noise (32 x 8, 30 dB: 1.3 dB worse), and left empty, paths beyond the
            // support went missing (8 paths, K_hat = 4: 0.9 dB worse than no merging).
            const double price = merge_price(m);
            Eigen::VectorXd candidates = Eigen::VectorXd::Zero(n);
            std::vector<bool> in_support(n, false);
            for (int k : support) {
                in_support[k] = true;
            }
            for (int k = 0; k < n; ++k) {
                const double snr = std::norm(mu[k]) * norms2[k] * gamma;
                if (!in_support[k] && snr > price) {
                    candidates[k] = snr;
                }
            }
            const int freed = size - static_cast<int>(support.size());
            for (int k : top_indices(candidates, freed)) {
                if (candidates[k] > 0.0) {
                    support.push_back(k);
                }
            }
            std::sort(support.begin(), support.end());
            size = static_cast<int>(support.size());
            first_move = bounds.first_move_max;
        }
    }
    out.support = step.reported(support, n);
    out.noise_precision = gamma;
    return out;
}

} // namespace detail

namespace {

// The public estimators: the same checks, then the shared loop with their posterior step.
vbi_estimate checked_vbi(const char* name,
                         const detail::posterior_step& step,
                         const hybrid_sensing& sensing,
                         const Eigen::Ref<const Eigen::VectorXcd>& y,
                         const Eigen::Ref<const Eigen::VectorXd>& u_h,
                         const Eigen::Ref<const Eigen::VectorXd>& u_v,
                         double step_h,
                         double step_v,
                         const vbi_options& options,
                         const Eigen::Ref<const Eigen::MatrixXcd>* phi)
{
    detail::check_problem(sensing, y, u_h, u_v, step_h, step_v, options, name);
    detail::check_columns(sensing, u_h, phi, name);
    return detail::vbi_loop(sensing,
                            y,
                            u_h,
                            u_v,
                            step_h,
                            step_v,
                            options,
                            step,
                            nullptr,
                            phi ? Eigen::MatrixXcd(*phi) : Eigen::MatrixXcd());
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
    return checked_vbi("sc_vbi",
                       detail::support_restricted_posterior(),
                       sensing,
                       y,
                       u_h,
                       u_v,
                       step_h,
                       step_v,
                       options,
                       phi);
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
    return checked_vbi("turbo_vbi",
                       detail::full_posterior(),
                       sensing,
                       y,
                       u_h,
                       u_v,
                       step_h,
                       step_v,
                       options,
                       phi);
}

} // namespace beamalign
} // namespace gr
