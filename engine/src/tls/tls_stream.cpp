#include "tls_stream.h"

#include <algorithm>
#include <cstring>

#include "mxring/parser/text.h"
#include "stream_io.h"

namespace mxring::engine::tls {
namespace {

constexpr int kRecordSize = 16384;  // RFC 8446 §5.1: the largest plaintext record

}  // namespace

int stream_receive(WOLFSSL*, char* buffer, int size, void* self) {
  auto& stream = *static_cast<TlsStream*>(self);
  return stream.pull(buffer, size);
}

int stream_send(WOLFSSL*, char* buffer, int size, void* self) {
  static_cast<TlsStream*>(self)->outgoing().append({buffer, static_cast<std::size_t>(size)});
  return size;
}

TlsStream::TlsStream(std::shared_ptr<const TlsContexts> contexts)
    : contexts_(std::move(contexts)), ssl_(contexts_->new_connection(this)) {
  if (ssl_ == nullptr) failure_ = "cannot create a TLS connection";
}

TlsStream::~TlsStream() {
  if (ssl_ != nullptr) wolfSSL_free(ssl_);
}

int TlsStream::pull(char* buffer, int size) {
  if (input_.empty()) {
    // Only a real end of stream is CONN_CLOSE: reporting it while we are the one closing
    // leaves wolfSSL unable to send close_notify (uring-wolfssl.md §5.12).
    return peer_closed_ ? WOLFSSL_CBIO_ERR_CONN_CLOSE : WOLFSSL_CBIO_ERR_WANT_READ;
  }
  const auto n = std::min(input_.size(), static_cast<std::size_t>(size));
  std::memcpy(buffer, input_.data(), n);
  input_ = input_.subspan(n);
  return static_cast<int>(n);
}

TlsStream::Received TlsStream::receive(std::span<const char> ciphertext, ByteBuffer& plaintext) {
  Received result;
  if (ssl_ == nullptr || !failure_.empty()) {
    result.ok = false;
    return result;
  }
  input_ = ciphertext;
  if (!established_) {
    const int rc = wolfSSL_accept(ssl_);
    if (rc != WOLFSSL_SUCCESS) {
      const int error = wolfSSL_get_error(ssl_, rc);
      input_ = {};
      if (error == WOLFSSL_ERROR_WANT_READ || error == WOLFSSL_ERROR_WANT_WRITE) return result;
      fail(error);
      result.ok = false;
      return result;
    }
    established_ = true;
    result.established = true;
  }
  // Every whole record the slice completes; a partial one stays in wolfSSL's input buffer.
  for (;;) {
    char* into = plaintext.prepare(kRecordSize);
    const int n = wolfSSL_read(ssl_, into, kRecordSize);
    if (n > 0) {
      plaintext.commit(static_cast<std::size_t>(n));
      continue;
    }
    const int error = wolfSSL_get_error(ssl_, n);
    if (error == WOLFSSL_ERROR_WANT_READ || error == WOLFSSL_ERROR_WANT_WRITE) break;
    if (error == WOLFSSL_ERROR_ZERO_RETURN) {  // close_notify: the client is done
      result.closed = true;
      break;
    }
    fail(error);
    result.ok = false;
    break;
  }
  input_ = {};
  return result;
}

bool TlsStream::send(std::string_view plaintext) {
  if (!established_ || !failure_.empty() || shut_down_) return false;
  while (!plaintext.empty()) {
    const auto chunk = std::min(plaintext.size(), std::size_t{1} << 20);
    const int n = wolfSSL_write(ssl_, plaintext.data(), static_cast<int>(chunk));
    if (n <= 0) {
      fail(wolfSSL_get_error(ssl_, n));
      return false;
    }
    plaintext.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void TlsStream::close_notify() {
  if (!established_ || shut_down_ || !failure_.empty()) return;
  shut_down_ = true;
  wolfSSL_shutdown(ssl_);  // queues the alert; the peer's own close_notify is not awaited
}

TlsInfo TlsStream::info() const {
  TlsInfo info;
  if (!established_) return info;
  info.version = wolfSSL_get_version(ssl_);
  // The IANA name (RFC 8446 §B.4), as OpenSSL and Postfix print it.
  const int suite = wolfSSL_get_current_cipher_suite(ssl_);
  if (const char* iana = wolfSSL_get_cipher_name_iana_from_suite(
          static_cast<unsigned char>(suite >> 8), static_cast<unsigned char>(suite)))
    info.cipher = iana;
  else if (const char* name = wolfSSL_get_cipher_name(ssl_))
    info.cipher = name;
  // RFC 6066 §3: the host name is an ASCII DNS name. wolfSSL hands on whatever octets came,
  // and a line break here went on into the envelope and Kafka's headers: only printable
  // ASCII is recorded.
  if (const char* sni = wolfSSL_get_servername(ssl_, WOLFSSL_SNI_HOST_NAME);
      sni != nullptr && parser::is_printable_ascii(sni))
    info.sni = sni;
  return info;
}

std::size_t TlsStream::footprint() const {
  return sizeof *this + outgoing_.footprint() + failure_.capacity();
}

void TlsStream::fail(int code) {
  char text[WOLFSSL_MAX_ERROR_SZ] = "";
  wolfSSL_ERR_error_string_n(static_cast<unsigned long>(code), text, sizeof text);
  failure_ = text;
}

}  // namespace mxring::engine::tls
