// Metric names follow Prometheus's conventions: mxring_ prefix, _total for counters,
// base units (seconds), histograms as cumulative _bucket{le=...}, _sum and _count.
#include "server_metrics.h"

#include <algorithm>
#include <cstdio>

#include "mxring/engine/log.h"

namespace mxring::engine {
namespace {

class Page {
 public:
  void family(const char* name, const char* type, const char* help) {
    text_ += "# HELP ";
    text_ += name;
    text_ += ' ';
    text_ += help;
    text_ += "\n# TYPE ";
    text_ += name;
    text_ += ' ';
    text_ += type;
    text_ += '\n';
  }
  void sample(const std::string& name, std::uint64_t value) {
    text_ += name + ' ' + std::to_string(value) + '\n';
  }
  // A gauge of one series, without labels.
  void gauge(const char* name, const char* help, std::uint64_t value) {
    family(name, "gauge", help);
    sample(name, value);
  }
  void sample(const std::string& name, double value) {
    char number[64];
    std::snprintf(number, sizeof number, "%.9g", value);
    text_ += name + ' ' + number + '\n';
  }
  // Log2 microsecond histograms (one per reactor or writer), summed, in seconds.
  void seconds_histogram(const std::string& name, const std::vector<const Log2Histogram*>& parts,
                         const std::string& labels = {}) {
    const auto with = [&](const std::string& suffix, const std::string& le) {
      std::string series = name + suffix;
      if (labels.empty() && le.empty()) return series;
      series += '{';
      series += labels;
      if (!labels.empty() && !le.empty()) series += ',';
      if (!le.empty()) series += "le=\"" + le + "\"";
      return series + '}';
    };
    const auto sum_over = [&](std::size_t b) {
      std::uint64_t n = 0;
      for (const auto* h : parts) n += h->buckets[b].get();
      return n;
    };
    std::uint64_t cumulative = 0, sum_us = 0;
    for (const auto* h : parts) sum_us += h->sum_us.get();
    for (std::size_t b = 0; b + 1 < 32; ++b) {
      cumulative += sum_over(b);
      char le[32];
      std::snprintf(le, sizeof le, "%.6g", static_cast<double>(std::uint64_t{1} << b) / 1e6);
      sample(with("_bucket", le), cumulative);
    }
    cumulative += sum_over(31);
    sample(with("_bucket", "+Inf"), cumulative);
    sample(with("_count", ""), cumulative);
    sample(with("_sum", ""), static_cast<double>(sum_us) / 1e6);
  }
  std::string take() { return std::move(text_); }

