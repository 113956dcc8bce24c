// Spool record encoding and parsing (SPOOL-FORMAT.md).
#include "mxring/engine/spool_format.h"

#include <cstring>

#include "mxring/engine/crc32c.h"

namespace mxring::engine::spool {
namespace {

template <typename T>
void put(std::string& out, T value) {  // little-endian; this code runs on x86-64 only
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

template <typename T>
T get(const char* at) {
  T value;
  std::memcpy(&value, at, sizeof(T));
  return value;
}

// A field's tag and value length; its value follows.
void field_header(std::string& out, Tag tag, std::size_t length) {
  put<std::uint16_t>(out, tag);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(length));
}

void field(std::string& out, Tag tag, std::string_view value) {
  field_header(out, tag, value.size());
  out.append(value);
}

template <typename T>
void number_field(std::string& out, Tag tag, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  field(out, tag, {bytes, sizeof(T)});
}

void encode_envelope(const Envelope& e, std::string& out) {
  field(out, kClientAddress, e.client_address);
  number_field<std::uint16_t>(out, kClientPort, e.client_port);
  field(out, kListener, e.listener);
  number_field<std::uint8_t>(out, kRole, static_cast<std::uint8_t>(e.role));
  if (!e.proxy.peer.empty()) {
    field(out, kProxyPeer, e.proxy.peer);
    if (!e.proxy.authority.empty()) field(out, kProxyAuthority, e.proxy.authority);
    if (!e.proxy.tls_version.empty()) field(out, kProxyTlsVersion, e.proxy.tls_version);
    if (!e.proxy.tls_cipher.empty()) field(out, kProxyTlsCipher, e.proxy.tls_cipher);
    if (!e.proxy.via.empty()) field(out, kProxyVia, e.proxy.via);
    if (!e.proxy.client_name.empty()) field(out, kClientName, e.proxy.client_name);
  }
  field(out, kHelo, e.helo);
  number_field<std::uint8_t>(out, kEsmtp, e.esmtp);
  if (!e.tls.version.empty()) {
    field(out, kTlsVersion, e.tls.version);
    field(out, kTlsCipher, e.tls.cipher);
    if (!e.tls.sni.empty()) field(out, kTlsServerName, e.tls.sni);
  }
  if (!e.auth_identity.empty()) field(out, kAuthIdentity, e.auth_identity);
  field(out, kMailFrom, e.mail_from);
  number_field<std::uint8_t>(out, kBody, static_cast<std::uint8_t>(e.body));
  if (e.smtputf8) number_field<std::uint8_t>(out, kSmtputf8, 1);
  if (e.requiretls) number_field<std::uint8_t>(out, kRequiretls, 1);
  if (e.ret != parser::Ret::unspecified)
    number_field<std::uint8_t>(out, kRet, static_cast<std::uint8_t>(e.ret));
  if (!e.envid.empty()) field(out, kEnvid, e.envid);
  if (!e.mail_auth.empty()) field(out, kMailAuth, e.mail_auth);
  if (e.declared_size != 0) number_field<std::uint64_t>(out, kDeclaredSize, e.declared_size);
  for (const auto& r : e.recipients) {
    // notify, then the address and ORCPT each with its length, as one field.
    field_header(out, kRecipient, 1 + 4 + r.address.size() + 4 + r.orcpt.size());
    put<std::uint8_t>(out, r.notify);
    put<std::uint32_t>(out, static_cast<std::uint32_t>(r.address.size()));
    out += r.address;
    put<std::uint32_t>(out, static_cast<std::uint32_t>(r.orcpt.size()));
    out += r.orcpt;
  }
}

}  // namespace

std::string encode_record_prefix(const Message& message, std::int64_t stored_at_us) {
  std::string out;
  append_record_prefix(message, stored_at_us, out);
  return out;
}

void append_record_prefix(const Message& message, std::int64_t stored_at_us, std::string& out) {
  const auto& e = message.envelope;
  const auto start = out.size();
  out.append(kHeaderSize, '\0');
  encode_envelope(e, out);
  const auto envelope_length = static_cast<std::uint32_t>(out.size() - start - kHeaderSize);
  std::uint16_t flags = 0;
  if (e.eight_bit) flags |= kFlagEightBit;
  if (e.long_lines) flags |= kFlagLongLines;
  if (e.chunked) flags |= kFlagChunked;
  char* h = out.data() + start;
  std::memcpy(h, kMagic.data(), 4);
  std::memcpy(h + 4, &kVersion, 2);
  std::memcpy(h + 6, &flags, 2);
  const std::uint32_t header_size = kHeaderSize;
  std::memcpy(h + 8, &header_size, 4);
  std::memcpy(h + 12, &envelope_length, 4);
  const std::uint64_t message_length = message.content.size();
  std::memcpy(h + 16, &message_length, 8);
  const auto id = e.queue_id.view();
  h[28] = static_cast<char>(id.size());
  id.copy(h + 29, id.size());
  std::memcpy(h + 56, &e.received_at_us, 8);
  std::memcpy(h + 64, &stored_at_us, 8);
  // CRC32C of the whole record with the CRC field zero (it is zero here).
  auto crc = crc32c(0, h, out.size() - start);
  crc = crc32c(crc, message.content.data(), message.content.size());
  std::memcpy(h + 24, &crc, 4);
}

std::optional<std::uint64_t> record_length_in(std::string_view header) {
  if (header.size() < kHeaderSize) return std::nullopt;
  return record_length(get<std::uint32_t>(header.data() + 12),
                       get<std::uint64_t>(header.data() + 16));
}

ParseResult parse_record_unchecked(std::string_view segment, std::size_t offset) {
  ParseResult result;
  while (offset < segment.size() && segment[offset] == '\0') {  // padding
    const auto resume = static_cast<std::size_t>(after_padding(offset, segment.size()));
    if (segment.find_first_not_of('\0', offset) < resume) {
      // Padding to the end with data after it: a batch written past one still unwritten.
      result.status = offset % kBatchAlignment == 0 ? ParseStatus::truncated : ParseStatus::corrupt;
      return result;
    }
    offset = resume;
  }
  result.start = offset;
  if (offset >= segment.size()) return result;  // end
  const auto rest = segment.substr(offset);
  result.status = ParseStatus::truncated;
  if (rest.size() < kHeaderSize) return result;
  const char* h = rest.data();
  result.status = ParseStatus::corrupt;
  if (rest.substr(0, 4) != kMagic || get<std::uint16_t>(h + 4) != kVersion ||
      get<std::uint32_t>(h + 8) != kHeaderSize || static_cast<unsigned char>(h[28]) > 23)
    return result;
  auto& header = result.record.header;
  header.flags = get<std::uint16_t>(h + 6);
  header.envelope_length = get<std::uint32_t>(h + 12);
  header.message_length = get<std::uint64_t>(h + 16);
  header.crc = get<std::uint32_t>(h + 24);
  header.queue_id = QueueId({h + 29, static_cast<unsigned char>(h[28])});
  header.received_at_us = get<std::int64_t>(h + 56);
  header.stored_at_us = get<std::int64_t>(h + 64);
  const auto length = record_length(header.envelope_length, header.message_length);
  if (!length) return result;  // corrupt
  if (*length > rest.size()) {
    result.status = ParseStatus::truncated;
    return result;
  }
  result.status = ParseStatus::ok;
  result.record.envelope = rest.substr(kHeaderSize, header.envelope_length);
  result.record.message = rest.substr(kHeaderSize + header.envelope_length,
                                      static_cast<std::size_t>(header.message_length));
  result.next = offset + static_cast<std::size_t>(*length);
  return result;
}

bool record_crc_matches(std::string_view segment, const ParseResult& parsed) {
  const char* h = segment.data() + parsed.start;
  char zeroed[kHeaderSize];
  std::memcpy(zeroed, h, kHeaderSize);
  std::memset(zeroed + 24, 0, 4);
  auto crc = crc32c(0, zeroed, kHeaderSize);
  crc = crc32c(crc, h + kHeaderSize, parsed.next - parsed.start - kHeaderSize);
  return crc == parsed.record.header.crc;
}

ParseResult parse_record(std::string_view segment, std::size_t offset) {
  auto result = parse_record_unchecked(segment, offset);
  if (result.status == ParseStatus::ok && !record_crc_matches(segment, result)) {
    result.status = ParseStatus::corrupt;
    result.record.envelope = result.record.message = {};
    result.next = 0;
  }
  return result;
}

std::optional<RecipientView> parse_recipient(std::string_view value) {
  if (value.size() < 9) return std::nullopt;
  RecipientView r;
  r.notify = static_cast<std::uint8_t>(value[0]);
  const auto address_length = get<std::uint32_t>(value.data() + 1);
  if (value.size() < 9 + std::size_t{address_length}) return std::nullopt;
  r.address = value.substr(5, address_length);
  const auto orcpt_length = get<std::uint32_t>(value.data() + 5 + address_length);
  if (value.size() != 9 + std::size_t{address_length} + orcpt_length) return std::nullopt;
  r.orcpt = value.substr(9 + address_length, orcpt_length);
  return r;
}

std::optional<Envelope> decode_envelope(const RecordView& record) {
  Envelope e;
  e.queue_id = record.header.queue_id;
  e.received_at_us = record.header.received_at_us;
  e.eight_bit = record.header.flags & kFlagEightBit;
  e.long_lines = record.header.flags & kFlagLongLines;
  e.chunked = record.header.flags & kFlagChunked;
  bool recipients_ok = true;
  const bool fields_ok =
      for_each_envelope_field(record.envelope, [&](std::uint16_t tag, std::string_view value) {
        const auto u8 = [&] { return value.empty() ? 0 : static_cast<std::uint8_t>(value[0]); };
        switch (tag) {
          case kClientAddress:
            e.client_address = value;
            break;
          case kClientPort:
            if (value.size() == 2) e.client_port = get<std::uint16_t>(value.data());
            break;
          case kListener:
            e.listener = value;
            break;
          case kRole:
            e.role = static_cast<ListenerRole>(u8());
            break;
          case kProxyPeer:
            e.proxy.peer = value;
            break;
          case kProxyAuthority:
            e.proxy.authority = value;
            break;
          case kProxyTlsVersion:
            e.proxy.tls_version = value;
            break;
          case kProxyTlsCipher:
            e.proxy.tls_cipher = value;
            break;
          case kProxyVia:
            e.proxy.via = value;
            break;
          case kClientName:
            e.proxy.client_name = value;
            break;
          case kHelo:
            e.helo = value;
            break;
          case kEsmtp:
            e.esmtp = u8();
            break;
          case kTlsVersion:
            e.tls.version = value;
            break;
          case kTlsCipher:
            e.tls.cipher = value;
            break;
          case kTlsServerName:
            e.tls.sni = value;
            break;
          case kAuthIdentity:
            e.auth_identity = value;
            break;
          case kMailFrom:
            e.mail_from = value;
            break;
          case kBody:
            e.body = static_cast<parser::Body>(u8());
            break;
          case kSmtputf8:
            e.smtputf8 = u8();
            break;
          case kRequiretls:
            e.requiretls = u8();
            break;
          case kRet:
            e.ret = static_cast<parser::Ret>(u8());
            break;
          case kEnvid:
            e.envid = value;
            break;
          case kMailAuth:
            e.mail_auth = value;
            break;
          case kDeclaredSize:
            if (value.size() == 8) e.declared_size = get<std::uint64_t>(value.data());
            break;
          case kRecipient: {
            const auto r = parse_recipient(value);
            if (!r) {
              recipients_ok = false;
              break;
            }
            e.recipients.push_back({std::string(r->address), r->notify, std::string(r->orcpt)});
            break;
          }
          default:
            break;  // a newer writer's field
        }
      });
  if (!fields_ok || !recipients_ok) return std::nullopt;
  return e;
}

}  // namespace mxring::engine::spool
