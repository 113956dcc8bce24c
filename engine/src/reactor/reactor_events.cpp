// What a reactor observes about its sessions for operators: rate limits (admitted or not),
// reply counts and answer latency for the metrics, and one log line per connection and per
// transaction. Everything here runs on the reactor's thread and touches only its own state.
#include "clock.h"
#include "event_fields.h"
#include "reactor.h"
#include "reactor_connection.h"

namespace mxring::engine {

bool Reactor::admit_connection(Connection& c) {
  if (rate_limiter_.admit(RateLimits::connections, c.client, now_)) return true;
  metrics_.refused_rate.add();
  return false;  // the connection's own log line says rate_limited
}

void Reactor::client_refused(const Session& session) {
  metrics_.refused_access.add();
  log_refused_connection(session.connection().client_address, "client_access");
}

bool Reactor::admit_message(const Session& session) {
  if (rate_limiter_.admit(RateLimits::messages, counted_client(session), now_)) return true;
  metrics_.rate_limited_messages.add();
  log_rate_limited(session, "messages");
  return false;
}

bool Reactor::admit_recipient(const Session& session) {
  if (rate_limiter_.admit(RateLimits::recipients, counted_client(session), now_)) return true;
  metrics_.rate_limited_recipients.add();
  log_rate_limited(session, "recipients");
  return false;
}

void Reactor::log_rate_limited(const Session& session, std::string_view limit) {
  if (!events_.wants(Level::warning)) return;
  events_.line(Level::warning, "rate_limited")
      .text("client"_key, session.connection().client_address)
      .text("limit"_key, limit);
}

void Reactor::replied(ReplyTo to, unsigned code) {
  metrics_.replies[static_cast<std::size_t>(to)][reply_code_slot(code)].add();
}

// At each send: how long the oldest unanswered receive waited for it, by what the answer
// was to (the last reply queued; a pipelined group counts once, by its last command).
void Reactor::time_answer(Connection& c) {
  if (c.input_ns == 0 && c.ehlo_timed) return;
  const auto to = c.session->last_reply_to();
  const auto now = monotonic_ns();
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
  events_.line(Level::warning, "connection_refused")
      .text("client"_key, client)
      .text("reason"_key, reason);
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
  line.text("listener"_key, session.connection().listener)
      .text("durability"_key, durability_name(session.context().config().durability));
  line.number("messages"_key, session.messages_accepted())
      .number("refused"_key, session.messages_refused())
      .number("errors"_key, session.errors())
      .number("bytes_in"_key, c.bytes_in)
      .number("duration_us"_key, static_cast<std::uint64_t>((turn_ns_ - c.opened_ns) / 1000))
      .text("reason"_key, reason);
  if (session.access_denied()) line.text("access"_key, "denied");
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
  text.append(info ? "i" : "w");  // the lowest level this line may be written at
  auto line = LogLine::fragment(text, events_.format());
  transaction_fields(line, session, envelope, size, now_us());
  return note;
}

void Reactor::finish_transaction_note(std::uint32_t note, StorageResult result,
                                      std::int64_t store_us) {
  if (note == 0) return;
  free_notes_.push_back(note);
  const std::string_view text = transaction_notes_[note - 1].view();
  const bool stored = result == StorageResult::stored;
  if (stored && text[0] != 'i') return;  // sampled away, or info not wanted
  auto line = events_.line(stored ? Level::info : Level::warning, "transaction");
  transaction_outcome(line.fields(text.substr(1)), result, store_us);
}

void Reactor::message_refused(const Session& session, const Envelope& envelope, unsigned code) {
  if (!events_.wants(Level::warning)) return;
  auto line = events_.line(Level::warning, "transaction");
  line.text("queue_id"_key, envelope.queue_id.view());
  session_fields(line, session);
  line.text("from"_key, envelope.mail_from, false)
      .number("rcpts"_key, envelope.recipients.size())
      .number("code"_key, code)
      .text("result"_key, "refused");
}

}  // namespace mxring::engine
