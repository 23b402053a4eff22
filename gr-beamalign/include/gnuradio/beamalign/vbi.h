/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef INCLUDED_BEAMALIGN_VBI_H
#define INCLUDED_BEAMALIGN_VBI_H

#include <gnuradio/beamalign/api.h>
#include <gnuradio/beamalign/hybrid_sensing.h>
#include <Eigen/Dense>
#include <vector>

namespace gr {
namespace beamalign {

//! Settings of the VBI estimators (docs/algorithms.md, channel estimation).
struct BEAMALIGN_API vbi_options {
    int sparsity = 4;        //!< expected number of significant atoms K_hat
    int extra = 4;           //!< support keeps K_hat + extra atoms (at most M/2)
    int iterations = 60;     //!< most outer iterations
    int grid_steps = 1;      //!< Armijo gradient steps of the grid per iteration
    double tolerance = 1e-5; //!< stop when ||x - x_prev|| <= tolerance ||x||
    double reach = 0.5;      //!< each atom stays within reach grid steps of its start
    //! Support atoms this close (grid steps) are tested for being one path split in two
    //! (SC-VBI and GW-SC-VBI; 0: never). Splits reach 1.5 steps either side of a path
    //! (at 30 dB on 32 x 8, 2.5 instead of 1.5: 0.5-0.7 dB better; the BIC test keeps
    //! real pairs apart).
    double merge_reach = 2.5;
    //! The off-support atoms' correlations with the residual (their trial posteriors,
    //! most of an iteration's arithmetic on a large grid) in single precision: half the
    //! time, relative differences ~1e-7. GW-SC-VBI's group and dictionary stages use it;
    //! SC-VBI does not by default, so that it follows its NumPy reference step for step.
    bool single_precision = false;
};

//! A VBI estimate: posterior means on the (refined) grid and the final support.
struct BEAMALIGN_API vbi_estimate {
    Eigen::VectorXcd x;
    Eigen::VectorXd u_h, u_v;
    std::vector<int> support;
    double noise_precision = 0.0;
    int iterations = 0;
};

/*!
 * \brief SC-VBI with grid estimation: y = Phi(u) x + w on a dynamic grid.
 *
 * \details The posterior of x is inverted only on the support estimate S
 * (K_hat + extra atoms); every other atom gets the posterior it would have if it
 * alone joined S, from the residual, so it can re-enter S. The precisions, support
 * probabilities and noise precision follow the three-layer prior; the support atoms'
 * directions move by Armijo gradient steps on -||y - Phi_S(u) x_S||^2.
 *
 * \param step_h, step_v grid spacing (the reach unit and the gradient scale)
 * \param phi the sensing columns of u_h/u_v when the caller keeps them (the grid and the
 *        beams rarely change between pilots); nullptr computes them
 */
BEAMALIGN_API vbi_estimate
sc_vbi(const hybrid_sensing& sensing,
       const Eigen::Ref<const Eigen::VectorXcd>& y,
       const Eigen::Ref<const Eigen::VectorXd>& u_h,
       const Eigen::Ref<const Eigen::VectorXd>& u_v,
       double step_h,
       double step_v,
       const vbi_options& options,
       const Eigen::Ref<const Eigen::MatrixXcd>* phi = nullptr);

/*!
 * \brief Turbo-VBI: the same model with the full posterior covariance of every atom
 * (the accuracy reference). The N x N inverse is applied through the Woodbury identity,
 * (diag(rho) + gamma Phi^H Phi)^-1 via an M x M solve, which gives the same posterior.
 * The grid of the K_hat + extra strongest atoms is refined as in SC-VBI. The returned
 * support is every atom: the posterior mean of the channel sums them all.
 */
BEAMALIGN_API vbi_estimate
turbo_vbi(const hybrid_sensing& sensing,
          const Eigen::Ref<const Eigen::VectorXcd>& y,
          const Eigen::Ref<const Eigen::VectorXd>& u_h,
          const Eigen::Ref<const Eigen::VectorXd>& u_v,
          double step_h,
          double step_v,
          const vbi_options& options,
          const Eigen::Ref<const Eigen::MatrixXcd>* phi = nullptr);

/*!
 * \brief GW-SC-VBI (seed 004 Sec. V-C) for one grid, beam set and grouping: what does
 * not change between pilots, prepared once.
 *
 * \details Per pilot: SC-VBI per group on the group's RF chains and the grid atoms of its
 * vertical sub-interval, strongest group first, each group's paths cancelled from the
 * samples of the groups after it (on the grid: the later stages refine); with an alias
 * table, a dictionary stage on all RF chains over every group atom's aliases; then a
 * joint SC-VBI on all chains over the atoms found so far plus the grid atoms best
 * matched to their residual (the robust stage, which repairs leakage between
 * sub-intervals). docs/algorithms.md gives the reasons for each departure from the paper.
 */
class BEAMALIGN_API gw_sc_vbi_plan
{
public:
    /*!
     * \param group_chains RF chains of each group
     * \param group_atoms grid atoms (indices into u_h/u_v) of each group's sub-interval
     * \param phi sensing columns of the whole grid when the caller keeps them, else
     *        nullptr (computed)
     * \param alias_offsets, alias_atoms the alias table as compressed rows (empty: no
     *        dictionary stage): row i (the groups' atom lists concatenated in group
     *        order) is alias_atoms[alias_offsets[i] .. alias_offsets[i + 1]), the grid
     *        atoms whose columns on the group's chains correlate with atom i's above a
     *        threshold. A group's few chains may put a path at any of them; all chains
     *        tell them apart.
     */
    gw_sc_vbi_plan(const hybrid_sensing& sensing,
                   const Eigen::Ref<const Eigen::VectorXd>& u_h,
                   const Eigen::Ref<const Eigen::VectorXd>& u_v,
                   double step_h,
                   double step_v,
                   const std::vector<std::vector<int>>& group_chains,
                   const std::vector<std::vector<int>>& group_atoms,
                   const Eigen::Ref<const Eigen::MatrixXcd>* phi = nullptr,
                   std::vector<int> alias_offsets = {},
                   std::vector<int> alias_atoms = {});

