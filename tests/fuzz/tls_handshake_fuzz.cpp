// A server-side TlsStream fed arbitrary bytes as ciphertext, cut into slices the input
// chooses: handshake garbage must end in a clean failure, never a crash, a leak or a hang.
// The corpus starts from real ClientHellos (TLS 1.2 and 1.3, with and without SNI).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "mxring/engine/tls_certificates.h"
#include "tls/tls_stream.h"

using namespace mxring::engine;

namespace {

std::shared_ptr<const tls::TlsContexts> contexts() {
  static const auto set = [] {
    const std::string dir = MXRING_TLS_TEST_DATA;
    TlsOptions options;
    options.certificates = {{dir + "/mx-ecdsa.pem", dir + "/mx-ecdsa.key"},
                            {dir + "/other-rsa.pem", dir + "/other-rsa.key"}};
    std::string error;
    auto certificates = TlsCertificates::load(options, error);
    if (!certificates) __builtin_trap();
    std::shared_ptr<const tls::TlsContexts> built =
        tls::TlsContexts::build(certificates, std::make_shared<tls::TicketKeys>(), error);
    if (!built) __builtin_trap();
    return built;
  }();
  return set;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  // The first octet picks the slice length (1..256), so records split everywhere.
  const std::size_t step = std::size_t{data[0]} + 1;
  const auto* bytes = reinterpret_cast<const char*>(data + 1);
  size -= 1;
  tls::TlsStream stream(contexts());
  ByteBuffer plaintext;
  for (std::size_t at = 0; at < size; at += step) {
    const auto n = std::min(step, size - at);
    const auto received = stream.receive({bytes + at, n}, plaintext);
    stream.outgoing().clear();
    if (!received.ok) {
      if (stream.failure().empty()) __builtin_trap();  // a failure always says why
      break;
    }
  }
  // Whatever state it reached, closing is safe.
  stream.close_notify();
  return 0;
}
