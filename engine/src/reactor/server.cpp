// Starts one reactor per allowed CPU, hands them reloads and the shutdown request, joins them.
#include "mxring/engine/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <future>
#include <thread>

#include "connection_limiter.h"
#include "listener_socket.h"
#include "mxring/engine/log.h"
#include "mxring/engine/memory_limit.h"
#include "mxring/engine/queue_id_generator.h"
#include "rate_limiter.h"
#include "reactor.h"
#include "ring.h"
#include "storage/spool_writer.h"

namespace mxring::engine {
namespace {

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
      if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  if (cpus.empty()) cpus.push_back(-1);
  return cpus;
}

// SO_REUSEPORT would let a second server on the same port silently take half the
// connections: refuse an address someone already listens on.
std::string check_address_free(const ListenerConfig& listener) {
  std::string error;
  const int fd = bind_listener(listener, false, error);
  if (fd >= 0) close(fd);
  return error;
}

}  // namespace

struct Server::State {
  ServerConfig config;
  // Declared early, so destroyed last: messages in rings and writers still hold charges.
  std::unique_ptr<ContentBudget> content_budget;
  std::unique_ptr<ConnectionLimiter> limiter;
  std::vector<std::unique_ptr<StorageChannel>> channels;
  std::vector<std::unique_ptr<SpoolWriter>> writers;
  std::unique_ptr<StoreSpace> space;   // with fsync/none listeners
  std::unique_ptr<AuthVerifier> auth;  // stopped in wait(), while every reactor still exists
  std::unique_ptr<RateExchange> rate_exchange;  // with rate limits and several reactors
  std::vector<std::unique_ptr<Reactor>> reactors;
  ServerMetrics metrics;  // what the first reactor serves on the metrics listener
  std::vector<std::thread> threads;
  bool joined = false;
};

Server::Server(std::unique_ptr<State> state) : state_(std::move(state)) {}

Server::~Server() {
  if (!state_) return;
  shutdown();
  wait();
}