    /*!
     * \param candidates grid atoms best matched to the residual that join the dictionary
     *        and joint stages (paths the groups missed)
     * \param dictionary_iterations iterations of the joint budget the dictionary stage
     *        takes (with an alias table)
     * \param alias_floor a group atom's aliases join the dictionary when its power is at
     *        least this fraction of the strongest group atom's
     * \param path_snr when positive, the joint stage's sparsity is at least the number
     *        of dictionary-stage atoms whose power over the noise (|x|^2 |phi|^2 gamma)
     *        exceeds it
     */
    vbi_estimate estimate(const Eigen::Ref<const Eigen::VectorXcd>& y,
                          const vbi_options& group_options,
                          const vbi_options& joint_options,
                          int candidates = 4,
                          int dictionary_iterations = 10,
                          double alias_floor = 0.0,
                          double path_snr = 0.0) const;

    int groups() const { return static_cast<int>(d_group_chains.size()); }
    bool has_aliases() const { return !d_alias_offsets.empty(); }

private:
    hybrid_sensing d_sensing;
    Eigen::VectorXd d_u_h, d_u_v;
    double d_step_h, d_step_v;
    std::vector<std::vector<int>> d_group_chains, d_group_atoms;
    Eigen::MatrixXcd d_phi;
    Eigen::VectorXd d_norms2;
    std::vector<hybrid_sensing> d_models;      // each group's chains
    std::vector<Eigen::MatrixXcd> d_group_phi; // each group's chains x its atoms
    // Single-precision copies for the correlations that only rank atoms or give the
    // off-support trial posteriors (half the time of double; differences ~1e-7).
    Eigen::MatrixXcf d_phi_single;
    std::vector<Eigen::MatrixXcf> d_group_phi_single;
    std::vector<int> d_alias_offsets, d_alias_atoms;
};

/*!
 * \brief GW-SC-VBI in one call (a gw_sc_vbi_plan without an alias table, used once).
 *
 * \param threads deprecated, no effect: successive cancellation runs the groups in turn
 */
BEAMALIGN_API vbi_estimate
gw_sc_vbi(const hybrid_sensing& sensing,
          const Eigen::Ref<const Eigen::VectorXcd>& y,
          const Eigen::Ref<const Eigen::VectorXd>& u_h,
          const Eigen::Ref<const Eigen::VectorXd>& u_v,
          double step_h,
          double step_v,
          const std::vector<std::vector<int>>& group_chains,
          const std::vector<std::vector<int>>& group_atoms,
          const vbi_options& group_options,
          const vbi_options& joint_options,
          int threads = 1,
          int candidates = 4,
          const Eigen::Ref<const Eigen::MatrixXcd>* phi = nullptr);

} // namespace beamalign
} // namespace gr

#endif /* INCLUDED_BEAMALIGN_VBI_H */
