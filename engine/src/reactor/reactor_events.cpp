// What a reactor observes about its sessions for operators: rate limits (admitted or not),
// reply counts and answer latency for the metrics, and one log line per connection and per
// transaction. Everything here runs on the reactor's thread and touches only its own state.
#include <ctime>

#include "reactor.h"
#include "reactor_connection.h"

namespace mxring::engine {
namespace {

std::int64_t monotonic_ns_now() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

ClientKey key_of(const Session& session) {
  return ClientKey{session.connection().client_octets};
}

std::string_view durability_name(Durability durability) {
  switch (durability) {
    case Durability::fsync:
      return "fsync";
    case Durability::none:
      return "none";
    case Durability::discard:
      return "discard";
    case Durability::kafka:
      return "kafka";
  }
  return "fsync";
}

std::string_view close_reason_name(CloseReason reason) {
  switch (reason) {
    case CloseReason::none:
      return "client_closed";
    case CloseReason::quit:
      return "quit";
    case CloseReason::early_talker:
      return "early_talker";
    case CloseReason::too_many_errors:
      return "too_many_errors";
    case CloseReason::timeout:
      return "timeout";
    case CloseReason::shutdown:
      return "shutdown";
    case CloseReason::rate_limited:
      return "rate_limited";
  }
  return "client_closed";
}

// The fields every line about a session carries: who, where from, how.
void session_fields(LogLine& line, const Session& session) {
  const auto& connection = session.connection();
  line.text("client", connection.client_address)
      .number("client_port", connection.client_port)
      .text("listener", connection.listener);
  if (connection.proxy) line.text("proxy", connection.proxy->peer);
  line.text("helo", session.helo());
  if (const auto* tls = session.tls())
    line.text("tls", tls->version).text("cipher", tls->cipher).text("sni", tls->sni);
  line.text("auth", session.auth_identity());
}

}  // namespace

bool Reactor::admit_connection(Connection& c) {
  if (rate_limiter_.admit(RateLimits::connections, c.client, now_)) return true;
  metrics_.refused_rate.add();
  return false;
}

bool Reactor::admit_message(const Session& session) {
  if (rate_limiter_.admit(RateLimits::messages, key_of(session), now_)) return true;
  metrics_.rate_limited_messages.add();
  return false;
}

bool Reactor::admit_recipient(const Session& session) {
  if (rate_limiter_.admit(RateLimits::recipients, key_of(session), now_)) return true;
  metrics_.rate_limited_recipients.add();
  return false;
}

void Reactor::replied(ReplyTo to, unsigned code) {
  metrics_.replies[static_cast<std::size_t>(to)][reply_code_slot(code)].add();
}

// At each send: how long the oldest unanswered receive waited for it, by what the answer
// was to (the last reply queued; a pipelined group counts once, by its last command).
void Reactor::time_answer(Connection& c) {
  if (c.input_ns == 0 && c.ehlo_timed) return;
  const auto to = c.session->last_reply_to();
  const auto now = monotonic_ns_now();
  const auto record = [&](ReplyPhase phase, std::int64_t since) {
    metrics_.phase_latency[static_cast<std::size_t>(phase)].record_us(
        static_cast<std::uint64_t>(std::max<std::int64_t>(0, now - since) / 1000));
  };
  if ((to == ReplyTo::ehlo || to == ReplyTo::helo) && !c.ehlo_timed) {
    c.ehlo_timed = true;
    record(ReplyPhase::banner_to_ehlo, c.opened_ns);
  }
  if (c.input_ns != 0) {
    switch (to) {
      case ReplyTo::mail:
        record(ReplyPhase::mail, c.input_ns);
        break;
      case ReplyTo::rcpt:
        record(ReplyPhase::rcpt, c.input_ns);
        break;
      case ReplyTo::data:
        record(ReplyPhase::data, c.input_ns);
        break;
      case ReplyTo::end_of_message:
        record(ReplyPhase::end_of_data, c.input_ns);
        break;
      default:
        break;
    }
  }
  c.input_ns = 0;
}

void Reactor::log_refused_connection(std::string_view client, std::string_view reason) {
  if (!events_.wants(Level::warning)) return;
  events_.line(Level::warning, "connection_refused").text("client", client).text("reason", reason);
}

void Reactor::log_connection_closed(const Connection& c) {
  const auto& session = *c.session;
  auto reason = close_reason_name(session.close_reason());
  if (c.tls_failed && session.close_reason() == CloseReason::none) reason = "tls_failed";
  const bool trouble = reason != "quit" && reason != "client_closed" && reason != "shutdown";
  const auto level = trouble ? Level::warning : Level::info;
  if (!events_.wants(level)) return;
  auto line = events_.line(level, "connection");
  session_fields(line, session);
  line.number("messages", session.messages_accepted())
      .number("refused", session.messages_refused())
      .number("errors", session.errors())
      .number("bytes_in", c.bytes_in)
      .number("duration_us", static_cast<std::uint64_t>((turn_ns_ - c.opened_ns) / 1000))
      .text("reason", reason);
}

std::uint32_t Reactor::note_transaction(const Session& session, const Envelope& envelope,
                                        std::size_t size) {
  // The outcome decides the level (a failure is a warning, never sampled away), but it is
  // not known yet: keep the line if either level could be written.
  const bool info = events_.wants(Level::info);
  if (!info && !log_enabled(Level::warning)) return 0;
  std::uint32_t note;
  if (free_notes_.empty()) {
    transaction_notes_.emplace_back();
    note = static_cast<std::uint32_t>(transaction_notes_.size());
  } else {
    note = free_notes_.back();
    free_notes_.pop_back();
  }
  auto& text = transaction_notes_[note - 1];
  text.clear();
  text += info ? 'i' : 'w';  // the lowest level this line may be written at
  auto line = LogLine::fragment(text, events_.format());
  line.text("queue_id", envelope.queue_id.view());
  session_fields(line, session);
  line.text("from", envelope.mail_from, /*omit_empty=*/false)
      .number("rcpts", envelope.recipients.size())
      .number("size", size)
      .text("durability", durability_name(session.context().config().durability))
      .number("data_us", static_cast<std::uint64_t>(
                             std::max<std::int64_t>(0, now_us() - envelope.received_at_us)));
  return note;
}

void Reactor::finish_transaction_note(std::uint32_t note, StorageResult result,
                                      std::int64_t store_us) {
  if (note == 0) return;
  free_notes_.push_back(note);
  const std::string_view text = transaction_notes_[note - 1];
  const bool stored = result == StorageResult::stored;
  if (stored && text[0] != 'i') return;  // sampled away, or info not wanted
  const unsigned code = result == StorageResult::disk_full ? 452 : stored ? 250 : 451;
  events_.line(stored ? Level::info : Level::warning, "transaction")
      .fields(text.substr(1))
      .number("code", code)
      .text("result", stored ? "stored" : "storage_failed")
      .number("store_us", static_cast<std::uint64_t>(store_us));
}

void Reactor::message_refused(const Session& session, const Envelope& envelope, unsigned code) {
  if (!events_.wants(Level::warning)) return;
  auto line = events_.line(Level::warning, "transaction");
  line.text("queue_id", envelope.queue_id.view());
  session_fields(line, session);
  line.text("from", envelope.mail_from, false)
      .number("rcpts", envelope.recipients.size())
      .number("code", code)
      .text("result", "refused");
}

}  // namespace mxring::engine
