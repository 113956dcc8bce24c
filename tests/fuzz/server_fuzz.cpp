// Fuzz target: the whole server in this process (reactor threads, io_uring accept and
// multishot receive into provided buffers, PROXY headers, STARTTLS and implicit TLS, the
// storage writer), driven over loopback TCP as a client would. Session-level bugs are
// session_fuzz's; this one finds what only the reactor's I/O paths do with hostile bytes.
//
// Input: byte 0 picks the listener, byte 1 seeds where the bytes are cut into sends, the rest
// is what the client sends before its FIN. Checks: whatever the server says in plaintext is
// whole, well-formed replies, and the server closes the connection after the client's FIN
// (a session that outlives its client is a leak of a slot). ASan watches every thread.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include "in_process_server.h"
#include "mxring/engine/log.h"
#include "reply_syntax.h"

using namespace mxring;

namespace {

enum Listener : std::uint8_t { kStoring, kStarttls, kProxy, kSubmission, kSmtps, kListeners };

testing::InProcessServer& server() {
  // Started once and never stopped: inputs run against the same long-lived server, as
  // clients do. Reachable from here, so LeakSanitizer does not count it at exit.
  static testing::InProcessServer* instance = [] {
    engine::set_log_level(engine::Level::error);
    const auto spool =
        std::filesystem::temp_directory_path() / ("mxring-server-fuzz-" + std::to_string(getpid()));
    testing::InProcessOptions options;
    options.spool = spool;
    options.tls_directory = MXRING_TLS_TEST_DATA;
    options.limits.max_message_size = 1 << 20;
    // The error tarpit holds replies for whole seconds: an input with many errors would take
    // that long. The holding is tested on its own (test_hostile.py); here replies go at once.
    options.limits.error_sleep_s = 0;
    options.listeners = {
        {.durability = engine::Durability::none},
        {.durability = engine::Durability::discard, .starttls = true},
        {.durability = engine::Durability::discard, .proxy = true},
        {.role = engine::ListenerRole::submission,
         .durability = engine::Durability::discard,
         .starttls = true},
        {.role = engine::ListenerRole::smtps,
         .durability = engine::Durability::discard,
         .starttls = true},
    };
    std::string error;
    auto started = testing::InProcessServer::start(options, error);
    if (!started) {
      std::fprintf(stderr, "server_fuzz: the server did not start: %s\n", error.c_str());
      std::abort();
    }
    return started.release();
  }();
  return *instance;
}

// The plaintext part of what the server said: all of it, or up to the 220 that starts TLS.
std::string_view plaintext(std::string_view said, std::uint8_t listener) {
  if (listener == kSmtps) return {};
  constexpr std::string_view kStartTls = "220 2.0.0 Ready to start TLS\r\n";
  const auto at = said.find(kStartTls);
  return at == std::string_view::npos ? said : said.substr(0, at + kStartTls.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t listener = data[0] % kListeners;
  std::uint32_t seed = data[1] * 2654435761u + 1;
  std::string_view client(reinterpret_cast<const char*>(data) + 2, size - 2);

  const int fd = server().connect(listener, 5'000);
  if (fd < 0) {
    std::fprintf(stderr, "server_fuzz: cannot connect to listener %u: %s\n", listener,
                 std::strerror(errno));
    std::abort();  // the server stopped accepting
  }
  while (!client.empty()) {
    seed ^= seed << 13;
    seed ^= seed >> 17;
    seed ^= seed << 5;
    const auto piece = client.substr(0, 1 + seed % 512);
    if (!testing::send_all(fd, piece)) break;  // closed on us: allowed (QUIT, a bad header)
    client.remove_prefix(piece.size());
  }
  shutdown(fd, SHUT_WR);
  std::string said;
  if (!testing::read_until_close(fd, said)) {
    std::fprintf(stderr, "server_fuzz: the connection outlived the client's FIN\n");
    std::abort();
  }
  close(fd);
  if (!testing::well_formed_replies(plaintext(said, listener))) {
    std::fprintf(stderr, "server_fuzz: malformed reply stream: %s\n", said.c_str());
    std::abort();
  }
  return 0;
}
