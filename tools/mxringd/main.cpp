// mxringd: reads its options, starts the reactors, then owns the process's signals:
// SIGHUP reloads the recipient policy, client access table and certificates, SIGTERM/SIGINT
// drain and stop (exit 0).
// Started as root with --user, it binds and opens its spool first, then serves as that user.
// Under systemd it reports readiness, reloads, stopping and a watchdog heartbeat, and serves
// the listening sockets a .socket unit hands it (socket activation).
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

#include "common/file_limit.h"
#include "mxring/engine/log.h"
#include "options.h"
#include "privileges.h"
#include "service_notifier.h"
#include "socket_activation.h"

using namespace mxring;

int main(int argc, char** argv) {
  int exit_code = 0;
  const auto options = tools::parse_options(argc, argv, exit_code);
  if (!options) return exit_code;

  // Every thread (the log writer, reactors, storage writers) inherits this mask, so
  // only the sigtimedwait below sees these signals.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  std::string error;
  tools::InheritedSockets inherited;  // open until exit: a drain closes only duplicates
  if (!inherited.take(error)) {
    std::cerr << "mxringd: " << error << "\n";
    return 2;
  }
  // From here on the log is written by its own thread: a slow disk or a full pipe never
  // holds up a reactor (lines are dropped and counted instead).
  if (!engine::start_logging(tools::log_options(*options), error)) {
    std::cerr << "mxringd: " << error << "\n";
    return 2;
  }
  struct StopLogging {
    ~StopLogging() { engine::stop_logging(); }
  } stop_logging_at_exit;
  auto runtime = tools::build_runtime(*options, error);
  if (!runtime) {
    std::cerr << "mxringd: " << error << "\n";
    return 2;
  }
  if (options->check_config) {
    std::cout << tools::describe(*options);
    return 0;
  }

  auto effective = *options;
  std::string warning;
  const tools::ConnectionFiles files{"--max-connections", effective.max_connections_given,
                                     tools::kServerFileReserve};
  if (!tools::ensure_file_limit(effective.max_connections, files, warning, error)) {
    std::cerr << "mxringd: " << error << "\n";
    return 2;
  }
  if (!warning.empty()) engine::log(engine::Level::warning, warning);
  std::optional<tools::ServiceUser> service_user;
  if (!effective.user.empty()) {
    if (geteuid() != 0) {
      std::cerr << "mxringd: --user needs mxringd to start as root\n";
      return 2;
    }
    service_user = tools::find_service_user(effective.user, effective.group, error);
    if (!service_user) {
      std::cerr << "mxringd: " << error << "\n";
      return 2;
    }
  } else if (geteuid() == 0) {
    engine::log(engine::Level::warning,
                "running as root: give --user to serve as an unprivileged user");
  }

  tools::ServiceNotifier notifier;  // connected now: --chroot hides its socket's path later
  if (effective.chroot) {
    // The spool becomes the process's root: the writers are given paths relative to it.
    std::error_code failure;
    std::filesystem::create_directories(effective.spool, failure);
    if (failure || chdir(effective.spool.c_str()) != 0) {
      std::cerr << "mxringd: --chroot: cannot enter " << effective.spool << "\n";
      return 2;
    }
    effective.spool = ".";
  }
  auto config = tools::server_config(effective, std::move(*runtime));
  config.accept_at_start = !service_user;  // else only once root is gone (serve() below)
  if (!inherited.assign(config, error)) {
    engine::log(engine::Level::error, error);
    return 2;
  }
  std::string listening;
  for (const auto& l : config.listeners)
    listening += (listening.empty() ? "" : ", ") + l.address + ":" + std::to_string(l.port) + " (" +
                 std::string(engine::role_name(l.role)) +
                 (l.inherited_fd >= 0 ? ", socket from the service manager" : "") + ")";
  auto server = engine::Server::start(std::move(config), error);
  if (!server) {
    engine::log(engine::Level::error, error);
    return 1;
  }
  if (service_user) {
    // Bound and opened as root; from here on, never root again.
    for (const auto& directory : {effective.spool, effective.maildir}) {
      if (!directory.empty() && access(directory.c_str(), F_OK) == 0 &&
          !tools::hand_over(directory, *service_user, error)) {
        engine::log(engine::Level::error, error);
        return 1;
      }
    }
    // The log file too, so SIGHUP can open it again after a rotation.
    if (!effective.log_file.empty() &&
        chown(effective.log_file.c_str(), service_user->uid, service_user->gid) != 0)
      engine::log(engine::Level::warning, "cannot give the log file " + effective.log_file +
                                              " to " + service_user->name + ": " +
                                              std::strerror(errno));
    if (effective.chroot && !tools::enter_chroot(error)) {
      engine::log(engine::Level::error, error);
      return 1;
    }
    if (!tools::drop_privileges(*service_user, error)) {
      engine::log(engine::Level::error, error);
      return 1;
    }
    for (const auto& directory : {effective.spool, effective.maildir}) {
      if (!directory.empty() && access(directory.c_str(), R_OK | W_OK | X_OK) != 0) {
        engine::log(engine::Level::error,
                    "user " + service_user->name + " cannot use " + directory +
                        " (a parent directory forbids it?): " + std::strerror(errno));
        return 1;
      }
    }
    server->serve();
    engine::log(engine::Level::info,
                "serving as user " + service_user->name +
                    (effective.chroot ? ", confined to " + options->spool + " (--chroot)" : ""));
  }
  engine::log(engine::Level::info, "listening on " + listening);
  notifier.ready("listening on " + listening);

  std::atomic<bool> stopped{false};
  std::thread waiter([&] {
    server->wait();
    stopped = true;
  });
  bool draining = false;
  while (!stopped) {
    timespec tick{0, 200'000'000};
    const int signal = sigtimedwait(&signals, nullptr, &tick);
    notifier.tick(server->slowest_reactor_turns());
    if (signal == SIGHUP && effective.chroot) {
      // The files it would read again are outside the chroot now.
      engine::log(engine::Level::warning,
                  "SIGHUP: not reloading under --chroot (the configuration files are outside "
                  "the spool); restart mxringd to change settings");
    } else if (signal == SIGHUP) {
      // The configuration file and flags are read again: recipient policy, limits, client
      // access table, host name, certificates, AUTH users and the log level apply to new
      // connections; a file that does not parse changes nothing.
      notifier.reloading();
      int ignored = 0;
      auto fresh = tools::parse_options(argc, argv, ignored);
      auto reloaded = fresh ? tools::build_runtime(tools::reload_options(*options, *fresh), error)
                            : std::nullopt;
      if (!fresh) error = "the configuration does not parse (see above)";
      if (reloaded && server->reload(std::move(*reloaded), error)) {
        if (!engine::reconfigure_logging(tools::log_options(*fresh), error))
          engine::log(engine::Level::error, "reload: " + error + "; logging where it was");
        for (const auto& name : tools::restart_only_changes(*options, *fresh))
          engine::log(engine::Level::warning,
                      "reload: " + name + " changed; it takes effect after a restart");
        engine::log(engine::Level::info,
                    "reloaded recipient policy, limits, client access table, certificates, AUTH "
                    "users and log level");
        notifier.ready("reloaded");
      } else {
        engine::log(engine::Level::error, "reload failed, keeping the old configuration: " + error);
        notifier.ready("reload failed; serving with the old configuration");
      }
    } else if ((signal == SIGTERM || signal == SIGINT) && !draining) {
      draining = true;
      notifier.stopping();
      engine::log(engine::Level::info, "draining: no new connections, open transactions finish");
      server->shutdown();
    }
  }
  waiter.join();
  engine::log(engine::Level::info, "stopped");
  return 0;  // the log is written out and closed on the way out
}
