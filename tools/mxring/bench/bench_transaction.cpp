// The load generator's SMTP transactions: what each reply means for its connection, and the
// commands and content of each message (one round trip a message with PIPELINING).
#include <cctype>
#include <cstdlib>

#include "bench_state.h"
#include "common/base64.h"

namespace mxring::tools::bench {

void BenchClient::State::on_reply(Connection& c, const ReplyView& reply) {
  ++reply_counts[static_cast<std::size_t>(reply.code)];
  if (c.expects.empty())
    return fail(c, "unexpected",
                "a reply nobody asked for: " + std::string(reply.text.substr(0, 200)));
  const auto expect = c.expects.front();
  c.expects.pop_front();
  const auto first_line = reply.first_line();
  const auto what = [&](const char* name) {
    return std::string(name) + " " + std::to_string(reply.code);
  };
  switch (expect.phase) {
    case Phase::banner:
      if (reply.code != 220) return fail(c, what("banner"), first_line);
      record(Phase::banner, expect.sent_ns);
      queue(c, "EHLO " + options.helo + "\r\n", Phase::ehlo);
      c.stage = Stage::hello;
      return;
    case Phase::ehlo:
      if (reply.code != 250) return fail(c, what("EHLO"), first_line);
      record(Phase::ehlo, expect.sent_ns);
      read_extensions(c, reply.text);
      if (options.starttls && !c.tls) {
        if (!c.offer.starttls) {
          stopping = true;  // a server without TLS does not offer it on the next connection
          return fail(c, "STARTTLS not offered",
                      "the EHLO reply lists no STARTTLS (" + std::string(first_line) + ")");
        }
        queue(c, "STARTTLS\r\n", Phase::starttls);
        return;
      }
      if (!options.auth_user.empty()) {
        const std::string plain =
            std::string(1, '\0') + options.auth_user + '\0' + options.auth_password;
        queue(c, "AUTH PLAIN " + base64(plain) + "\r\n", Phase::auth);
        return;
      }
      c.stage = Stage::ready;
      return next_step(c);
    case Phase::starttls:
      if (reply.code != 220) return fail(c, what("STARTTLS"), first_line);
      c.stage = Stage::tls;
      c.reader.reset();
      start_tls(c);
      return;
    case Phase::auth:
      if (reply.code != 235) {
        stopping = true;  // wrong credentials do not get better by retrying
        return fail(c, what("AUTH"), first_line);
      }
      record(Phase::auth, expect.sent_ns);
      c.stage = Stage::ready;
      return next_step(c);
    case Phase::mail:
      if (counted(c)) record(Phase::mail, expect.sent_ns);
      if (reply.code / 100 != 2) {
        transaction_error(c, what("MAIL"), first_line);
        // One command at a time, a refused MAIL ends the transaction (RFC 5321 §3.3); with
        // PIPELINING, the RCPTs and DATA are already sent and are answered in turn.
        if (!pipelined(c)) return abort_transaction(c);
      }
      return send_unsent(c);
    case Phase::rcpt: {
      const bool accepted = reply.code / 100 == 2;
      if (!accepted) transaction_error(c, what("RCPT"), first_line);
      if (!c.tx) return;
      if (accepted) ++c.tx->rcpts_accepted;
      const bool last = ++c.tx->rcpt_replies == options.recipients;
      if (last && counted(c)) record(Phase::rcpt, c.tx->mail_sent_ns);
      if (last && c.tx->rcpts_accepted == 0 && !pipelined(c)) return abort_transaction(c);
      return send_unsent(c);
    }
    case Phase::data:
      if (reply.code != 354) {
        transaction_error(c, what("DATA"), first_line);
        return abort_transaction(c);
      }
      if (counted(c)) record(Phase::data, expect.sent_ns);
      return send_content(c);
    case Phase::end_of_data:
      return end_of_message(c, reply, expect, first_line);
    case Phase::rset:
      record(Phase::rset, expect.sent_ns);
      if (reply.code != 250) return fail(c, what("RSET"), first_line);
      return next_step(c);
    case Phase::quit:
      record(Phase::quit, expect.sent_ns);
      if (reply.code != 221) stats->error(what("QUIT"), first_line);
      return;  // the server closes; on_recv sees the end of the stream
    default:
      return;
  }
}

void BenchClient::State::read_extensions(Connection& c, std::string_view text) {
  c.offer = read_ehlo_offer(text);
}

void BenchClient::State::next_step(Connection& c) {
  if (c.stage != Stage::ready || c.tx) return;
  if (!room_for_another(c, 0) || !may_start()) return say_quit(c);
  std::int64_t scheduled = 0;
  if (!take_start(scheduled)) {
    waiting.push_back(c.index);  // --rate: the next scheduled start takes it
    return;
  }
  begin_transaction(c, scheduled);
}

bool BenchClient::State::room_for_another(const Connection& c, std::uint64_t in_flight) const {
  const auto next = c.messages + in_flight;
  if (options.messages_per_connection > 0 && next >= options.messages_per_connection) return false;
  return c.offer.mail_max == 0 || next < c.offer.mail_max;
}

void BenchClient::State::say_quit(Connection& c) {
  c.stage = Stage::quitting;
  queue(c, "QUIT\r\n", Phase::quit);
}

BenchClient::State::Transaction BenchClient::State::next_transaction() const {
  Transaction tx;
  tx.number = started;
  tx.message = &messages.pick(tx.number);
  constexpr std::string_view name = "X-Mxring-Bench: ";
  char* end = std::copy(name.begin(), name.end(), tx.header_text);
  end = std::to_chars(end, tx.header_text + sizeof tx.header_text, tx.number).ptr;
  *end++ = '\r';
  *end++ = '\n';
  tx.header_length = static_cast<std::uint8_t>(end - tx.header_text);
  return tx;
}

void BenchClient::State::start(Transaction& tx, std::int64_t scheduled) {
  ++started;
  tx.started_ns = scheduled;
  tx.counted = scheduled >= warmup_end_ns;
}

template <typename Put>
void BenchClient::State::commands(const Connection& c, const Transaction& tx, Put&& put) {
  const auto size = tx.header_length + tx.message->original.size();
  scratch.assign("MAIL FROM:<");
  from_pattern->append(scratch, tx.number, c.index, 0);
  scratch += '>';
  if (c.offer.size) {
    scratch += " SIZE=";
    append_number(scratch, size);
  }
  if (tx.message->body == MessageTemplate::Body::binary || c.offer.eight_bit_mime)
    scratch += tx.message->body_parameter();
  scratch += "\r\n";
  put(scratch, Phase::mail);
  for (unsigned r = 0; r < options.recipients; ++r) {
    scratch.assign("RCPT TO:<");
    to_pattern->append(scratch, tx.number, c.index, r);
    scratch += ">\r\n";
    put(scratch, Phase::rcpt);
  }
  if (sends_bdat(c, tx)) {
    scratch.assign("BDAT ");
    append_number(scratch, size);
    scratch += " LAST\r\n";
    scratch += tx.header();
    scratch += tx.message->original;
    put(scratch, Phase::end_of_data);
  } else {
    put("DATA\r\n", Phase::data);
  }
}

std::optional<std::pair<std::string, std::string>> BenchClient::State::unsendable(
    const Connection& c, const Transaction& tx) const {
  const auto size = tx.header_length + tx.message->original.size();
  if (c.offer.size_limit > 0 && size > c.offer.size_limit)
    return std::pair{"over SIZE", "a " + std::to_string(size) + "-octet message, SIZE " +
                                      std::to_string(c.offer.size_limit)};
  if (tx.message->body == MessageTemplate::Body::binary &&
      !(c.offer.chunking && c.offer.binary_mime))
    return std::pair{"needs BINARYMIME",
                     std::string("binary content (a bare CR or LF, or a NUL) and a server "
                                 "without CHUNKING and BINARYMIME")};
  return std::nullopt;
}

void BenchClient::State::begin_transaction(Connection& c, std::int64_t scheduled) {
  c.tx = next_transaction();
  start(*c.tx, scheduled);
  // A message this server cannot take is not sent; that is an error of the run.
  if (const auto why = unsendable(c, *c.tx)) {
    stats->error(why->first, why->second);
    c.tx.reset();
    ++c.messages;
    stopping = true;  // every later message would be refused alike
    return say_quit(c);
  }
  c.tx->mail_sent_ns = now;
  bool first = true;
  commands(c, *c.tx, [&](std::string_view text, Phase phase) {
    if (pipelined(c) || first) {
      queue(c, text, phase);
    } else {
      c.tx->unsent.emplace_back(text);
    }
    first = false;
  });
}

void BenchClient::State::send_unsent(Connection& c) {
  if (!c.tx || c.tx->next_unsent == c.tx->unsent.size() || pipelined(c)) return;
  const auto text = std::move(c.tx->unsent[c.tx->next_unsent++]);
  Phase phase = Phase::rcpt;
  if (text.starts_with("DATA")) phase = Phase::data;
  if (text.starts_with("BDAT")) phase = Phase::end_of_data;
  queue(c, text, phase);
}

void BenchClient::State::send_content(Connection& c) {
  auto& tx = *c.tx;
  queue(c, {tx.header(), tx.message->stuffed, ".\r\n"}, Phase::end_of_data);
  // RFC 2920 §3.1: the content may be followed, in the same send, by the next MAIL, RCPTs
  // and DATA: one round trip per message.
  const bool more = room_for_another(c, 1);
  std::int64_t scheduled = 0;
  // A next message this server cannot take is left to begin_transaction, which says why.
  if (pipelined(c) && options.chain && more) {
    auto next = next_transaction();
    if (unsendable(c, next) || !take_start(scheduled)) return;
    start(next, scheduled);
    c.next_tx = std::move(next);
    c.next_tx->mail_sent_ns = now;
    commands(c, *c.next_tx, [&](std::string_view text, Phase phase) { queue(c, text, phase); });
  }
}

void BenchClient::State::abort_transaction(Connection& c) {
  c.tx.reset();
  ++c.messages;
  queue(c, "RSET\r\n", Phase::rset);
}

void BenchClient::State::end_of_message(Connection& c, const ReplyView& reply, const Expect& expect,
                                        std::string_view first_line) {
  if (!c.tx) return fail(c, "unexpected", "an end-of-data reply without a message");
  auto& tx = *c.tx;
  const bool ok = reply.code / 100 == 2;
  const bool bdat = sends_bdat(c, tx);
  if (!ok)
    transaction_error(c, (bdat ? "BDAT " : "end of data ") + std::to_string(reply.code),
                      first_line);
  if (ok && !tx.failed) {
    const auto bytes = tx.header_length + tx.message->original.size();
    progress_messages += 1;
    progress_bytes += bytes;
    failures_in_a_row = 0;
    if (tx.counted) {
      record(Phase::end_of_data, expect.sent_ns);
      record(Phase::transaction, tx.started_ns);
      ++stats->messages;
      stats->message_bytes += bytes;
      last_done_ns = now;
    }
    if (ack_log.is_open()) ack_log.record(first_line, tx.header(), tx.message->original);
  }
  ++c.messages;
  const bool rset = !ok && bdat;  // a failed BDAT LAST: start clean
  c.tx = std::move(c.next_tx);
  c.next_tx.reset();
  if (rset && !c.tx) return (void)queue(c, "RSET\r\n", Phase::rset);
  if (!c.tx) next_step(c);
}

}  // namespace mxring::tools::bench
