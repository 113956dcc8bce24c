// The metrics page (/metrics, Prometheus text exposition format 0.0.4) and readiness
// (/readyz) of a whole server, read by the reactor that serves HTTP. Counters live with
// their owners (reactors, storage writers) and are summed here, at scrape time.
#pragma once

#include <string>
#include <vector>

#include "mxring/engine/content_budget.h"
#include "reactor_metrics.h"
#include "storage/spool_writer.h"
#include "storage/store_space.h"

namespace mxring::engine {

class ServerMetrics {
 public:
  // Filled before any reactor thread starts; read-only afterwards.
  void add_reactor(const ReactorMetrics* reactor) { reactors_.push_back(reactor); }
  void add_writer(const WriterStats* writer) { writers_.push_back(writer); }
  void set_content_budget(const ContentBudget* budget) { budget_ = budget; }
  void set_store_space(const StoreSpace* space) { space_ = space; }

  std::string page() const;
  // Accepting and storage healthy: no writer's last batch failed, and the store's file
  // system is above its free-space floor.
  bool ready(bool draining) const;

 private:
  std::vector<const ReactorMetrics*> reactors_;
  std::vector<const WriterStats*> writers_;
  const ContentBudget* budget_ = nullptr;
  const StoreSpace* space_ = nullptr;
};

}  // namespace mxring::engine
