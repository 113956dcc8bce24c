// The credentials file and password checks, against hashes made by tools nobody here wrote,
// and the verifier thread with its per-address throttle.
#include "mxring/engine/credential_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "auth/auth_verifier.h"

namespace mxring::engine {
namespace {

// `openssl passwd -6 -salt s4ltS4ltS4lt wonderland`
constexpr const char* kOpensslSha512 =
    "$6$s4ltS4ltS4lt$5vj8l2KO0TGtclDfFfBqa/Yskdvr4GCIO48nxMEHZaHeLcxA0yt3BrZN3o8IU6U6ChuJfACaZpmnE"
    "X.VQpq0P1";
// `echo -n wonderland | argon2 somesaltsomesalt -id -t 2 -m 12 -p 1 -e` (Debian's argon2)
constexpr const char* kArgon2Cli =
    "$argon2id$v=19$m=4096,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$WN+lYoT7NmItBRUz12b2VomHxDML8Qg6YNM4X96G"
    "Zow";

std::shared_ptr<const CredentialStore> store(const std::string& text) {
  std::string error;
  auto s = CredentialStore::parse(text, error);
  EXPECT_TRUE(s) << error;
  return s;
}

TEST(CredentialStoreTest, VerifiesHashesMadeByOtherTools) {
  const auto s =
      store(std::string("# users\nalice:") + kOpensslSha512 + "\n\nbob:" + kArgon2Cli + "\r\n");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->size(), 2u);
  EXPECT_TRUE(s->verify("alice", "wonderland"));
  EXPECT_FALSE(s->verify("alice", "Wonderland"));
  EXPECT_FALSE(s->verify("alice", ""));
  EXPECT_TRUE(s->verify("bob", "wonderland"));
  EXPECT_FALSE(s->verify("bob", "wonderlan"));
  EXPECT_FALSE(s->verify("carol", "wonderland"));
  EXPECT_FALSE(s->verify("Alice", "wonderland"));  // user names are exact
}

TEST(CredentialStoreTest, HashesItMakesVerify) {
  const auto sha = CredentialStore::hash_sha512("correct horse");
  const auto argon = CredentialStore::hash_argon2id("correct horse");
  ASSERT_TRUE(sha.starts_with("$6$")) << sha;
  ASSERT_TRUE(argon.starts_with("$argon2id$")) << argon;
  EXPECT_NE(sha, CredentialStore::hash_sha512("correct horse"));  // a fresh salt each time
  const auto s = store("a:" + sha + "\nb:" + argon + "\n");
  EXPECT_TRUE(s->verify("a", "correct horse"));
  EXPECT_TRUE(s->verify("b", "correct horse"));
  EXPECT_FALSE(s->verify("a", "correct horse "));
}

TEST(CredentialStoreTest, RefusesMalformedFilesWithTheLine) {
  std::string error;
  EXPECT_FALSE(CredentialStore::parse("alice\n", error));
  EXPECT_EQ(error, "1: expected user:hash");
  EXPECT_FALSE(CredentialStore::parse("# c\nalice:plaintext\n", error));
  EXPECT_TRUE(error.starts_with("2: unsupported hash")) << error;
  EXPECT_FALSE(CredentialStore::parse("alice:$1$md5isweak$x\n", error));  // MD5-crypt
  EXPECT_FALSE(
      CredentialStore::parse(std::string("a:") + kOpensslSha512 + "\na:" + kArgon2Cli, error));
  EXPECT_EQ(error, "2: user listed twice");
  EXPECT_FALSE(CredentialStore::load("/nonexistent/users", error));
  EXPECT_NE(error.find("/nonexistent/users"), std::string::npos);
}

TEST(AuthThrottleTest, BlocksAnAddressPastTheLimitUntilTheWindowEnds) {
  AuthThrottle throttle(3, 60);
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(throttle.blocked("192.0.2.1", 100));
    throttle.failed("192.0.2.1", 100);
  }
  EXPECT_TRUE(throttle.blocked("192.0.2.1", 159));
  EXPECT_FALSE(throttle.blocked("192.0.2.2", 159));  // per address
  EXPECT_FALSE(throttle.blocked("192.0.2.1", 160));  // the window is over
  EXPECT_EQ(throttle.tracked(), 0u);
}