std::unique_ptr<Server> Server::start(ServerConfig config, std::string& error) {
  if (const auto missing = Ring::missing_features(); !missing.empty()) {
    error = "this kernel lacks what mxring needs: " + missing;
    return nullptr;
  }
  // Reactor 1024 would repeat reactor 0's queue ids.
  if (config.threads > kMaxReactors) {
    error = "at most " + std::to_string(kMaxReactors) + " reactors (queue ids hold 10 bits of one)";
    return nullptr;
  }
  if (config.listeners.empty()) {
    error = "no listener configured";
    return nullptr;
  }
  bool stores = false, spools = false, kafka = false;
  for (const auto& listener : config.listeners) {
    const auto durability = listener.context->config().durability;
    stores = stores || durability != Durability::discard;
    spools = spools || durability == Durability::fsync || durability == Durability::none;
    kafka = kafka || durability == Durability::kafka;
  }
  if (spools && config.spool.empty() && config.maildir.empty()) {
    error = "durability fsync/none needs a spool directory or a maildir";
    return nullptr;
  }
  if (kafka && (!config.kafka || config.kafka->brokers.empty())) {
    error = "durability kafka needs Kafka brokers (--kafka-brokers)";
    return nullptr;
  }
  for (std::size_t i = 0; i < config.listeners.size(); ++i) {
    const auto& listener = config.listeners[i];
    // Two listeners on one address would share its connections by SO_REUSEPORT hash: a
    // plaintext greeting on what a client expects to be implicit TLS, and the like.
    for (std::size_t j = 0; j < i; ++j) {
      if (config.listeners[j].address == listener.address &&
          config.listeners[j].port == listener.port) {
        error = "listener " + listener.address + ":" + std::to_string(listener.port) +
                " is given twice";
        return nullptr;
      }
    }
    if (listener.port == 0) {
      error = "listener " + listener.address + " needs a port";
      return nullptr;
    }
    if (listener.role == ListenerRole::smtps && !config.tls) {
      error = "listener " + listener.address + ":" + std::to_string(listener.port) +
              " is smtps (implicit TLS) but no certificate is configured";
      return nullptr;
    }
    if (listener.inherited_fd >= 0) {  // ours already: the service manager bound it
      set_listener_options(listener.inherited_fd);
      continue;
    }
    if (error = check_address_free(listener); !error.empty()) return nullptr;
  }
  if (config.metrics_inherited_fd >= 0) {
    set_listener_options(config.metrics_inherited_fd);
  } else if (config.metrics_port != 0) {
    error = check_address_free(
        {config.metrics_address, config.metrics_port, ListenerRole::smtp, nullptr, false});
    if (!error.empty()) return nullptr;
  }
  auto state = std::make_unique<State>();
  state->config = std::move(config);
  auto& cfg = state->config;
  state->limiter =
      std::make_unique<ConnectionLimiter>(cfg.max_connections, cfg.max_connections_per_client);
  const auto cpus = allowed_cpus();
  // By default one reactor per CPU; never so many that two would share queue ids.
  const unsigned count =
      cfg.threads > 0 ? cfg.threads : std::min(static_cast<unsigned>(cpus.size()), kMaxReactors);
  RuntimeConfig runtime;
  for (const auto& listener : cfg.listeners) runtime.contexts.push_back(listener.context);
  runtime.tls = cfg.tls;
  runtime.credentials = cfg.credentials;
  runtime.rate_limits = cfg.rate_limits;
  AuthLimits auth_limits;
  auth_limits.max_failures = cfg.auth_max_failures;
  auth_limits.max_failures_per_network = cfg.auth_max_failures_per_network;
  auth_limits.window_seconds = cfg.auth_failure_window.count();
  State* raw_state = state.get();
  state->auth = std::make_unique<AuthVerifier>(auth_limits, [raw_state](unsigned r, AuthAnswer a) {
    raw_state->reactors[r]->post_auth_answer(a);
  });
  // One ticket key for every reactor and for the process's life (reloads keep it).
  auto tickets = std::make_shared<const tls::TicketKeys>();

  // Storage first: recovery must finish before anything is acknowledged.
  if (stores) {
    const unsigned writers = std::min(cfg.writers > 0 ? cfg.writers : count, count);
    for (unsigned i = 0; i < count; ++i)
      state->channels.push_back(std::make_unique<StorageChannel>(cfg.storage_ring));
    for (unsigned w = 0; w < writers; ++w) {
      std::vector<StorageChannel*> served;
      for (unsigned r = w; r < count; r += writers) served.push_back(state->channels[r].get());
      SpoolWriterOptions options;
      if (spools) options.directory = cfg.spool + "/" + std::to_string(w);
      if (kafka) options.kafka = cfg.kafka;
      options.segment_size = cfg.segment_size;
      options.segment_age_s = cfg.segment_age.count();
      options.retention_s = cfg.retention.count();
      options.stall_file = cfg.fault_writer_stall_file;
      options.maildir = cfg.maildir;
      options.preallocate = cfg.preallocate_segments;
      options.direct_io = cfg.direct_io;
      options.syncs_in_flight = cfg.syncs_in_flight;
      options.index = w;
      auto writer = std::make_unique<SpoolWriter>(std::move(options), std::move(served));
      if (error = writer->open(); !error.empty()) return nullptr;
      writer->start();
      state->writers.push_back(std::move(writer));
    }
  }

  // The largest message any listener takes, and the content memory one such may need.
  std::uint64_t largest_message = 0, largest_needed = 0;
  for (const auto& listener : cfg.listeners) {
    const auto& limits = listener.context->limits();
    largest_message = std::max<std::uint64_t>(largest_message, limits.max_message_size);
    largest_needed = std::max(largest_needed, content_memory_needed(limits));
  }
  if (spools) {
    const auto floor = cfg.min_free_space.value_or(largest_message + largest_message / 2);
    // The writers have made the directories by now.
    state->space = StoreSpace::open(cfg.maildir.empty() ? cfg.spool : cfg.maildir, floor,
                                    cfg.min_free_inodes, error);
    if (!state->space) return nullptr;
    state->metrics.set_store_space(state->space.get());
  }

  // One budget for every reactor: split between them, a reactor's share could be smaller
  // than one message of --max-message-size (many cores, little memory), which would then be
  // answered 452 at its end every time it is retried. By default a quarter of the memory
  // mxringd may use, and never less than one largest message needs.
  state->content_budget = std::make_unique<ContentBudget>(
      cfg.max_content_memory != 0 ? cfg.max_content_memory
                                  : std::max(usable_memory() / 4, largest_needed));

  // Rings between every pair of reactors: made only when limits are on (a reload may turn
  // them on later), as they take memory in the square of the reactors.
  if (count > 1 && cfg.rate_limits.any())
    state->rate_exchange = std::make_unique<RateExchange>(count);
  // Every reactor exists, and the metrics page knows them all, before any thread starts.
  for (unsigned i = 0; i < count; ++i) {
    state->reactors.push_back(std::make_unique<Reactor>(
        i, cpus[i % cpus.size()], cfg, *state->limiter, runtime, tickets,
        stores ? state->channels[i].get() : nullptr, state->auth.get(), state->content_budget.get(),
        state->space.get(), state->rate_exchange.get(), i == 0 ? &state->metrics : nullptr));
    state->metrics.add_reactor(&state->reactors.back()->metrics());
  }
  for (const auto& writer : state->writers) state->metrics.add_writer(&writer->stats());
  state->metrics.set_content_budget(state->content_budget.get());
  std::vector<std::future<std::string>> ready;
  for (auto& owned : state->reactors) {
    auto promise = std::make_shared<std::promise<std::string>>();
    ready.push_back(promise->get_future());
    Reactor* reactor = owned.get();
    state->threads.emplace_back(
        [reactor, promise] { reactor->run([&](const std::string& e) { promise->set_value(e); }); });
  }
  std::string first_error;
  for (auto& f : ready)
    if (auto e = f.get(); !e.empty() && first_error.empty()) first_error = e;
  auto server = std::unique_ptr<Server>(new Server(std::move(state)));
  if (!first_error.empty()) {
    error = first_error;
    return nullptr;  // the destructor stops the reactors that did start
  }
  return server;
}

