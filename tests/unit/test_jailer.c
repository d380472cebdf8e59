/*
 * test_jailer.c — brisk-jailer's pure parts: flags and their exit codes,
 * ids, rlimits, cgroup settings and parent paths, the file arguments of
 * `brisk run` it rewrites, and cgroup creation/rollback over a fake v1
 * hierarchy (a plain directory named in a fake mountinfo).
 */
#include "tests/unit/testlib.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jailer/args.h"
#include "jailer/cgroup.h"
#include "vmm/cli.h"

static char why[512];

static int parse(struct jailer_args *a, char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	why[0] = '\0';
	return jailer_parse_args(argc, argv, a, why, sizeof(why));
}

#define ARGV(...) ((char *[]){ "brisk-jailer", __VA_ARGS__, NULL })

static void test_args_ok(void **state)
{
	struct jailer_args a;

	(void)state;
	assert_int_equal(parse(&a, ARGV("--id", "vm-1", "--exec-file", "b", "--uid", "123", "--gid=100",
					"--cgroup", "pids.max=8", "--cgroup-version", "2",
					"--resource-limit", "fsize=1M", "--new-pid-ns", "--daemonize",
					"--", "run", "--", "echo")), 0);
	assert_string_equal(a.id, "vm-1");
	assert_int_equal(a.uid, 123);
	assert_int_equal(a.gid, 100);
	assert_int_equal(a.cgroup_version, 2);
	assert_int_equal(a.nr_cgroups, 1);
	assert_string_equal(a.cgroups[0].controller, "pids");
	assert_string_equal(a.cgroups[0].file, "pids.max");
	assert_string_equal(a.cgroups[0].value, "8");
	assert_int_equal(a.rlimits[0].resource, RLIMIT_FSIZE);
	assert_int_equal(a.rlimits[0].value, 1 << 20);
	assert_true(a.new_pid_ns && a.daemonize);
	assert_string_equal(a.base, JAILER_DEFAULT_BASE);
	assert_int_equal(a.exec_argc, 3);
	assert_string_equal(a.exec_argv[0], "run");
	assert_string_equal(a.exec_argv[2], "echo");
}

static void test_args_refused(void **state)
{
	struct jailer_args a;

	(void)state;
	assert_int_equal(parse(&a, ARGV("--exec-file", "b", "--uid", "1", "--gid", "1")), JAILER_EXIT_USAGE);
	assert_non_null(strstr(why, "--id"));
	assert_int_equal(parse(&a, ARGV("--id", "a/b", "--exec-file", "b", "--uid", "1", "--gid", "1")),
			 JAILER_EXIT_BAD_ID);
	assert_int_equal(parse(&a, ARGV("--id", "x", "--exec-file", "b", "--uid", "0", "--gid", "1")),
			 JAILER_EXIT_ROOT_UID);
	assert_int_equal(parse(&a, ARGV("--id", "x", "--exec-file", "b", "--uid", "0", "--gid", "0",
					"--allow-root")), 0);
	assert_int_equal(parse(&a, ARGV("--id", "x", "--exec-file", "b", "--uid", "-1", "--gid", "1")),
			 JAILER_EXIT_USAGE);
	assert_int_equal(parse(&a, ARGV("--id", "x", "--uid", "1", "--gid", "1")), JAILER_EXIT_USAGE);
	assert_int_equal(parse(&a, ARGV("--id", "x", "--exec-file", "b", "--uid", "1", "--gid", "1",
					"--parent-cgroup", "a/../../b")), JAILER_EXIT_BAD_PATH);
	assert_int_equal(parse(&a, ARGV("--id", "x", "--exec-file", "b", "--uid", "1", "--gid", "1",
					"--cgroup-version", "3")), JAILER_EXIT_USAGE);
	assert_int_equal(parse(&a, ARGV("--id", "x", "--exec-file", "b", "--uid", "1", "--gid", "1",
					"--frobnicate")), JAILER_EXIT_USAGE);
	assert_int_equal(parse(&a, ARGV("--id", "x", "--exec-file", "b", "--uid", "1", "--gid", "1",
					"stray")), JAILER_EXIT_USAGE);
	assert_int_equal(parse(&a, ARGV("--id", "x", "--exec-file", "b", "--uid", "1", "--gid", "1",
					"--cgroup", "memory")), JAILER_EXIT_USAGE);
	/* --cleanup needs only the id. */
	assert_int_equal(parse(&a, ARGV("--cleanup", "--id", "x")), 0);
	assert_true(a.cleanup);
}

