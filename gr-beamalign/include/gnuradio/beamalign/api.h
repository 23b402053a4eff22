/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef INCLUDED_BEAMALIGN_API_H
#define INCLUDED_BEAMALIGN_API_H

#include <gnuradio/attributes.h>

#ifdef gnuradio_beamalign_EXPORTS
#define BEAMALIGN_API __GR_ATTR_EXPORT
#else
#define BEAMALIGN_API __GR_ATTR_IMPORT
#endif

#endif /* INCLUDED_BEAMALIGN_API_H */
