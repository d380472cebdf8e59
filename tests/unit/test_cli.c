/*
 * test_cli.c — `brisk run` argument parsing, the agent's percent-encoding
 * and the kernel command line brisk builds (vmm/cli.c,
 * docs/guest-interface.md).
 */
#include "tests/unit/testlib.h"

#include <errno.h>
#include <stdlib.h>

#include "vmm/cli.h"
#include "vmm/vm.h"
#include "virtio/tap.h"

struct fixture {
	struct cli_run run;
	char why[256];
	char out[4096];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	cli_run_free(&f->run);
	free(f);
	return 0;
}

/* argv for `brisk run ARGS...`, NULL-terminated like main's. */
#define RUN_ARGV(...) ((char *[]){ "run", __VA_ARGS__, NULL })

static int parse(struct fixture *f, char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	f->why[0] = '\0';
	cli_run_free(&f->run);
	return cli_parse_run(argc, argv, &f->run, f->why, sizeof(f->why));
}

/* The parse fails with -EINVAL and a message naming @flag. */
static void expect_bad(struct fixture *f, char **argv, const char *flag)
{
	assert_int_equal(parse(f, argv), -EINVAL);
	assert_why(f->why, flag);
}

/* ---- cli_parse_run: valid ---- */

static void defaults(void **state)
{
	struct fixture *f = *state;
	char *argv[] = { "run", NULL };

	assert_int_equal(parse(f, argv), 0);
	assert_int_equal(f->run.cpus, CLI_DEFAULT_CPUS);
	assert_int_equal(f->run.mem_mib, CLI_DEFAULT_MEM_MIB);
	assert_int_equal(f->run.boot, BOOT_PREF_AUTO);
	assert_null(f->run.kernel);
	assert_null(f->run.initrd);
	assert_null(f->run.cmdline);
	assert_false(f->run.no_initrd);
	assert_int_equal(f->run.verbose, 0);
	assert_int_equal(f->run.argc, 0);
}

static void every_flag(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(parse(f, RUN_ARGV("--kernel", "vmlinux", "--initrd", "rd.gz",
					   "--cpus", "4", "--mem", "512", "--cmdline", "quiet",
					   "--boot", "pvh", "--boot-timer", "-e", "A=1",
					   "--env", "B=two words", "-w", "/srv", "-v", "-v")), 0);
	assert_string_equal(f->run.kernel, "vmlinux");
	assert_string_equal(f->run.initrd, "rd.gz");
	assert_int_equal(f->run.cpus, 4);
	assert_int_equal(f->run.mem_mib, 512);
	assert_string_equal(f->run.cmdline, "quiet");
	assert_int_equal(f->run.boot, BOOT_PREF_PVH);
	assert_true(f->run.boot_timer);
	assert_int_equal(f->run.nr_env, 2);
	assert_string_equal(f->run.env[0], "A=1");
	assert_string_equal(f->run.env[1], "B=two words");
	assert_string_equal(f->run.workdir, "/srv");
	assert_int_equal(f->run.verbose, 2);
	assert_int_equal(f->run.argc, 0);
}

static void equals_form_and_limits(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(parse(f, RUN_ARGV("--cpus=32", "--mem=16", "--boot=linux64",
					   "--no-initrd")), 0);
	assert_int_equal(f->run.cpus, VM_MAX_CPUS);
	assert_int_equal(f->run.mem_mib, 16);
	assert_int_equal(f->run.boot, BOOT_PREF_LINUX64);
	assert_true(f->run.no_initrd);
}

static void help_and_version(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(parse(f, RUN_ARGV("--help")), 0);
	assert_true(f->run.help);
	assert_int_equal(parse(f, RUN_ARGV("--version")), 0);
	assert_true(f->run.version);
	assert_false(f->run.help);
}

static void everything_after_double_dash_is_the_command(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(parse(f, RUN_ARGV("-v", "--", "ls", "-l", "--cpus", "3")), 0);
	assert_int_equal(f->run.verbose, 1);
	assert_int_equal(f->run.cpus, 1);
	assert_int_equal(f->run.argc, 4);
	assert_string_equal(f->run.argv[0], "ls");
	assert_string_equal(f->run.argv[1], "-l");
	assert_string_equal(f->run.argv[2], "--cpus");
	assert_string_equal(f->run.argv[3], "3");
}

