// Parses and replays session transcripts (tests/transcripts/README.md has the format).
#include "session_transcript.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "guarded_buffer.h"
#include "mxring/engine/address_range.h"
#include "mxring/engine/client_access.h"
#include "mxring/engine/recipient_policy.h"
#include "mxring/parser/padding.h"

namespace mxring::test {
namespace {

using engine::StorageResult;

[[noreturn]] void fail(const std::string& name, std::size_t line, const std::string& why) {
  throw std::runtime_error(name + ":" + std::to_string(line) + ": " + why);
}

// `\r \n \t \0 \\ \xHH`; everything else stands for itself.
std::string unescape(std::string_view text, const std::string& name, std::size_t line) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    if (++i == text.size()) fail(name, line, "dangling backslash");
    switch (text[i]) {
      case 'r':
        out += '\r';
        break;
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case '0':
        out += '\0';
        break;
      case '\\':
        out += '\\';
        break;
      case 'x': {
        if (i + 2 >= text.size()) fail(name, line, "short \\x escape");
        out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
        i += 2;
        break;
      }
      default:
        fail(name, line, "unknown escape");
    }
  }
  return out;
}

std::uint64_t number(std::string_view text, const std::string& name, std::size_t line) {
  try {
    return std::stoull(std::string(text));
  } catch (const std::exception&) {
    fail(name, line, "not a number: " + std::string(text));
  }
}

void apply_option(Transcript& t, std::string_view key, std::string_view value, std::size_t line) {
  auto& config = t.config;
  auto& limits = config.limits;
  const auto n = [&] { return number(value, t.name, line); };
  if (key == "host") {
    config.host_name = value;
  } else if (key == "role") {
    if (value == "smtp")
      config.role = engine::ListenerRole::smtp;
    else if (value == "submission")
      config.role = engine::ListenerRole::submission;
    else if (value == "smtps")
      config.role = engine::ListenerRole::smtps;
    else
      fail(t.name, line, "unknown role");
    t.implicit_tls = config.role == engine::ListenerRole::smtps;
  } else if (key == "starttls") {
    config.starttls_available = true;
  } else if (key == "auth") {
    config.auth_available = true;
  } else if (key == "durability") {
    if (value == "fsync")
      config.durability = engine::Durability::fsync;
    else if (value == "none")
      config.durability = engine::Durability::none;
    else if (value == "discard")
      config.durability = engine::Durability::discard;
    else if (value == "kafka")
      config.durability = engine::Durability::kafka;
    else
      fail(t.name, line, "unknown durability");
  } else if (key == "max_size") {
    limits.max_message_size = n();
  } else if (key == "max_recipients") {
    limits.max_recipients = static_cast<std::uint32_t>(n());
  } else if (key == "max_messages") {
    limits.max_messages = static_cast<std::uint32_t>(n());
  } else if (key == "max_errors") {
    limits.max_errors = static_cast<std::uint32_t>(n());
  } else if (key == "max_data_line") {
    limits.max_data_line = static_cast<std::uint32_t>(n());
  } else if (key == "reject_long_lines") {
    limits.reject_long_lines = true;
  } else if (key == "max_received_headers") {
    limits.max_received_headers = static_cast<std::uint32_t>(n());
  } else if (key == "domain") {
    t.domains.emplace_back(value);
  } else if (key == "user") {
    t.users_file += std::string(value) + "\n";
  } else if (key == "client_access") {
    t.client_access += std::string(value) + "\n";
  } else if (key == "xclient_trusted") {
    t.xclient_trusted = true;
  } else if (key == "closed") {
    t.expect_closed = true;
  } else {
    fail(t.name, line, "unknown option " + std::string(key));
  }
}

StorageResult storage_result(std::string_view value, const std::string& name, std::size_t line) {
  if (value == "stored") return StorageResult::stored;
  if (value == "temporary") return StorageResult::temporary_failure;
  if (value == "disk_full") return StorageResult::disk_full;
  fail(name, line, "unknown storage result");
}

std::string notify_text(std::uint8_t notify) {
  if (notify & parser::kNotifyNever) return "NEVER";
  std::string text;
  for (auto [bit, word] :
       {std::pair{parser::kNotifySuccess, "SUCCESS"}, std::pair{parser::kNotifyFailure, "FAILURE"},
        std::pair{parser::kNotifyDelay, "DELAY"}}) {
    if (!(notify & bit)) continue;
    if (!text.empty()) text += ',';
    text += word;
  }
  return text;
}

}  // namespace

