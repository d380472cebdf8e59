# tests/guest/guest.mk — builds build/test-guest, the freestanding smoke-test guest (Linux 64-bit entry + PVH note).
# Own flags, not $(CFLAGS): the guest must not inherit sanitizer or hosted-build options.

GUEST_DIR  := tests/guest
GUEST_OUT  := $(BUILD)/tests/guest
GUEST_OBJS := $(GUEST_OUT)/entry.o $(GUEST_OUT)/main.o

GUEST_CFLAGS := -std=gnu11 -O2 -Wall -Wextra -Werror \
	-ffreestanding -fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only \
	-fno-stack-protector -fno-asynchronous-unwind-tables -fcf-protection=none \
	-MMD -MP
# -n: no page alignment of segments in the file, which keeps it a few KiB.
GUEST_LDFLAGS := -nostdlib -static -Wl,-n -Wl,--build-id=none \
	-Wl,-T,$(GUEST_DIR)/guest.ld

all: $(BUILD)/test-guest

$(GUEST_OUT)/entry.o: $(GUEST_DIR)/entry.S $(GUEST_DIR)/guest.mk
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -c -o $@ $<

$(GUEST_OUT)/main.o: $(GUEST_DIR)/main.c $(GUEST_DIR)/guest.mk
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -c -o $@ $<

$(BUILD)/test-guest: $(GUEST_OBJS) $(GUEST_DIR)/guest.ld
	$(CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -o $@ $(GUEST_OBJS)

-include $(GUEST_OBJS:.o=.d)
