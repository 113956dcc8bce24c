// TLS on one connection, over memory instead of a socket: the reactor hands in what the
// kernel received (slices of its provided buffers, never copied to a staging buffer) and
// takes out what is to be sent. wolfSSL's I/O callbacks read the slice being fed and append
// to the outgoing buffer; nothing here blocks or touches a file descriptor.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "mxring/engine/byte_buffer.h"
#include "mxring/engine/envelope.h"
#include "stream_io.h"
#include "tls_contexts.h"

namespace mxring::engine::tls {

class TlsStream {
 public:
  // Keeps `contexts` alive: the SNI callback uses it during the handshake, even after a
  // reload replaced the reactor's set.
  explicit TlsStream(std::shared_ptr<const TlsContexts> contexts);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  struct Received {
    bool ok = true;            // false: the handshake or a record failed; close
    bool established = false;  // the handshake finished during this call
    bool closed = false;       // the peer sent close_notify
  };
  // Ciphertext from the peer: advances the handshake, then decrypts every whole record into
  // `plaintext` (appended). Consumes all of `ciphertext`: partial records wait inside wolfSSL.
  Received receive(std::span<const char> ciphertext, ByteBuffer& plaintext);

  // Encrypts application data into outgoing(). False if the connection is not usable.
  bool send(std::string_view plaintext);
  // Queues close_notify (RFC 8446 §6.1) before the reactor closes the socket.
  void close_notify();
  // The peer closed its side (a real EOF): wolfSSL may then see CONN_CLOSE.
  void peer_closed() { peer_closed_ = true; }

  // Ciphertext waiting for the socket. The reactor swaps it out to send it.
  ByteBuffer& outgoing() { return outgoing_; }

  bool established() const { return established_; }
  TlsInfo info() const;
  const std::string& failure() const { return failure_; }
  std::size_t footprint() const;  // this object's own buffers (wolfSSL's are not counted)

 private:
  friend int stream_receive(WOLFSSL*, char*, int, void*);
  int pull(char* buffer, int size);  // the receive callback: from the slice being fed
  void fail(int code);

  std::shared_ptr<const TlsContexts> contexts_;
  WOLFSSL* ssl_ = nullptr;
  std::span<const char> input_;
  ByteBuffer outgoing_;
  std::string failure_;
  bool established_ = false;
  bool peer_closed_ = false;
  bool shut_down_ = false;
};

}  // namespace mxring::engine::tls