static void test_ids(void **state)
{
	char long_id[JAILER_ID_MAX + 2];

	(void)state;
	assert_int_equal(jailer_check_id("551e7604-e35c-42b3-b825-416853441234"), 0);
	assert_int_equal(jailer_check_id(""), -EINVAL);
	assert_int_equal(jailer_check_id(".."), -EINVAL);
	assert_int_equal(jailer_check_id("a_b"), -EINVAL);
	assert_int_equal(jailer_check_id("a b"), -EINVAL);
	memset(long_id, 'a', sizeof(long_id));
	long_id[JAILER_ID_MAX] = '\0';
	assert_int_equal(jailer_check_id(long_id), 0);
	long_id[JAILER_ID_MAX] = 'a';
	long_id[JAILER_ID_MAX + 1] = '\0';
	assert_int_equal(jailer_check_id(long_id), -EINVAL);
}

static void test_rlimits(void **state)
{
	struct jailer_rlimit r;

	(void)state;
	assert_int_equal(jailer_parse_rlimit("no-file=1024", &r, why, sizeof(why)), 0);
	assert_int_equal(r.resource, RLIMIT_NOFILE);
	assert_int_equal(r.value, 1024);
	assert_int_equal(jailer_parse_rlimit("fsize=250000000", &r, why, sizeof(why)), 0);
	assert_int_equal(r.value, 250000000);
	assert_int_equal(jailer_parse_rlimit("no-file=2", &r, why, sizeof(why)), -EINVAL);
	assert_int_equal(jailer_parse_rlimit("fsize=-1", &r, why, sizeof(why)), -EINVAL);
	assert_int_equal(jailer_parse_rlimit("fsize=99999999999G", &r, why, sizeof(why)), -EINVAL);
	assert_int_equal(jailer_parse_rlimit("nproc=1", &r, why, sizeof(why)), -EINVAL);
}

static void test_cgroup_settings(void **state)
{
	struct cgroup_setting s;

	(void)state;
	assert_int_equal(cgroup_parse_setting("cpuset.cpus=0-1", &s, why, sizeof(why)), 0);
	assert_string_equal(s.controller, "cpuset");
	assert_string_equal(s.value, "0-1");
	assert_int_equal(cgroup_parse_setting("../tasks=1", &s, why, sizeof(why)), -EINVAL);
	assert_int_equal(cgroup_parse_setting("memory.max", &s, why, sizeof(why)), -EINVAL);
	assert_int_equal(cgroup_parse_setting("memory.max=", &s, why, sizeof(why)), -EINVAL);
	assert_int_equal(cgroup_parse_setting("nodot=1", &s, why, sizeof(why)), -EINVAL);
	assert_int_equal(cgroup_parse_setting("Memory.max=1", &s, why, sizeof(why)), -EINVAL);
	assert_int_equal(cgroup_check_parent("all_uvms/external_uvms"), 0);
	assert_int_equal(cgroup_check_parent("brisk"), 0);
	assert_int_equal(cgroup_check_parent("/abs"), -EINVAL);
	assert_int_equal(cgroup_check_parent("a/.."), -EINVAL);
	assert_int_equal(cgroup_check_parent("a//b"), -EINVAL);
	assert_int_equal(cgroup_check_parent("a/"), -EINVAL);
	assert_int_equal(cgroup_check_parent(""), -EINVAL);
}

/* The jailer rewrites exactly the PATH part of each file flag. */
static void test_cli_file_args(void **state)
{
	char *argv[] = { "run", "--kernel=k1", "--kernel", "vmlinux", "--rootfs", "r.ext4,ro",
			 "--drive=d.img,id=x", "--", "cat", "--kernel", NULL };
	struct cli_run run;

	(void)state;
	assert_int_equal(cli_parse_run(10, argv, &run, why, sizeof(why)), 0);
	assert_int_equal(run.nr_files, 3);
	/* The repeated --kernel replaced the first one. */
	assert_int_equal(run.files[0].kind, CLI_FILE_KERNEL);
	assert_int_equal(run.files[0].argi, 3);
	assert_int_equal(run.files[0].off, 0);
	assert_int_equal(run.files[0].len, 7);
	assert_int_equal(run.files[1].argi, 5);
	assert_int_equal(run.files[1].len, 6);
	assert_false(run.files[1].writable);
	assert_int_equal(run.files[2].argi, 6);
	assert_int_equal(run.files[2].off, strlen("--drive="));
	assert_int_equal(run.files[2].len, 5);
	assert_true(run.files[2].writable);
	assert_int_equal(cli_run_defaults(&run), 0);
	cli_run_free(&run);

	char *bare[] = { "run", "--", "true", NULL };

	assert_int_equal(cli_parse_run(3, bare, &run, why, sizeof(why)), 0);
	assert_int_equal(run.nr_files, 0);
	assert_int_equal(cli_run_defaults(&run), CLI_USES_DEFAULT_KERNEL | CLI_USES_DEFAULT_ROOT);
	cli_run_free(&run);
}

