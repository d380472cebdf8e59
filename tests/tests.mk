# tests/tests.mk — tier 1 (cmocka unit tests, plain and ASan+UBSan) and
# tier 4 (libFuzzer targets). Included by the top Makefile, from which it
# takes $(BUILD), $(CC), $(CFLAGS), $(LDFLAGS), $(LDLIBS) and $(VMM_LIB_SRCS).
#
#   make unit        build build/unit/test_* and run each; fails on any failure
#   make unit-asan   the same with -fsanitize=address,undefined in build/unit-asan/
#   make fuzz        build build/fuzz/fuzz_* with clang and run each for
#                    FUZZ_TIME seconds from its seed corpus tests/fuzz/corpus/NAME/
#   make fuzz-seeds  regenerate the loader seed corpus
#   make build/netflood  the tap flooder of tests/integration/net.sh
#   make build/tapio     tap I/O micro-benchmark, readv/writev vs io_uring

.PHONY: unit unit-asan fuzz fuzz-seeds

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_TESTS := $(UNIT_SRCS:tests/unit/%.c=%)
# Shared helpers: every tests/unit/*.c that is not a test program.
UNIT_LIB_SRCS := $(filter-out $(UNIT_SRCS),$(wildcard tests/unit/*.c))
UNIT_SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# Recursive: pkg-config runs only when a test is built.
CMOCKA_CFLAGS = $(shell pkg-config --cflags cmocka)
CMOCKA_LIBS = $(shell pkg-config --libs cmocka)

# One flavour of the unit tests: $(1) = output directory under $(BUILD), $(2) = extra flags.
# The vmm sources go into an archive so each test links only what it uses.
define UNIT_FLAVOUR
$(BUILD)/$(1)/obj/%.o: %.c | $(MHD_LIB)
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) $(2) $$(CMOCKA_CFLAGS) -c $$< -o $$@

$(BUILD)/$(1)/libbrisk.a: $(VMM_LIB_SRCS:%.c=$(BUILD)/$(1)/obj/%.o)
	@rm -f $$@
	$$(AR) rcs $$@ $$^

$(BUILD)/$(1)/test_%: $(BUILD)/$(1)/obj/tests/unit/test_%.o \
		$(UNIT_LIB_SRCS:%.c=$(BUILD)/$(1)/obj/%.o) $(BUILD)/$(1)/libbrisk.a
	$$(CC) $$(CFLAGS) $(2) $$(LDFLAGS) $$^ -o $$@ $$(CMOCKA_LIBS) $$(LDLIBS)

# Run every test even when one fails, then fail if any did.
$(1): $(UNIT_TESTS:%=$(BUILD)/$(1)/%)
	@failed=""; \
	for t in $$^; do \
		echo "== $$$$t"; \
		$$$$t || failed="$$$$failed $$$$(basename $$$$t)"; \
	done; \
	if [ -n "$$$$failed" ]; then echo "$(1): FAILED:$$$$failed"; exit 1; fi

# Keep the objects make would otherwise delete as intermediates.
.SECONDARY: $(patsubst %.c,$(BUILD)/$(1)/obj/%.o,$(VMM_LIB_SRCS) $(UNIT_LIB_SRCS) $(UNIT_SRCS))
-include $(patsubst %.c,$(BUILD)/$(1)/obj/%.d,$(VMM_LIB_SRCS) $(UNIT_LIB_SRCS) $(UNIT_SRCS))
endef

$(eval $(call UNIT_FLAVOUR,unit,))
$(eval $(call UNIT_FLAVOUR,unit-asan,$(UNIT_SANITIZE)))

# ---- fuzzing (libFuzzer needs clang whatever $(CC) is) ----
FUZZ_CC ?= clang
FUZZ_TIME ?= 30
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_TARGETS := $(FUZZ_SRCS:tests/fuzz/%.c=%)
FUZZ_SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
FUZZ_OUT := $(BUILD)/fuzz

$(FUZZ_OUT)/obj/%.o: %.c | $(MHD_LIB)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CFLAGS) $(FUZZ_SANITIZE) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_OUT)/libbrisk.a: $(VMM_LIB_SRCS:%.c=$(FUZZ_OUT)/obj/%.o)
	@rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_OUT)/fuzz_%: $(FUZZ_OUT)/obj/tests/fuzz/fuzz_%.o $(FUZZ_OUT)/libbrisk.a
	$(FUZZ_CC) $(CFLAGS) $(FUZZ_SANITIZE) -fsanitize=fuzzer $(LDFLAGS) $^ -o $@ $(LDLIBS)

# fuzz_NAME starts from the seeds in tests/fuzz/corpus/NAME/ (read only, if
# present); new inputs go to $(FUZZ_OUT)/corpus/NAME/ and crash reproducers to
# $(FUZZ_OUT)/fuzz_NAME-crash-*. Every target runs; any crash fails the goal.
fuzz: $(FUZZ_TARGETS:%=$(FUZZ_OUT)/%)
	@failed=""; \
	for t in $(FUZZ_TARGETS); do \
		name=$${t#fuzz_}; seeds=tests/fuzz/corpus/$$name; \
		[ -d $$seeds ] || seeds=; \
		mkdir -p $(FUZZ_OUT)/corpus/$$name; \
		echo "== $$t for $(FUZZ_TIME)s"; \
		$(FUZZ_OUT)/$$t -max_total_time=$(FUZZ_TIME) -timeout=10 \
			-print_final_stats=1 -artifact_prefix=$(FUZZ_OUT)/$$t- \
			$(FUZZ_OUT)/corpus/$$name $$seeds || failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: FAILED:$$failed"; exit 1; fi

$(FUZZ_OUT)/gen_seeds: tests/fuzz/gen_seeds.c tests/unit/kimage.c tests/unit/kimage.h
	@mkdir -p $(@D)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(LDFLAGS) $(filter %.c,$^) -o $@

fuzz-seeds: $(FUZZ_OUT)/gen_seeds
	$(FUZZ_OUT)/gen_seeds tests/fuzz/corpus/loader

.SECONDARY: $(patsubst %.c,$(FUZZ_OUT)/obj/%.o,$(VMM_LIB_SRCS) $(FUZZ_SRCS))
-include $(patsubst %.c,$(FUZZ_OUT)/obj/%.d,$(VMM_LIB_SRCS) $(FUZZ_SRCS))

# ---- test tools -------------------------------------------------------------
# Static: they run inside the testhost, which has busybox and no libraries.
$(BUILD)/netflood: tests/tools/netflood.c
	@mkdir -p $(@D)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(LDFLAGS) -static $< -o $@

# Tap I/O micro-benchmark (readv/writev vs io_uring), run by hand on a host
# tap: build/tapio TAP [FRAMES] [FRAME_BYTES] [BATCH]. Not part of make test.
$(BUILD)/tapio: tests/tools/tapio.c
	@mkdir -p $(@D)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(LDFLAGS) $< -o $@ $(LDLIBS)

# Stands in for brisk in the jailer tests: killed by brisk's own seccomp filter.
$(BUILD)/seccomp-victim: tests/tools/seccomp_victim.c jailer/seccomp.c jailer/seccomp.h
	@mkdir -p $(@D)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(LDFLAGS) -static tests/tools/seccomp_victim.c jailer/seccomp.c -o $@ $(LDLIBS)

# Persistent tap with an owner, for the jailed guest in the testhost.
$(BUILD)/tapown: tests/tools/tapown.c
	@mkdir -p $(@D)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(LDFLAGS) -static $< -o $@