Transcript parse_transcript(std::string_view text, std::string name) {
  Transcript t;
  t.name = std::move(name);
  t.config.host_name = "mx.example";
  t.segments.emplace_back();
  bool greet_marker = false;
  std::size_t line_number = 0;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (line.empty() || line[0] == '#') continue;
    const auto tag = std::string_view(line).substr(0, 2);
    auto rest = std::string_view(line).substr(std::min<std::size_t>(2, line.size()));
    if (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
    auto& client = t.segments.back();
    if (tag == "C:") {
      client += std::string(rest) + "\r\n";
    } else if (tag == "C~") {
      client += unescape(rest, t.name, line_number);
    } else if (tag == "C+") {  // "C+ COUNT TEXT": TEXT repeated COUNT times, then CRLF
      const auto space = rest.find(' ');
      const auto count = number(rest.substr(0, space), t.name, line_number);
      const auto unit = unescape(rest.substr(space + 1), t.name, line_number);
      for (std::uint64_t i = 0; i < count; ++i) client += unit;
      client += "\r\n";
    } else if (tag == "C*") {  // "C* COUNT TEXT": TEXT repeated COUNT times, nothing added
      const auto space = rest.find(' ');
      const auto count = number(rest.substr(0, space), t.name, line_number);
      const auto unit = unescape(rest.substr(space + 1), t.name, line_number);
      for (std::uint64_t i = 0; i < count; ++i) client += unit;
    } else if (tag == "S:") {
      t.expected_replies += std::string(rest) + "\r\n";
    } else if (tag == "E:") {
      t.messages.push_back({.envelope = std::string(rest), .content = {}, .check_content = false});
    } else if (tag == "M+" || tag == "M*") {  // like C+ and C*, for stored content
      if (t.messages.empty()) fail(t.name, line_number, "M+/M* before E:");
      const auto space = rest.find(' ');
      const auto count = number(rest.substr(0, space), t.name, line_number);
      const auto unit = unescape(rest.substr(space + 1), t.name, line_number);
      auto& message = t.messages.back();
      message.check_content = true;
      for (std::uint64_t i = 0; i < count; ++i) message.content += unit;
      if (tag == "M+") message.content += "\r\n";
    } else if (tag == "M:" || tag == "M~") {
      if (t.messages.empty()) fail(t.name, line_number, "M: before E:");
      auto& message = t.messages.back();
      message.check_content = true;
      message.content +=
          tag == "M:" ? std::string(rest) + "\r\n" : unescape(rest, t.name, line_number);
    } else if (line == "@greet") {
      if (greet_marker) fail(t.name, line_number, "second @greet");
      greet_marker = true;
      t.segments.emplace_back();
      t.greet_before_segment = t.segments.size() - 1;
    } else if (line == "@tls") {
      t.segments.emplace_back();
      t.tls_before_segment.push_back(t.segments.size() - 1);
    } else if (line.starts_with("@store ")) {
      t.storage_results.push_back(storage_result(line.substr(7), t.name, line_number));
    } else if (tag == "! ") {
      const auto option = std::string_view(line).substr(2);
      const auto space = option.find(' ');
      apply_option(t, option.substr(0, space),
                   space == std::string_view::npos ? "" : option.substr(space + 1), line_number);
    } else {
      fail(t.name, line_number, "unknown line: " + line);
    }
  }
  if (t.expected_replies.empty()) fail(t.name, line_number, "no S: lines");
  return t;
}

Transcript load_transcript(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error("cannot read " + path);
  std::stringstream text;
  text << file.rdbuf();
  auto name = path.substr(path.find_last_of('/') + 1);
  return parse_transcript(text.str(), name);
}

std::string describe_envelope(const engine::Envelope& e) {
  std::string s = "from=<" + e.mail_from + "> to=";
  for (std::size_t i = 0; i < e.recipients.size(); ++i) {
    const auto& r = e.recipients[i];
    if (i > 0) s += ',';
    s += "<" + r.address + ">";
    if (r.notify != 0) s += "{notify=" + notify_text(r.notify) + "}";
    if (!r.orcpt.empty()) s += "{orcpt=" + r.orcpt + "}";
  }
  using parser::Body;
  if (e.body == Body::seven_bit) s += " body=7BIT";
  if (e.body == Body::eight_bit_mime) s += " body=8BITMIME";
  if (e.body == Body::binary_mime) s += " body=BINARYMIME";
  if (e.smtputf8) s += " smtputf8";
  if (e.requiretls) s += " requiretls";
  if (e.ret == parser::Ret::full) s += " ret=FULL";
  if (e.ret == parser::Ret::headers) s += " ret=HDRS";
  if (!e.envid.empty()) s += " envid=" + e.envid;
  if (e.declared_size != 0) s += " size=" + std::to_string(e.declared_size);
  if (!e.auth_identity.empty()) s += " auth=" + e.auth_identity;
  if (!e.mail_auth.empty()) s += " mail_auth=" + e.mail_auth;
  if (!e.tls.version.empty()) s += " tls=" + e.tls.version;
  if (e.chunked) s += " chunked";
  if (e.eight_bit) s += " 8bit";
  if (e.long_lines) s += " long_lines";
  return s;
}

