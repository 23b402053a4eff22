/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
// GW-SC-VBI (seed 004 Sec. V-C): SC-VBI per group with successive cancellation, then a
// joint stage.
#include "vbi_core.h"
#include <algorithm>
#include <stdexcept>
#include <string>

namespace gr {
namespace beamalign {

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
    detail::check_problem(
        sensing, y, u_h, u_v, step_h, step_v, group_options, "gw_sc_vbi");
    detail::check_columns(sensing, u_h, phi, "gw_sc_vbi");
    detail::check_problem(
        sensing, y, u_h, u_v, step_h, step_v, joint_options, "gw_sc_vbi");
    const size_t groups = group_chains.size();
    if (groups < 1 || group_atoms.size() != groups) {
        throw std::invalid_argument(
            "gw_sc_vbi: need chains and atoms for each of >= 1 groups");
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

    // Successive group cancellation: the groups run strongest first (by received
    // energy), and each group's paths are taken out of the samples the later groups
    // see. A strong path leaks into the other groups' narrow beams through their
    // sidelobes (10-15 dB down for 4-element beams: as strong as an NLoS path), and a
    // later group explained it by atoms at its sub-interval's edges. The groups run in
    // turn, so `threads` no longer parallelises them (two parallel rounds, each group
    // cancelling the others' first-round paths, were 5-10 dB worse: first-round atoms
    // fitted to leakage were cancelled twice).
    (void)threads;
    std::vector<vbi_estimate> estimates(groups);
    Eigen::VectorXcd remaining = y;
    Eigen::VectorXcd column(sensing.rows());
    std::vector<size_t> order(groups);
    std::vector<double> energy(groups, 0.0);
    for (size_t g = 0; g < groups; ++g) {
        order[g] = g;
        for (int chain : group_chains[g]) {
            energy[g] += std::norm(y[chain]);
        }
    }
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return energy[a] > energy[b];
    });
    for (size_t g : order) {
        if (group_chains[g].empty() || group_atoms[g].empty()) {
            continue;
        }
        Eigen::VectorXcd y_group(group_chains[g].size());
        for (size_t i = 0; i < group_chains[g].size(); ++i) {
            y_group[i] = remaining[group_chains[g][i]];
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
        estimates[g] = detail::vbi_loop(models[g],
                                        y_group,
                                        h,
                                        v,
                                        step_h,
                                        step_v,
                                        group_options,
                                        detail::support_restricted_posterior(),
                                        nullptr,
                                        std::move(phi_group));
        for (int k : estimates[g].support) {
            sensing.column(estimates[g].u_h[k], estimates[g].u_v[k], column);
            remaining -= column * estimates[g].x[k];
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
        const Eigen::MatrixXcd computed =
            phi ? Eigen::MatrixXcd() : sensing.columns(u_h, u_v);
        const Eigen::Ref<const Eigen::MatrixXcd> grid =
            phi ? *phi : Eigen::Ref<const Eigen::MatrixXcd>(computed);
        const Eigen::VectorXd match =
            (grid.adjoint() * residual)
                .cwiseAbs()
                .cwiseQuotient(grid.colwise().norm().transpose().cwiseMax(1e-300));
        for (int k : detail::top_indices(match, std::min<int>(candidates, u_h.size()))) {
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
    return detail::vbi_loop(sensing,
                            y,
                            union_h,
                            union_v,
                            step_h,
                            step_v,
                            joint_options,
                            detail::support_restricted_posterior(),
                            &union_x);
}

} // namespace beamalign
} // namespace gr
