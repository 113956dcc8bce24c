#include "message_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string_view>
#include <vector>

#include "envelope_json.h"

namespace mxring::tools::spool {
namespace {

// Linux refuses (E2BIG) to start a program given an environment string longer than
// MAX_ARG_STRLEN, 32 pages, its NUL included: a thousand long recipients of one message
// would make every run fail, and hold the consumer at that message for good.
constexpr std::size_t kMaxVariable = 32 * 4096 - 1;
constexpr std::string_view kRecipientsName = "MXRING_RECIPIENTS=";

// Every variable, empty where the envelope cannot be read, so that none is inherited instead.
std::vector<std::string> environment_for(const engine::spool::RecordView& record,
                                         const engine::Envelope& e,
                                         std::span<const engine::Recipient> recipients) {
  std::vector<std::string> variables;
  const auto add = [&](const char* name, const std::string& value) {
    variables.push_back(std::string(name) + "=" + value);
  };
  add("MXRING_QUEUE_ID", std::string(record.header.queue_id.view()));
  add("MXRING_RECEIVED_AT", iso_time(record.header.received_at_us));
  add("MXRING_SIZE", std::to_string(record.header.message_length));
  add("SENDER", e.mail_from);  // empty for the null reverse-path
  add("RECIPIENT", recipients.empty() ? std::string() : recipients.front().address);
  std::string all;
  for (const auto& r : recipients) all += (all.empty() ? "" : "\n") + r.address;
  add("MXRING_RECIPIENTS", all);
  add("MXRING_RECIPIENT_COUNT", std::to_string(recipients.size()));
  add("MXRING_CLIENT_ADDRESS", e.client_address);
  add("MXRING_CLIENT_PORT", std::to_string(e.client_port));
  add("MXRING_HELO", e.helo);
  add("MXRING_TLS", e.tls.version.empty() ? std::string() : e.tls.version + " " + e.tls.cipher);
  add("MXRING_AUTH", e.auth_identity);
  return variables;
}

// An inherited variable that `variables` sets again is left out: with two, getenv finds the
// first, the inherited one (a tail started from another --exec command would hand on that
// message's SENDER).
bool set_again(std::string_view inherited, const std::vector<std::string>& variables) {
  const auto name = inherited.substr(0, inherited.find('=') + 1);  // "NAME="
  return std::any_of(variables.begin(), variables.end(),
                     [&](const std::string& v) { return v.starts_with(name); });
}

}  // namespace

std::vector<std::span<const engine::Recipient>> recipient_runs(
    const std::vector<engine::Recipient>& recipients, bool per_recipient) {
  std::vector<std::span<const engine::Recipient>> runs;
  std::size_t first = 0, length = kRecipientsName.size();
  for (std::size_t i = 0; i < recipients.size(); ++i) {
    // An address is at most 256 octets (RFC 5321 4.5.3.1.3): one always fits.
    const auto added = recipients[i].address.size() + (i == first ? 0 : 1);
    if (i > first && (per_recipient || length + added > kMaxVariable)) {
      runs.emplace_back(recipients.data() + first, i - first);
      first = i;
      length = kRecipientsName.size() + recipients[i].address.size();
    } else {
      length += added;
    }
  }
  runs.emplace_back(recipients.data() + first, recipients.size() - first);
  return runs;
}

int run_message_command(const std::string& command, const engine::spool::RecordView& record,
                        const engine::Envelope& envelope,
                        std::span<const engine::Recipient> recipients,
                        std::chrono::seconds time_limit) {
  // Built before fork: the child only calls async-signal-safe functions.
  auto variables = environment_for(record, envelope, recipients);
  std::vector<char*> environment;
  for (char** existing = environ; *existing != nullptr; ++existing)
    if (!set_again(*existing, variables)) environment.push_back(*existing);
  for (auto& v : variables) environment.push_back(v.data());
  environment.push_back(nullptr);
  int input[2];
  if (pipe2(input, O_CLOEXEC) != 0) return kCommandFailed;
  const pid_t child = fork();
  if (child < 0) {
    close(input[0]);
    close(input[1]);
    return kCommandFailed;
  }
  if (child == 0) {
    setpgid(0, 0);  // a group of its own: a time limit ends whatever the command started
    dup2(input[0], STDIN_FILENO);
    signal(SIGPIPE, SIG_DFL);
    const char* argv[] = {"sh", "-c", command.c_str(), nullptr};
    execve("/bin/sh", const_cast<char**>(argv), environment.data());
    _exit(127);
  }
  setpgid(child, child);  // also here: whichever runs first
  close(input[0]);
  // A pidfd (Linux 5.3) tells when the command exits; without one, it is looked for after
  // 1 ms, then twice as long each time, up to every 100 ms.
  const int exited = static_cast<int>(syscall(SYS_pidfd_open, child, 0));
  fcntl(input[1], F_SETFL, O_NONBLOCK);
  const auto deadline = std::chrono::steady_clock::now() + time_limit;
  // The message goes in as the command takes it, while its exit and the time limit are
  // watched: a command that hangs, or that never reads, cannot hold the consumer. A command
  // that exits without reading its input is its own business: EPIPE is not an error here
  // (SIGPIPE is ignored by the caller).
  std::string_view message = record.message;
  bool writing = true, timed_out = false, reaped = false;
  int status = 0;
  std::int64_t look_ms = 1;
  for (;;) {
    if (writing && message.empty()) {
      close(input[1]);
      writing = false;
    }
    std::int64_t wait_ms = exited >= 0 ? -1 : look_ms;
    look_ms = std::min<std::int64_t>(look_ms * 2, 100);
    if (time_limit.count() > 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - std::chrono::steady_clock::now())
                            .count();
      wait_ms =
          std::clamp<std::int64_t>(wait_ms < 0 ? left : std::min(wait_ms, left), 0, 1'000'000);
    }
    pollfd watched[2] = {{exited, POLLIN, 0}, {writing ? input[1] : -1, POLLOUT, 0}};
    const int ready = poll(watched, 2, static_cast<int>(wait_ms));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0 || (watched[0].revents & POLLIN) != 0) break;
    if (exited < 0 && waitpid(child, &status, WNOHANG) == child) {
      reaped = true;
      break;
    }
    if (time_limit.count() > 0 && std::chrono::steady_clock::now() >= deadline) {
      timed_out = true;
      kill(-child, SIGKILL);
      break;
    }
    if (watched[1].revents != 0) {
      const auto n = write(input[1], message.data(), message.size());
      if (n > 0)
        message.remove_prefix(static_cast<std::size_t>(n));
      else if (n < 0 && errno != EAGAIN && errno != EINTR)
        message = {};  // the command closed its input
    }
  }
  if (writing) close(input[1]);
  if (exited >= 0) close(exited);
  while (!reaped && waitpid(child, &status, 0) < 0)
    if (errno != EINTR) return kCommandFailed;
  if (timed_out) return kCommandTimedOut;
  return WIFEXITED(status) ? WEXITSTATUS(status) : kCommandFailed;
}

}  // namespace mxring::tools::spool
