/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef INCLUDED_BEAMALIGN_VBI_CORE_H
#define INCLUDED_BEAMALIGN_VBI_CORE_H

// The VBI loop that SC-VBI, Turbo-VBI and GW-SC-VBI share (library-internal).

#include <gnuradio/beamalign/vbi.h>
#include <vector>

namespace gr {
namespace beamalign {
namespace detail {

//! One posterior step of the loop: how x's posterior is computed, and what follows
//! from which atoms are in the model.
class posterior_step
{
public:
    virtual ~posterior_step() = default;
    //! Factor on the inactive-state variance b_bar (M atoms: N atoms' prior mass).
    virtual double inactive_scale(int m, int n) const = 0;
    //! Posterior means mu and variances var of every atom, the residual r it leaves,
    //! and the trace term of the noise-precision update (returned). phi_single: phi in
    //! single precision for the off-support correlations, or nullptr (phi itself).
    virtual double update(const Eigen::MatrixXcd& phi,
                          const Eigen::VectorXd& norms2,
                          const Eigen::Ref<const Eigen::VectorXcd>& y,
                          const Eigen::VectorXd& rho,
                          double gamma,
                          const std::vector<int>& support,
                          Eigen::VectorXcd& mu,
                          Eigen::VectorXd& var,
                          Eigen::VectorXcd& r,
                          const Eigen::MatrixXcf* phi_single) const = 0;
    //! The atoms whose grid moves this iteration.
    virtual std::vector<int> moving(const Eigen::VectorXd& power,
                                    int size,
                                    const std::vector<int>& support) const = 0;
    //! y minus the atoms in the model that stay put (on: the moving atoms).
    virtual Eigen::VectorXcd grid_residual(const Eigen::Ref<const Eigen::VectorXcd>& y,
                                           const Eigen::MatrixXcd& phi,
                                           const Eigen::VectorXcd& mu,
                                           const std::vector<bool>& on) const = 0;
    //! The atoms the estimate reports (and the channel's posterior mean sums).
    virtual std::vector<int> reported(const std::vector<int>& support, int n) const = 0;
    //! Whether nearby support atoms are tested for being one path (options.merge_reach).
    virtual bool merges_split_paths() const = 0;
};

//! SC-VBI: the posterior inverted on the support only.
const posterior_step& support_restricted_posterior();
//! Turbo-VBI: every atom's full posterior.
const posterior_step& full_posterior();

//! The `count` largest entries of score (ties to the lower index), ascending index order.
std::vector<int> top_indices(const Eigen::VectorXd& score, int count);

//! y has one finite sample per RF chain of the sensing model.
void check_samples(const hybrid_sensing& sensing,
                   const Eigen::Ref<const Eigen::VectorXcd>& y,
                   const char* name);
//! A non-empty, finite grid with positive steps.
void check_grid(const Eigen::Ref<const Eigen::VectorXd>& u_h,
                const Eigen::Ref<const Eigen::VectorXd>& u_v,
                double step_h,
                double step_v,
                const char* name);
void check_options(const vbi_options& options, const char* name);
//! All three (one estimate on its own grid).
void check_problem(const hybrid_sensing& sensing,
                   const Eigen::Ref<const Eigen::VectorXcd>& y,
                   const Eigen::Ref<const Eigen::VectorXd>& u_h,
                   const Eigen::Ref<const Eigen::VectorXd>& u_v,
                   double step_h,
                   double step_v,
                   const vbi_options& options,
                   const char* name);

void check_columns(const hybrid_sensing& sensing,
                   const Eigen::Ref<const Eigen::VectorXd>& u_h,
                   const Eigen::Ref<const Eigen::MatrixXcd>* phi,
                   const char* name);

//! The shared loop: prior and noise updates, Armijo grid refinement, support tracking.
//! phi: the atoms' columns (empty: computed); shared_phi: the same, read in place when
//! the grid does not move (options.grid_steps == 0), else copied; prior_atoms: the size
//! of the grid the atoms were picked from, for the prior activity rate (0: the atoms);
//! shared_phi_single: shared_phi in single precision, read in place for the off-support
//! correlations when options.single_precision and the grid does not move (nullptr, or a
//! moving grid: the loop casts its own copy).
vbi_estimate vbi_loop(const hybrid_sensing& sensing,
                      const Eigen::Ref<const Eigen::VectorXcd>& y,
                      const Eigen::Ref<const Eigen::VectorXd>& u_h0,
                      const Eigen::Ref<const Eigen::VectorXd>& u_v0,
                      double step_h,
                      double step_v,
                      const vbi_options& options,
                      const posterior_step& step,
                      const Eigen::VectorXcd* warm_start = nullptr,
                      Eigen::MatrixXcd phi = Eigen::MatrixXcd(),
                      const Eigen::MatrixXcd* shared_phi = nullptr,
                      int prior_atoms = 0,
                      const Eigen::MatrixXcf* shared_phi_single = nullptr);

} // namespace detail
} // namespace beamalign
} // namespace gr

#endif /* INCLUDED_BEAMALIGN_VBI_CORE_H */
