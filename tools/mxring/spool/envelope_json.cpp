// Envelope → JSON, shared by `show`, `export --format jsonl` and `tail`.
#include "envelope_json.h"

#include <charconv>
#include <ctime>
#include <vector>

#include "json_text.h"

namespace mxring::tools::spool {
namespace {

namespace format = engine::spool;

void append_number(OutputBuffer& out, std::uint64_t value) {
  char* at = out.room(24);
  const auto end = std::to_chars(at, at + 24, value).ptr;
  out.advance(static_cast<std::size_t>(end - at));
}

// "YYYY-MM-DDTHH:MM:SS" is recomputed only when the second changes: exports meet the same
// second thousands of times in a row.
void append_iso_time(OutputBuffer& out, std::int64_t unix_us) {
  thread_local std::int64_t cached_second = INT64_MIN;
  thread_local char date[24];
  const auto second = unix_us >= 0 ? unix_us / 1'000'000 : (unix_us - 999'999) / 1'000'000;
  if (second != cached_second) {
    const auto seconds = static_cast<std::time_t>(second);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &utc);
    cached_second = second;
  }
  auto micro = static_cast<unsigned>(unix_us - second * 1'000'000);
  char text[32];
  std::size_t n = 0;
  text[n++] = '"';
  for (const char* c = date; *c != '\0'; ++c) text[n++] = *c;
  text[n++] = '.';
  for (int i = 5; i >= 0; --i, micro /= 10)
    text[n + static_cast<std::size_t>(i)] = '0' + micro % 10;
  n += 6;
  text[n++] = 'Z';
  text[n++] = '"';
  out.append(std::string_view(text, n));
}

// A string member, or null when absent.
void append_text_or_null(OutputBuffer& out, const std::string_view* value) {
  if (value == nullptr)
    out.append("null");
  else
    append_json_text(out, *value);
}

std::uint8_t byte_of(std::string_view value) {
  return value.empty() ? 0 : static_cast<std::uint8_t>(value[0]);
}

struct Fields {
  std::string_view value[32];
  bool present[32] = {};
  std::vector<format::RecipientView> recipients;

