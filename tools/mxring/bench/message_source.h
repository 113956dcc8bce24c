// The messages `mxring bench` sends: generated to a size (fixed or a weighted mix), or real
// ones read from a directory (a file each), an mbox, or an mxring spool. Each is prepared
// once: CRLF line ends, dot-stuffed for DATA (RFC 5321 §4.5.2), and kept unstuffed too for
// BDAT and for the SHA-256 of the ack log. A real message may hold what DATA cannot carry (a
// bare CR or LF, a NUL: a binary MIME part as stored from BDAT BODY=BINARYMIME); it is marked
// so, and sent only as BDAT with BODY=BINARYMIME (RFC 3030 §3).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mxring::tools::bench {

struct MessageTemplate {
  std::string original;  // the octets the server will store (after mxring's Received field)
  std::string stuffed;   // `original` dot-stuffed, ending in CRLF, without the final "."
  enum class Body { seven_bit, eight_bit, binary } body = Body::seven_bit;
  // BODY= for MAIL (RFC 6152, RFC 3030 §3); nothing for 7-bit text.
  std::string_view body_parameter() const {
    return body == Body::binary      ? " BODY=BINARYMIME"
           : body == Body::eight_bit ? " BODY=8BITMIME"
                                     : "";
  }
};

// The largest message mxring bench generates (1 GiB); servers refuse far smaller ones.
inline constexpr std::size_t kMaxMessageSize = std::size_t{1} << 30;

// "1024", "10k", "1m", "1k,10k,100k" (equal shares) or "1k:8,100k:2" (weights).
std::optional<std::vector<std::pair<std::size_t, double>>> parse_sizes(const std::string& spec,
                                                                       std::string& error);

class MessageSource {
 public:
  static std::optional<MessageSource> generated(
      const std::vector<std::pair<std::size_t, double>>& sizes);
  // A directory, an mbox file, or "spool:DIR". Empty sources are an error.
  static std::optional<MessageSource> from_path(const std::string& path, std::string& error);

  // The template for message number `n`: a deterministic draw by weight.
  const MessageTemplate& pick(std::uint64_t n) const {
    return templates_[table_[(n * 0x9E3779B97F4A7C15ull >> 40) % table_.size()]];
  }
  std::size_t count() const { return templates_.size(); }

 private:
  void add(std::string message, double weight);
  void finish();

  std::vector<MessageTemplate> templates_;
  std::vector<double> weights_;
  std::vector<std::uint32_t> table_;  // 4,096 slots shared out by weight
};

}  // namespace mxring::tools::bench