/* A fake v1 "pids" hierarchy: a temp dir that a fake mountinfo names. */
struct fake_cg {
	char dir[64], mountinfo[96];
};

static void fake_cg_init(struct fake_cg *f)
{
	FILE *mi;

	snprintf(f->dir, sizeof(f->dir), "/tmp/brisk-cg.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->mountinfo, sizeof(f->mountinfo), "%s.mountinfo", f->dir);
	mi = fopen(f->mountinfo, "w");
	assert_non_null(mi);
	fprintf(mi, "30 25 0:26 / /sys/fs/cgroup/unified rw shared:9 - cgroup2 cgroup2 rw\n");
	fprintf(mi, "31 25 0:27 / %s rw,nosuid shared:10 - cgroup cgroup rw,pids\n", f->dir);
	fclose(mi);
}

static void fake_cg_destroy(struct fake_cg *f)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", f->dir, f->mountinfo);
	assert_int_equal(system(cmd), 0);
}

static void test_cgroup_v1_create_remove(void **state)
{
	struct cgroup_setting s;
	struct cgroup_jail cg;
	struct fake_cg f;
	char path[256];
	struct stat st;
	FILE *fp;

	(void)state;
	fake_cg_init(&f);
	/* No pids.max in a plain directory: "unknown cgroup file", and nothing left. */
	assert_int_equal(cgroup_parse_setting("pids.max=5", &s, why, sizeof(why)), 0);
	assert_int_equal(cgroup_create(&cg, 1, "brisk", "vm1", &s, 1, f.mountinfo, why, sizeof(why)),
			 -ENOENT);
	assert_non_null(strstr(why, "unknown cgroup file"));
	snprintf(path, sizeof(path), "%s/brisk", f.dir);
	assert_int_equal(stat(path, &st), -1);

	assert_int_equal(cgroup_create(&cg, 1, "brisk", "vm1", NULL, 0, f.mountinfo, why, sizeof(why)), 0);
	assert_int_equal(cg.nr_dirs, 0); /* v1 without settings: no cgroup at all */

	/* Unknown controller. */
	assert_int_equal(cgroup_parse_setting("memory.max=1", &s, why, sizeof(why)), 0);
	assert_int_equal(cgroup_create(&cg, 1, "brisk", "vm1", &s, 1, f.mountinfo, why, sizeof(why)),
			 -ENOENT);
	assert_non_null(strstr(why, "no cgroup v1 hierarchy has the controller 'memory'"));

	/* An existing id is refused and left alone. */
	snprintf(path, sizeof(path), "%s/brisk", f.dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/brisk/vm2", f.dir);
	mkdir(path, 0755);
	assert_int_equal(cgroup_parse_setting("pids.max=5", &s, why, sizeof(why)), 0);
	assert_int_equal(cgroup_create(&cg, 1, "brisk", "vm2", &s, 1, f.mountinfo, why, sizeof(why)),
			 -EEXIST);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(rmdir(path), 0);

	/* cgroup_find sees what a crashed run left, cgroup_remove takes it and the default parent. */
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/brisk/vm2/cgroup.procs", f.dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(cgroup_find(&cg, "brisk", "vm2", f.mountinfo), 1);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(cgroup_kill_all(&cg), 0);
	assert_int_equal(cgroup_remove(&cg, true), 0);
	snprintf(path, sizeof(path), "%s/brisk", f.dir);
	assert_int_equal(stat(path, &st), -1);
	fake_cg_destroy(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args_ok),
		cmocka_unit_test(test_args_refused),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_rlimits),
		cmocka_unit_test(test_cgroup_settings),
		cmocka_unit_test(test_cli_file_args),
		cmocka_unit_test(test_cgroup_v1_create_remove),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