  const std::string_view* get(std::uint16_t tag) const {
    return tag < 32 && present[tag] ? &value[tag] : nullptr;
  }
};

}  // namespace

std::string iso_time(std::int64_t unix_us) {
  OutputBuffer out(-1);
  append_iso_time(out, unix_us);
  std::string text(out.buffered().substr(1, out.size() - 2));
  out.truncate(0);
  return text;
}

void append_envelope_members(OutputBuffer& out, const format::RecordView& record) {
  thread_local Fields f;
  std::fill(std::begin(f.present), std::end(f.present), false);
  f.recipients.clear();
  bool well_formed = format::for_each_envelope_field(
      record.envelope, [&](std::uint16_t tag, std::string_view value) {
        if (tag == format::kRecipient) {
          if (const auto r = format::parse_recipient(value))
            f.recipients.push_back(*r);
          else
            f.present[0] = true;  // marks a malformed recipient
        } else if (tag < 32) {
          f.value[tag] = value;
          f.present[tag] = true;
        }
      });
  well_formed = well_formed && !f.present[0];
  const auto& h = record.header;
  out.append(R"("queue_id":)");
  append_json_text(out, h.queue_id.view());
  out.append(R"(,"received_at":)");
  append_iso_time(out, h.received_at_us);
  out.append(R"(,"stored_at":)");
  append_iso_time(out, h.stored_at_us);
  out.append(R"(,"message_size":)");
  append_number(out, h.message_length);
  if (!well_formed) {
    out.append(R"(,"error":"undecodable envelope")");
    return;
  }
  out.append(R"(,"client":{"address":)");
  append_text_or_null(out, f.get(format::kClientAddress));
  out.append(R"(,"port":)");
  std::uint16_t port = 0;
  if (const auto* v = f.get(format::kClientPort); v != nullptr && v->size() == 2)
    std::memcpy(&port, v->data(), 2);
  append_number(out, port);
  out.append(R"(},"listener":)");
  append_text_or_null(out, f.get(format::kListener));
  out.append(R"(,"role":")");
  const auto* role = f.get(format::kRole);
  out.append(engine::role_name(static_cast<engine::ListenerRole>(role ? byte_of(*role) : 0)));
  out.append(R"(","proxy":)");
  if (const auto* peer = f.get(format::kProxyPeer)) {
    out.append(R"({"peer":)");
    append_json_text(out, *peer);
    for (const auto& [tag, name] : {std::pair{format::kProxyAuthority, R"(,"authority":)"},
                                    {format::kProxyTlsVersion, R"(,"tls_version":)"},
                                    {format::kProxyTlsCipher, R"(,"tls_cipher":)"},
                                    {format::kProxyVia, R"(,"via":)"},
                                    {format::kClientName, R"(,"client_name":)"}}) {
      out.append(name);
      append_text_or_null(out, f.get(tag));
    }
    out.append("}");
  } else {
    out.append("null");
  }
  out.append(R"(,"helo":)");
  append_text_or_null(out, f.get(format::kHelo));
  out.append(R"(,"esmtp":)");
  const auto* esmtp = f.get(format::kEsmtp);
  out.append(esmtp != nullptr && byte_of(*esmtp) ? "true" : "false");
  out.append(R"(,"tls":)");
  if (const auto* version = f.get(format::kTlsVersion)) {
    out.append(R"({"version":)");
    append_json_text(out, *version);
    out.append(R"(,"cipher":)");
    append_text_or_null(out, f.get(format::kTlsCipher));
    out.append(R"(,"sni":)");
    const auto* sni = f.get(format::kTlsServerName);
    append_json_text(out, sni ? *sni : std::string_view());
    out.append("}");
  } else {
    out.append("null");
  }
  out.append(R"(,"auth":)");
  append_text_or_null(out, f.get(format::kAuthIdentity));
  out.append(R"(,"mail_from":)");
  const auto* from = f.get(format::kMailFrom);
  append_json_text(out, from ? *from : std::string_view());
  out.append(R"(,"body":)");
  const auto* body = f.get(format::kBody);
  constexpr const char* kBodies[] = {"null", "\"7BIT\"", "\"8BITMIME\"", "\"BINARYMIME\""};
  out.append(body && byte_of(*body) < 4 ? kBodies[byte_of(*body)] : "null");
  out.append(R"(,"smtputf8":)");
  out.append(f.get(format::kSmtputf8) ? "true" : "false");
  out.append(R"(,"requiretls":)");
  out.append(f.get(format::kRequiretls) ? "true" : "false");
  out.append(R"(,"ret":)");
  const auto* ret = f.get(format::kRet);
  out.append(!ret                 ? "null"
             : byte_of(*ret) == 1 ? R"("FULL")"
             : byte_of(*ret) == 2 ? R"("HDRS")"
                                  : "null");
  out.append(R"(,"envid":)");
  append_text_or_null(out, f.get(format::kEnvid));
  out.append(R"(,"mail_auth":)");
  append_text_or_null(out, f.get(format::kMailAuth));
  out.append(R"(,"declared_size":)");
  std::uint64_t declared = 0;
  if (const auto* v = f.get(format::kDeclaredSize); v != nullptr && v->size() == 8)
    std::memcpy(&declared, v->data(), 8);
  append_number(out, declared);
  out.append(R"(,"recipients":[)");
  for (std::size_t i = 0; i < f.recipients.size(); ++i) {
    const auto& r = f.recipients[i];
    out.append(i == 0 ? R"({"address":)" : R"(,{"address":)");
    append_json_text(out, r.address);
    out.append(R"(,"notify":[)");
    bool first = true;
    for (const auto& [bit, word] : {std::pair{parser::kNotifyNever, "\"NEVER\""},
                                    {parser::kNotifySuccess, "\"SUCCESS\""},
                                    {parser::kNotifyFailure, "\"FAILURE\""},
                                    {parser::kNotifyDelay, "\"DELAY\""}}) {
      if (!(r.notify & bit)) continue;
      if (!first) out.append(',');
      out.append(word);
      first = false;
    }
    out.append(R"(],"orcpt":)");
    if (r.orcpt.empty())
      out.append("null");
    else
      append_json_text(out, r.orcpt);
    out.append("}");
  }
  out.append(R"(],"flags":{"eight_bit":)");
  out.append(h.flags & format::kFlagEightBit ? "true" : "false");
  out.append(R"(,"long_lines":)");
  out.append(h.flags & format::kFlagLongLines ? "true" : "false");
  out.append(R"(,"chunked":)");
  out.append(h.flags & format::kFlagChunked ? "true" : "false");
  out.append("}");
}

nlohmann::json envelope_json(const format::RecordView& record) {
  OutputBuffer out(-1);
  out.append('{');
  append_envelope_members(out, record);
  out.append('}');
  auto object = nlohmann::json::parse(out.buffered());
  out.truncate(0);
  return object;
}

}  // namespace mxring::tools::spool
