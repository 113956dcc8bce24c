// The spool record format: CRC32C test vectors, encode → parse → decode round trips, and the
// three ways parsing stops (end, torn tail, corruption).
#include "mxring/engine/spool_format.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "mxring/engine/crc32c.h"

namespace mxring::engine {
namespace {

TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(crc32c(0, "123456789", 9), 0xE3069283u);  // RFC 3720 appendix B.4 check value
  EXPECT_EQ(crc32c(0, "", 0), 0u);
  const std::string zeros(32, '\0');
  EXPECT_EQ(crc32c(0, zeros.data(), zeros.size()), 0x8A9136AAu);  // RFC 3720 B.4
  // Split anywhere, the running CRC is the same.
  const std::string text = "The quick brown fox jumps over the lazy dog";
  for (std::size_t cut = 0; cut <= text.size(); ++cut)
    EXPECT_EQ(crc32c(crc32c(0, text.data(), cut), text.data() + cut, text.size() - cut),
              crc32c(0, text.data(), text.size()));
}

// One bit at a time, straight from the definition (RFC 3720 §12.1, reflected): the reference
// for the three-chain hardware path, whose rounds of 3 × 4096, 1024, 256 and 64 octets and
// joining constants these lengths exercise (every one to 800, then every 61st), from several
// alignments of the start.
std::uint32_t crc32c_by_bits(std::uint32_t crc, const unsigned char* p, std::size_t n) {
  crc = ~crc;
  while (n--) {
    crc ^= *p++;
    for (int k = 0; k < 8; ++k) crc = crc & 1 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
  }
  return ~crc;
}

TEST(Crc32c, EveryLengthAndAlignmentMatchesTheDefinition) {
  std::vector<unsigned char> data(3 * 4096 + 1024 + 64 + 200);
  std::uint32_t seed = 12345;
  for (auto& octet : data) {
    seed = seed * 1103515245u + 12345u;
    octet = static_cast<unsigned char>(seed >> 16);
  }
  for (std::size_t length = 0; length + 8 <= data.size(); length += length < 800 ? 1 : 61)
    for (std::size_t start = 0; start < 8; start += length < 800 ? 3 : 7) {
      const auto* p = data.data() + start;
      ASSERT_EQ(crc32c(0x1234u, p, length), crc32c_by_bits(0x1234u, p, length))
          << length << " octets from " << start;
    }
}

Message sample_message() {
  Message m;
  auto& e = m.envelope;
  e.queue_id = QueueId("1j19pqbv6k900007");
  e.received_at_us = 1795824000123456;
  e.client_address = "2001:db8::7";
  e.client_port = 40123;
  e.listener = "[::]:25";
  e.role = ListenerRole::submission;
  e.helo = "client.example";
  e.esmtp = true;
  e.tls = {"TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256", "mx.example.org"};
  e.auth_identity = "alice";
  e.mail_from = "alice@client.example";
  e.body = parser::Body::eight_bit_mime;
  e.smtputf8 = true;
  e.ret = parser::Ret::headers;
  e.envid = "QQ314159+x";
  e.declared_size = 1234;
  e.recipients.push_back(
      {"bob@mx.example", parser::kNotifySuccess | parser::kNotifyFailure, "rfc822;bob@mx.example"});
  e.recipients.push_back({"carol@mx.example", 0, ""});
  e.eight_bit = true;
  e.chunked = true;
  m.content.append(std::string_view("Received: x\r\n\r\nbody \xc3\xa9\r\n"));
  return m;
}

std::string record_of(const Message& m) {
  return spool::encode_record_prefix(m, 1795824000999999) + std::string(m.content.view());
}

TEST(SpoolFormat, RoundTripsEveryEnvelopeField) {
  const auto m = sample_message();
  const auto bytes = record_of(m);
  const auto parsed = spool::parse_record(bytes, 0);
  ASSERT_EQ(parsed.status, spool::ParseStatus::ok);
  EXPECT_EQ(parsed.next, bytes.size());
  EXPECT_EQ(parsed.record.message, m.content.view());
  EXPECT_EQ(parsed.record.header.stored_at_us, 1795824000999999);
  const auto e = spool::decode_envelope(parsed.record);
  ASSERT_TRUE(e);
  const auto& want = m.envelope;
  EXPECT_EQ(e->queue_id, want.queue_id);
  EXPECT_EQ(e->received_at_us, want.received_at_us);
  EXPECT_EQ(e->client_address, want.client_address);
  EXPECT_EQ(e->client_port, want.client_port);
  EXPECT_EQ(e->listener, want.listener);
  EXPECT_EQ(e->role, want.role);
  EXPECT_EQ(e->helo, want.helo);
  EXPECT_TRUE(e->esmtp);
  EXPECT_EQ(e->tls.version, want.tls.version);
  EXPECT_EQ(e->tls.cipher, want.tls.cipher);
  EXPECT_EQ(e->tls.sni, want.tls.sni);
  EXPECT_EQ(e->auth_identity, "alice");
  EXPECT_EQ(e->mail_from, want.mail_from);
  EXPECT_EQ(e->body, parser::Body::eight_bit_mime);
  EXPECT_TRUE(e->smtputf8);
  EXPECT_FALSE(e->requiretls);
  EXPECT_EQ(e->ret, parser::Ret::headers);
  EXPECT_EQ(e->envid, want.envid);
  EXPECT_EQ(e->declared_size, 1234u);
  ASSERT_EQ(e->recipients.size(), 2u);
  EXPECT_EQ(e->recipients[0].address, "bob@mx.example");
  EXPECT_EQ(e->recipients[0].notify, parser::kNotifySuccess | parser::kNotifyFailure);
  EXPECT_EQ(e->recipients[0].orcpt, "rfc822;bob@mx.example");
  EXPECT_EQ(e->recipients[1].address, "carol@mx.example");
  EXPECT_TRUE(e->eight_bit);
  EXPECT_TRUE(e->chunked);
  EXPECT_FALSE(e->long_lines);
}

TEST(SpoolFormat, RecordsFollowEachOtherAndEndCleanly) {
  const auto one = record_of(sample_message());
  const auto two = one + one;
  auto p = spool::parse_record(two, 0);
  ASSERT_EQ(p.status, spool::ParseStatus::ok);
  p = spool::parse_record(two, p.next);
  ASSERT_EQ(p.status, spool::ParseStatus::ok);
  EXPECT_EQ(spool::parse_record(two, p.next).status, spool::ParseStatus::end);
}

// A direct-I/O writer's batch (SPOOL-FORMAT.md §1): starts at a multiple of 4096, zeros after.
std::string padded_batch(std::string records) {
  records.resize((records.size() + 4095) / 4096 * 4096, '\0');
  return records;
}

TEST(SpoolFormat, PaddingBetweenBatchesIsSkippedAndAZeroTailEndsTheSegment) {
  const auto one = record_of(sample_message());
  // Two batches, then the zero-filled rest of a preallocated segment.
  const auto segment = padded_batch(one) + padded_batch(one + one) + std::string(3 * 4096, '\0');
  std::vector<std::size_t> starts;
  std::size_t offset = 0;
  spool::ParseResult p;
  while ((p = spool::parse_record(segment, offset)).status == spool::ParseStatus::ok) {
    starts.push_back(p.start);
    offset = p.next;
  }
  EXPECT_EQ(p.status, spool::ParseStatus::end);
  EXPECT_EQ(starts, (std::vector<std::size_t>{0, 4096, 4096 + one.size()}));
  // A sealed segment, cut at the end of its last batch's padding, ends the same way.
  const auto sealed = padded_batch(one) + padded_batch(one);
  EXPECT_EQ(spool::parse_record(sealed, 4096 + one.size()).status, spool::ParseStatus::end);
}

TEST(SpoolFormat, PaddingThatIsNotZeroIsCorrupt) {
  const auto one = record_of(sample_message());
  auto segment = padded_batch(one) + padded_batch(one);
  segment[one.size() + 100] = 'x';
  EXPECT_EQ(spool::parse_record(segment, one.size()).status, spool::ParseStatus::corrupt);
}

// Batches in flight at once may reach the disk in any order: after a crash, a batch can lie
// beyond one never written. Neither was acknowledged; parsing stops at the hole.
TEST(SpoolFormat, ABatchBeyondAnUnwrittenOneIsATornTail) {
  const auto one = record_of(sample_message());
  const auto segment = padded_batch(one) + std::string(4096, '\0') + padded_batch(one);
  const auto first = spool::parse_record(segment, 0);
  ASSERT_EQ(first.status, spool::ParseStatus::ok);
  EXPECT_EQ(spool::parse_record(segment, first.next).status, spool::ParseStatus::truncated);
}

TEST(SpoolFormat, EveryShorterPrefixIsATornTail) {
  const auto bytes = record_of(sample_message());
  for (std::size_t n = 1; n < bytes.size(); ++n)
    ASSERT_EQ(spool::parse_record(std::string_view(bytes).substr(0, n), 0).status,
              spool::ParseStatus::truncated)
        << n;
}

TEST(SpoolFormat, AnyFlippedOctetIsCaught) {
  const auto bytes = record_of(sample_message());
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    auto damaged = bytes;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x20);
    const auto status = spool::parse_record(damaged, 0).status;
    // A damaged length may make the record look longer than the data: also refused.
    ASSERT_NE(status, spool::ParseStatus::ok) << "octet " << i;
  }
}

