/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef INCLUDED_BEAMALIGN_HYBRID_SENSING_H
#define INCLUDED_BEAMALIGN_HYBRID_SENSING_H

#include <gnuradio/beamalign/api.h>
#include <Eigen/Dense>
#include <vector>

namespace gr {
namespace beamalign {

/*!
 * \brief Sensing model of the partially-connected hybrid array (seed 004).
 *
 * \details RF chain k sits in UPA column c_k and drives the m vertical elements
 * r_k..r_k+m-1 (half-wavelength grid) with weights w_k, so the sensing column of the
 * direction (u_h, u_v) is phi[k] = exp(j pi c_k u_h) sum_j conj(w_kj) exp(j pi (r_k+j)
 * u_v). Evaluating it costs one pass over the M x m weights, never an N-element response.
 */
class BEAMALIGN_API hybrid_sensing
{
public:
    hybrid_sensing(std::vector<int> chain_column,
                   std::vector<int> chain_row,
                   Eigen::MatrixXcd weights_conj);

    int rows() const { return static_cast<int>(d_column.size()); }
    //! The same model restricted to some RF chains (a group's observation).
    hybrid_sensing subset(const std::vector<int>& chains) const;
    //! Column phi(u_h, u_v) into phi (length rows()).
    void column(double u_h, double u_v, Eigen::Ref<Eigen::VectorXcd> phi) const;
    //! Column and its derivatives with respect to u_h and u_v.
    void column_derivatives(double u_h,
                            double u_v,
                            Eigen::Ref<Eigen::VectorXcd> phi,
                            Eigen::Ref<Eigen::VectorXcd> d_h,
                            Eigen::Ref<Eigen::VectorXcd> d_v) const;
    //! Columns of many directions, rows() x u_h.size().
    Eigen::MatrixXcd columns(const Eigen::VectorXd& u_h,
                             const Eigen::VectorXd& u_v) const;

private:
    std::vector<int> d_column, d_row;
    // Row-major: column evaluation walks one chain's weights at a time.
    Eigen::Matrix<std::complex<double>, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>
        d_weights_conj;
    int d_max_column = 0, d_max_row = 0;
    // Chains that share a first row and weights (every chain of one group-wise beam in
    // one chain row) share their vertical factor: each column evaluates it once per
    // distinct pattern, not once per chain.
    std::vector<int> d_pattern;     // pattern of each chain
    std::vector<int> d_pattern_row; // first row of each pattern
    Eigen::Matrix<std::complex<double>, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>
        d_pattern_weights;
};

} // namespace beamalign
} // namespace gr

#endif /* INCLUDED_BEAMALIGN_HYBRID_SENSING_H */
