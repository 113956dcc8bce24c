// TlsStream against a wolfSSL client over memory: the handshake, records both ways, records
// split at every byte, SNI, tickets shared across reactors' contexts, close_notify, garbage.
#include "tls/tls_stream.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mxring/engine/tls_certificates.h"

namespace mxring::engine::tls {
namespace {

const std::string kData = MXRING_TLS_TEST_DATA;

// A TLS client whose socket is two strings.
class MemoryClient {
 public:
  explicit MemoryClient(const char* server_name = nullptr, bool tls12_only = false,
                        WOLFSSL_SESSION* resume = nullptr) {
    initialise_library();
    ctx_ = wolfSSL_CTX_new(tls12_only ? wolfTLSv1_2_client_method() : wolfSSLv23_client_method());
    wolfSSL_CTX_set_verify(ctx_, WOLFSSL_VERIFY_NONE, nullptr);
    wolfSSL_CTX_SetIORecv(ctx_, [](WOLFSSL*, char* buffer, int size, void* self) {
      auto& pending = static_cast<MemoryClient*>(self)->in;
      if (pending.empty()) return static_cast<int>(WOLFSSL_CBIO_ERR_WANT_READ);
      const auto n = std::min(pending.size(), static_cast<std::size_t>(size));
      pending.copy(buffer, n);
      pending.erase(0, n);
      return static_cast<int>(n);
    });
    wolfSSL_CTX_SetIOSend(ctx_, [](WOLFSSL*, char* buffer, int size, void* self) {
      static_cast<MemoryClient*>(self)->out.append(buffer, static_cast<std::size_t>(size));
      return size;
    });
    ssl_ = wolfSSL_new(ctx_);
    wolfSSL_SetIOReadCtx(ssl_, this);
    wolfSSL_SetIOWriteCtx(ssl_, this);
    if (server_name != nullptr)
      wolfSSL_UseSNI(ssl_, WOLFSSL_SNI_HOST_NAME, server_name,
                     static_cast<unsigned short>(std::strlen(server_name)));
    if (resume != nullptr) wolfSSL_set_session(ssl_, resume);
  }
  ~MemoryClient() {
    wolfSSL_free(ssl_);
    wolfSSL_CTX_free(ctx_);
  }

  bool connect() { return wolfSSL_connect(ssl_) == WOLFSSL_SUCCESS; }
  void write(const std::string& text) {
    ASSERT_EQ(wolfSSL_write(ssl_, text.data(), static_cast<int>(text.size())),
              static_cast<int>(text.size()));
  }
  std::string read() {
    std::string got;
    char buffer[4096];
    int n;
    while ((n = wolfSSL_read(ssl_, buffer, sizeof buffer)) > 0)
      got.append(buffer, static_cast<std::size_t>(n));
    return got;
  }
  int last_error() const { return wolfSSL_get_error(ssl_, 0); }
  std::string peer_common_name() const {
    WOLFSSL_X509* peer = wolfSSL_get_peer_certificate(ssl_);
    if (peer == nullptr) return {};
    char cn[128] = "";
    wolfSSL_X509_NAME_get_text_by_NID(wolfSSL_X509_get_subject_name(peer), NID_commonName, cn,
                                      sizeof cn);
    wolfSSL_X509_free(peer);
    return cn;
  }
  WOLFSSL* ssl() { return ssl_; }

  std::string in, out;

