// One connection slot of a reactor: its socket, session, TLS stream, send buffer and the
// flags the event loop keeps. Shared by the loop (reactor.cpp) and its metrics, logs and
// limits (reactor_events.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "reactor.h"
#include "tls/tls_stream.h"

namespace mxring::engine {

struct Reactor::Connection {
  int fd = -1;
  std::uint32_t slot = 0;
  std::uint32_t generation = 0;
  ClientKey client;
  std::optional<Session> session;  // absent while a PROXY header is awaited
  unsigned listener = 0;
  bool client_counted = true;  // in the limiter's per-client count (after a PROXY header)
  bool http_answered = false;  // an HTTP connection whose response is on its way
  std::string proxy_bytes;     // a PROXY header being read; the peer's "address:port" first
  std::unique_ptr<tls::TlsStream> tls;  // from STARTTLS or accept (smtps) to the close
  ByteBuffer send_buffer;
  std::size_t send_offset = 0;
  bool recv_armed = false;
  bool recv_paused = false;
  bool paused_for_storage = false;  // listed in paused_for_storage_
  bool send_in_flight = false;
  bool close_pending = false;
  bool closing = false;
  bool peer_closed = false;
  bool tls_failed = false;
  bool auth_pending = false;  // credentials with the verifier thread
  bool dirty = false;
  bool rate_refused = false;   // over its connection rate: 421 instead of the greeting
  bool ehlo_timed = false;     // banner_to_ehlo recorded
  bool greeting_held = false;  // --greet-delay: the greeting waits for the timer
  bool replies_held = false;   // the error tarpit: output waits for the timer
  Session::Phase phase = Session::Phase::greeting;
  bool in_content = false;  // in Phase::data or Session::receiving_content(), as last seen
  std::int64_t deadline = 0;
  std::int64_t data_started = 0;  // when in_content began, and octets received since
  std::uint64_t data_bytes = 0;
  std::uint64_t bytes_in = 0;      // octets received (TLS: ciphertext), for the connection log
  std::int64_t opened_ns = 0;      // CLOCK_MONOTONIC at accept
  std::int64_t input_ns = 0;       // the oldest receive not answered yet (0: none)
  __kernel_timespec release_at{};  // CLOCK_MONOTONIC at which held replies may go

  // A client's connection not yet closing; false for a free slot (fd -1, not closing).
  bool open() const { return fd >= 0 && !closing; }

  std::uint64_t key() const { return static_cast<std::uint64_t>(generation) << 32 | slot; }

  // Back to a free slot. The generation moves on, so completions and timers still addressed
  // to the old connection are recognised as stale.
  void reset() {
    session.reset();
    tls.reset();
    proxy_bytes = {};
    client_counted = true;
    http_answered = false;
    listener = 0;
    send_buffer.release();
    fd = -1;
    ++generation;
    send_offset = 0;
    recv_armed = recv_paused = send_in_flight = close_pending = closing = peer_closed = dirty =
        paused_for_storage = tls_failed = auth_pending = rate_refused = ehlo_timed = greeting_held =
            replies_held = in_content = false;
    phase = Session::Phase::greeting;
    deadline = data_started = opened_ns = input_ns = 0;
    data_bytes = bytes_in = 0;
  }
  UserData user_data(Op op) const { return {op, generation, slot}; }
};

}  // namespace mxring::engine
