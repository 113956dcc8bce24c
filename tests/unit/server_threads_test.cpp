// The whole server's threads together, in one process so ThreadSanitizer sees every one:
// two reactors, their storage writers, the metrics page summed across reactors while they
// count, SIGHUP's reload handing new configuration to running reactors, the log, and the
// drain. Built and run under TSan (label tsan) as well as in the release build.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "in_process_server.h"
#include "mxring/engine/log.h"
#include "mxring/engine/queue_id_generator.h"
#include "mxring/engine/spool_reader.h"

namespace mxring::testing {
namespace {

constexpr int kClients = 6;
constexpr int kMessagesEach = 40;

std::string temporary_directory() {
  std::string pattern = (std::filesystem::temp_directory_path() / "mxring-threads-XXXXXX");
  return mkdtemp(pattern.data()) ? pattern : std::string{};
}

// One client: a session with kMessagesEach transactions, one command at a time; returns the
// queue ids the server acknowledged.
std::vector<std::string> deliver(const InProcessServer& server, int client) {
  std::vector<std::string> ids;
  const int fd = server.connect(0);
  if (fd < 0) return ids;
  std::string buffered;
  const auto ask = [&](const std::string& command) {
    return send_all(fd, command) ? read_reply(fd, buffered) : std::string{};
  };
  if (read_reply(fd, buffered).rfind("220 ", 0) != 0 ||
      ask("EHLO client" + std::to_string(client) + ".test\r\n").rfind("250", 0) != 0) {
    close(fd);
    return ids;
  }
  for (int n = 0; n < kMessagesEach; ++n) {
    if (ask("MAIL FROM:<c" + std::to_string(client) + "@client.test>\r\n") != "250 2.1.0 Ok\r\n" ||
        ask("RCPT TO:<bob@localhost>\r\n") != "250 2.1.5 Ok\r\n" ||
        ask("DATA\r\n").rfind("354 ", 0) != 0)
      break;
    const auto reply = ask("Subject: " + std::to_string(n) + "\r\n\r\nbody\r\n.\r\n");
    constexpr std::string_view kQueued = "250 2.0.0 Ok: queued as ";
    if (reply.rfind(kQueued, 0) != 0) break;
    ids.push_back(reply.substr(kQueued.size(), reply.size() - kQueued.size() - 2));
  }
  ask("QUIT\r\n");
  close(fd);
  return ids;
}

std::string scrape(std::uint16_t port) {
  const int fd = connect_loopback(port);
  std::string page;
  if (fd >= 0 && send_all(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    read_until_close(fd, page);
  if (fd >= 0) close(fd);
  return page;
}

TEST(ServerThreadsTest, ClientsReloadsAndScrapesTogetherLoseNothing) {
  set_log_level(engine::Level::warning);
  const auto spool = temporary_directory();
  ASSERT_FALSE(spool.empty());
  InProcessOptions options;
  options.listeners.push_back({.durability = engine::Durability::fsync});
  options.spool = spool;
  options.metrics = true;
  std::string error;
  auto server = InProcessServer::start(options, error);
  ASSERT_TRUE(server) << error;

  std::atomic<bool> done{false};
  std::atomic<int> scrapes{0};
  std::thread scraper([&] {
    while (!done.load()) {
      if (scrape(server->metrics_port()).find("mxring_connections_open") != std::string::npos)
        ++scrapes;
    }
  });
  std::vector<std::vector<std::string>> acknowledged(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i)
    clients.emplace_back([&, i] { acknowledged[i] = deliver(*server, i); });
  for (int i = 0; i < 20; ++i) {
    EXPECT_TRUE(server->reload(error)) << error;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (auto& t : clients) t.join();
  done = true;
  scraper.join();

  std::set<std::string> ids;
  for (const auto& list : acknowledged) {
    EXPECT_EQ(list.size(), static_cast<std::size_t>(kMessagesEach));
    ids.insert(list.begin(), list.end());
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kClients * kMessagesEach));  // all distinct
  EXPECT_GT(scrapes.load(), 0);
  const auto page = scrape(server->metrics_port());
  EXPECT_NE(page.find("mxring_messages_stored_total{durability=\"fsync\"} " +
                      std::to_string(kClients * kMessagesEach) + "\n"),
            std::string::npos)
      << page;
  server.reset();  // drain and join every thread

  std::set<std::string> stored;
  const auto problems = engine::SpoolReader(spool).scan([&](const engine::SpoolRecord& r) {
    stored.insert(std::string(r.view.header.queue_id.view()));
  });
  EXPECT_TRUE(problems.empty());
  EXPECT_EQ(stored, ids);
  std::filesystem::remove_all(spool);
}

// Reactor 1024 would repeat reactor 0's queue ids (10 bits of an id hold the reactor).
TEST(ServerThreadsTest, MoreReactorsThanQueueIdsTellApartAreRefused) {
  engine::ServerConfig config;
  config.threads = engine::kMaxReactors + 1;
  std::string error;
  EXPECT_EQ(engine::Server::start(std::move(config), error), nullptr);
  EXPECT_EQ(error, "at most 1024 reactors (queue ids hold 10 bits of one)");
}

// A reload cannot change what a listener was started as: a discard listener has no storage
// writer, so a context asking it for fsync would answer "queued" for a message kept nowhere.
TEST(ServerThreadsTest, AReloadKeepsEveryListenersRoleAndDurability) {
  set_log_level(engine::Level::warning);
  InProcessOptions options;
  options.listeners.push_back({.durability = engine::Durability::discard});
  std::string error;
  auto server = InProcessServer::start(options, error);
  ASSERT_TRUE(server) << error;
  const auto with_context = [&](auto change) {
    auto runtime = server->runtime();
    auto config = runtime.contexts[0]->config();
    change(config);
    runtime.contexts[0] = engine::SessionContext::make(std::move(config));
    return runtime;
  };

  auto fsync =
      with_context([](engine::SessionConfig& c) { c.durability = engine::Durability::fsync; });
  EXPECT_FALSE(server->server().reload(fsync, error));
  EXPECT_EQ(error, "a reload cannot change a listener's role or durability");
  auto submission =
      with_context([](engine::SessionConfig& c) { c.role = engine::ListenerRole::submission; });
  EXPECT_FALSE(server->server().reload(submission, error));
  auto two_listeners = server->runtime();
  two_listeners.contexts.push_back(two_listeners.contexts[0]);
  EXPECT_FALSE(server->server().reload(two_listeners, error));
  EXPECT_EQ(error, "a reload cannot add or remove listeners");
  auto fewer_recipients =
      with_context([](engine::SessionConfig& c) { c.limits.max_recipients = 1; });
  ASSERT_TRUE(server->server().reload(fewer_recipients, error)) << error;

  // New connections run with the accepted reload (one recipient) and still discard.
  const int fd = server->connect(0);
  ASSERT_GE(fd, 0);
  std::string buffered;
  const auto ask = [&](const std::string& command) {
    return send_all(fd, command) ? read_reply(fd, buffered) : std::string{};
  };
  EXPECT_EQ(read_reply(fd, buffered).substr(0, 4), "220 ");
  EXPECT_EQ(ask("EHLO client.test\r\n").substr(0, 3), "250");
  EXPECT_EQ(ask("MAIL FROM:<a@client.test>\r\n"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(ask("RCPT TO:<bob@localhost>\r\n"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(ask("RCPT TO:<carol@localhost>\r\n").substr(0, 4), "452 ");
  EXPECT_EQ(ask("DATA\r\n").substr(0, 4), "354 ");
  EXPECT_EQ(ask("Subject: s\r\n\r\nbody\r\n.\r\n").rfind("250 2.0.0 Ok: discarded as ", 0), 0u);
  ask("QUIT\r\n");
  close(fd);
}

}  // namespace
}  // namespace mxring::testing
