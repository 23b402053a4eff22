/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Checks of the plain C++ kernels against values derived by hand.
 */
#include "beam_combiner_impl.h"
#include <gnuradio/beamalign/channel_model.h>
#include <cmath>
#include <cstdio>
#include <string>

using namespace gr::beamalign;

static int failures = 0;
static int passes = 0;

static void check(bool ok, const std::string& what)
{
    std::printf("%s: %s\n", ok ? "ok  " : "FAIL", what.c_str());
    if (ok) {
        ++passes;
    } else {
        ++failures;
    }
}

static bool near(double a, double b, double tol) { return std::fabs(a - b) <= tol; }

int main()
{
    // a(4, 0.5): element n has phase pi*n/2, magnitude 1/2.
    const auto a = ula_response(4, 0.5f);
    check(near(a[1].real(), 0.0, 1e-6) && near(a[1].imag(), 0.5, 1e-6), "a(4,0.5)[1] = j/2");
    check(near(a[2].real(), -0.5, 1e-6), "a(4,0.5)[2] = -1/2");

    // Position error 0.25 wavelength at u = 1 adds a quarter turn (2*pi*0.25*1).
    element_impairment imp;
    imp.position_wl = { 0.0f, 0.25f };
    const auto b = ula_response(2, 1.0f, imp);
    // element 1: pi*1 + pi/2 = 3pi/2 -> -j/sqrt(2)
    check(near(b[1].real(), 0.0, 1e-6) && near(b[1].imag(), -1.0 / std::sqrt(2.0), 1e-6),
          "position error rotates by 2*pi*d*u");

    // Normalised single path: ||H||_F = 1 and |g| = 1 since ||a_r a_t^H||_F = 1.
    std::vector<path> paths = { { cfloat(3.0f, 4.0f), 0.1f, -0.3f } };
    normalise_paths(8, 4, paths);
    check(near(std::abs(paths[0].gain), 1.0, 1e-5), "single-path gain normalised to 1");
    const auto h = channel_from_paths(8, 4, paths);
    double e = 0.0;
    for (const auto& x : h) {
        e += std::norm(x);
    }
    check(near(e, 1.0, 1e-5), "||H||_F^2 = 1");

    // Generator statistics: first path CN(0,1), others CN(0,0.01), u uniform on [-1,1].
    sv_path_generator gen(3, "los", 7);
    double p0 = 0.0, p1 = 0.0, mean_u = 0.0, max_u = 0.0;
    const int draws = 20000;
    for (int i = 0; i < draws; ++i) {
        const auto d = gen.draw();
        p0 += std::norm(d[0].gain);
        p1 += std::norm(d[1].gain);
        mean_u += d[0].u_tx;
        max_u = std::max(max_u, double(std::fabs(d[2].u_rx)));
    }
    check(near(p0 / draws, 1.0, 0.05), "LoS gain power ~ 1");
    check(near(p1 / draws, 0.01, 0.0005), "NLoS gain power ~ 0.01");
    check(near(mean_u / draws, 0.0, 0.02) && max_u <= 1.0, "u uniform on [-1, 1]");

    // Noise: E|z|^2 = variance, E z = 0, E z^2 = 0 (circular).
    gaussian_noise noise(11);
    std::vector<cfloat> z(200000);
    noise.fill(z.data(), static_cast<int>(z.size()), 0.5f);
    std::complex<double> mean(0, 0), pseudo(0, 0);
    double power = 0.0;
    for (const auto& x : z) {
        mean += std::complex<double>(x);
        pseudo += std::complex<double>(x * x);
        power += std::norm(x);
    }
    const double n = static_cast<double>(z.size());
    check(near(power / n, 0.5, 0.005), "noise variance 0.5");
    check(std::abs(mean / n) < 0.005, "noise mean 0");
    check(std::abs(pseudo / n) < 0.005, "noise circular");

    // 2-bit phase shifter: 50 degrees rounds to 90, magnitude kept.
    const auto q = quantise_phases({ std::polar(2.0f, float(50.0 * M_PI / 180.0)) }, 2);
    check(near(std::arg(q[0]), M_PI / 2, 1e-6) && near(std::abs(q[0]), 2.0, 1e-6),
          "2-bit quantisation of 50 deg is 90 deg");

    std::printf("%d passed, %d failed\n", passes, failures);
    return failures == 0 ? 0 : 1;
}
