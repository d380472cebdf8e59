# brisk — one build for everything: `make`, `make test`, `make demo`.
#
# `make` builds the VMM (build/brisk), the test guest, the guest agent, the
# initramfs and the guest kernel. `make test` runs every test tier.
# scripts/setup installs the Debian packages all of this needs.
CC      ?= gcc
BUILD   := build
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -I. -MMD -MP
# libmicrohttpd: Debian's source built without TLS (scripts/build-libmicrohttpd
# says why); jansson: Debian's libjansson-dev.
MHD     := $(BUILD)/mhd
MHD_LIB := $(MHD)/lib/libmicrohttpd.a
CFLAGS  += -isystem $(MHD)/include
LDLIBS  := $(MHD_LIB) $(shell pkg-config --libs liburing libseccomp jansson) -lpthread
SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

VMM_SRCS := $(wildcard vmm/*.c) $(wildcard virtio/*.c) jailer/seccomp.c
# brisk-jailer: its own main plus the parts the unit tests also link.
JAILER_LIB_SRCS := jailer/args.c jailer/cgroup.c jailer/jail.c jailer/enter.c
VMM_LIB_SRCS := $(filter-out vmm/main.c,$(VMM_SRCS)) $(JAILER_LIB_SRCS)
VMM_LIB_OBJS := $(VMM_LIB_SRCS:%.c=$(BUILD)/obj/%.o)
VMM_OBJS := $(VMM_SRCS:%.c=$(BUILD)/obj/%.o)
VMM_ASAN_OBJS := $(VMM_SRCS:%.c=$(BUILD)/asan/obj/%.o)

.PHONY: all vmm clean test test-all demo testtools kernel rootfs setup smoke smoke-asan testhost-tests bench \
	jailer-tests testhost-jailer-tests
all: vmm $(BUILD)/initramfs.cpio.gz kernel
vmm: $(BUILD)/brisk $(BUILD)/brisk-jailer

setup:
	scripts/setup

$(MHD_LIB): scripts/build-libmicrohttpd
	scripts/build-libmicrohttpd $(MHD)

$(BUILD)/obj/%.o: %.c | $(MHD_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/brisk: $(VMM_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -static $^ -o $@ $(LDLIBS)

# brisk-jailer links brisk's own flag parser (vmm/cli.c) to find the files
# `brisk run` names; static, like brisk, so it runs in the testhost too.
$(BUILD)/libbrisk.a: $(VMM_LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/brisk-jailer: $(BUILD)/obj/jailer/main.o $(BUILD)/libbrisk.a
	$(CC) $(CFLAGS) $(LDFLAGS) -static $^ -o $@ $(LDLIBS)

# The same VMM with ASan+UBSan, for the sanitizer runs of the smoke tier.
$(BUILD)/asan/obj/%.o: %.c | $(MHD_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANITIZE) -c $< -o $@

$(BUILD)/asan/brisk: $(VMM_ASAN_OBJS)
	$(CC) $(CFLAGS) $(SANITIZE) $(LDFLAGS) $^ -o $@ $(LDLIBS)

# Part fragments: each part owns its rules.
include tests/guest/guest.mk
include agent/agent.mk
-include tests/tests.mk

# Tier 2: the tiny test guest on the local /dev/kvm, plain and sanitized;
# api.sh drives the Firecracker-compatible API and config files with curl.
smoke: $(BUILD)/brisk $(BUILD)/test-guest $(BUILD)/netflood
	tests/integration/smoke.sh $(BUILD)
	tests/integration/api.sh $(BUILD)

smoke-asan: $(BUILD)/asan/brisk $(BUILD)/test-guest $(BUILD)/netflood
	ln -sf ../test-guest $(BUILD)/asan/test-guest
	tests/integration/smoke.sh $(BUILD)/asan
	tests/integration/api.sh $(BUILD)/asan

# Tier 3: real Linux guests inside the nested testhost, all scripts in one
# boot of it (each prints its own summary line).
# Host tools the busybox guest lacks (util-linux blkdiscard), as a drive image.
testtools:
	scripts/build-testtools

testhost-tests: all testtools $(BUILD)/netflood $(BUILD)/tapown
	scripts/testhost --timeout 1500 sh -c 'tests/integration/linux.sh; a=$$?; tests/integration/blk.sh; b=$$?; tests/integration/net.sh; c=$$?; tests/integration/jailer-linux.sh; d=$$?; tests/integration/api-linux.sh; e=$$?; [ $$a -eq 0 ] && [ $$b -eq 0 ] && [ $$c -eq 0 ] && [ $$d -eq 0 ] && [ $$e -eq 0 ]'

# brisk-jailer with the tiny guest on the local /dev/kvm (cgroup v1 and the
# hybrid v2 hierarchy here), then in a testhost booted with pure cgroup v2
# (limits in v2) together with a real Linux guest under the jailer.
jailer-tests: $(BUILD)/brisk $(BUILD)/brisk-jailer $(BUILD)/test-guest $(BUILD)/seccomp-victim
	tests/integration/jailer.sh $(BUILD)

testhost-jailer-tests: all $(BUILD)/test-guest $(BUILD)/seccomp-victim $(BUILD)/tapown
	scripts/testhost --timeout 900 --cgroup v2 sh -c 'tests/integration/jailer.sh; a=$$?; tests/integration/jailer-linux.sh; b=$$?; [ $$a -eq 0 ] && [ $$b -eq 0 ]'

# The two README commands install their Debian packages first (idempotent).
test:
	scripts/setup
	$(MAKE) test-all

test-all: all unit unit-asan smoke smoke-asan jailer-tests fuzz testhost-tests testhost-jailer-tests

# The main job: build everything, boot a real Linux guest, run a command.
# Where the local /dev/kvm cannot run Linux, it runs inside the testhost.
demo:
	scripts/setup
	$(MAKE) all
	scripts/demo

bench: all
	scripts/bench

clean:
	rm -rf $(BUILD)

-include $(VMM_OBJS:.o=.d) $(VMM_ASAN_OBJS:.o=.d) $(VMM_LIB_OBJS:.o=.d) $(BUILD)/obj/jailer/main.d
