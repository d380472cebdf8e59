# agent/agent.mk — the guest agent (/init) and the guest images.
# Included by the top Makefile, which defines BUILD and CC and declares
# `kernel` and `rootfs` phony.
#
# The agent is linked statically and built with its own flags: it runs as
# PID 1 in a guest that has no libraries, and must not pick up sanitizer
# or fuzzing flags meant for the host build.
AGENT_CFLAGS := -O2 -std=gnu11 -Wall -Wextra -Werror
AGENT_LDFLAGS := -static
AGENT_SRCS := $(sort $(wildcard agent/*.c))

all: $(BUILD)/brisk-init $(BUILD)/rootfs.ext4

$(BUILD)/brisk-init: $(AGENT_SRCS) agent/agent.h agent/agent.mk
	@mkdir -p $(@D)
	$(CC) $(AGENT_CFLAGS) $(AGENT_LDFLAGS) -o $@ $(AGENT_SRCS)

# build-rootfs hashes its inputs (agent, busybox, itself) and does nothing
# when they are unchanged, so `rootfs` may always call it.  One run writes
# both images (the initramfs and the sparse ext4 root).
$(BUILD)/initramfs.cpio.gz $(BUILD)/rootfs.ext4 &: $(BUILD)/brisk-init scripts/build-rootfs
	scripts/build-rootfs

rootfs: $(BUILD)/brisk-init
	scripts/build-rootfs

# build/vmlinux and build/bzImage; a no-op when the config fragment, the
# kernel source and the script are unchanged.
kernel:
	scripts/build-guest-kernel