static void first_non_option_starts_the_command(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(parse(f, RUN_ARGV("--cpus", "2", "echo", "-v", "--mem", "hi")), 0);
	assert_int_equal(f->run.cpus, 2);
	assert_int_equal(f->run.verbose, 0);
	assert_int_equal(f->run.mem_mib, CLI_DEFAULT_MEM_MIB);
	assert_int_equal(f->run.argc, 4);
	assert_string_equal(f->run.argv[0], "echo");
	assert_string_equal(f->run.argv[3], "hi");
}

/* A parse that stopped inside "-hv" must not leak the "v" into the next one. */
static void parses_are_independent(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(parse(f, RUN_ARGV("-hv")), 0);
	assert_true(f->run.help);
	assert_int_equal(parse(f, RUN_ARGV("--cpus", "2")), 0);
	assert_int_equal(f->run.verbose, 0);
	assert_int_equal(f->run.cpus, 2);
	expect_bad(f, RUN_ARGV("-xv"), "-x");
	assert_int_equal(parse(f, RUN_ARGV("true")), 0);
	assert_int_equal(f->run.verbose, 0);
	assert_int_equal(f->run.argc, 1);
}

/* ---- cli_parse_run: errors ---- */

static void unknown_flag(void **state)
{
	struct fixture *f = *state;

	expect_bad(f, RUN_ARGV("--bogus"), "--bogus");
	expect_bad(f, RUN_ARGV("-x"), "-x");
	expect_bad(f, RUN_ARGV("--cpus", "2", "-vx"), "-x");
	expect_bad(f, RUN_ARGV("--cpus", "2", "-xv"), "-x");
}

static void value_for_a_flag_without_one(void **state)
{
	struct fixture *f = *state;

	expect_bad(f, RUN_ARGV("--verbose=1"), "--verbose");
	expect_bad(f, RUN_ARGV("--no-initrd=yes"), "--no-initrd");
}

static void missing_value(void **state)
{
	struct fixture *f = *state;

	expect_bad(f, RUN_ARGV("--cpus"), "--cpus");
	assert_why(f->why, "needs a value");
	expect_bad(f, RUN_ARGV("-v", "--kernel"), "--kernel");
	expect_bad(f, RUN_ARGV("-e"), "-e");
}

static void bad_cpu_counts(void **state)
{
	struct fixture *f = *state;

	expect_bad(f, RUN_ARGV("--cpus", "0"), "--cpus");
	expect_bad(f, RUN_ARGV("--cpus", "33"), "--cpus");
	expect_bad(f, RUN_ARGV("--cpus", "abc"), "--cpus");
	expect_bad(f, RUN_ARGV("--cpus", "-1"), "--cpus");
	expect_bad(f, RUN_ARGV("--cpus", "2x"), "--cpus");
	expect_bad(f, RUN_ARGV("--cpus", ""), "--cpus");
	expect_bad(f, RUN_ARGV("--cpus", "99999999999999999999999"), "--cpus");
}

static void bad_memory_sizes(void **state)
{
	struct fixture *f = *state;

	expect_bad(f, RUN_ARGV("--mem", "15"), "--mem");
	expect_bad(f, RUN_ARGV("--mem", "1048577"), "--mem");
	expect_bad(f, RUN_ARGV("--mem", "1G"), "--mem");
}

static void bad_boot_mode(void **state)
{
	struct fixture *f = *state;

	expect_bad(f, RUN_ARGV("--boot", "bogus"), "--boot");
	assert_why(f->why, "pvh");
}

static void env_without_equals(void **state)
{
	struct fixture *f = *state;

	expect_bad(f, RUN_ARGV("--env", "FOO"), "--env");
	expect_bad(f, RUN_ARGV("-e", "=value"), "--env");
}