std::uint64_t Server::slowest_reactor_turns() const {
  std::uint64_t slowest = UINT64_MAX;
  for (const auto& reactor : state_->reactors)
    slowest = std::min(slowest, reactor->metrics().loop_turns.get());
  return state_->reactors.empty() ? 0 : slowest;
}

bool Server::reload(RuntimeConfig runtime, std::string& error) {
  const auto& listeners = state_->config.listeners;
  if (runtime.contexts.size() != listeners.size()) {
    error = "a reload cannot add or remove listeners";
    return false;
  }
  for (std::size_t i = 0; i < listeners.size(); ++i) {
    const auto& started = listeners[i].context->config();
    const auto& fresh = runtime.contexts[i]->config();
    // A discard listener has no writer to sync for it; a stored one would lose what a
    // discard 250 promised nobody would keep.
    if (fresh.role != started.role || fresh.durability != started.durability) {
      error = "a reload cannot change a listener's role or durability";
      return false;
    }
    // As at start: an smtps listener without a certificate could only close every
    // connection it takes (RFC 8314 §3.3: TLS comes first).
    if (listeners[i].role == ListenerRole::smtps && !runtime.tls) {
      error = "a reload cannot leave smtps listener " + listeners[i].address + ":" +
              std::to_string(listeners[i].port) + " without a certificate";
      return false;
    }
    // The content budget is sized at start: a message of larger limits would find no room
    // in it on any retry.
    const auto needed = content_memory_needed(fresh.limits);
    if (needed > state_->content_budget->limit()) {
      error =
          "a reload cannot raise --max-message-size or --max-recipients past what the "
          "content memory holds (" +
          std::to_string(needed) + " octets needed, " +
          std::to_string(state_->content_budget->limit()) +
          " held; restart to resize it with --max-content-memory)";
      return false;
    }
  }
  auto& exchange = state_->rate_exchange;
  if (!exchange && runtime.rate_limits.any() && state_->reactors.size() > 1)
    exchange = std::make_unique<RateExchange>(static_cast<unsigned>(state_->reactors.size()));
  for (auto& reactor : state_->reactors) reactor->request_reload(runtime, exchange.get());
  return true;
}

void Server::serve() {
  for (auto& reactor : state_->reactors) reactor->request_serve();
}

void Server::shutdown() {
  state_->limiter->close();  // first: a reactor yet to hear of it turns newcomers away too
  for (auto& reactor : state_->reactors) reactor->request_shutdown();
}

void Server::wait() {
  if (state_->joined) return;
  for (auto& thread : state_->threads)
    if (thread.joinable()) thread.join();
  state_->auth.reset();  // no answer is delivered after this
  // The reactors have waited for every answer they expected; the writers' rings are empty.
  for (std::size_t w = 0; w < state_->writers.size(); ++w) {
    auto& writer = *state_->writers[w];
    writer.stop();
    const auto& stats = writer.stats();
    std::string sizes;
    for (const auto& bucket : stats.batch_histogram)
      sizes += (sizes.empty() ? "" : ",") + std::to_string(bucket.load());
    log(Level::info, "writer stopped: writer=" + std::to_string(w) +
                         " records=" + std::to_string(stats.records.load()) +
                         " batches=" + std::to_string(stats.batches.load()) +
                         " syncs=" + std::to_string(stats.syncs.load()) +
                         " failures=" + std::to_string(stats.failures.load()) +
                         " batch_sizes[1,2-3,4-7,...,128+]=" + sizes);
  }
  state_->joined = true;
}

std::uint32_t Server::open_connections() const {
  return state_->limiter->total();
}

}  // namespace mxring::engine
