#include "message_source.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "common/smtp_text.h"
#include "mxring/engine/file_text.h"
#include "mxring/engine/spool_reader.h"
#include "mxring/parser/content_checker.h"

namespace mxring::tools::bench {
namespace {

std::string with_crlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 40);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out += '\r';
    out += text[i];
  }
  if (!out.ends_with("\r\n")) out += "\r\n";
  return out;
}

// A plain message of exactly `size` octets: a few header fields, then 78-octet lines.
std::string generate(std::size_t size) {
  std::string m =
      "From: bench <bench@client.test>\r\nTo: rcpt@localhost\r\nSubject: mxring bench\r\n"
      "Message-ID: <bench@client.test>\r\n\r\n";
  static constexpr std::string_view kLine =
      "The quick brown fox jumps over the lazy dog, then keeps on running all day.\r\n";
  while (m.size() + kLine.size() <= size) m += kLine;
  if (m.size() + 2 < size) m += std::string(size - m.size() - 2, 'x') + "\r\n";
  return m;
}

}  // namespace

std::optional<std::vector<std::pair<std::size_t, double>>> parse_sizes(const std::string& spec,
                                                                       std::string& error) {
  std::vector<std::pair<std::size_t, double>> sizes;
  std::stringstream items(spec);
  std::string item;
  while (std::getline(items, item, ',')) {
    double weight = 1;
    if (const auto colon = item.find(':'); colon != std::string::npos) {
      try {
        weight = std::stod(item.substr(colon + 1));
      } catch (const std::exception&) {
        weight = -1;
      }
      item.resize(colon);
    }
    std::size_t multiplier = 1;
    if (!item.empty() && (item.back() == 'k' || item.back() == 'K')) multiplier = 1024;
    if (!item.empty() && (item.back() == 'm' || item.back() == 'M')) multiplier = 1024 * 1024;
    if (multiplier != 1) item.pop_back();
    // Digits only (stoul took "-5" for 2^64 - 5), and at most kMaxMessageSize: a message is
    // generated whole in memory, and --size 99999999999 never finished generating it.
    std::size_t value = 0;
    const auto [end, failure] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (failure != std::errc() || end != item.data() + item.size() || item.empty() ||
        value > kMaxMessageSize / multiplier)
      value = 0;
    value *= multiplier;
    if (value < 200 || !(weight > 0)) {
      error = "size " + item + ": expected N[k|m] from 200 octets to 1024m, optionally " +
              ":WEIGHT > 0";
      return std::nullopt;
    }
    sizes.emplace_back(value, weight);
  }
  if (sizes.empty()) {
    error = "no size given";
    return std::nullopt;
  }
  return sizes;
}

std::optional<MessageSource> MessageSource::generated(
    const std::vector<std::pair<std::size_t, double>>& sizes) {
  MessageSource source;
  for (const auto& [size, weight] : sizes) source.add(generate(size), weight);
  source.finish();
  return source;
}

std::optional<MessageSource> MessageSource::from_path(const std::string& path, std::string& error) {
  MessageSource source;
  namespace fs = std::filesystem;
  if (path.starts_with("spool:")) {
    engine::SpoolReader reader(path.substr(6));
    reader.scan([&](const engine::SpoolRecord& record) {
      source.add(std::string(record.view.message), 1);
    });
  } else if (fs::is_directory(path)) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::recursive_directory_iterator(path))
      if (entry.is_regular_file()) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto& file : files)
      if (auto text = engine::read_file_text(file); text && !text->empty())
        source.add(with_crlf(*text), 1);
  } else if (auto text = engine::read_file_text(path)) {
    // mbox (RFC 4155): messages start at lines beginning "From "; ">From " is left as is.
    std::size_t start = text->starts_with("From ") ? text->find('\n') + 1 : std::string::npos;
    while (start != std::string::npos && start <= text->size()) {
      auto next = text->find("\nFrom ", start);
      const auto end = next == std::string::npos ? text->size() : next + 1;
      const std::string_view message(text->data() + start, end - start);
      if (!message.empty()) source.add(with_crlf(message), 1);
      start = next == std::string::npos ? std::string::npos : text->find('\n', next + 1) + 1;
    }
  } else {
    error = "cannot read " + path;
    return std::nullopt;
  }
  if (source.templates_.empty()) {
    error = "no messages in " + path;
    return std::nullopt;
  }
  source.finish();
  return source;
}

void MessageSource::add(std::string message, double weight) {
  MessageTemplate t;
  parser::ContentChecker checker;
  checker.scan(message);
  const auto flags = checker.final_flags();
  if (flags.bare_cr || flags.bare_lf || flags.nul)
    t.body = MessageTemplate::Body::binary;
  else if (flags.eight_bit)
    t.body = MessageTemplate::Body::eight_bit;
  t.stuffed = dot_stuffed(message);
  t.original = std::move(message);
  templates_.push_back(std::move(t));
  weights_.push_back(weight);
}

void MessageSource::finish() {
  constexpr std::size_t kSlots = 4096;
  double total = 0;
  for (double w : weights_) total += w;
  table_.clear();
  for (std::size_t i = 0; i < templates_.size(); ++i) {
    const auto share = std::max<std::size_t>(
        1, static_cast<std::size_t>(std::lround(weights_[i] / total * kSlots)));
    table_.insert(table_.end(), share, static_cast<std::uint32_t>(i));
  }
}

}  // namespace mxring::tools::bench
