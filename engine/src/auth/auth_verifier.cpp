#include "auth_verifier.h"

#include <cstring>
#include <ctime>

#include "thread_name.h"

namespace mxring::engine {
namespace {

std::int64_t monotonic_seconds() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return now.tv_sec;
}

void wipe(std::string& secret) {
  explicit_bzero(secret.data(), secret.size());
  secret.clear();
}

}  // namespace

AuthVerifier::AuthVerifier(AuthLimits limits, Deliver deliver)
    : limits_(limits),
      deliver_(std::move(deliver)),
      throttle_(limits.max_failures, limits.window_seconds),
      network_throttle_(limits.max_failures_per_network, limits.window_seconds),
      thread_([this] {
        name_this_thread("auth");
        run();
      }) {}

AuthVerifier::~AuthVerifier() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
  for (auto& job : queue_) wipe(job.request.password);
}

void AuthVerifier::submit(AuthJob job) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_ && queue_.size() < limits_.max_queued) {
      queue_.push_back(std::move(job));
      wake_.notify_one();
      return;
    }
  }
  // A flood of AUTH attempts: refuse for now rather than queue without bound.
  wipe(job.request.password);
  deliver_(job.reactor, {job.slot, job.generation, AuthResult::temporary_failure});
}

void AuthVerifier::run() {
  for (;;) {
    AuthJob job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    const auto result = check(job);
    wipe(job.request.password);
    deliver_(job.reactor, {job.slot, job.generation, result});
  }
}

AuthResult AuthVerifier::check(AuthJob& job) {
  const auto now = monotonic_seconds();
  if (throttle_.blocked(job.client_address, now) ||
      network_throttle_.blocked(job.client_network, now))
    return AuthResult::temporary_failure;
  const auto& r = job.request;
  // PLAIN's authorization identity may only name the user itself (RFC 4616 §2): acting as
  // someone else is not offered.
  const bool own_identity = r.authzid.empty() || r.authzid == r.user;
  if (job.store && own_identity && job.store->verify(r.user, r.password))
    return AuthResult::success;
  throttle_.failed(job.client_address, now);
  network_throttle_.failed(job.client_network, now);
  return AuthResult::invalid;
}

}  // namespace mxring::engine
