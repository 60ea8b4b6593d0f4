// Starts tests/serve/fake_openai_server.py on a free port for one test and stops it after.
#pragma once

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace qbench::testing_serve {

class FakeServer {
public:
    explicit FakeServer(std::vector<std::string> args) {
        int fds[2];
        if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
        std::vector<std::string> argv_s = {"python3", std::string(QBENCH_SOURCE_DIR) + "/tests/serve/fake_openai_server.py",
                                           "--port", "0"};
        argv_s.insert(argv_s.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& a : argv_s) argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
        posix_spawn_file_actions_addclose(&actions, fds[0]);
        const int rc = posix_spawnp(&pid_, "python3", &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        close(fds[1]);
        if (rc != 0) {
            close(fds[0]);
            throw std::runtime_error("cannot start python3");
        }
        FILE* out = fdopen(fds[0], "r");
        char line[128] = {0};
        if (out == nullptr || std::fgets(line, sizeof line, out) == nullptr || std::sscanf(line, "PORT %d", &port_) != 1) {
            if (out) std::fclose(out);
            stop();
            throw std::runtime_error("the fake server did not start");
        }
        out_ = out;
    }
    ~FakeServer() {
        stop();
        if (out_) std::fclose(out_);
    }
    FakeServer(const FakeServer&) = delete;
    FakeServer& operator=(const FakeServer&) = delete;

    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
    int port() const { return port_; }

private:
    void stop() {
        if (pid_ > 0) {
            kill(pid_, SIGTERM);
            int status = 0;
            waitpid(pid_, &status, 0);
            pid_ = 0;
        }
    }
    pid_t pid_ = 0;
    int port_ = 0;
    FILE* out_ = nullptr;
};

}  // namespace qbench::testing_serve
