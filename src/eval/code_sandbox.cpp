#include "qbench/eval/tasks/code_sandbox.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "qbench/util/error.hpp"

namespace qbench::eval::tasks {

namespace {

namespace fs = std::filesystem;

constexpr uid_t kNobody = 65534;
constexpr std::size_t kMaxOutput = 4096;

std::string find_python() {
    for (const char* p : {"/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3"}) {
        if (access(p, X_OK) == 0) return p;
    }
    throw_runtime("code execution needs python3 (looked in /usr/bin, /usr/local/bin, /bin)");
}

// Processes owned by `uid` now (RLIMIT_NPROC counts them all, so the limit is set above this).
std::int64_t processes_of(uid_t uid) {
    std::int64_t n = 0;
    DIR* d = opendir("/proc");
    if (d == nullptr) return 0;
    while (dirent* e = readdir(d)) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        struct stat st {};
        const std::string path = std::string("/proc/") + e->d_name;
        if (stat(path.c_str(), &st) == 0 && st.st_uid == uid) ++n;
    }
    closedir(d);
    return n;
}

// In the child, before exec: only async-signal-safe calls. Returns whether the network is
// isolated; on a fatal problem _exit(126).
bool enter_sandbox(const SandboxLimits& l, const char* dir, bool drop_to_nobody, rlim_t nproc) {
    setsid();
    bool isolated = false;
    if (getuid() == 0) {
        isolated = unshare(CLONE_NEWNET) == 0;
    } else {
        isolated = unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0;
    }
    if (chdir(dir) != 0) _exit(126);
    auto limit = [](int resource, rlim_t value) {
        struct rlimit r{value, value};
        if (setrlimit(resource, &r) != 0) _exit(126);
    };
    limit(RLIMIT_CPU, static_cast<rlim_t>(l.cpu_s));
    limit(RLIMIT_AS, static_cast<rlim_t>(l.address_space_bytes));
    limit(RLIMIT_FSIZE, static_cast<rlim_t>(l.file_size_bytes));
    limit(RLIMIT_CORE, 0);
    if (drop_to_nobody) {
        if (setgroups(0, nullptr) != 0 || setgid(kNobody) != 0 || setuid(kNobody) != 0) _exit(126);
    }
    limit(RLIMIT_NPROC, nproc);
    return isolated;
}

}  // namespace

bool network_isolation_available() {
    static std::once_flag once;
    static bool available = false;
    std::call_once(once, [] {
        const auto r = run_python_sandboxed("pass\n", SandboxLimits{});
        available = r.network_isolated;
    });
    return available;
}

SandboxResult run_python_sandboxed(const std::string& program, const SandboxLimits& limits) {
    SandboxResult result;
    const std::string python = find_python();
    char dir_template[] = "/tmp/qbench-sandbox-XXXXXX";
    if (mkdtemp(dir_template) == nullptr) throw_runtime("cannot create a sandbox directory in /tmp");
    const std::string dir = dir_template;
    const std::string script = dir + "/program.py";
    {
        std::ofstream f(script, std::ios::binary);
        f << program;
        if (!f) throw_runtime("{}: cannot write the program", script);
    }
    const bool root = geteuid() == 0;
    if (root) {
        // The program runs as nobody: it may write only its own directory.
        if (chown(dir.c_str(), kNobody, kNobody) != 0 || chown(script.c_str(), kNobody, kNobody) != 0)
            throw_runtime("{}: cannot hand the sandbox directory to nobody", dir);
    }
    const uid_t runner = root ? kNobody : getuid();
    const auto nproc = static_cast<rlim_t>(processes_of(runner) + limits.processes);

    // argv / envp prepared before fork: the child only makes system calls.
    const std::string env_home = "HOME=" + dir, env_tmp = "TMPDIR=" + dir;
    const char* argv[] = {python.c_str(), "-I", "-B", script.c_str(), nullptr};
    const char* envp[] = {"PATH=/usr/bin:/bin", env_home.c_str(), env_tmp.c_str(), "LANG=C.UTF-8",
                          "PYTHONDONTWRITEBYTECODE=1", "PYTHONNOUSERSITE=1", "OMP_NUM_THREADS=1", nullptr};
    int out_pipe[2], status_pipe[2];
    if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(status_pipe, O_CLOEXEC) != 0) throw_runtime("pipe failed");

    const pid_t pid = fork();
    if (pid < 0) throw_runtime("fork failed");
    if (pid == 0) {
        const bool isolated = enter_sandbox(limits, dir.c_str(), root, nproc);
        const char flag = isolated ? '1' : '0';
        (void)!write(status_pipe[1], &flag, 1);
        dup2(out_pipe[1], STDOUT_FILENO);
        dup2(out_pipe[1], STDERR_FILENO);
        const int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, STDIN_FILENO);
        execve(argv[0], const_cast<char* const*>(argv), const_cast<char* const*>(envp));
        _exit(127);
    }
    close(out_pipe[1]);
    close(status_pipe[1]);
    char flag = '0';
    if (read(status_pipe[0], &flag, 1) == 1) result.network_isolated = flag == '1';
    close(status_pipe[0]);
    fcntl(out_pipe[0], F_SETFL, O_NONBLOCK);

    auto drain = [&] {
        char buf[4096];
        while (true) {
            const ssize_t n = read(out_pipe[0], buf, sizeof buf);
            if (n <= 0) break;
            const std::size_t room = kMaxOutput - std::min(kMaxOutput, result.output.size());
            result.output.append(buf, std::min(room, static_cast<std::size_t>(n)));
        }
    };
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(limits.timeout_s);
    int status = 0;
    while (true) {
        const pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) break;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            result.timed_out = true;
            kill(-pid, SIGKILL);
            waitpid(pid, &status, 0);
            break;
        }
        pollfd p{out_pipe[0], POLLIN, 0};
        poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 20)));
        drain();
    }
    kill(-pid, SIGKILL);  // whatever the program left behind in its group
    drain();
    close(out_pipe[0]);
    std::error_code ec;
    fs::remove_all(dir, ec);

    if (WIFEXITED(status)) {
        result.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        result.signal = WTERMSIG(status);
    }
    result.passed = !result.timed_out && result.exit_code == 0;
    if (result.passed) {
        result.status = "passed";
    } else if (result.timed_out) {
        result.status = "timed out";
    } else if (result.signal != 0) {
        result.status = "failed: killed by signal " + std::to_string(result.signal);
    } else {
        std::string last = result.output;
        while (!last.empty() && last.back() == '\n') last.pop_back();
        if (auto nl = last.rfind('\n'); nl != std::string::npos) last = last.substr(nl + 1);
        result.status = "failed: " + (last.empty() ? "exit code " + std::to_string(result.exit_code) : last);
    }
    return result;
}

}  // namespace qbench::eval::tasks
