// What other threads ask of a reactor (shut down, serve, reload, AUTH answers), posted to its
// mailbox and read on its own loop, and AUTH handed to the verifier thread.
#include <unistd.h>

#include "mxring/engine/log.h"
#include "reactor.h"
#include "reactor_connection.h"

namespace mxring::engine {

// Password hashes are slow on purpose: they are checked on the verifier thread.
void Reactor::hand_to_verifier(Connection& c) {
  auto& session = *c.session;
  if (auth_ == nullptr || !runtime_.credentials) {
    session.auth_done(AuthResult::temporary_failure);
    return;
  }
  AuthJob job;
  job.reactor = index_;
  job.slot = c.slot;
  job.generation = c.generation;
  // The client the session speaks for, as the limits count it, and its network.
  const auto address = counted_client(session);
  job.client_address.assign(reinterpret_cast<const char*>(address.octets.data()), 16);
  const auto network = network_of(ClientKey{session.connection().client_octets},
                                  config_.rate_limits.ipv4_prefix, config_.rate_limits.ipv6_prefix);
  job.client_network.assign(reinterpret_cast<const char*>(network.octets.data()), 16);
  job.request = session.auth_request();
  job.store = runtime_.credentials;
  c.auth_pending = true;
  auth_->submit(std::move(job));
}

void Reactor::collect_auth_answers(std::vector<AuthAnswer>& answers) {
  for (const auto& answer : answers) {
    if (answer.slot >= slots_.size() || !slots_[answer.slot]) continue;
    auto& c = *slots_[answer.slot];
    if (c.generation != answer.generation || c.closing || !c.session || !c.auth_pending) continue;
    c.auth_pending = false;
    (answer.result == AuthResult::success ? metrics_.auth_successes : metrics_.auth_failures).add();
    c.session->auth_done(answer.result);
    mark_dirty(c);
  }
}

void Reactor::arm_wake() {
  auto* sqe = ring_->sqe();
  io_uring_prep_read(sqe, wake_fd_, &wake_value_, sizeof wake_value_, 0);
  io_uring_sqe_set_data64(sqe, UserData{Op::wake, 0, 0}.pack());
}

// The mailbox has something: the reactor's armed eventfd read completes.
void Reactor::wake() {
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
}

void Reactor::request_shutdown() {
  {
    std::lock_guard lock(mailbox_.mutex);
    mailbox_.shutdown = true;
  }
  wake();
}

void Reactor::request_serve() {
  {
    std::lock_guard lock(mailbox_.mutex);
    mailbox_.serve = true;
  }
  wake();
}

void Reactor::request_reload(RuntimeConfig runtime, RateExchange* rate_exchange) {
  {
    std::lock_guard lock(mailbox_.mutex);
    mailbox_.runtime = std::move(runtime);
    mailbox_.rate_exchange = rate_exchange;
  }
  wake();
}

void Reactor::post_auth_answer(AuthAnswer answer) {
  {
    std::lock_guard lock(mailbox_.mutex);
    mailbox_.auth_answers.push_back(answer);
  }
  wake();
}

void Reactor::on_wake() {
  bool shutdown = false, serve = false;
  std::optional<RuntimeConfig> runtime;
  RateExchange* rate_exchange = nullptr;
  std::vector<AuthAnswer> auth_answers;
  {
    std::lock_guard lock(mailbox_.mutex);
    shutdown = mailbox_.shutdown;
    serve = std::exchange(mailbox_.serve, false);
    runtime.swap(mailbox_.runtime);
    rate_exchange = mailbox_.rate_exchange;
    auth_answers.swap(mailbox_.auth_answers);
  }
  collect_storage_answers();
  collect_auth_answers(auth_answers);
  if (runtime) apply(std::move(*runtime), rate_exchange);
  if (shutdown && !draining_) start_draining();
  if (serve && !draining_) arm_accepts();
  arm_wake();
}

// New connections only: open ones keep their session context and their TLS stream, whose
// wolfSSL context lives as long as they use it.
void Reactor::apply(RuntimeConfig runtime, RateExchange* rate_exchange) {
  if (!runtime.tls) tls_.reset();
  if (runtime.tls && runtime.tls != runtime_.tls) {
    std::string error;
    auto contexts = tls::TlsContexts::build(runtime.tls, tickets_, error);
    if (!contexts) {
      // Checked by TlsCertificates::load before it got here; keep the old set if not.
      log(Level::error, "reactor " + std::to_string(index_) + " keeps its certificates: " + error);
      runtime.tls = runtime_.tls;
    } else {
      tls_ = std::move(contexts);
    }
  }
  rate_limiter_.set_limits(runtime.rate_limits, rate_exchange);
  events_.refresh();  // the log's format and sampling may have changed too
  runtime_ = std::move(runtime);
}

void Reactor::start_draining() {
  draining_ = true;
  // No grace: at once. Otherwise at least the whole grace, though the clock counts seconds.
  drain_deadline_ =
      config_.shutdown_grace.count() == 0 ? now_ : deadline_after(config_.shutdown_grace);
  for (unsigned i = 0; i < listeners_.size(); ++i) {
    if (accept_armed_[i]) {
      auto* sqe = ring_->sqe();
      io_uring_prep_cancel64(sqe, UserData{Op::accept, 0, i}.pack(), 0);
      io_uring_sqe_set_data64(sqe, UserData{Op::cancel, 0, 0}.pack());
      sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    }
  }
  io_uring_submit(ring_->get());
  for (auto& fd : listeners_) {
    close(fd);
    fd = -1;
  }
  for (auto& c : slots_)
    if (c && c->open() && c->session) mark_dirty(*c);
}

}  // namespace mxring::engine