static void too_many_env_vars(void **state)
{
	struct fixture *f = *state;
	char *argv[2 * CLI_MAX_ENV + 4] = { "run" };
	int n = 1;

	for (int i = 0; i <= CLI_MAX_ENV; i++) {
		argv[n++] = "-e";
		argv[n++] = "K=V";
	}
	argv[n] = NULL;
	expect_bad(f, argv, "--env");
}

static void initrd_with_no_initrd(void **state)
{
	struct fixture *f = *state;

	expect_bad(f, RUN_ARGV("--initrd", "rd", "--no-initrd"), "--no-initrd");
	assert_why(f->why, "--initrd");
}

/* ---- cli_agent_encode ---- */

static void encode_keeps_safe_chars(void **state)
{
	struct fixture *f = *state;
	static const char safe[] = "AZaz09-_./:=+@";

	assert_int_equal(cli_agent_encode(safe, f->out, sizeof(f->out)), strlen(safe));
	assert_string_equal(f->out, safe);
}

static void encode_escapes_the_rest(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cli_agent_encode("a b", f->out, sizeof(f->out)), 5);
	assert_string_equal(f->out, "a%20b");
	assert_int_equal(cli_agent_encode("100%", f->out, sizeof(f->out)), 6);
	assert_string_equal(f->out, "100%25");
	cli_agent_encode("'\"\n\t$;*~,", f->out, sizeof(f->out));
	/* ',' separates list elements, so it is escaped too. */
	assert_string_equal(f->out, "%27%22%0A%09%24%3B%2A%7E%2C");
}

static void encode_empty_is_lone_percent(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cli_agent_encode("", f->out, sizeof(f->out)), 1);
	assert_string_equal(f->out, "%");
}

static void encode_non_ascii_bytes(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cli_agent_encode("\xc3\xa9\xff\x01", f->out, sizeof(f->out)), 12);
	assert_string_equal(f->out, "%C3%A9%FF%01");
}

static void encode_too_long(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cli_agent_encode("abc", f->out, 4), 3); /* exactly fits */
	assert_int_equal(cli_agent_encode("abc", f->out, 3), -E2BIG);
	assert_int_equal(cli_agent_encode(" ", f->out, 4), 3);
	assert_int_equal(cli_agent_encode(" ", f->out, 3), -E2BIG);
	assert_int_equal(cli_agent_encode("", f->out, 2), 1);
	assert_int_equal(cli_agent_encode("", f->out, 1), -E2BIG);
	assert_int_equal(cli_agent_encode("x", f->out, 0), -E2BIG);
}

/* ---- cli_build_cmdline ---- */

static const char *build(struct fixture *f, char **argv, enum console_stdin mode)
{
	int n;

	assert_int_equal(parse(f, argv), 0);
	n = cli_build_cmdline(&f->run, mode, "", f->out, sizeof(f->out));
	assert_true(n >= 0);
	assert_int_equal(n, strlen(f->out));
	return f->out;
}

static void cmdline_default_without_command(void **state)
{
	struct fixture *f = *state;
	char *argv[] = { "run", NULL };

	assert_string_equal(build(f, argv, CONSOLE_STDIN_TTY),
			    CLI_DEFAULT_KERNEL_ARGS " loglevel=1 -- stdin=tty cmd=/bin/sh");
}

static void cmdline_default_with_command(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(build(f, RUN_ARGV("echo", "hello world", ""), CONSOLE_STDIN_PIPE),
			    CLI_DEFAULT_KERNEL_ARGS " loglevel=1 -- stdin=pipe cmd=echo,hello%20world,%");
}

static void cmdline_verbose(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(build(f, RUN_ARGV("-v", "true"), CONSOLE_STDIN_NULL),
			    CLI_DEFAULT_KERNEL_ARGS " loglevel=7 -- stdin=null v=1 cmd=true");
}

static void cmdline_env_and_workdir(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(build(f, RUN_ARGV("-e", "A=1", "-e", "B=x y", "-w", "/my dir",
					      "pwd"), CONSOLE_STDIN_PIPE),
			    CLI_DEFAULT_KERNEL_ARGS
			    " loglevel=1 -- stdin=pipe cwd=/my%20dir env=A=1,B=x%20y cmd=pwd");
}

