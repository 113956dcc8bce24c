// The client side of TLS for `mxring bench`, over memory like the server's TlsStream: the
// bench's io_uring loop moves the ciphertext, wolfSSL never sees a socket.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace mxring::tools::bench {

class ClientTls {
 public:
  // One context for the whole run (certificates are not verified: a benchmark, not a mail
  // client). Null on failure.
  static void* new_context();
  static void free_context(void* context);

  explicit ClientTls(void* context);
  ~ClientTls();
  ClientTls(const ClientTls&) = delete;
  ClientTls& operator=(const ClientTls&) = delete;

  // Starts or advances the handshake with `ciphertext` from the server, then decrypts what
  // follows into `plaintext`. False when TLS failed (`failure()` says why).
  bool receive(std::string_view ciphertext, std::string& plaintext);
  bool send(std::string_view plaintext);  // encrypts into outgoing()
  bool established() const { return established_; }
  bool just_established() { return std::exchange(just_established_, false); }
  std::string& outgoing() { return outgoing_; }
  const std::string& failure() const { return failure_; }

  int pull(char* buffer, int size);  // wolfSSL's receive callback
 private:
  void* ssl_ = nullptr;
  std::string_view input_;
  std::string outgoing_;
  std::string failure_;
  bool established_ = false;
  bool just_established_ = false;
};

}  // namespace mxring::tools::bench
