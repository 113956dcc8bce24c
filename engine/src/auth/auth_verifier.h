// Checks AUTH credentials off the reactor threads: slow password hashes (SHA-512-crypt,
// argon2id) take milliseconds, which a reactor serving thousands of connections cannot
// spend. Reactors submit; one verifier thread answers each through `deliver`, which hands
// the answer back to the reactor that asked (its mailbox and eventfd).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "auth_throttle.h"
#include "mxring/engine/credential_store.h"
#include "mxring/engine/session.h"

namespace mxring::engine {

struct AuthJob {
  unsigned reactor = 0;
  std::uint32_t slot = 0, generation = 0;
  // The client as the per-address limit counts it (an IPv6 one by its network of
  // ServerConfig::client_ipv6_prefix), and its /24 or /64: each 16 raw octets.
  std::string client_address;
  std::string client_network;
  AuthRequest request;
  std::shared_ptr<const CredentialStore> store;  // the snapshot the session started with
};

struct AuthAnswer {
  std::uint32_t slot = 0, generation = 0;
  AuthResult result = AuthResult::temporary_failure;
};

struct AuthLimits {
  std::uint32_t max_failures = 5;              // per client address and window; 0: no limit
  std::uint32_t max_failures_per_network = 0;  // per /24 (IPv4) or /64 (IPv6); 0: no limit
  std::int64_t window_seconds = 60;
  std::size_t max_queued = 1024;  // more waiting jobs than this: 454 at once
};

class AuthVerifier {
 public:
  using Deliver = std::function<void(unsigned reactor, AuthAnswer answer)>;
  AuthVerifier(AuthLimits limits, Deliver deliver);
  ~AuthVerifier();  // answers nothing more; joins the thread
  AuthVerifier(const AuthVerifier&) = delete;
  AuthVerifier& operator=(const AuthVerifier&) = delete;

  // From a reactor. Takes the password (it is wiped once checked).
  void submit(AuthJob job);

 private:
  void run();
  AuthResult check(AuthJob& job);

  AuthLimits limits_;
  Deliver deliver_;
  AuthThrottle throttle_, network_throttle_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<AuthJob> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace mxring::engine