static void cmdline_user_without_command_is_untouched(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(build(f, RUN_ARGV("--cmdline", "console=ttyS0 init=/bin/sh"),
				  CONSOLE_STDIN_TTY),
			    "console=ttyS0 init=/bin/sh");
}

static void cmdline_user_with_command(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(build(f, RUN_ARGV("--cmdline", "console=ttyS1", "-v", "ls", "-l"),
				  CONSOLE_STDIN_TTY),
			    "console=ttyS1 -- stdin=tty v=1 cmd=ls,-l");
}

static void cmdline_many_args_are_one_word(void **state)
{
	struct fixture *f = *state;
	char *argv[64] = { "run", "echo" };
	const char *out;
	int words = 0;

	/* init gets at most 32 arguments: 60 command arguments must not add words. */
	for (int i = 2; i < 62; i++)
		argv[i] = "x";
	out = build(f, argv, CONSOLE_STDIN_PIPE);
	for (const char *p = strstr(out, " -- "); *p; p++)
		words += *p == ' ';
	assert_int_equal(words, 3); /* " --", " stdin=pipe", " cmd=..." */
}

static void cmdline_too_long(void **state)
{
	struct fixture *f = *state;
	char small[64];
	char *argv[] = { "run", NULL };
	size_t full;

	assert_int_equal(parse(f, argv), 0);
	assert_int_equal(cli_build_cmdline(&f->run, CONSOLE_STDIN_TTY, "", small, sizeof(small)),
			 -E2BIG);
	full = strlen(build(f, RUN_ARGV("echo", "a b c"), CONSOLE_STDIN_TTY));
	/* Every cut-off point fails cleanly; one byte more than needed works. */
	for (size_t len = 1; len <= full; len++)
		assert_int_equal(cli_build_cmdline(&f->run, CONSOLE_STDIN_TTY, "", f->out, len),
				 -E2BIG);
	assert_int_equal(cli_build_cmdline(&f->run, CONSOLE_STDIN_TTY, "", f->out, full + 1), full);
}

/* ---- drives ---- */

static void drives_parse(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(parse(f, RUN_ARGV("--rootfs", "/img/root.ext4,ro", "--drive", "/d1",
					   "--drive", "/d2,id=data,rw,cache=unsafe", "--io-engine", "sync",
					   "true")), 0);
	assert_true(f->run.have_rootfs);
	assert_string_equal(f->run.rootfs.path, "/img/root.ext4");
	assert_true(f->run.rootfs.read_only);
	assert_int_equal(f->run.nr_drives, 2);
	assert_string_equal(f->run.drives[0].path, "/d1");
	assert_null(f->run.drives[0].id);
	assert_false(f->run.drives[0].read_only);
	assert_string_equal(f->run.drives[1].path, "/d2");
	assert_string_equal(f->run.drives[1].id, "data");
	assert_false(f->run.drives[0].cache_unsafe);
	assert_true(f->run.drives[1].cache_unsafe);
	assert_int_equal(f->run.io_engine, IO_ENGINE_SYNC);
	assert_int_equal(f->run.argc, 1);
}

static void drives_bad(void **state)
{
	struct fixture *f = *state;

	expect_bad(f, RUN_ARGV("--drive", "/d,bogus", "true"), "--drive '/d,bogus'");
	expect_bad(f, RUN_ARGV("--drive", ",ro", "true"), "--drive");
	expect_bad(f, RUN_ARGV("--drive", "/d,id=", "true"), "--drive");
	expect_bad(f, RUN_ARGV("--drive", "/d,id=123456789012345678901", "true"), "id=NAME");
	expect_bad(f, RUN_ARGV("--rootfs", "/a", "--rootfs", "/b", "true"), "--rootfs given twice");
	expect_bad(f, RUN_ARGV("--io-engine", "aio", "true"), "--io-engine 'aio'");
	expect_bad(f, RUN_ARGV("--drive", "/d,cache=none", "true"), "cache=none");
}

