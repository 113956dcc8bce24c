// The kernels' plain-mailbox fast path (parser/src/kernels/mailbox_vbmi.h) against the scalar
// path grammar: whatever a kernel vouches for, the grammar must accept with the same split;
// the typical shapes must take the fast path; and the kernel never reads past its input.
#include "mxring/parser/path.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "impl_internal.h"
#include "mxring/parser/impl.h"
#include "path_internal.h"

namespace mxring::parser {
namespace {

using kernels::MailboxSplit;
using MailboxKernel = MailboxSplit (*)(const char*, std::size_t);

std::vector<std::pair<Impl, MailboxKernel>> mailbox_kernels() {
  std::vector<std::pair<Impl, MailboxKernel>> found;
  for (const Impl impl : supported_impls())
    if (const auto kernel = detail::kernels_for(impl).plain_mailbox)
      found.emplace_back(impl, kernel);
  return found;
}

// `text` starts with "<". True when the kernel vouched for it; then the grammar must agree.
bool check_against_grammar(MailboxKernel kernel, const std::string& text, PathKind kind) {
  const auto split = kernel(text.data() + 1, text.size() - 1);
  if (split.end == 0) return false;
  EXPECT_EQ(text[1 + split.end], '>') << text;
  Path path;
  const auto consumed = detail::parse_path_grammar(text, kind, path);
  EXPECT_EQ(consumed, split.end + 2u) << text;
  EXPECT_EQ(path.local_part, text.substr(1, split.at)) << text;
  EXPECT_EQ(path.domain, text.substr(split.at + 2, split.end - split.at - 1)) << text;
  EXPECT_FALSE(path.utf8 || path.null || !path.bracketed) << text;
  return true;
}

TEST(PathFastPath, TypicalMailboxesTakeItAndAgreeWithTheGrammar) {
  const auto found = mailbox_kernels();
  if (found.empty()) GTEST_SKIP() << "no implementation with a mailbox kernel on this CPU";
  for (const auto& [impl, kernel] : found)
    for (const char* text : {"<user@example.com>", "<a@b>", "<first.last+tag@mail-01.example.org>",
                             "<bounce-1234@lists.example.org> SIZE=18230",
                             "<x!#$%&'*+/=?^_`{|}~-@1.2.3.example>", "<UPPER.Case@EXAMPLE.COM>"})
      EXPECT_TRUE(check_against_grammar(kernel, text, PathKind::reverse))
          << impl_name(impl) << ": " << text;
}

TEST(PathFastPath, LeavesEverythingUnusualToTheGrammar) {
  const auto found = mailbox_kernels();
  if (found.empty()) GTEST_SKIP() << "no implementation with a mailbox kernel on this CPU";
  const std::string long_local(60, 'a');
  for (const auto& [impl, kernel] : found)
    for (const std::string& text : std::vector<std::string>{"<\"quoted\"@example.com>",
                                                            "<@relay.example:user@example.com>",
                                                            "<u@[192.0.2.1]>",
                                                            "<caf\xc3\xa9@example.com>",
                                                            "<c\xc0"
                                                            "d.example>",
                                                            "<a@b\xae"
                                                            "c>",
                                                            "<a\xc0@b.c>",
                                                            "<user@exa\xc3\xa9mple.com>",
                                                            "<.a@b.example>",
                                                            "<a.@b.example>",
                                                            "<a..b@c.example>",
                                                            "<a@-b.example>",
                                                            "<a@b-.example>",
                                                            "<a@b..example>",
                                                            "<a@.b.example>",
                                                            "<a@b.example.>",
                                                            "<a@b.-x.example>",
                                                            "<a@b-.x.example>",
                                                            "<a@>",
                                                            "<@b.example>",
                                                            "<postmaster>",
                                                            "<a@b_c.example>",
                                                            "<a@b@c.example>",
                                                            "<" + long_local + "@example.com>",
                                                            "<a@b.example"}) {
      const auto split = kernel(text.data() + 1, text.size() - 1);
      EXPECT_EQ(split.end, 0u) << impl_name(impl) << ": " << text;
    }
}

TEST(PathFastPath, RandomAndMutatedPathsNeverDisagree) {
  const auto found = mailbox_kernels();
  if (found.empty()) GTEST_SKIP() << "no implementation with a mailbox kernel on this CPU";
  // 0xC0, 0xAE, 0xAD and 0xC3 share their low seven bits with "@", ".", "-" and "C".
  const std::string alphabet = "abz09AZ.-@>!{~_\"[]: \x7f\x80\xc3\xa9\xc0\xae\xad\t";
  std::mt19937 random(20261129);
  for (const auto& [impl, kernel] : found) {
    std::size_t vouched = 0;
    for (int i = 0; i < 200000; ++i) {
      std::string text = i % 2 ? "<first.last@mail.example.org>" : "<";
      const int edits = 1 + static_cast<int>(random() % 6);
      for (int e = 0; e < edits; ++e) {
        const char c = alphabet[random() % alphabet.size()];
        const std::size_t at = 1 + random() % text.size();
        switch (random() % 3) {
          case 0:
            text.insert(text.begin() + static_cast<std::ptrdiff_t>(std::min(at, text.size())), c);
            break;
          case 1:
            if (at < text.size()) text[at] = c;
            break;
          default:
            if (at < text.size()) text.erase(at, 1);
        }
      }
      vouched += check_against_grammar(kernel, text, i % 3 ? PathKind::reverse : PathKind::forward);
    }
    // Both outcomes occurred, so the comparison above was not vacuous.
    EXPECT_GT(vouched, 1000u) << impl_name(impl);
    EXPECT_LT(vouched, 190000u) << impl_name(impl);
  }
}

// A path at the very end of a readable page, the next page unmapped: the kernel's 64-octet
// load must not touch it (a fault would kill the test).
TEST(PathFastPath, NeverReadsPastItsInput) {
  const auto found = mailbox_kernels();
  if (found.empty()) GTEST_SKIP() << "no implementation with a mailbox kernel on this CPU";
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  auto* pages = static_cast<char*>(
      mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(pages, MAP_FAILED);
  ASSERT_EQ(mprotect(pages + page, page, PROT_NONE), 0);
  for (const auto& [impl, kernel] : found)
    for (const std::string text : {"<user@example.com>", "<a@b>", "<user@example.com"}) {
      char* at = pages + page - text.size();
      std::memcpy(at, text.data(), text.size());
      const auto split = kernel(at + 1, text.size() - 1);
      EXPECT_EQ(split.end != 0, text.back() == '>') << impl_name(impl) << ": " << text;
    }
  munmap(pages, 2 * page);
}

}  // namespace
}  // namespace mxring::parser
