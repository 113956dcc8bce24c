// `mxring spool replay --to ADDR:PORT`: re-injects stored messages over SMTP with their
// recorded envelope (migrations, tests, re-feeding a pipeline). One connection, messages in
// spool order; MAIL/RCPT/DATA are pipelined when the server offers PIPELINING (RFC 2920).
// BINARYMIME messages go as one BDAT LAST, to servers that offer CHUNKING and BINARYMIME only.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <iostream>

#include "../bench/reply_reader.h"
#include "common/host_port.h"
#include "common/smtp_text.h"
#include "mxring/engine/spool_stream.h"
#include "record_selection.h"
#include "spool_subcommands.h"

namespace mxring::tools::spool {
namespace {

struct ReplayOptions {
  std::string to, helo = "mxring-replay";
  RecordSelection selection;
};

class SmtpConnection {
 public:
  ~SmtpConnection() {
    if (fd_ >= 0) close(fd_);
  }

  bool connect_to(const HostPort& target, std::string& error) {
    fd_ = socket(target.socket.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    const timeval timeout{300, 0};  // RFC 5321 §4.5.3.2: the longest server wait is 10 min
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    const int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (fd_ < 0 || connect(fd_, target.socket.get(), target.socket.length) != 0) {
      error = "cannot connect to " + target.address + ":" + std::to_string(target.port) + ": " +
              std::strerror(errno);
      return false;
    }
    return true;
  }

  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // The next reply; code 0 when the connection ended or timed out.
  bench::Reply reply() {
    char buffer[4096];
    while (replies_.empty()) {
      const auto n = recv(fd_, buffer, sizeof buffer, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return {};
      std::vector<bench::Reply> got;
      reader_.feed(std::string_view(buffer, static_cast<std::size_t>(n)), got);
      for (auto& r : got) replies_.push_back(std::move(r));
    }
    auto next = std::move(replies_.front());
    replies_.pop_front();
    return next;
  }

 private:
  int fd_ = -1;
  bench::ReplyReader reader_;
  std::deque<bench::Reply> replies_;
};

bool offers(const std::string& ehlo, std::string_view keyword) {
  std::size_t at = 0;
  while ((at = ehlo.find("\r\n", at)) != std::string::npos) {
    at += 2;
    const auto line = std::string_view(ehlo).substr(at + 4);
    if (line.size() >= keyword.size() &&
        strncasecmp(line.data(), keyword.data(), keyword.size()) == 0 &&
        (line.size() == keyword.size() || line[keyword.size()] == ' ' ||
         line[keyword.size()] == '\r'))
      return true;
  }
  return false;
}

struct Extensions {
  bool pipelining, size, eight_bit, smtputf8, dsn, chunking, binary_mime;
};

// MAIL, RCPTs and DATA for one stored envelope, with the parameters the server supports; for
// a BINARYMIME message, BDAT LAST instead of DATA (RFC 3030 §3: binary content never goes
// through DATA, whose dot-stuffing and line ends it does not follow).
std::vector<std::string> envelope_commands(const engine::Envelope& e, const Extensions& x,
                                           std::uint64_t size) {
  const bool binary = e.body == parser::Body::binary_mime;
  std::string mail = "MAIL FROM:<" + e.mail_from + ">";
  if (x.size) mail += " SIZE=" + std::to_string(size);
  if (x.eight_bit && e.body == parser::Body::eight_bit_mime) mail += " BODY=8BITMIME";
  if (binary) mail += " BODY=BINARYMIME";
  if (x.smtputf8 && e.smtputf8) mail += " SMTPUTF8";
  if (x.dsn && e.ret == parser::Ret::full) mail += " RET=FULL";
  if (x.dsn && e.ret == parser::Ret::headers) mail += " RET=HDRS";
  if (x.dsn && !e.envid.empty()) mail += " ENVID=" + xtext_encoded(e.envid);
  std::vector<std::string> commands{mail + "\r\n"};
  for (const auto& r : e.recipients) {
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

int run_replay(const std::string& directory, ReplayOptions& options) {
  std::string error;
  HostPort target;
  try {
    target = parse_host_port(options.to, "--to");
  } catch (const CLI::ValidationError& e) {
    error = e.what();
  }
  if (error.empty()) options.selection.resolve(error);
  SmtpConnection smtp;
  if (!error.empty() || !smtp.connect_to(target, error)) {
    std::cerr << "mxring spool replay: " << error << "\n";
    return 2;
  }
  const auto banner = smtp.reply();
  smtp.send("EHLO " + options.helo + "\r\n");
  const auto ehlo = smtp.reply();
  if (banner.code != 220 || ehlo.code != 250) {
    std::cerr << "mxring spool replay: the server said: " << banner.text << " / " << ehlo.text
              << "\n";
    return 1;
  }
  const Extensions x{offers(ehlo.text, "PIPELINING"), offers(ehlo.text, "SIZE"),
                     offers(ehlo.text, "8BITMIME"),   offers(ehlo.text, "SMTPUTF8"),
                     offers(ehlo.text, "DSN"),        offers(ehlo.text, "CHUNKING"),
                     offers(ehlo.text, "BINARYMIME")};
  std::uint64_t sent = 0, refused = 0;
  bool connection_lost = false;
  engine::SpoolStream stream(directory, {});
  stream.poll([&](const engine::StreamedRecord& record) {
    if (!options.selection.selects(record.view)) return true;
    const auto id = std::string(record.view.header.queue_id.view());
    const auto envelope = engine::spool::decode_envelope(record.view);
    if (!envelope || envelope->recipients.empty()) {
      std::cerr << id << ": no envelope to replay\n";
      ++refused;
      return true;
    }
    const bool binary = envelope->body == parser::Body::binary_mime;
    if (binary && !(x.chunking && x.binary_mime)) {
      std::cerr << id << ": not delivered: BODY=BINARYMIME needs a server that offers CHUNKING "
                << "and BINARYMIME\n";
      ++refused;
      return true;
    }
    auto commands = envelope_commands(*envelope, x, record.view.message.size());
    // A BDAT's chunk follows its command line whatever the server answers (RFC 3030 §2).
    if (binary) commands.back() += record.view.message;
    std::string why;
    std::size_t accepted_rcpts = 0;
    bool mail_ok = true;
    if (x.pipelining) {
      std::string group;
      for (const auto& c : commands) group += c;
      smtp.send(group);
    }
    const auto delivered = [&] {
      ++sent;
      if (accepted_rcpts < envelope->recipients.size())
        std::cerr << id << ": some recipients refused: " << why;
      return true;
    };
    for (std::size_t i = 0; i < commands.size(); ++i) {
      if (!x.pipelining) smtp.send(commands[i]);
      const auto reply = smtp.reply();
      const bool last = i + 1 == commands.size();
      if (reply.code == 0) connection_lost = true;
      if (i == 0 && reply.code != 250) mail_ok = false;
      if (i > 0 && !last && reply.code >= 200 && reply.code < 300) ++accepted_rcpts;
      if (!last && reply.code >= 300 && why.empty()) why = commands[i] + " → " + reply.text;
      if (last && binary) {
        if (reply.code == 250) return delivered();
        why += (why.empty() ? "BDAT → " : "; BDAT → ") + reply.text;
      } else if (last && reply.code == 354) {
        if (!mail_ok || accepted_rcpts == 0) {
          smtp.send(".\r\n");  // nothing to deliver; end the data phase
          smtp.reply();
        } else {
          smtp.send(dot_stuffed(record.view.message) + ".\r\n");
          const auto done = smtp.reply();
          if (done.code == 250) return delivered();
          why = "end of data → " + done.text;
        }
      } else if (last) {
        why += (why.empty() ? "DATA → " : "; DATA → ") + reply.text;
      }
    }
    ++refused;
    std::cerr << id << ": not delivered: " << why << "\n";
    if (!connection_lost) {
      smtp.send("RSET\r\n");
      connection_lost = smtp.reply().code != 250;
    }
    return !connection_lost;
  });
  if (!connection_lost) {
    smtp.send("QUIT\r\n");
    smtp.reply();
  }
  report_stream_problems(stream.take_problems());
  std::cerr << "replayed " << sent << " messages; " << refused << " not delivered"
            << (connection_lost ? "; the connection was lost" : "") << "\n";
  return refused == 0 && !connection_lost ? 0 : 1;
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