static void cmdline_extra_comes_first(void **state)
{
	struct fixture *f = *state;
	int n;

	/* The user's init= must win over brisk's, and their "--" stays theirs. */
	assert_int_equal(parse(f, RUN_ARGV("--cmdline", "init=/bin/sh -- initarg")), 0);
	n = cli_build_cmdline(&f->run, CONSOLE_STDIN_NULL, "root=/dev/vda init=/init", f->out,
			      sizeof(f->out));
	assert_int_equal(n, strlen(f->out));
	assert_string_equal(f->out, "root=/dev/vda init=/init init=/bin/sh -- initarg");
}

/* ---- NICs ---- */

static void nics_parse(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(parse(f, RUN_ARGV("--net", "tap0", "--ip", "172.16.0.2/24", "--gw",
					   "172.16.0.1", "--net", "tap1,mac=02:AA:bb:cc:dd:01,ip=10.0.0.2/8",
					   "--id", "vm7", "true")), 0);
	assert_int_equal(f->run.nr_nics, 2);
	assert_string_equal(f->run.vm_id, "vm7");
	assert_string_equal(f->run.nics[0].tap, "tap0");
	assert_false(f->run.nics[0].have_mac);
	assert_string_equal(f->run.nics[0].ip, "172.16.0.2/24");
	assert_string_equal(f->run.nics[0].gw, "172.16.0.1");
	assert_string_equal(f->run.nics[1].tap, "tap1");
	assert_true(f->run.nics[1].have_mac);
	assert_memory_equal(f->run.nics[1].mac_bytes, ((uint8_t[]){ 2, 0xaa, 0xbb, 0xcc, 0xdd, 1 }), 6);
	assert_string_equal(f->run.nics[1].ip, "10.0.0.2/8");
	assert_null(f->run.nics[1].gw);
	/* Without --id: Firecracker's default. */
	assert_int_equal(parse(f, RUN_ARGV("--net", "t", "true")), 0);
	assert_string_equal(f->run.vm_id, CLI_DEFAULT_VM_ID);
	assert_null(f->run.nics[0].ip);
}

static void nics_bad(void **state)
{
	struct fixture *f = *state;

	expect_bad(f, RUN_ARGV("--net", ",mac=02:00:00:00:00:01", "true"), "--net");
	expect_bad(f, RUN_ARGV("--net", "0123456789abcdef", "true"), "1-15 bytes");
	expect_bad(f, RUN_ARGV("--net", "t,mac=01:00:00:00:00:01", "true"), "unicast");
	expect_bad(f, RUN_ARGV("--net", "t,mac=02:00:00:00:00", "true"), "mac '02:00:00:00:00'");
	expect_bad(f, RUN_ARGV("--net", "t,mac=02:00:00:00:00:0g", "true"), "mac");
	expect_bad(f, RUN_ARGV("--net", "t,ip=10.0.0.2", "true"), "e.g. 172.16.0.2/24");
	expect_bad(f, RUN_ARGV("--net", "t,ip=10.0.0.2/33", "true"), "--net ip");
	expect_bad(f, RUN_ARGV("--net", "t,ip=10.0.0.256/24", "true"), "--net ip");
	expect_bad(f, RUN_ARGV("--net", "t,ip=10.0.0.2/-1", "true"), "--net ip");
	expect_bad(f, RUN_ARGV("--net", "t,gw=10.0.0.1", "true"), "gw= needs ip=");
	expect_bad(f, RUN_ARGV("--net", "t,ip=10.0.0.2/24,gw=10.0.0", "true"), "--net gw");
	expect_bad(f, RUN_ARGV("--net", "t,speed=10", "true"), "unknown option 'speed=10'");
	expect_bad(f, RUN_ARGV("--ip", "10.0.0.2/24", "true"), "--ip needs a NIC");
	expect_bad(f, RUN_ARGV("--gw", "10.0.0.1", "true"), "--gw needs a NIC");
	expect_bad(f, RUN_ARGV("--net", "t", "--gw", "10.0.0.1", "true"), "--gw needs an address");
	expect_bad(f, RUN_ARGV("--net", "t,ip=1.2.3.4/24", "--ip", "1.2.3.5/24", "true"), "drop one");
	expect_bad(f, RUN_ARGV("--net", "a,ip=1.2.3.4/24,gw=1.2.3.1", "--net", "b,ip=1.2.4.4/24,gw=1.2.4.1",
			       "true"), "only one NIC may have the default gateway");
	expect_bad(f, RUN_ARGV("--id", "", "true"), "--id");
	expect_bad(f, RUN_ARGV("--net", "a", "--net", "b", "--net", "c", "--net", "d", "--net", "e",
			       "--net", "f", "--net", "g", "--net", "h", "--net", "i", "true"), "at most 8 NICs");
}

