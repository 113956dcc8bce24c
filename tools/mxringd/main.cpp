// mxringd: reads its options, starts the reactors, then owns the process's signals:
// SIGHUP reloads the recipient policy and certificates, SIGTERM/SIGINT drain and stop (exit 0).
#include <sys/resource.h>

#include <atomic>
#include <csignal>
#include <iostream>
#include <thread>

#include "mxring/engine/log.h"
#include "options.h"

using namespace mxring;

namespace {

engine::Level level_of(const std::string& name) {
  if (name == "debug") return engine::Level::debug;
  if (name == "warning") return engine::Level::warning;
  if (name == "error") return engine::Level::error;
  return engine::Level::info;
}

}  // namespace

int main(int argc, char** argv) {
  int exit_code = 0;
  const auto options = tools::parse_options(argc, argv, exit_code);
  if (!options) return exit_code;
  engine::set_log_level(level_of(options->log_level));

  std::string error;
  auto runtime = tools::build_runtime(*options, error);
  if (!runtime) {
    std::cerr << "mxringd: " << error << "\n";
    return 2;
  }
  if (options->check_config) {
    std::cout << tools::describe(*options);
    return 0;
  }

  // Each connection is a file descriptor: take every one the hard limit allows.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }

  // Every thread inherits this mask, so only the sigtimedwait below sees these signals.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto server = engine::Server::start(tools::server_config(*options, std::move(*runtime)), error);
  if (!server) {
    engine::log(engine::Level::error, error);
    return 1;
  }
  std::string listening;
  for (const auto& l : options->listen)
    listening += (listening.empty() ? "" : ", ") + l.address + ":" + std::to_string(l.port) + " (" +
                 std::string(engine::role_name(l.role)) + ")";
  engine::log(engine::Level::info, "listening on " + listening);

  std::atomic<bool> stopped{false};
  std::thread waiter([&] {
    server->wait();
    stopped = true;
  });
  bool draining = false;
  while (!stopped) {
    timespec tick{0, 200'000'000};
    const int signal = sigtimedwait(&signals, nullptr, &tick);
    if (signal == SIGHUP) {
      if (auto reloaded = tools::build_runtime(*options, error)) {
        server->reload(std::move(*reloaded));
        engine::log(engine::Level::info, "reloaded recipient policy and certificates");
      } else {
        engine::log(engine::Level::error, "reload failed, keeping the old configuration: " + error);
      }
    } else if ((signal == SIGTERM || signal == SIGINT) && !draining) {
      draining = true;
      engine::log(engine::Level::info, "draining: no new connections, open transactions finish");
      server->shutdown();
    }
  }
  waiter.join();
  engine::log(engine::Level::info, "stopped");
  return 0;
}
