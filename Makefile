# SPDX-License-Identifier: GPL-2.0
#
# pcmig top-level Makefile.
#
#   make               module for KDIR/KVER + userspace tools
#   make modules-all   module for both Debian kernels (6.1, 6.12), W=1
#   make check         W=1 + sparse (C=2) + checkpatch --strict, both kernels
#   make unit          host unit tests of the pure code (seconds, no VM)
#   make fuzz          libFuzzer run over the stream checker
#   make test          everything, VM suites on both kernels (README)
#   make demo          the demo migration in a VM (README)
#   make bench         benchmarks in a VM: tables and ratios, no asserts
#
# KDIR defaults to the running kernel's build dir when it exists, else the
# installed Debian 6.1 headers.  KVER picks /lib/modules/KVER/build or
# /usr/src/linux-headers-KVER.

CURDIR_ABS := $(abspath .)
BUILD := $(CURDIR_ABS)/build

deb_headers = $(lastword $(sort $(wildcard /usr/src/linux-headers-$(1)*-amd64)))
KDIR_61 := $(call deb_headers,6.1.)
KDIR_612 := $(call deb_headers,6.12.)

ifdef KVER
KDIR ?= $(firstword $(wildcard /lib/modules/$(KVER)/build /usr/src/linux-headers-$(KVER)))
else
KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) $(KDIR_61))
endif

W ?=
C ?=

.PHONY: all module modules-all user unit fuzz check checkpatch selftests \
	test demo bench clean setup

all: module user

# Build in build/<kernel release>/ through symlinks, so the source tree
# stays clean and several kernels can be built side by side.
define build_module
	@test -d "$(1)" || { echo "no kernel build dir '$(1)': run scripts/setup or set KDIR" >&2; exit 1; }
	@krel=$$(sed -n 's/.*UTS_RELEASE "\(.*\)"/\1/p' "$(1)/include/generated/utsrelease.h") && \
	d="$(BUILD)/$$krel" && mkdir -p "$$d" && \
	rm -f "$$d"/*.c "$$d"/*.h "$$d"/Kbuild && \
	ln -sf $(CURDIR_ABS)/kmod/*.c $(CURDIR_ABS)/kmod/*.h $(CURDIR_ABS)/kmod/Kbuild "$$d"/ && \
	$(MAKE) -C "$(1)" M="$$d" CONFIG_PCMIG=m PCMIG_SRCROOT=$(CURDIR_ABS) \
		W=$(2) C=$(3) modules && \
	echo "built $$d/pcmig.ko"
endef

module:
	$(call build_module,$(KDIR),$(W),$(C))

modules-all:
	$(call build_module,$(KDIR_61),1,$(C))
	$(call build_module,$(KDIR_612),1,$(C))

user:
	$(MAKE) -C user O=$(BUILD)/user

selftests:
	$(MAKE) -C selftests/pcmig O=$(BUILD)/selftests

unit:
	$(MAKE) -C selftests/pcmig/unit O=$(BUILD)/unit run

fuzz:
	$(MAKE) -C selftests/pcmig/unit O=$(BUILD)/unit fuzz

CHECKPATCH ?= $(firstword $(wildcard /var/cache/pcmig/src/6.12/scripts/checkpatch.pl))

checkpatch:
	@test -n "$(CHECKPATCH)" || { echo "checkpatch.pl not found: run scripts/setup" >&2; exit 1; }
	$(CHECKPATCH) --strict --no-tree --quiet --show-types \
		-f $(filter-out kmod/compat.h,$(wildcard kmod/*.[ch])) include/uapi/linux/pcmig.h
	@# Version checks are what the compat header is for.
	$(CHECKPATCH) --strict --no-tree --quiet --show-types \
		--ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON -f kmod/compat.h

# W=1 and sparse on both kernels: any warning fails.
check: checkpatch
	@for k in $(KDIR_61) $(KDIR_612); do \
		$(MAKE) --no-print-directory module KDIR=$$k W=1 C=2 2>&1 | tee $(BUILD)/check.log; \
		if grep -E "warning:|error:" $(BUILD)/check.log; then \
			echo "check: warnings with $$k" >&2; exit 1; fi; \
	done
	@echo "check: W=1, sparse and checkpatch clean on both kernels"

setup:
	scripts/setup

test:
	scripts/test-all

demo:
	scripts/demo

bench:
	scripts/bench

clean:
	rm -rf $(BUILD)