static void seccomp_flags(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(parse(f, RUN_ARGV("true")), 0);
	assert_false(f->run.seccomp_log);
	assert_false(f->run.no_seccomp);
	assert_int_equal(parse(f, RUN_ARGV("--seccomp-log", "true")), 0);
	assert_true(f->run.seccomp_log);
	assert_int_equal(parse(f, RUN_ARGV("--no-seccomp", "true")), 0);
	assert_true(f->run.no_seccomp);
	expect_bad(f, RUN_ARGV("--seccomp-log", "--no-seccomp", "true"), "contradict");
}

static void mac_derived_from_id_and_tap(void **state)
{
	uint8_t a[6], b[6], c[6], d[6];

	(void)state;
	mac_from_id("vm-a", "tap0", a);
	mac_from_id("vm-a", "tap0", b);
	mac_from_id("vm-b", "tap0", c);
	mac_from_id("vm-a", "tap1", d);
	assert_memory_equal(a, b, 6);                 /* stable */
	assert_int_equal(a[0], 0x02);                 /* locally administered, unicast */
	assert_memory_not_equal(a, c, 6);
	assert_memory_not_equal(a, d, 6);
	/* "ab" + "/" + "c" must not collide with "a" + "/" + "bc" trivially. */
	mac_from_id("ab", "c", c);
	mac_from_id("a", "bc", d);
	assert_memory_not_equal(c, d, 6);
}

static void cmdline_net_for_nics_with_addresses(void **state)
{
	struct fixture *f = *state;

	/* eth1 has no address: not in net=, but eth2 keeps its index. */
	assert_string_equal(build(f, RUN_ARGV("--net", "a", "--ip", "172.16.0.2/24", "--gw", "172.16.0.1",
					      "--net", "b", "--net", "c,ip=10.1.0.2/16", "true"),
				  CONSOLE_STDIN_NULL),
			    CLI_DEFAULT_KERNEL_ARGS " loglevel=1 -- stdin=null "
			    "net=eth0:172.16.0.2/24:172.16.0.1,eth2:10.1.0.2/16 cmd=true");
	/* No addresses, no net= option. */
	assert_string_equal(build(f, RUN_ARGV("--net", "a", "true"), CONSOLE_STDIN_NULL),
			    CLI_DEFAULT_KERNEL_ARGS " loglevel=1 -- stdin=null cmd=true");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(defaults),
		T(every_flag),
		T(equals_form_and_limits),
		T(help_and_version),
		T(everything_after_double_dash_is_the_command),
		T(first_non_option_starts_the_command),
		T(parses_are_independent),
		T(unknown_flag),
		T(value_for_a_flag_without_one),
		T(missing_value),
		T(bad_cpu_counts),
		T(bad_memory_sizes),
		T(bad_boot_mode),
		T(env_without_equals),
		T(too_many_env_vars),
		T(initrd_with_no_initrd),
		T(encode_keeps_safe_chars),
		T(encode_escapes_the_rest),
		T(encode_empty_is_lone_percent),
		T(encode_non_ascii_bytes),
		T(encode_too_long),
		T(cmdline_default_without_command),
		T(cmdline_default_with_command),
		T(cmdline_verbose),
		T(cmdline_env_and_workdir),
		T(cmdline_user_without_command_is_untouched),
		T(cmdline_user_with_command),
		T(cmdline_many_args_are_one_word),
		T(cmdline_too_long),
		T(drives_parse),
		T(drives_bad),
		T(cmdline_extra_comes_first),
		T(nics_parse),
		T(nics_bad),
		T(cmdline_net_for_nics_with_addresses),
		T(mac_derived_from_id_and_tap),
		T(seccomp_flags),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