 private:
  std::string text_;
};

constexpr std::string_view reply_to_label(ReplyTo to) {
  constexpr std::string_view kLabels[] = {
      "greeting",       "HELO", "EHLO",    "MAIL",    "RCPT",      "DATA", "BDAT",
      "end_of_message", "RSET", "NOOP",    "QUIT",    "VRFY",      "EXPN", "HELP",
      "STARTTLS",       "AUTH", "XCLIENT", "unknown", "connection"};
  static_assert(std::size(kLabels) == kReplyToCount);
  return kLabels[static_cast<std::size_t>(to)];
}

constexpr std::string_view kPhaseLabels[kReplyPhaseCount] = {"banner_to_ehlo", "mail", "rcpt",
                                                             "data", "end_of_data"};

// Prometheus label values are quoted strings: backslash, quote and newline escaped.
std::string label_value(std::string_view value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

std::string ServerMetrics::page() const {
  Page p;
  const auto total = [&](auto member) {
    std::uint64_t sum = 0;
    for (const auto* r : reactors_) sum += (r->*member).get();
    return sum;
  };
  p.family("mxring_connections_accepted_total", "counter", "Connections accepted.");
  p.sample("mxring_connections_accepted_total", total(&ReactorMetrics::accepted));
  p.family("mxring_connections_refused_total", "counter",
           "Connections refused, by reason: closed at accept (limit, untrusted_proxy, rate), "
           "or greeted with 554 by the client access table (client_access).");
  p.sample("mxring_connections_refused_total{reason=\"limit\"}",
           total(&ReactorMetrics::refused_limit));
  p.sample("mxring_connections_refused_total{reason=\"untrusted_proxy\"}",
           total(&ReactorMetrics::refused_untrusted_proxy));
  p.sample("mxring_connections_refused_total{reason=\"rate\"}",
           total(&ReactorMetrics::refused_rate));
  p.sample("mxring_connections_refused_total{reason=\"client_access\"}",
           total(&ReactorMetrics::refused_access));
  p.gauge("mxring_connections_open", "Connections open now.", total(&ReactorMetrics::open));
  p.family("mxring_replies_delayed_total", "counter",
           "Replies held back --error-sleep seconds each, made after a client's errors passed "
           "--soft-error-limit.");
  p.sample("mxring_replies_delayed_total", total(&ReactorMetrics::replies_delayed));
  p.family("mxring_messages_total", "counter",
           "Messages at the end of their data, by what the server answered.");
  p.sample("mxring_messages_total{result=\"stored\"}", total(&ReactorMetrics::messages_stored));
  p.sample("mxring_messages_total{result=\"storage_failed\"}",
           total(&ReactorMetrics::messages_failed));
  p.family("mxring_messages_stored_total", "counter",
           "Messages acknowledged with 250, by the durability the 250 promised.");
  for (std::size_t d = 0; d < std::tuple_size_v<decltype(ReactorMetrics::stored_by_durability)>;
       ++d) {
    std::uint64_t n = 0;
    for (const auto* r : reactors_) n += r->stored_by_durability[d].get();
    p.sample("mxring_messages_stored_total{durability=\"" +
                 std::string(durability_name(static_cast<Durability>(d))) + "\"}",
             n);
  }
  // Replies by command and code; series appear once a code has been sent.
  const auto reply_count = [&](ReplyTo to, std::size_t slot) {
    std::uint64_t n = 0;
    for (const auto* r : reactors_) n += r->replies[static_cast<std::size_t>(to)][slot].get();
    return n;
  };
  const auto code_label = [](std::size_t slot) {
    return slot == 0 ? std::string("other") : std::to_string(kReplyCodes[slot]);
  };
  // Each family's samples together (the exposition format wants them grouped).
  const auto replies_of = [&](ReplyTo what, const std::string& name, bool with_command) {
    for (std::size_t slot = 0; slot < kReplyCodes.size(); ++slot) {
      const auto n = reply_count(what, slot);
      if (n == 0) continue;
      std::string labels =
          with_command ? "command=\"" + std::string(reply_to_label(what)) + "\"," : "";
      p.sample(name + "{" + labels + "code=\"" + code_label(slot) + "\"}", n);
    }
  };
  p.family("mxring_transactions_total", "counter",
           "Transactions that reached the end of their data, by the code of the final reply.");
  replies_of(ReplyTo::end_of_message, "mxring_transactions_total", false);
  p.family("mxring_recipients_total", "counter", "RCPT commands, by reply code.");
  replies_of(ReplyTo::rcpt, "mxring_recipients_total", false);
  p.family("mxring_replies_total", "counter",
           "Replies to the other commands (and the greeting and connection-level 421s), by "
           "command and code.");
  for (std::size_t to = 0; to < kReplyToCount; ++to) {
    const auto what = static_cast<ReplyTo>(to);
    if (what != ReplyTo::end_of_message && what != ReplyTo::rcpt)
      replies_of(what, "mxring_replies_total", true);
  }
  p.family("mxring_rate_limited_total", "counter",
           "Commands refused by the per-client rate limits (450 4.7.1), by command.");
  p.sample("mxring_rate_limited_total{command=\"MAIL\"}",
           total(&ReactorMetrics::rate_limited_messages));
  p.sample("mxring_rate_limited_total{command=\"RCPT\"}",
           total(&ReactorMetrics::rate_limited_recipients));
  p.family("mxring_rate_limit_untracked_total", "counter",
           "Rate-limited events of clients the limiter's full tables could not hold: counted "
           "against no limit.");
  p.sample("mxring_rate_limit_untracked_total", total(&ReactorMetrics::rate_limit_untracked));
  p.family("mxring_received_bytes_total", "counter",
           "Octets received from SMTP clients (TLS connections: as sent, encrypted).");
  p.sample("mxring_received_bytes_total", total(&ReactorMetrics::bytes_received));
  p.gauge("mxring_storage_in_flight",
          "Messages handed to storage writers and not yet answered (ring occupancy).",
          total(&ReactorMetrics::storage_in_flight));
  const auto content_held = budget_ != nullptr ? budget_->held() : 0;
  const auto content_limit = budget_ != nullptr ? budget_->limit() : 0;
  p.gauge("mxring_content_memory_bytes",
          "Octets of message content held in memory (contents over 64 KiB; "
          "--max-content-memory).",
          content_held);
  p.gauge("mxring_content_memory_limit_bytes",
          "What mxring_content_memory_bytes may reach; past it a message gets 452 4.3.1.",
          content_limit);
  if (space_ != nullptr) {
    p.gauge("mxring_store_free_bytes",
            "Free octets on the spool's (or maildir's) file system, sampled once a second.",
            space_->free_bytes());
    p.gauge("mxring_store_min_free_bytes",
            "--min-free-space: below it, MAIL is answered 452 4.3.1.", space_->floor());
    if (space_->counts_inodes()) {
      p.gauge("mxring_store_free_inodes",
              "Free inodes on the same file system (absent where it does not count them).",
              space_->free_inodes());
    }
    p.gauge("mxring_store_min_free_inodes",
            "--min-free-inodes: below it, MAIL is answered 452 4.3.1.", space_->inode_floor());
  }
  p.family("mxring_phase_seconds", "histogram",
           "From the receive that completed a command to the send of its answer, by phase; "
           "banner_to_ehlo from the connection's start to the first HELO/EHLO answer.");
  for (std::size_t phase = 0; phase < kReplyPhaseCount; ++phase) {
    std::vector<const Log2Histogram*> parts;
    for (const auto* r : reactors_) parts.push_back(&r->phase_latency[phase]);
    p.seconds_histogram("mxring_phase_seconds", parts,
                        "phase=\"" + std::string(kPhaseLabels[phase]) + "\"");
  }
  p.family("mxring_tls_sessions_total", "counter",
           "TLS handshakes completed, by protocol version and cipher.");
  {
    std::vector<std::pair<std::string, std::uint64_t>> sessions;  // label set -> count
    std::uint64_t other = 0;
    for (const auto* r : reactors_) {
      const auto used = r->tls_sessions.used();
      for (std::uint32_t i = 0; i < used; ++i) {
        const auto& slot = r->tls_sessions.slot(i);
        const auto labels = "version=\"" + label_value(slot.version) + "\",cipher=\"" +
                            label_value(slot.cipher) + "\"";
        auto found = std::find_if(sessions.begin(), sessions.end(),
                                  [&](const auto& s) { return s.first == labels; });
        if (found == sessions.end())
          sessions.emplace_back(labels, slot.count.get());
        else
          found->second += slot.count.get();
      }
      other += r->tls_sessions.other();
    }
    for (const auto& [labels, n] : sessions)
      p.sample("mxring_tls_sessions_total{" + labels + "}", n);
    if (other > 0) p.sample("mxring_tls_sessions_total{version=\"other\",cipher=\"other\"}", other);
  }
  p.family("mxring_log_lines_dropped_total", "counter",
           "Log lines dropped because the log writer could not keep up.");
  p.sample("mxring_log_lines_dropped_total", log_lines_dropped());
  p.family("mxring_receive_buffers_exhausted_total", "counter",
           "Receives that found no provided buffer (ENOBUFS) and were re-armed after a refill.");
  p.sample("mxring_receive_buffers_exhausted_total",
           total(&ReactorMetrics::receive_buffers_exhausted));
  p.family("mxring_tls_handshakes_total", "counter", "TLS handshakes, by outcome.");
  p.sample("mxring_tls_handshakes_total{result=\"completed\"}",
           total(&ReactorMetrics::tls_handshakes));
  p.sample("mxring_tls_handshakes_total{result=\"failed\"}", total(&ReactorMetrics::tls_failures));
  p.family("mxring_auth_attempts_total", "counter", "AUTH attempts, by outcome.");
  p.sample("mxring_auth_attempts_total{result=\"success\"}",
           total(&ReactorMetrics::auth_successes));
  p.sample("mxring_auth_attempts_total{result=\"failure\"}", total(&ReactorMetrics::auth_failures));
  p.family("mxring_store_latency_seconds", "histogram",
           "From the end of a message's data to the storage answer (the wait for the 250).");
  std::vector<const Log2Histogram*> store_latency;
  for (const auto* r : reactors_) store_latency.push_back(&r->store_latency);
  p.seconds_histogram("mxring_store_latency_seconds", store_latency);

  const auto writers = [&](auto member) {
    std::uint64_t sum = 0;
    for (const auto* w : writers_) sum += (w->*member).load(std::memory_order_relaxed);
    return sum;
  };
  p.family("mxring_storage_records_total", "counter", "Records storage writers completed.");
  p.sample("mxring_storage_records_total", writers(&WriterStats::records));
  p.family("mxring_storage_failures_total", "counter", "Storage batches that failed.");
  p.sample("mxring_storage_failures_total", writers(&WriterStats::failures));
  p.family("mxring_storage_syncs_total", "counter",
           "fdatasync calls (group commits), or direct batch writes with --direct-io.");
  p.sample("mxring_storage_syncs_total", writers(&WriterStats::syncs));
  p.family("mxring_storage_batch_records", "histogram", "Records per storage batch.");
  std::uint64_t cumulative = 0;
  constexpr const char* kBatchBounds[] = {"1", "3", "7", "15", "31", "63", "127"};
  for (std::size_t b = 0; b < 8; ++b) {
    for (const auto* w : writers_)
      cumulative += w->batch_histogram[b].load(std::memory_order_relaxed);
    p.sample(std::string("mxring_storage_batch_records_bucket{le=\"") +
                 (b < 7 ? kBatchBounds[b] : "+Inf") + "\"}",
             cumulative);
  }
  p.sample("mxring_storage_batch_records_count", cumulative);
  p.sample("mxring_storage_batch_records_sum", writers(&WriterStats::records_in_batches));
  p.family("mxring_storage_sync_seconds", "histogram",
           "fdatasync latency, or direct batch write latency with --direct-io.");
  std::vector<const Log2Histogram*> sync_latency;
  for (const auto* w : writers_) sync_latency.push_back(&w->sync_latency);
  p.seconds_histogram("mxring_storage_sync_seconds", sync_latency);
  return p.take();
}

bool ServerMetrics::ready(bool draining) const {
  if (draining) return false;
  for (const auto* w : writers_)
    if (!w->healthy.load(std::memory_order_relaxed)) return false;
  return space_ == nullptr || space_->room_for(0);
}

}  // namespace mxring::engine
