// TLS on a reactor's connections: ciphertext in through wolfSSL to the session, ciphertext
// out one send at a time, and nothing in plaintext inside a handshake.
#include "mxring/engine/log.h"
#include "reactor.h"
#include "reactor_connection.h"
#include "session/replies.h"
#include "tls/tls_stream.h"

namespace mxring::engine {

// Ciphertext from the socket: the handshake, then decrypted records for the session.
void Reactor::feed_tls(Connection& c, std::span<const char> ciphertext) {
  auto& stream = *c.tls;
  tls_plaintext_.clear();
  const auto received = stream.receive(ciphertext, tls_plaintext_);
  if (received.established) {
    metrics_.tls_handshakes.add();
    auto info = stream.info();
    metrics_.tls_sessions.count(info.version, info.cipher);
    c.session->tls_established(std::move(info));
    // Implicit TLS: the greeting now; after STARTTLS both are no-ops.
    c.rate_refused ? c.session->refuse(replies::kConnectionRateExceeded) : c.session->greet();
  }
  if (!tls_plaintext_.empty()) feed(c, tls_plaintext_.span());
  if (received.closed) c.peer_closed = true;
  if (!received.ok) {
    metrics_.tls_failures.add();
    log(Level::debug,
        "TLS from " + c.session->connection().client_address + ": " + stream.failure());
    c.tls_failed = true;
  }
  if (tls_plaintext_.footprint() > 4 * 16384) tls_plaintext_.release();
  // What wolfSSL wrote goes now, unless a reply will carry it: with records that made the
  // session answer (the EHLO behind a TLS 1.3 client's Finished, say), service() encrypts
  // the reply behind it and sends both at once, one send and one wake-up of the client
  // instead of two. Nothing waits for a reply that is not already there: a client whose
  // Finished went unanswered would hold its next command for our delayed ACK (Nagle).
  const bool reply_follows = received.ok && stream.established() && !c.session->output().empty();
  if (!reply_follows) flush_tls(c);
  mark_dirty(c);
}

bool Reactor::start_tls(Connection& c) {
  if (!tls_) return false;
  c.tls = std::make_unique<tls::TlsStream>(tls_);
  return c.tls->failure().empty();
}

// Ciphertext goes out one send at a time; what wolfSSL writes meanwhile waits in outgoing().
void Reactor::flush_tls(Connection& c) {
  if (!c.tls || c.send_in_flight || c.closing || c.tls->outgoing().empty()) return;
  // Replies still owed in plaintext (EHLO's, STARTTLS's 220) go before the first TLS byte,
  // even when the client's garbage already made wolfSSL write an alert (RFC 3207 §4).
  if (!c.tls->established() && c.session && !c.session->output().empty()) return;
  std::swap(c.send_buffer, c.tls->outgoing());
  c.tls->outgoing().clear();
  c.send_offset = 0;
  submit_send(c);
}

// A TLS handshake in progress: no SMTP reply may be sent (it would be plaintext inside the
// handshake) except STARTTLS's own 220, which precedes it.
void Reactor::service_handshake(Connection& c) {
  auto& session = *c.session;
  if (!session.output().empty() && !c.send_in_flight) start_send(c);
  flush_tls(c);
  if ((c.tls_failed || c.peer_closed) && !c.send_in_flight && session.output().empty() &&
      c.tls->outgoing().empty())
    begin_close(c);
}

}  // namespace mxring::engine
