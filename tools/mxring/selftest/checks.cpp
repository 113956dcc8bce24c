// Each probe, and why its verdict is what it is.
#include "checks.h"

#include <array>

#include "probe.h"

namespace mxring::tools::selftest {
namespace {

using namespace std::chrono_literals;

std::string summary(const std::vector<Reply>& replies) {
  std::string out;
  for (const auto& r : replies) {
    if (!out.empty()) out += ", ";
    out += std::to_string(r.code);
    const auto first_line = r.text.substr(0, r.text.find("\r\n"));
    if (first_line.size() > 4) out += " " + first_line.substr(4, 60);
  }
  return out.empty() ? "no reply" : out;
}

// The reply to what was just sent, then whatever else follows within a second (the replies a
// server should not have sent).
std::vector<Reply> answer_and_more(Probe& probe) {
  std::vector<Reply> replies;
  if (auto first = probe.reply(10s)) replies.push_back(std::move(*first));
  for (auto& more : probe.replies_within(1s)) replies.push_back(std::move(more));
  return replies;
}

// Sends `octets`, takes what answers them (answer_and_more), and ends with QUIT.
std::vector<Reply> last_words(Probe& probe, const std::string& octets) {
  probe.send(octets);
  auto replies = answer_and_more(probe);
  probe.send("QUIT\r\n");
  return replies;
}

CheckResult outcome(std::string name, Verdict verdict, std::string detail) {
  return {std::move(name), verdict, std::move(detail)};
}

// Connected, greeted and EHLO answered; null (and a result saying why) otherwise.
std::unique_ptr<Probe> greeted(const Target& t, const std::string& name, CheckResult& failed) {
  std::string error;
  auto probe = Probe::open(t.host, t.port, error);
  if (!probe) {
    failed = outcome(name, Verdict::error, error);
    return nullptr;
  }
  const auto banner = probe->reply(30s);
  if (!banner || banner->code != 220) {
    failed = outcome(name, Verdict::error, "no 220 greeting");
    return nullptr;
  }
  probe->send("EHLO selftest.mxring.invalid\r\n");
  const auto ehlo = probe->reply(10s);
  if (!ehlo || ehlo->code != 250) {
    failed = outcome(name, Verdict::error, "EHLO refused");
    return nullptr;
  }
  return probe;
}

// Greeted, and MAIL FROM the probe's sender answered 250; null (and a result saying why)
// otherwise.
std::unique_ptr<Probe> mail_from_sent(const Target& t, const std::string& name,
                                      CheckResult& failed) {
  auto probe = greeted(t, name, failed);
  if (!probe) return nullptr;
  probe->send("MAIL FROM:<" + t.sender + ">\r\n");
  if (const auto r = probe->reply(10s); !r || r->code != 250) {
    failed = outcome(name, Verdict::error, "MAIL refused");
    return nullptr;
  }
  return probe;
}

// RFC 5321 §4.3.1: the client waits for the greeting. Spam engines often do not (Postfix
// postscreen's pregreet test). A server can only see it if it holds its greeting back a
// moment (mxringd --greet-delay).
CheckResult early_talker(const Target& t) {
  const std::string name = "early-talker";
  std::string error;
  auto probe = Probe::open(t.host, t.port, error);
  if (!probe) return outcome(name, Verdict::error, error);
  probe->send("EHLO selftest.mxring.invalid\r\n");
  const auto replies = answer_and_more(*probe);
  bool answered = false;
  for (const auto& r : replies) answered = answered || (r.code == 250);
  if (answered)
    return outcome(name, Verdict::fail,
                   "answered an EHLO sent before its greeting: " + summary(replies));
  return outcome(name, Verdict::pass, "refused: " + summary(replies));
}

// SMTP smuggling (CVE-2023-51764/51765/51766): an end of data that is not <CRLF>.<CRLF>
// must never end the message. After the fake end come the commands an attacker would
// smuggle; a server that answers them has split one message in two.
CheckResult smuggling(const Target& t, const std::string& label, const std::string& fake_end) {
  const std::string name = "smuggling " + label;
  CheckResult failed;
  auto probe = mail_from_sent(t, name, failed);
  if (!probe) return failed;
  probe->send("RCPT TO:<" + t.recipient + ">\r\n");
  if (const auto r = probe->reply(10s); !r || r->code != 250)
    return outcome(name, Verdict::error, "RCPT TO:<" + t.recipient + "> refused");
  probe->send("DATA\r\n");
  if (const auto r = probe->reply(10s); !r || r->code != 354)
    return outcome(name, Verdict::error, "DATA refused");
  const auto replies =
      last_words(*probe, "Subject: mxring selftest (smuggling " + label + ")\r\n\r\nfirst" +
                             fake_end + "MAIL FROM:<smuggled@mxring.invalid>\r\nRCPT TO:<" +
                             t.recipient + ">\r\nDATA\r\nsmuggled\r\n.\r\n");
  if (replies.empty()) return outcome(name, Verdict::error, "no reply to the end of data");
  if (replies.size() > 1)
    return outcome(name, Verdict::fail,
                   "ended the data early and answered smuggled commands: " + summary(replies));
  return outcome(
      name, Verdict::pass,
      (replies[0].code >= 500 ? "refused: " : "kept as one message: ") + summary(replies));
}

// CVE-2011-0411: commands pipelined in plaintext behind STARTTLS must be discarded, never
// answered once TLS is up (where they would look encrypted).
CheckResult starttls_injection(const Target& t) {
  const std::string name = "starttls-injection";
  CheckResult failed;
  std::string error;
  auto probe = Probe::open(t.host, t.port, error);
  if (!probe) return outcome(name, Verdict::error, error);
  if (const auto banner = probe->reply(30s); !banner || banner->code != 220)
    return outcome(name, Verdict::error, "no 220 greeting");
  probe->send("EHLO selftest.mxring.invalid\r\n");
  const auto ehlo = probe->reply(10s);
  if (!ehlo || ehlo->code != 250) return outcome(name, Verdict::error, "EHLO refused");
  if (ehlo->text.find("STARTTLS") == std::string::npos)
    return outcome(name, Verdict::skipped, "STARTTLS not offered");
  probe->send("STARTTLS\r\nRSET\r\n");  // one segment: the injection
  const auto go = probe->reply(10s);
  if (!go || go->code != 220) return outcome(name, Verdict::error, "STARTTLS refused");
  if (!probe->start_tls(error)) return outcome(name, Verdict::error, error);
  const auto injected = probe->replies_within(1s);
  if (!injected.empty())
    return outcome(name, Verdict::fail,
                   "answered plaintext sent before the handshake: " + summary(injected));
  probe->send("NOOP\r\n");
  const auto noop = probe->reply(10s);
  probe->send("QUIT\r\n");
  if (!noop || noop->code != 250) return outcome(name, Verdict::error, "no reply inside TLS");
  return outcome(name, Verdict::pass, "the injected RSET was never answered");
}

// RFC 5321 §2.3.8: lines end with CRLF. A bare LF taken as a line end is the other half of
// smuggling.
CheckResult bare_lf_command(const Target& t) {
  const std::string name = "bare-lf-command";
  CheckResult failed;
  auto probe = greeted(t, name, failed);
  if (!probe) return failed;
  const auto replies = last_words(*probe, "NOOP\nNOOP\r\n");
  if (replies.size() >= 2 && replies[0].code == 250 && replies[1].code == 250)
    return outcome(name, Verdict::fail, "took a bare LF as a line end: " + summary(replies));
  if (replies.empty()) return outcome(name, Verdict::error, "no reply");
  return outcome(name, Verdict::pass, summary(replies));
}

// RFC 5321 §4.5.3.1.4: command lines are at most 512 octets. A longer one is refused, and
// the connection stays usable (or is closed), never left reading forever.
CheckResult long_line(const Target& t) {
  const std::string name = "long-command-line";
  CheckResult failed;
  auto probe = greeted(t, name, failed);
  if (!probe) return failed;
  const auto replies = last_words(*probe, "NOOP " + std::string(10000, 'x') + "\r\nNOOP\r\n");
  if (replies.empty() && probe->closed())  // abrupt, but nothing over-long was taken
    return outcome(name, Verdict::pass, "closed the connection without a reply");
  if (replies.empty()) return outcome(name, Verdict::fail, "no reply: still reading the line?");
  if (replies[0].code == 250)
    return outcome(name, Verdict::fail, "accepted a 10,005-octet command line");
  const bool sane = replies.size() >= 2 && replies[1].code == 250;
  return outcome(name, Verdict::pass,
                 summary(replies) + (sane ? "; the connection went on" : "; then closed"));
}

// RFC 2920 §3.1: DATA ends a pipelined group. A client that sends its content at once,
// behind a DATA refused for want of a valid recipient, must not have that content run as
// commands (the desync SMTP smuggling builds on; Postfix's smtpd_forbid_unauth_pipelining).
// The content here is a harmless RSET: a server that answers it ran it.
CheckResult pipelining_after_data(const Target& t) {
  const std::string name = "pipelining-after-data";
  CheckResult failed;
  auto probe = mail_from_sent(t, name, failed);
  if (!probe) return failed;
  const auto replies =
      last_words(*probe, "RCPT TO:<selftest@relay-probe.mxring.invalid>\r\nDATA\r\nRSET\r\n");
  if (replies.size() < 2) return outcome(name, Verdict::error, "no reply to RCPT and DATA");
  if (replies[1].code == 354)
    return outcome(name, Verdict::fail,
                   "took content sent before its 354 as the message: " + summary(replies));
  if (replies.size() > 2 && replies[2].code == 250)
    return outcome(name, Verdict::fail,
                   "ran a command sent behind a refused DATA: " + summary(replies));
  return outcome(name, Verdict::pass, summary(replies));
}

// RFC 2505 §2.1: an MTA must not relay for strangers. Besides a plainly foreign domain, the
// forms downstream MTAs read as routing (the percent hack, bang paths, a quoted "@") at a
// domain the server accepts (the domain of --rcpt): Postfix's reject_unauth_destination
// refuses those too. Only RCPT is tried; nothing is sent.
CheckResult relay(const Target& t, const std::string& name, const std::string& recipient) {
  CheckResult failed;
  auto probe = mail_from_sent(t, name, failed);
  if (!probe) return failed;
  probe->send("RCPT TO:<" + recipient + ">\r\n");
  const auto rcpt = probe->reply(10s);
  probe->send("RSET\r\nQUIT\r\n");
  if (!rcpt) return outcome(name, Verdict::error, "no reply to RCPT");
  const auto detail = "RCPT TO:<" + recipient + ">: " + summary({*rcpt});
  if (rcpt->code == 250 || rcpt->code == 251)
    return outcome(name, Verdict::fail, "accepted a recipient it would have to relay: " + detail);
  return outcome(name, Verdict::pass, detail);
}

std::string domain_of(const std::string& address) {
  const auto at = address.rfind('@');
  return at == std::string::npos ? std::string{} : address.substr(at + 1);
}

}  // namespace

const char* verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::pass:
      return "PASS";
    case Verdict::fail:
      return "FAIL";
    case Verdict::skipped:
      return "SKIP";
    case Verdict::error:
      return "ERROR";
  }
  return "ERROR";
}