engine::QueueId TestServices::next_queue_id() {
  return engine::QueueId("Q" + std::to_string(next_++));
}

engine::AuthResult check_test_credentials(const engine::AuthRequest& request) {
  if (request.user == "tempfail") return engine::AuthResult::temporary_failure;
  if (request.user == "alice" && request.password == "wonderland")
    return engine::AuthResult::success;
  return engine::AuthResult::invalid;
}

std::shared_ptr<const engine::SessionContext> make_context(const Transcript& t) {
  auto config = t.config;
  if (!t.domains.empty()) {
    auto built = engine::RecipientPolicy::build(t.domains, t.users_file);
    if (auto* error = std::get_if<engine::PolicyError>(&built))
      throw std::runtime_error(t.name + ": policy: " + error->message);
    config.recipients =
        std::make_shared<engine::RecipientPolicy>(std::get<engine::RecipientPolicy>(built));
  }
  if (!t.client_access.empty()) {
    auto built = engine::ClientAccess::build(t.client_access);
    if (auto* error = std::get_if<engine::PolicyError>(&built))
      throw std::runtime_error(t.name + ": client access: " + error->message);
    config.client_access =
        std::make_shared<engine::ClientAccess>(std::get<engine::ClientAccess>(built));
  }
  return engine::SessionContext::make(std::move(config));
}

TranscriptRun run_transcript(const Transcript& t, const std::vector<std::size_t>& cuts) {
  TestServices services;
  engine::Session session(make_context(t), services,
                          {.client_address = "192.0.2.1",
                           .client_port = 4242,
                           .client_octets = engine::parse_address("192.0.2.1")->octets,
                           .xclient_trusted = t.xclient_trusted,
                           .listener = "198.51.100.25:25",
                           .role = t.config.role,
                           .proxy = {}});
  const engine::TlsInfo tls{.version = "TLSv1.3", .cipher = "TLS_AES_128_GCM_SHA256", .sni = ""};
  TranscriptRun run;
  std::size_t next_result = 0;
  const auto settle = [&] {
    for (bool progressed = true; progressed;) {
      progressed = false;
      if (const auto out = session.output(); !out.empty()) {
        run.replies += out;
        session.consume_output(out.size());
        progressed = true;
      }
      run.peak_footprint = std::max(run.peak_footprint, session.footprint());
      if (session.wait() == engine::Session::Wait::storage) {
        if (session.has_message()) run.messages.push_back(session.take_message());
        const auto result = next_result < t.storage_results.size() ? t.storage_results[next_result]
                                                                   : StorageResult::stored;
        ++next_result;
        session.storage_done(result);
        progressed = true;
      } else if (session.wait() == engine::Session::Wait::auth) {
        session.auth_done(check_test_credentials(session.auth_request()));
        progressed = true;
      }
    }
  };

  std::size_t largest = 0;
  for (const auto& segment : t.segments) largest = std::max(largest, segment.size());
  GuardedBuffer memory(largest + parser::kPadding);
  if (t.implicit_tls) session.tls_established(tls);
  if (t.greet_before_segment == 0) session.greet();
  settle();
  std::size_t offset = 0;
  for (std::size_t i = 0; i < t.segments.size(); ++i) {
    if (i > 0 && i == t.greet_before_segment) session.greet();
    if (std::find(t.tls_before_segment.begin(), t.tls_before_segment.end(), i) !=
        t.tls_before_segment.end()) {
      if (session.wait() == engine::Session::Wait::tls_handshake) {
        session.tls_established(tls);
      } else if (!session.closed()) {
        throw std::runtime_error(t.name + ": @tls but the session did not start TLS");
      }
    }
    settle();
    const auto& segment = t.segments[i];
    std::size_t start = 0;
    while (start < segment.size() && !session.closed()) {
      const auto cut = std::upper_bound(cuts.begin(), cuts.end(), offset + start);
      const auto end = cut == cuts.end() ? segment.size() : std::min(segment.size(), *cut - offset);
      const auto piece = std::string_view(segment).substr(start, end - start);
      // While the handshake is pending, the client's bytes would be TLS records: the
      // plaintext behind STARTTLS never reaches the session (RFC 3207 §4.2).
      if (session.wait() != engine::Session::Wait::tls_handshake)
        session.receive(memory.place(piece, parser::kPadding));
      settle();
      start = end;
    }
    offset += segment.size();
  }
  settle();
  run.closed = session.closed();
  return run;
}

}  // namespace mxring::test
