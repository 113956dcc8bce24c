// RecipientPolicy: no open relay (550 5.7.1), unknown users refused at RCPT time (550 5.1.1),
// postmaster always accepted (RFC 5321 §4.5.1), globs, sub-addressing, per-domain entries.
#include "mxring/engine/recipient_policy.h"

#include <gtest/gtest.h>

namespace mxring::engine {
namespace {

RecipientPolicy make(std::vector<std::string> domains, std::string_view users) {
  auto built = RecipientPolicy::build(domains, users);
  if (auto* error = std::get_if<PolicyError>(&built))
    ADD_FAILURE() << "line " << error->line << ": " << error->message;
  return std::get<RecipientPolicy>(std::move(built));
}

TEST(RecipientPolicy, WithoutUsersFileEveryLocalPartOfAnAcceptedDomainIsAccepted) {
  const auto policy = make({"example.com"}, "");
  EXPECT_EQ(policy.check("anyone", "example.com", false), RcptVerdict::accept);
  EXPECT_EQ(policy.check("anyone", "EXAMPLE.COM", false), RcptVerdict::accept);
}

TEST(RecipientPolicy, ForeignDomainsAreNotRelayed) {
  const auto policy = make({"example.com"}, "");
  EXPECT_EQ(policy.check("victim", "elsewhere.example", false), RcptVerdict::relay_denied);
  EXPECT_EQ(policy.check("victim", "example.com.evil.example", false), RcptVerdict::relay_denied);
  EXPECT_EQ(policy.check("victim", "[192.0.2.1]", false), RcptVerdict::relay_denied);
  // An authenticated submission client may send anywhere.
  EXPECT_EQ(policy.check("friend", "elsewhere.example", true), RcptVerdict::accept);
}

// user%elsewhere@ours, elsewhere!user@ours and "user@elsewhere"@ours are relay attempts:
// a downstream MTA applying the percent hack or bang paths would forward them.
TEST(RecipientPolicy, LocalPartsThatRouteElsewhereAreNotRelayed) {
  for (const auto* users : {"", "*\n"}) {
    const auto policy = make({"example.com"}, users);
    EXPECT_EQ(policy.check("victim%elsewhere.example", "example.com", false),
              RcptVerdict::relay_denied);
    EXPECT_EQ(policy.check("elsewhere.example!victim", "example.com", false),
              RcptVerdict::relay_denied);
    EXPECT_EQ(policy.check("\"victim@elsewhere.example\"", "example.com", false),
              RcptVerdict::relay_denied);
    EXPECT_EQ(policy.check("\"victim\\@elsewhere.example\"", "example.com", false),
              RcptVerdict::relay_denied);
    EXPECT_EQ(policy.check("postmaster%elsewhere.example", "example.com", false),
              RcptVerdict::relay_denied);
    EXPECT_EQ(policy.check("victim%elsewhere.example", "example.com", true), RcptVerdict::accept);
    // Quoting alone routes nowhere.
    EXPECT_EQ(policy.check("\"a b\"", "example.com", false), RcptVerdict::accept);
  }
}

TEST(RecipientPolicy, UnknownUsersAreRefusedAtRcptTime) {
  const auto policy = make({"example.com"}, "alice\nbob # the second\n\n# comment only\n");
  EXPECT_EQ(policy.check("alice", "example.com", false), RcptVerdict::accept);
  EXPECT_EQ(policy.check("Bob", "example.com", false), RcptVerdict::accept);
  EXPECT_EQ(policy.check("mallory", "example.com", false), RcptVerdict::unknown_user);
}

TEST(RecipientPolicy, PostmasterIsAlwaysAccepted) {
  const auto policy = make({"example.com"}, "alice\n");
  EXPECT_EQ(policy.check("postmaster", "", false), RcptVerdict::accept);
  EXPECT_EQ(policy.check("PostMaster", "example.com", false), RcptVerdict::accept);
  EXPECT_EQ(policy.check("postmaster", "elsewhere.example", false), RcptVerdict::relay_denied);
}

TEST(RecipientPolicy, GlobsSubAddressesAndQuotedLocalParts) {
  const auto policy = make({"example.com", "example.org"}, "rcpt-*\nuser?\ncarol\n");
  EXPECT_EQ(policy.check("rcpt-17", "example.com", false), RcptVerdict::accept);
  EXPECT_EQ(policy.check("rcpt-", "example.com", false), RcptVerdict::accept);
  EXPECT_EQ(policy.check("rcpt", "example.com", false), RcptVerdict::unknown_user);
  EXPECT_EQ(policy.check("user1", "example.org", false), RcptVerdict::accept);
  EXPECT_EQ(policy.check("user12", "example.org", false), RcptVerdict::unknown_user);
  EXPECT_EQ(policy.check("carol+news", "example.com", false), RcptVerdict::accept);
  EXPECT_EQ(policy.check("\"carol\"", "example.com", false), RcptVerdict::accept);
  EXPECT_EQ(policy.check("+carol", "example.com", false), RcptVerdict::unknown_user);
}

TEST(RecipientPolicy, EntriesMayNameOneDomain) {
  const auto policy = make({"example.com", "example.org"}, "sales@example.com\n*@example.org\n");
  EXPECT_EQ(policy.check("sales", "example.com", false), RcptVerdict::accept);
  EXPECT_EQ(policy.check("sales", "example.net", false), RcptVerdict::relay_denied);
  EXPECT_EQ(policy.check("support", "example.com", false), RcptVerdict::unknown_user);
  EXPECT_EQ(policy.check("anything", "example.org", false), RcptVerdict::accept);
}

TEST(RecipientPolicy, BadUsersFilesAreRefusedWithTheLine) {
  auto built = RecipientPolicy::build({"example.com"}, "alice\nbob@other.example\n");
  ASSERT_TRUE(std::holds_alternative<PolicyError>(built));
  EXPECT_EQ(std::get<PolicyError>(built).line, 2u);
  built = RecipientPolicy::build({"example.com"}, "two words\n");
  ASSERT_TRUE(std::holds_alternative<PolicyError>(built));
  EXPECT_EQ(std::get<PolicyError>(built).line, 1u);
  EXPECT_TRUE(std::holds_alternative<PolicyError>(RecipientPolicy::build({""}, "")));
}

TEST(GlobMatch, Basics) {
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("a*b*c", "axxbyyc"));
  EXPECT_FALSE(glob_match("a*b*c", "axxbyy"));
  EXPECT_TRUE(glob_match("??", "ab"));
  EXPECT_FALSE(glob_match("?", ""));
  // Bounded (pattern x text), not exponential, on adversarial patterns.
  EXPECT_FALSE(glob_match("*a*a*a*a*a*a*a*a*b", std::string(5000, 'a')));
}

}  // namespace
}  // namespace mxring::engine
