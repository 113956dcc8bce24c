// `mxring spool replay --to ADDR:PORT`: re-injects stored messages over SMTP with their
// recorded envelope (migrations, tests, re-feeding a pipeline). Messages in spool order, one
// connection at a time (a new one when the server's MAILMAX is reached or it ends one);
// MAIL/RCPT/DATA are pipelined when the server offers PIPELINING (RFC 2920). BINARYMIME
// messages go as one BDAT LAST, to servers that offer CHUNKING and BINARYMIME only. At least
// once: a message whose transaction was cut short is sent again.
#include <algorithm>
#include <iostream>
#include <span>

#include "common/host_port.h"
#include "common/smtp_text.h"
#include "mxring/engine/spool_stream.h"
#include "record_selection.h"
#include "replay_connection.h"
#include "spool_subcommands.h"

namespace mxring::tools::spool {
namespace {

struct ReplayOptions {
  std::string to, helo = "mxring-replay";
  RecordSelection selection;
};

// MAIL, RCPTs and DATA for one stored envelope, with the parameters the server supports; for
// a BINARYMIME message, BDAT LAST instead of DATA (RFC 3030 §3: binary content never goes
// through DATA, whose dot-stuffing and line ends it does not follow).
std::vector<std::string> envelope_commands(const engine::Envelope& e,
                                           std::span<const std::size_t> recipients,
                                           const EhloOffer& x, std::uint64_t size) {
  const bool binary = e.body == parser::Body::binary_mime;
  std::string mail = "MAIL FROM:<" + e.mail_from + ">";
  if (x.size) mail += " SIZE=" + std::to_string(size);
  if (x.eight_bit_mime && e.body == parser::Body::eight_bit_mime) mail += " BODY=8BITMIME";
  if (binary) mail += " BODY=BINARYMIME";
  if (x.smtputf8 && e.smtputf8) mail += " SMTPUTF8";
  if (x.dsn && e.ret == parser::Ret::full) mail += " RET=FULL";
  if (x.dsn && e.ret == parser::Ret::headers) mail += " RET=HDRS";
  if (x.dsn && !e.envid.empty()) mail += " ENVID=" + xtext_encoded(e.envid);
  std::vector<std::string> commands{mail + "\r\n"};
  for (const auto index : recipients) {
    const auto& r = e.recipients[index];
    std::string rcpt = "RCPT TO:<" + r.address + ">";
    if (x.dsn && r.notify != 0) {
      std::string notify;
      const auto add = [&](const char* word) {
        notify += (notify.empty() ? "" : ",") + std::string(word);
      };
      if (r.notify & parser::kNotifyNever) add("NEVER");
      if (r.notify & parser::kNotifySuccess) add("SUCCESS");
      if (r.notify & parser::kNotifyFailure) add("FAILURE");
      if (r.notify & parser::kNotifyDelay) add("DELAY");
      rcpt += " NOTIFY=" + notify;
    }
    if (x.dsn && !r.orcpt.empty()) {
      // Stored decoded, but a utf-8 address as it came: it goes out as it came (xtext would
      // turn its UTF-8 into "+C3+B6").
      const auto semicolon = r.orcpt.find(';');
      const auto type = std::string_view(r.orcpt).substr(0, semicolon);
      const auto address = std::string_view(r.orcpt).substr(semicolon + 1);
      rcpt += " ORCPT=" + std::string(type) + ";" +
              (parser::is_utf8_address_type(type) ? std::string(address) : xtext_encoded(address));
    }
    commands.push_back(rcpt + "\r\n");
  }
  commands.push_back(binary ? "BDAT " + std::to_string(size) + " LAST\r\n" : "DATA\r\n");
  return commands;
}

// RFC 6531 §3.4 and §3.7.1: a UTF-8 address or a UTF-8 header field goes only to a server
// that offers SMTPUTF8. A message whose first client said SMTPUTF8 with nothing but ASCII
// needs no such server.
bool needs_smtputf8(const engine::Envelope& e, std::string_view message) {
  const auto ascii = [](std::string_view text) {
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  };
  if (!e.smtputf8) return false;
  if (!ascii(e.mail_from)) return true;
  for (const auto& r : e.recipients)
    if (!ascii(r.address)) return true;
  return !ascii(message.substr(0, message.find("\r\n\r\n")));  // the header section
}

// What a transaction's RCPT did for one recipient: accepted (the message is theirs when the
// content is), refused for good (5xx), or put off (4xx, or no answer: to try again).
enum class RecipientOutcome : std::uint8_t { put_off, accepted, refused };

// What one transaction did for its share of a message's recipients.
struct Attempt {
  std::vector<RecipientOutcome> recipients;  // one for each of the share, in its order
  std::size_t accepted = 0;
  bool delivered = false;
  bool permanent = false;  // refused for good as a whole (5xx to MAIL or to the content)
  std::string why;         // the first refusal, for the log
};

// One transaction: MAIL, RCPTs (pipelined with DATA when offered, RFC 2920) and the content.
// Recipients neither accepted nor refused for good (4xx, or no answer) are left to try again.
Attempt transact(ReplayConnection& smtp, const engine::Envelope& envelope,
                 std::span<const std::size_t> recipients, std::string_view message) {
  const auto& x = smtp.offer();
  const bool binary = envelope.body == parser::Body::binary_mime;
  auto commands = envelope_commands(envelope, recipients, x, message.size());
  // A BDAT's chunk follows its command line whatever the server answers (RFC 3030 §2).
  if (binary) commands.back() += message;
  Attempt attempt;
  attempt.recipients.assign(recipients.size(), RecipientOutcome::put_off);
  const auto refusal = [&](const std::string& command, const bench::Reply& reply) {
    if (attempt.why.empty())
      attempt.why = command.substr(0, command.find('\r')) + " → " +
                    (reply.code == 0 ? std::string("(connection lost)") : reply.text);
  };
  smtp.begin_transaction();
  if (x.pipelining) {
    std::string group;
    for (const auto& c : commands) group += c;
    smtp.send(group);
  }
  bool mail_ok = false;
  for (std::size_t i = 0; i < commands.size(); ++i) {
    if (!x.pipelining) {
      // One at a time: nothing after a refused MAIL, no content without a recipient.
      const bool content = i + 1 == commands.size();
      if ((i > 0 && !mail_ok) || (content && attempt.accepted == 0)) break;
      smtp.send(commands[i]);
    }
    const auto reply = smtp.reply();
    if (reply.code == 0) {
      refusal(commands[i], reply);
      return attempt;
    }
    if (i == 0) {
      mail_ok = reply.code == 250;
      attempt.permanent = reply.code >= 500;
      if (!mail_ok) refusal(commands[i], reply);
    } else if (i + 1 < commands.size()) {
      auto& outcome = attempt.recipients[i - 1];
      if (reply.code >= 200 && reply.code < 300) {
        outcome = RecipientOutcome::accepted;
        ++attempt.accepted;
      }
      if (reply.code >= 500) outcome = RecipientOutcome::refused;
      if (reply.code >= 300) refusal(commands[i], reply);
    } else if (binary) {
      attempt.delivered = reply.code == 250 && mail_ok && attempt.accepted > 0;
      if (reply.code != 250) refusal("BDAT", reply);
      attempt.permanent = attempt.permanent || (reply.code >= 500 && mail_ok);
    } else if (reply.code != 354) {
      refusal(commands[i], reply);
    } else if (!mail_ok || attempt.accepted == 0) {
      smtp.send(".\r\n");  // nothing to deliver; end the data phase
      smtp.reply();
    } else {
      smtp.send(dot_stuffed(message) + ".\r\n");
      const auto done = smtp.reply();
      attempt.delivered = done.code == 250;
      attempt.permanent = done.code >= 500;
      if (!attempt.delivered) refusal("end of data", done);
    }
  }
  if (!attempt.delivered && smtp.is_open() && !(smtp.send("RSET\r\n") && smtp.reply().code == 250))
    smtp.quit();
  return attempt;
}

struct Replayed {
  std::size_t delivered = 0, refused = 0;  // recipients
  bool connection_failed = false;          // could not open a connection: stop replaying
  std::string why;
};

// Transactions in a row that hand the message to no one before its remaining recipients count
// as not delivered: the connection lost, 421, a temporary refusal of MAIL or of every
// recipient. Each one after the first on a new connection.
constexpr int kFruitlessAttempts = 3;

// Hands one stored message to every recipient the server will take: at most RCPTMAX of them a
// transaction and MAILMAX transactions a connection (RFC 9422), the recipients a transaction
// put off (452 4.5.3, too many recipients: RFC 5321 §4.5.3.1.10) in the next one, on a new
// connection when the server ended the last.
Replayed replay_message(ReplayConnection& smtp, const engine::Envelope& envelope,
                        std::string_view message) {
  Replayed result;
  std::vector<std::size_t> pending(envelope.recipients.size());
  for (std::size_t i = 0; i < pending.size(); ++i) pending[i] = i;
  int fruitless = 0;
  while (!pending.empty() && fruitless < kFruitlessAttempts) {
    const auto& x = smtp.offer();
    if (!smtp.is_open() || (x.mail_max > 0 && smtp.transactions() >= x.mail_max) || fruitless > 0) {
      if (auto why = smtp.open(); !why.empty()) {
        result.connection_failed = true;
        result.why = why;
        break;
      }
    }
    const auto most = x.rcpt_max > 0 ? x.rcpt_max : pending.size();
    const std::span<const std::size_t> share(pending.data(), std::min(pending.size(), most));
    const auto attempt = transact(smtp, envelope, share, message);
    if (result.why.empty()) result.why = attempt.why;
    if (attempt.permanent) break;
    // Those put off first, then those not yet tried: the recipients' order stays.
    std::vector<std::size_t> left;
    for (std::size_t i = 0; i < share.size(); ++i) {
      const auto outcome = attempt.recipients[i];
      if (attempt.delivered && outcome == RecipientOutcome::accepted)
        ++result.delivered;
      else if (outcome == RecipientOutcome::refused)
        ++result.refused;
      else
        left.push_back(share[i]);
    }
    left.insert(left.end(), pending.begin() + static_cast<std::ptrdiff_t>(share.size()),
                pending.end());
    fruitless = attempt.delivered ? 0 : fruitless + 1;
    pending = std::move(left);
  }
  result.refused += pending.size();
  return result;
}

int run_replay(const std::string& directory, ReplayOptions& options) {
  std::string error;
  HostPort target;
  try {
    target = parse_host_port(options.to, "--to");
  } catch (const CLI::ValidationError& e) {
    error = e.what();
  }
  if (error.empty()) options.selection.resolve(error);
  if (!error.empty()) {
    std::cerr << "mxring spool replay: " << error << "\n";
    return 2;
  }
  ReplayConnection smtp(target, options.helo);
  if (error = smtp.open(); !error.empty()) {
    std::cerr << "mxring spool replay: " << error << "\n";
    return error.starts_with("cannot connect") ? 2 : 1;
  }
  std::uint64_t sent = 0, not_delivered = 0, recipients_refused = 0;
  bool connection_failed = false;
  engine::SpoolStream stream(directory, {});
  stream.poll([&](const engine::StreamedRecord& record) {
    if (!options.selection.selects(record.view)) return true;
    const auto id = std::string(record.view.header.queue_id.view());
    const auto envelope = engine::spool::decode_envelope(record.view);
    if (!envelope || envelope->recipients.empty()) {
      std::cerr << id << ": no envelope to replay\n";
      ++not_delivered;
      return true;
    }
    const auto& x = smtp.offer();
    if (envelope->body == parser::Body::binary_mime && !(x.chunking && x.binary_mime)) {
      std::cerr << id << ": not delivered: BODY=BINARYMIME needs a server that offers CHUNKING "
                << "and BINARYMIME\n";
      ++not_delivered;
      return true;
    }
    if (!x.smtputf8 && needs_smtputf8(*envelope, record.view.message)) {
      std::cerr << id << ": not delivered: its UTF-8 addresses or header fields need a server "
                << "that offers SMTPUTF8\n";
      ++not_delivered;
      return true;
    }
    const auto replayed = replay_message(smtp, *envelope, record.view.message);
    if (replayed.delivered == 0) {
      ++not_delivered;
      std::cerr << id << ": not delivered: " << replayed.why << "\n";
    } else {
      ++sent;
      if (replayed.refused > 0)
        std::cerr << id << ": " << replayed.refused << " of " << envelope->recipients.size()
                  << " recipients not delivered: " << replayed.why << "\n";
    }
    recipients_refused += replayed.refused;
    connection_failed = replayed.connection_failed;
    return !connection_failed;
  });
  smtp.quit();
  report_stream_problems(stream.take_problems());
  std::cerr << "replayed " << sent << " messages; " << not_delivered << " not delivered";
  if (recipients_refused > 0)
    std::cerr << "; " << recipients_refused << " recipients not delivered";
  if (connection_failed) std::cerr << "; the connection was lost";
  std::cerr << "\n";
  return not_delivered == 0 && recipients_refused == 0 && !connection_failed ? 0 : 1;
}

}  // namespace

void add_replay_command(CLI::App* spool, const std::string& directory, int& exit_code) {
  static ReplayOptions options;
  auto* command = spool->add_subcommand(
      "replay", "Send stored messages again over SMTP with their recorded envelopes");
  command->add_option("--to", options.to, "ADDR:PORT of the receiving server")->required();
  command->add_option("--helo", options.helo, "EHLO name, default mxring-replay");
  options.selection.add_options(command);
  command->callback([&] { exit_code = run_replay(directory, options); });
}

}  // namespace mxring::tools::spool
