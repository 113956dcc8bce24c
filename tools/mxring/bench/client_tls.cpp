#include "client_tls.h"

#include <wolfssl/options.h>
// options.h first
#include <wolfssl/ssl.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace mxring::tools::bench {
namespace {

int on_receive(WOLFSSL*, char* buffer, int size, void* self) {
  return static_cast<ClientTls*>(self)->pull(buffer, size);
}

int on_send(WOLFSSL*, char* buffer, int size, void* self) {
  static_cast<ClientTls*>(self)->outgoing().append(buffer, static_cast<std::size_t>(size));
  return size;
}

std::string error_text(WOLFSSL* ssl, int rc) {
  char text[WOLFSSL_MAX_ERROR_SZ] = "";
  wolfSSL_ERR_error_string_n(static_cast<unsigned long>(wolfSSL_get_error(ssl, rc)), text,
                             sizeof text);
  return text;
}

}  // namespace

void* ClientTls::new_context() {
  wolfSSL_Init();
  WOLFSSL_CTX* ctx = wolfSSL_CTX_new(wolfSSLv23_client_method());
  if (ctx == nullptr) return nullptr;
  wolfSSL_CTX_SetMinVersion(ctx, WOLFSSL_TLSV1_2);
  wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, nullptr);
  wolfSSL_CTX_set_cipher_list(
      ctx,
      "TLS13-CHACHA20-POLY1305-SHA256:TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384:"
      "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256:"
      "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384");
  wolfSSL_CTX_SetIORecv(ctx, on_receive);
  wolfSSL_CTX_SetIOSend(ctx, on_send);
  return ctx;
}

void ClientTls::free_context(void* context) {
  if (context != nullptr) wolfSSL_CTX_free(static_cast<WOLFSSL_CTX*>(context));
}

ClientTls::ClientTls(void* context) {
  auto* ssl = wolfSSL_new(static_cast<WOLFSSL_CTX*>(context));
  if (ssl == nullptr) {
    failure_ = "cannot create a TLS connection";
    return;
  }
  wolfSSL_SetIOReadCtx(ssl, this);
  wolfSSL_SetIOWriteCtx(ssl, this);
  ssl_ = ssl;
}

ClientTls::~ClientTls() {
  if (ssl_ != nullptr) wolfSSL_free(static_cast<WOLFSSL*>(ssl_));
}

int ClientTls::pull(char* buffer, int size) {
  if (input_.empty()) return WOLFSSL_CBIO_ERR_WANT_READ;
  const auto n = std::min(input_.size(), static_cast<std::size_t>(size));
  std::memcpy(buffer, input_.data(), n);
  input_.remove_prefix(n);
  return static_cast<int>(n);
}

bool ClientTls::receive(std::string_view ciphertext, std::string& plaintext) {
  auto* ssl = static_cast<WOLFSSL*>(ssl_);
  if (ssl == nullptr || !failure_.empty()) return false;
  input_ = ciphertext;
  if (!established_) {
    const int rc = wolfSSL_connect(ssl);
    if (rc != WOLFSSL_SUCCESS) {
      const int error = wolfSSL_get_error(ssl, rc);
      input_ = {};
      if (error == WOLFSSL_ERROR_WANT_READ || error == WOLFSSL_ERROR_WANT_WRITE) return true;
      failure_ = error_text(ssl, rc);
      return false;
    }
    established_ = just_established_ = true;
  }
  char buffer[16384];
  for (;;) {
    const int n = wolfSSL_read(ssl, buffer, sizeof buffer);
    if (n > 0) {
      plaintext.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    const int error = wolfSSL_get_error(ssl, n);
    if (error == WOLFSSL_ERROR_WANT_READ || error == WOLFSSL_ERROR_WANT_WRITE) break;
    if (error == WOLFSSL_ERROR_ZERO_RETURN) break;  // close_notify: EOF follows
    failure_ = error_text(ssl, n);
    input_ = {};
    return false;
  }
  input_ = {};
  return true;
}

bool ClientTls::send(std::string_view plaintext) {
  auto* ssl = static_cast<WOLFSSL*>(ssl_);
  if (!established_ || !failure_.empty()) return false;
  while (!plaintext.empty()) {
    const int n = wolfSSL_write(ssl, plaintext.data(), static_cast<int>(plaintext.size()));
    if (n <= 0) {
      failure_ = error_text(ssl, n);
      return false;
    }
    plaintext.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace mxring::tools::bench