// A damaged header can give a message length near 2^64, so that 80 + E + M wraps around to
// fewer octets than a header. Taken at its word, the CRC would run far past the segment; it
// is corruption.
TEST(SpoolFormat, LengthsNoRecordCanHaveAreCorruptEvenWhenTheirSumWraps) {
  const auto bytes = record_of(sample_message());
  std::uint32_t envelope_length;
  std::memcpy(&envelope_length, bytes.data() + 12, 4);
  const std::uint64_t wraps_to_10 = 0 - std::uint64_t{spool::kHeaderSize} - envelope_length + 10;
  for (const std::uint64_t message_length :
       {wraps_to_10, std::uint64_t{1} << 41, ~std::uint64_t{0}, spool::kMaxRecordLength}) {
    auto damaged = bytes;
    std::memcpy(damaged.data() + 16, &message_length, 8);
    EXPECT_EQ(spool::parse_record(damaged, 0).status, spool::ParseStatus::corrupt)
        << message_length;
  }
  EXPECT_FALSE(spool::record_length(0xffffffff, spool::kMaxRecordLength - 80));
  EXPECT_EQ(spool::record_length(0xffffffff, 1), std::uint64_t{80} + 0xffffffffu + 1);
}

TEST(SpoolFormat, ReadersSkipFieldsTheyDoNotKnow) {
  auto m = sample_message();
  auto bytes = spool::encode_record_prefix(m, 0);
  // Append an unknown field (tag 999) to the envelope and fix lengths and CRC by re-encoding
  // through the public pieces: header length fields are at 12 (envelope) and 24 (CRC).
  std::string extra = {
      static_cast<char>(999 & 0xff), static_cast<char>(999 >> 8), 3, 0, 0, 0, 'x', 'y', 'z'};
  bytes += extra;
  std::uint32_t envelope_length;
  std::memcpy(&envelope_length, bytes.data() + 12, 4);
  envelope_length += static_cast<std::uint32_t>(extra.size());
  std::memcpy(bytes.data() + 12, &envelope_length, 4);
  bytes += m.content.view();
  std::memset(bytes.data() + 24, 0, 4);
  const auto crc = crc32c(0, bytes.data(), bytes.size());
  std::memcpy(bytes.data() + 24, &crc, 4);
  const auto parsed = spool::parse_record(bytes, 0);
  ASSERT_EQ(parsed.status, spool::ParseStatus::ok);
  const auto e = spool::decode_envelope(parsed.record);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->recipients.size(), 2u);
}

}  // namespace
}  // namespace mxring::engine
