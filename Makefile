# brisk — one build for everything: `make`, `make test`, `make demo`.
# `make` builds the VMM, the test guest, the guest agent, the guest kernel
# and the initramfs; scripts/setup installs the Debian packages they need.
CC      ?= gcc
BUILD   := build
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -I. -MMD -MP
LDLIBS  := -lpthread

VMM_SRCS := $(wildcard vmm/*.c)
VMM_LIB_SRCS := $(filter-out vmm/main.c,$(VMM_SRCS))
VMM_OBJS := $(VMM_SRCS:%.c=$(BUILD)/obj/%.o)

.PHONY: all clean test demo kernel rootfs unit smoke testhost-tests bench setup
all: $(BUILD)/brisk

setup:
	scripts/setup

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/brisk: $(VMM_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(LDLIBS)

# Part fragments: each part owns its rules.
-include tests/guest/guest.mk
-include agent/agent.mk
-include tests/tests.mk

clean:
	rm -rf $(BUILD)

-include $(VMM_OBJS:.o=.d)