 private:
  WOLFSSL_CTX* ctx_ = nullptr;
  WOLFSSL* ssl_ = nullptr;
};

std::shared_ptr<const TlsCertificates> certificates(TlsOptions options = {}) {
  if (options.certificates.empty())
    options.certificates = {{kData + "/mx-ecdsa.pem", kData + "/mx-ecdsa.key"},
                            {kData + "/other-rsa.pem", kData + "/other-rsa.key"}};
  std::string error;
  auto set = TlsCertificates::load(options, error);
  EXPECT_TRUE(set) << error;
  return set;
}

std::shared_ptr<const TlsContexts> contexts(std::shared_ptr<const TlsCertificates> certs,
                                            std::shared_ptr<const TicketKeys> tickets) {
  std::string error;
  std::shared_ptr<const TlsContexts> set = TlsContexts::build(std::move(certs), tickets, error);
  EXPECT_TRUE(set) << error;
  return set;
}

// Runs the handshake to its end, passing ciphertext `step` octets at a time to the server.
bool handshake(MemoryClient& client, TlsStream& server, ByteBuffer& plaintext,
               std::size_t step = SIZE_MAX) {
  for (int round = 0; round < 20; ++round) {
    const bool client_done = client.connect();
    const std::string flight = std::exchange(client.out, {});
    for (std::size_t at = 0; at < flight.size(); at += step) {
      const auto n = std::min(step, flight.size() - at);
      if (!server.receive({flight.data() + at, n}, plaintext).ok) return false;
    }
    client.in += server.outgoing().view();
    server.outgoing().clear();
    if (client_done && server.established()) return true;
  }
  return false;
}

class TlsStreamTest : public ::testing::Test {
 protected:
  std::shared_ptr<const TicketKeys> tickets_ = std::make_shared<TicketKeys>();
  std::shared_ptr<const TlsContexts> contexts_ = contexts(certificates(), tickets_);
  ByteBuffer plaintext_;
};

TEST_F(TlsStreamTest, HandshakesAndCarriesRecordsBothWays) {
  MemoryClient client;
  TlsStream server(contexts_);
  ASSERT_TRUE(handshake(client, server, plaintext_));
  const auto info = server.info();
  EXPECT_EQ(info.version, "TLSv1.3");
  EXPECT_EQ(info.cipher, "TLS_CHACHA20_POLY1305_SHA256");  // the server's order wins
  EXPECT_EQ(client.peer_common_name(), "mx.test");         // no SNI: the first certificate

  client.write("EHLO client.test\r\n");
  ASSERT_TRUE(server.receive({client.out.data(), client.out.size()}, plaintext_).ok);
  client.out.clear();
  EXPECT_EQ(plaintext_.view(), "EHLO client.test\r\n");

  ASSERT_TRUE(server.send("250 mx.test\r\n"));
  client.in += server.outgoing().view();
  server.outgoing().clear();
  EXPECT_EQ(client.read(), "250 mx.test\r\n");
}

TEST_F(TlsStreamTest, CiphertextSplitAtEveryOctetGivesTheSamePlaintext) {
  MemoryClient client;
  TlsStream server(contexts_);
  ASSERT_TRUE(handshake(client, server, plaintext_, 1));
  std::string sent;
  for (int i = 0; i < 40; ++i) sent += "RCPT TO:<user" + std::to_string(i) + "@mx.test>\r\n";
  client.write(sent);
  client.write(std::string(40000, 'b'));  // several full records
  for (char octet : client.out) ASSERT_TRUE(server.receive({&octet, 1}, plaintext_).ok);
  EXPECT_EQ(plaintext_.view(), sent + std::string(40000, 'b'));
}

TEST_F(TlsStreamTest, ServerNamePicksTheCertificate) {
  for (const auto& [name, cn] : {std::pair{"other.test", "other.test"},
                                 {"x.wild.test", "other.test"},
                                 {"mx.test", "mx.test"},
                                 {"nobody.test", "mx.test"}}) {
    MemoryClient client(name);
    TlsStream server(contexts_);
    ASSERT_TRUE(handshake(client, server, plaintext_)) << name;
    EXPECT_EQ(client.peer_common_name(), cn) << name;
    EXPECT_EQ(server.info().sni, name);
  }
}

TEST_F(TlsStreamTest, TicketsResumeOnAnotherReactorsContextsButNotUnderAnotherKey) {
  WOLFSSL_SESSION* session = nullptr;
  {
    MemoryClient client;
    TlsStream server(contexts_);
    ASSERT_TRUE(handshake(client, server, plaintext_));
    client.read();  // takes the NewSessionTicket that followed the handshake
    session = wolfSSL_get1_session(client.ssl());
    ASSERT_NE(session, nullptr);
  }
  const auto other_reactor = contexts(certificates(), tickets_);
  {
    MemoryClient client(nullptr, false, session);
    TlsStream server(other_reactor);
    ASSERT_TRUE(handshake(client, server, plaintext_));
    EXPECT_TRUE(wolfSSL_session_reused(client.ssl()));
  }
  const auto restarted = contexts(certificates(), std::make_shared<TicketKeys>());
  {
    MemoryClient client(nullptr, false, session);
    TlsStream server(restarted);
    ASSERT_TRUE(handshake(client, server, plaintext_));  // a full handshake instead
    EXPECT_FALSE(wolfSSL_session_reused(client.ssl()));
  }
  wolfSSL_SESSION_free(session);
}

TEST_F(TlsStreamTest, CloseNotifyGoesOutAndIsSeenComingIn) {
  MemoryClient client;
  TlsStream server(contexts_);
  ASSERT_TRUE(handshake(client, server, plaintext_));
  server.close_notify();
  ASSERT_FALSE(server.outgoing().empty());
  client.in += server.outgoing().view();
  server.outgoing().clear();
  client.read();
  EXPECT_EQ(client.last_error(), WOLFSSL_ERROR_ZERO_RETURN);
  EXPECT_FALSE(server.send("250 too late\r\n"));

  MemoryClient leaving;
  TlsStream other(contexts_);
  ASSERT_TRUE(handshake(leaving, other, plaintext_));
  wolfSSL_shutdown(leaving.ssl());
  const auto received = other.receive({leaving.out.data(), leaving.out.size()}, plaintext_);
  EXPECT_TRUE(received.closed);
}

TEST_F(TlsStreamTest, GarbageFailsTheHandshakeWithAReason) {
  TlsStream server(contexts_);
  const std::string garbage = "EHLO this is not TLS\r\n" + std::string(300, '\x16');
  const auto received = server.receive({garbage.data(), garbage.size()}, plaintext_);
  EXPECT_FALSE(received.ok);
  EXPECT_FALSE(server.failure().empty());
  EXPECT_FALSE(server.established());
  EXPECT_TRUE(plaintext_.empty());
}

TEST_F(TlsStreamTest, TlsOneThreeOnlyRefusesATlsOneTwoClient) {
  TlsOptions options;
  options.allow_tls12 = false;
  const auto strict = contexts(certificates(options), tickets_);
  MemoryClient client(nullptr, true);
  TlsStream server(strict);
  EXPECT_FALSE(handshake(client, server, plaintext_));

  MemoryClient tls12(nullptr, true);
  TlsStream lenient(contexts_);
  ASSERT_TRUE(handshake(tls12, lenient, plaintext_));
  EXPECT_EQ(lenient.info().version, "TLSv1.2");
  EXPECT_EQ(lenient.info().cipher, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256");
}

// wolfSSL's own heap, counted through its allocator hooks (process-wide while installed):
// blocks allocated while `server_side` is set are attributed to the server's connections.
bool server_side = false;
std::unordered_map<void*, std::size_t>* server_blocks = nullptr;
long server_live_bytes() {
  long total = 0;
  for (const auto& [block, size] : *server_blocks) total += static_cast<long>(size);
  return total;
}
void* counting_malloc(std::size_t n) {
  void* p = std::malloc(n);
  if (server_side && p != nullptr) (*server_blocks)[p] = malloc_usable_size(p);
  return p;
}
void counting_free(void* p) {
  server_blocks->erase(p);
  std::free(p);
}
void* counting_realloc(void* p, std::size_t n) {
  const bool ours = server_blocks->erase(p) > 0;
  void* q = std::realloc(p, n);
  if ((ours || server_side) && q != nullptr) (*server_blocks)[q] = malloc_usable_size(q);
  return q;
}

// Runs `step` with allocations attributed to the server side.
template <typename Step>
auto as_server(Step&& step) {
  server_side = true;
  auto result = step();
  server_side = false;
  return result;
}

// What an open TLS connection costs the server inside wolfSSL stays the same after a
// mebibyte went through it: the record buffers shrink back.
TEST_F(TlsStreamTest, WolfsslHeapPerConnectionIsBoundedAfterBulkData) {
  // Handshakes first: wolfSSL builds its process-wide fixed-point ECC tables (~5 MB in this
  // build) once a point has been used a few times; they are not per connection.
  for (int i = 0; i < 8; ++i) {
    MemoryClient warm_up;
    TlsStream warm_server(contexts_);
    ASSERT_TRUE(handshake(warm_up, warm_server, plaintext_));
  }
  constexpr int kConnections = 20;
  std::unordered_map<void*, std::size_t> blocks;
  server_blocks = &blocks;
  wolfSSL_SetAllocators(counting_malloc, counting_free, counting_realloc);
  std::vector<std::unique_ptr<MemoryClient>> clients;
  std::vector<std::unique_ptr<TlsStream>> servers;
  for (int i = 0; i < kConnections; ++i) {
    clients.push_back(std::make_unique<MemoryClient>());
    servers.push_back(as_server([&] { return std::make_unique<TlsStream>(contexts_); }));
    auto& client = *clients.back();
    auto& server = *servers.back();
    for (int round = 0; round < 20 && !(client.connect() && server.established()); ++round) {
      const auto received = as_server([&] {
        return server.receive({client.out.data(), client.out.size()}, plaintext_);
      });
      ASSERT_TRUE(received.ok);
      client.out.clear();
      client.in += server.outgoing().view();
      server.outgoing().clear();
    }
    ASSERT_TRUE(server.established());
    client.read();
  }
  const long idle = server_live_bytes() / kConnections;
  for (std::size_t i = 0; i < servers.size(); ++i) {
    clients[i]->write(std::string(1 << 20, 'x'));
    auto& wire = clients[i]->out;
    const auto received = as_server([&] {
      return servers[i]->receive({wire.data(), wire.size()}, plaintext_);
    });
    ASSERT_TRUE(received.ok);
    wire.clear();
    plaintext_.release();
  }
  const long after_bulk = server_live_bytes() / kConnections;
  clients.clear();
  servers.clear();
  const long after_close = server_live_bytes();
  wolfSSL_SetAllocators(nullptr, nullptr, nullptr);
  server_blocks = nullptr;
  EXPECT_GT(idle, 10'000);  // it is counted
  EXPECT_LE(idle, 64 * 1024) << "wolfSSL bytes per server-side connection";
  EXPECT_LE(after_bulk, idle + 1024) << "grew with traffic";
  EXPECT_LE(after_close, 4096) << "left behind after close";
  std::printf("wolfSSL heap per server-side TLS connection: %ld B idle, %ld B after 1 MiB\n", idle,
              after_bulk);
}

TEST(TlsCertificatesTest, SelectsExactThenOneLabelWildcardElseTheFirst) {
  const auto set = certificates();
  ASSERT_TRUE(set);
  EXPECT_EQ(set->select("mx.test"), 0u);
  EXPECT_EQ(set->select("LOCALHOST"), 0u);
  EXPECT_EQ(set->select("other.test"), 1u);
  EXPECT_EQ(set->select("a.wild.test"), 1u);
  EXPECT_EQ(set->select("a.b.wild.test"), 0u);
  EXPECT_EQ(set->select("wild.test"), 0u);
  EXPECT_EQ(set->select(""), 0u);
  EXPECT_EQ(set->certificates()[0].key_type, "ECDSA");
  EXPECT_EQ(set->certificates()[1].key_type, "RSA");
}

TEST(TlsCertificatesTest, RefusesMissingFilesMismatchedKeysAndBadCipherLists) {
  std::string error;
  TlsOptions missing;
  missing.certificates = {{kData + "/absent.pem", kData + "/mx-ecdsa.key"}};
  EXPECT_FALSE(TlsCertificates::load(missing, error));
  EXPECT_NE(error.find("absent.pem"), std::string::npos) << error;

  TlsOptions mismatched;
  mismatched.certificates = {{kData + "/mx-ecdsa.pem", kData + "/other-rsa.key"}};
  EXPECT_FALSE(TlsCertificates::load(mismatched, error));
  EXPECT_NE(error.find("does not match"), std::string::npos) << error;

  TlsOptions ciphers;
  ciphers.certificates = {{kData + "/mx-ecdsa.pem", kData + "/mx-ecdsa.key"}};
  ciphers.ciphers = "NO-SUCH-CIPHER";
  EXPECT_FALSE(TlsCertificates::load(ciphers, error));
  EXPECT_NE(error.find("cipher list"), std::string::npos) << error;

  EXPECT_FALSE(TlsCertificates::load({}, error));
}

}  // namespace
}  // namespace mxring::engine::tls