// A spread of failing clients within one window holds at most kMaxTrackedClients; those held before
// it filled stay blocked.
TEST(AuthThrottleTest, HoldsAtMostItsCapUnderASpreadOfClients) {
  AuthThrottle throttle(1, 3600);
  throttle.failed("held", 0);
  for (std::size_t i = 0; i < kMaxTrackedClients + 5000; ++i)
    throttle.failed("client-" + std::to_string(i), 1 + static_cast<std::int64_t>(i / 100000));
  EXPECT_EQ(throttle.tracked(), kMaxTrackedClients);
  EXPECT_TRUE(throttle.blocked("held", 400));
  EXPECT_TRUE(throttle.blocked("client-7", 400));
  EXPECT_FALSE(throttle.blocked("client-" + std::to_string(kMaxTrackedClients + 10), 400));
}

// The verifier thread, with a delivery that records answers.
class AuthVerifierTest : public ::testing::Test {
 protected:
  AuthResult ask(AuthVerifier& verifier, const std::string& client, const std::string& user,
                 const std::string& password, const std::string& authzid = "") {
    AuthJob job;
    job.reactor = 1;
    job.slot = ++slot_;
    job.generation = 7;
    job.client_address = client;
    job.request = {"PLAIN", authzid, user, password};
    job.store = store_;
    verifier.submit(std::move(job));
    std::unique_lock lock(mutex_);
    EXPECT_TRUE(done_.wait_for(lock, std::chrono::seconds(30),
                               [&] { return !answers_.empty() && answers_.back().slot == slot_; }));
    return answers_.back().result;
  }
  AuthVerifier::Deliver deliver() {
    return [this](unsigned reactor, AuthAnswer answer) {
      EXPECT_EQ(reactor, 1u);
      EXPECT_EQ(answer.generation, 7u);
      std::lock_guard lock(mutex_);
      answers_.push_back(answer);
      done_.notify_all();
    };
  }

  std::shared_ptr<const CredentialStore> store_ = store(std::string("alice:") + kOpensslSha512);
  std::uint32_t slot_ = 0;
  std::mutex mutex_;
  std::condition_variable done_;
  std::vector<AuthAnswer> answers_;
};

TEST_F(AuthVerifierTest, AnswersAndThrottlesFailuresPerAddress) {
  AuthVerifier verifier({.max_failures = 2, .window_seconds = 3600, .max_queued = 16}, deliver());
  EXPECT_EQ(ask(verifier, "192.0.2.1", "alice", "wonderland"), AuthResult::success);
  EXPECT_EQ(ask(verifier, "192.0.2.1", "alice", "nope"), AuthResult::invalid);
  EXPECT_EQ(ask(verifier, "192.0.2.1", "mallory", "x"), AuthResult::invalid);
  // Past the limit even the right password gets 454: the address waits out the window.
  EXPECT_EQ(ask(verifier, "192.0.2.1", "alice", "wonderland"), AuthResult::temporary_failure);
  EXPECT_EQ(ask(verifier, "192.0.2.9", "alice", "wonderland"), AuthResult::success);
}

TEST_F(AuthVerifierTest, PlainMayNotActForAnotherIdentity) {
  AuthVerifier verifier({.max_failures = 0, .window_seconds = 60, .max_queued = 16}, deliver());
  EXPECT_EQ(ask(verifier, "192.0.2.1", "alice", "wonderland", "alice"), AuthResult::success);
  EXPECT_EQ(ask(verifier, "192.0.2.1", "alice", "wonderland", "bob"), AuthResult::invalid);
}

}  // namespace
}  // namespace mxring::engine
