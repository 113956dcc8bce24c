// Metric names follow Prometheus's conventions: mxring_ prefix, _total for counters,
// base units (seconds), histograms as cumulative _bucket{le=...}, _sum and _count.
#include "server_metrics.h"

#include <cstdio>

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
  void sample(const std::string& name, double value) {
    char number[64];
    std::snprintf(number, sizeof number, "%.9g", value);
    text_ += name + ' ' + number + '\n';
  }
  // Log2 microsecond histograms (one per reactor or writer), summed, in seconds.
  void seconds_histogram(const std::string& name, const std::vector<const Log2Histogram*>& parts) {
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
      sample(name + "_bucket{le=\"" + le + "\"}", cumulative);
    }
    cumulative += sum_over(31);
    sample(name + "_bucket{le=\"+Inf\"}", cumulative);
    sample(name + "_count", cumulative);
    sample(name + "_sum", static_cast<double>(sum_us) / 1e6);
  }
  std::string take() { return std::move(text_); }

 private:
  std::string text_;
};

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
           "Connections closed at accept, by reason.");
  p.sample("mxring_connections_refused_total{reason=\"limit\"}",
           total(&ReactorMetrics::refused_limit));
  p.sample("mxring_connections_refused_total{reason=\"untrusted_proxy\"}",
           total(&ReactorMetrics::refused_untrusted_proxy));
  p.family("mxring_connections_open", "gauge", "Connections open now.");
  p.sample("mxring_connections_open", total(&ReactorMetrics::open));
  p.family("mxring_messages_total", "counter",
           "Messages at the end of their data, by what the server answered.");
  p.sample("mxring_messages_total{result=\"stored\"}", total(&ReactorMetrics::messages_stored));
  p.sample("mxring_messages_total{result=\"storage_failed\"}",
           total(&ReactorMetrics::messages_failed));
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
  p.family("mxring_storage_syncs_total", "counter", "fdatasync calls (group commits).");
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
  p.family("mxring_storage_sync_seconds", "histogram", "fdatasync latency.");
  std::vector<const Log2Histogram*> sync_latency;
  for (const auto* w : writers_) sync_latency.push_back(&w->sync_latency);
  p.seconds_histogram("mxring_storage_sync_seconds", sync_latency);
  return p.take();
}

bool ServerMetrics::ready(bool draining) const {
  if (draining) return false;
  for (const auto* w : writers_)
    if (!w->healthy.load(std::memory_order_relaxed)) return false;
  return true;
}

}  // namespace mxring::engine