std::vector<CheckResult> run_checks(const Target& target) {
  std::vector<CheckResult> results;
  results.push_back(early_talker(target));
  constexpr std::array<std::pair<const char*, const char*>, 6> kFakeEnds = {{
      {"<LF>.<LF>", "\n.\n"},
      {"<LF>.<CRLF>", "\n.\r\n"},
      {"<CRLF>.<LF>", "\r\n.\n"},
      {"<CR>.<CR>", "\r.\r"},
      {"<CR>.<CRLF>", "\r.\r\n"},
      {"<CRLF>.<CR>", "\r\n.\r"},
  }};
  for (const auto& [label, end] : kFakeEnds) results.push_back(smuggling(target, label, end));
  results.push_back(starttls_injection(target));
  results.push_back(bare_lf_command(target));
  results.push_back(long_line(target));
  results.push_back(pipelining_after_data(target));
  results.push_back(relay(target, "open-relay", "selftest@relay-probe.mxring.invalid"));
  const auto domain = domain_of(target.recipient);
  constexpr std::array<std::pair<const char*, const char*>, 3> kRoutes = {{
      {"relay user%elsewhere", "selftest%relay-probe.mxring.invalid@"},
      {"relay elsewhere!user", "relay-probe.mxring.invalid!selftest@"},
      {"relay \"user@elsewhere\"", "\"selftest@relay-probe.mxring.invalid\"@"},
  }};
  for (const auto& [name, local_part] : kRoutes) {
    if (domain.empty())
      results.push_back(outcome(name, Verdict::skipped,
                                "needs --rcpt at a domain the server accepts, e.g. "
                                "postmaster@example.com"));
    else
      results.push_back(relay(target, name, local_part + domain));
  }
  return results;
}

}  // namespace mxring::tools::selftest
