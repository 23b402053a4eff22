# Two commands do everything on a fresh Debian 12 machine (README quick start):
#   make demo   set up, build, install into .venv, run the demo
#   make test   set up, build, install, run every test through ctest
# Each step is skipped when already done, so a second run costs seconds.

SHELL := /bin/bash
ROOT := $(abspath .)
VENV := $(ROOT)/.venv
PYTHON := $(VENV)/bin/python
BUILD := $(ROOT)/build
STAMPS := $(ROOT)/.stamps
JOBS ?= 2
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

APT_PACKAGES := gnuradio gnuradio-dev libuhd-dev python3-uhd pybind11-dev libeigen3-dev \
	libvolk2-dev libspdlog-dev libfmt-dev libgmp-dev libboost-dev libboost-date-time-dev \
	libboost-program-options-dev libboost-system-dev libboost-regex-dev libboost-thread-dev \
	libboost-test-dev libboost-filesystem-dev cmake g++ make pkg-config python3-venv \
	python3-dev libllvm19 clang-format libiio0

.PHONY: all setup build lint test demo clean

all: build

# Debian packages: installed only when one is missing.
$(STAMPS)/apt: Makefile
	@missing=$$(dpkg-query -W -f='$${Package} $${Status}\n' $(APT_PACKAGES) 2>/dev/null \
		| awk '$$NF == "installed" {print $$1}' | sort | comm -13 - <(printf '%s\n' $(APT_PACKAGES) | sort)); \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages: $$missing"; \
		$(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	fi
	@mkdir -p $(STAMPS) && touch $@

# The venv sees Debian's GNU Radio and UHD (system site packages) and pins the rest.
$(STAMPS)/venv: requirements.txt $(STAMPS)/apt
	@[ -x $(PYTHON) ] || /usr/bin/python3 -m venv --system-site-packages $(VENV)
	$(PYTHON) -m pip install -q --disable-pip-version-check -r requirements.txt
	@touch $@

setup: $(STAMPS)/venv

$(BUILD)/CMakeCache.txt: $(STAMPS)/venv
	cmake -S $(ROOT) -B $(BUILD) -DCMAKE_BUILD_TYPE=Release \
		-DCMAKE_INSTALL_PREFIX=$(VENV) -DBEAMALIGN_PYTHON=$(PYTHON)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)
	cmake --install $(BUILD) > $(BUILD)/install.log

# Python (ruff.toml) and C++ (.clang-format) style; both run before the tests.
lint: $(STAMPS)/venv
	$(VENV)/bin/ruff check $(ROOT)/python $(ROOT)/tests $(ROOT)/tools $(ROOT)/apps/beamalign
	clang-format --dry-run --Werror $$(git -C $(ROOT) ls-files '*.cc' '*.h')

test: build lint
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

demo: build
	$(VENV)/bin/beamalign sweep --nt 64 --nr 16 --snr-db 20 --seed 1
	$(VENV)/bin/beamalign align --method qssr-net --nt 64 --nr 16 --snr-db 20 --trials 10 --seed 1
	$(VENV)/bin/beamalign align --method qssr-net-2pass --nt 64 --nr 16 --snr-db 20 --trials 10 --seed 1

clean:
	rm -rf $(BUILD) $(STAMPS)
