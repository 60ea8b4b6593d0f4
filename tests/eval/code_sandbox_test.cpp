// The code sandbox against hostile programs: a fork bomb, an infinite loop, a memory hog, a write
// outside its directory, a network connection, and the caller's secrets in the environment.
#include "qbench/eval/tasks/code_sandbox.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

namespace qbench::eval::tasks {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

TEST(CodeSandbox, PassingAndFailingPrograms) {
    EXPECT_TRUE(run_python_sandboxed("assert 1 + 1 == 2\nprint('ok')\n").passed);
    const auto r = run_python_sandboxed("def f():\n    return 1\nassert f() == 2\n");
    EXPECT_FALSE(r.passed);
    EXPECT_NE(r.status.find("AssertionError"), std::string::npos) << r.status;
}

TEST(CodeSandbox, InfiniteLoopIsKilledAtTheWallClockTimeout) {
    SandboxLimits l;
    l.timeout_s = 1.0;
    const auto t = Clock::now();
    const auto r = run_python_sandboxed("while True:\n    pass\n", l);
    EXPECT_TRUE(r.timed_out);
    EXPECT_FALSE(r.passed);
    EXPECT_EQ(r.status, "timed out");
    EXPECT_LT(seconds_since(t), 5.0);
}

TEST(CodeSandbox, ForkBombIsContainedAndItsGroupKilled) {
    SandboxLimits l;
    l.timeout_s = 2.0;
    const auto t = Clock::now();
    const auto r = run_python_sandboxed("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n"
                                        "        pass\n", l);
    EXPECT_FALSE(r.passed);
    EXPECT_LT(seconds_since(t), 8.0);
    // Nothing of it survives: a process still running python3 with the sandbox's program would
    // show up in /proc with a cwd under /tmp/qbench-sandbox-*.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    int survivors = 0;
    for (const auto& e : fs::directory_iterator("/proc")) {
        std::error_code ec;
        const auto cwd = fs::read_symlink(e.path() / "cwd", ec);
        if (!ec && cwd.string().find("qbench-sandbox-") != std::string::npos) ++survivors;
    }
    EXPECT_EQ(survivors, 0);
}

TEST(CodeSandbox, MemoryHogFailsUnderTheAddressSpaceLimit) {
    SandboxLimits l;
    l.address_space_bytes = 512ll << 20;
    const auto r = run_python_sandboxed("x = bytearray(2 * 1024 ** 3)\nprint(len(x))\n", l);
    EXPECT_FALSE(r.passed);
    EXPECT_NE(r.output.find("MemoryError"), std::string::npos) << r.output;
}

TEST(CodeSandbox, WritesOutsideItsDirectoryAreRefusedWhenRunAsRoot) {
    if (geteuid() != 0) GTEST_SKIP() << "only a root caller can run the program as nobody";
    const fs::path outside = fs::temp_directory_path() / ("qbench-outside-" + std::to_string(getpid()));
    fs::create_directories(outside);
    fs::permissions(outside, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                 fs::perms::others_read | fs::perms::others_exec);
    const auto target = outside / "pwned.txt";
    const auto r = run_python_sandboxed("open(" + std::string("'") + target.string() + "', 'w').write('x')\n");
    EXPECT_FALSE(r.passed);
    EXPECT_NE(r.output.find("PermissionError"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(target));
    // Its own directory is writable.
    EXPECT_TRUE(run_python_sandboxed("open('mine.txt', 'w').write('x')\n").passed);
    fs::remove_all(outside);
}

TEST(CodeSandbox, NetworkIsUnreachableInItsOwnNamespace) {
    if (!network_isolation_available()) GTEST_SKIP() << "this kernel refuses a network namespace";
    // A listener on the caller's loopback: reachable without isolation, not from a new namespace.
    const int s = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(s, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(listen(s, 1), 0);
    socklen_t len = sizeof a;
    getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    const int port = ntohs(a.sin_port);
    const auto r = run_python_sandboxed("import socket\nsocket.create_connection(('127.0.0.1', " + std::to_string(port) +
                                        "), timeout=1).close()\n");
    close(s);
    EXPECT_TRUE(r.network_isolated);
    EXPECT_FALSE(r.passed) << r.output;
}

TEST(CodeSandbox, TheCallersEnvironmentIsNotPassedOn) {
    setenv("QBENCH_TEST_SECRET_TOKEN", "hunter2", 1);
    const auto r = run_python_sandboxed("import os, sys\nsys.exit(1 if 'QBENCH_TEST_SECRET_TOKEN' in os.environ else 0)\n");
    unsetenv("QBENCH_TEST_SECRET_TOKEN");
    EXPECT_TRUE(r.passed) << r.output;
}

}  // namespace
}  // namespace qbench::eval::tasks
