// Each rule of engine/src/reactor/completion_rules.h, checked against completions a real
// io_uring produces on real loopback sockets. Skips when the kernel lacks io_uring.
#include "completion_rules.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "cancel_then_close.h"
#include "mxring/engine/buffer_ring.h"
#include "ring.h"
#include "user_data.h"

namespace mxring::engine {
namespace {

class CompletionRules : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const auto missing = Ring::missing_features(); !missing.empty())
      GTEST_SKIP() << "kernel lacks: " << missing;
    std::string error;
    auto ring = Ring::create({.sq_entries = 64, .cq_entries = 256}, error);
    ASSERT_TRUE(ring) << error;
    ring_.emplace(std::move(*ring));
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(listen(listener_, 16), 0);
    socklen_t length = sizeof address_;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&address_), &length);
  }
  void TearDown() override {
    for (int fd : {listener_, client_, server_})
      if (fd >= 0) close(fd);
  }

  // A connected pair: client_ (plain socket) and server_ (accepted).
  void connect_pair() {
    client_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_EQ(connect(client_, reinterpret_cast<sockaddr*>(&address_), sizeof address_), 0);
    server_ = accept(listener_, nullptr, nullptr);
    ASSERT_GE(server_, 0);
  }

  io_uring_cqe next() {
    io_uring_cqe* cqe = nullptr;
    __kernel_timespec wait{.tv_sec = 5, .tv_nsec = 0};
    const int rc = io_uring_submit_and_wait_timeout(ring_->get(), &cqe, 1, &wait, nullptr);
    EXPECT_GE(rc, 0) << "no completion within 5 s";
    io_uring_cqe copy = *cqe;
    io_uring_cqe_seen(ring_->get(), cqe);
    return copy;
  }

  void arm_recv(int fd, std::uint16_t group, UserData tag = {Op::recv, 1, 7}) {
    auto* sqe = ring_->sqe();
    io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = group;
    io_uring_sqe_set_data64(sqe, tag.pack());
  }

  // Waits for the completion tagged `op`, keeping the others seen on the way in `seen`.
  io_uring_cqe next_of(Op op, std::vector<io_uring_cqe>& seen) {
    for (int i = 0; i < 8; ++i) {
      const auto cqe = next();
      if (UserData::unpack(cqe.user_data).op == op) return cqe;
      seen.push_back(cqe);
    }
    ADD_FAILURE() << "no completion of the operation asked for";
    return {};
  }

  std::optional<Ring> ring_;
  int listener_ = -1, client_ = -1, server_ = -1;
  sockaddr_in address_{};
};

TEST(UserData, PacksOperationGenerationAndSlot) {
  const UserData ud{Op::send, 0x123456, 0xdeadbeef};
  const auto back = UserData::unpack(ud.pack());
  EXPECT_EQ(back.op, Op::send);
  EXPECT_EQ(back.generation, 0x123456u);
  EXPECT_EQ(back.slot, 0xdeadbeefu);
  // Generations wrap at 24 bits, the same on both sides of the comparison.
  EXPECT_EQ(UserData::unpack(UserData{Op::recv, 0x1000001, 1}.pack()).generation, 1u);
}

TEST_F(CompletionRules, MultishotAcceptDeliversConnectionsAndStaysArmed) {
  auto* sqe = ring_->sqe();
  io_uring_prep_multishot_accept(sqe, listener_, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, UserData{Op::accept, 0, 0}.pack());
  for (int i = 0; i < 2; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address_), sizeof address_), 0);
    const auto cqe = next();
    const auto rule = accept_rule(cqe.res, cqe.flags);
    EXPECT_EQ(rule.action, AcceptAction::connection);
    EXPECT_FALSE(rule.rearm);  // F_MORE: still armed
    close(cqe.res);
    close(fd);
  }
  auto* cancel = ring_->sqe();
  io_uring_prep_cancel64(cancel, UserData{Op::accept, 0, 0}.pack(), 0);
  io_uring_sqe_set_data64(cancel, UserData{Op::cancel, 0, 0}.pack());
  for (int i = 0; i < 2; ++i) {
    const auto cqe = next();
    if (UserData::unpack(cqe.user_data).op != Op::accept) continue;
    EXPECT_EQ(accept_rule(cqe.res, cqe.flags).action, AcceptAction::listener_closed);
  }
}

TEST_F(CompletionRules, RecvDeliversIntoProvidedBuffersWithPadding) {
  connect_pair();
  std::string error;
  auto buffers = BufferRing::create(ring_->get(), 3, 8, 4096, error);
  ASSERT_TRUE(buffers) << error;
  arm_recv(server_, 3);
  ASSERT_EQ(send(client_, "EHLO x\r\n", 8, 0), 8);
  const auto cqe = next();
  const auto rule = recv_rule(cqe.res, cqe.flags);
  EXPECT_EQ(rule.action, RecvAction::deliver);
  EXPECT_FALSE(rule.rearm);
  ASSERT_TRUE(carries_buffer(cqe.flags));
  const auto bytes = buffers->received(buffer_id(cqe.flags), static_cast<std::size_t>(cqe.res));
  EXPECT_EQ(std::string(bytes.data(), bytes.size()), "EHLO x\r\n");
}

// -ENOBUFS ends the multishot recv; replenishing and re-arming loses nothing
// (uring-wolfssl.md §2.2).
TEST_F(CompletionRules, EnobufsMeansReplenishThenRearmAndNothingIsLost) {
  connect_pair();
  std::string error;
  auto buffers = BufferRing::create(ring_->get(), 4, 2, 64, error);
  ASSERT_TRUE(buffers) << error;
  std::string sent;
  for (int i = 0; i < 40; ++i) sent += "0123456789abcdef";  // 640 octets, 10 buffers' worth
  ASSERT_EQ(send(client_, sent.data(), sent.size(), 0), static_cast<ssize_t>(sent.size()));
  arm_recv(server_, 4);
  std::string received;
  int enobufs = 0;
  while (received.size() < sent.size()) {
    const auto cqe = next();
    const auto rule = recv_rule(cqe.res, cqe.flags);
    if (rule.action == RecvAction::replenish_and_rearm) {
      ++enobufs;
      EXPECT_FALSE(cqe.flags & IORING_CQE_F_MORE);
      EXPECT_TRUE(rule.rearm);
      buffers->publish();  // the buffers recycled below go back only now
      arm_recv(server_, 4);
      continue;
    }
    ASSERT_EQ(rule.action, RecvAction::deliver);
    const auto id = buffer_id(cqe.flags);
    const auto bytes = buffers->received(id, static_cast<std::size_t>(cqe.res));
    received.append(bytes.data(), bytes.size());
    buffers->recycle(id);  // held until the next ENOBUFS, to force it
    if (rule.rearm) arm_recv(server_, 4);
  }
  EXPECT_EQ(received, sent);
  EXPECT_GT(enobufs, 0);
}

TEST_F(CompletionRules, PeerCloseIsEndOfStream) {
  connect_pair();
  std::string error;
  auto buffers = BufferRing::create(ring_->get(), 5, 4, 256, error);
  ASSERT_TRUE(buffers) << error;
  arm_recv(server_, 5);
  shutdown(client_, SHUT_WR);
  const auto cqe = next();
  const auto rule = recv_rule(cqe.res, cqe.flags);
  EXPECT_EQ(rule.action, RecvAction::end_of_stream);
  EXPECT_FALSE(rule.rearm);
}

TEST_F(CompletionRules, CancelledRecvIsDropped) {
  connect_pair();
  std::string error;
  auto buffers = BufferRing::create(ring_->get(), 6, 4, 256, error);
  ASSERT_TRUE(buffers) << error;
  arm_recv(server_, 6);
  auto* sqe = ring_->sqe();
  io_uring_prep_cancel64(sqe, UserData{Op::recv, 1, 7}.pack(), 0);
  io_uring_sqe_set_data64(sqe, UserData{Op::cancel, 0, 0}.pack());
  for (int i = 0; i < 2; ++i) {
    const auto cqe = next();
    if (UserData::unpack(cqe.user_data).op != Op::recv) continue;
    EXPECT_EQ(recv_rule(cqe.res, cqe.flags).action, RecvAction::cancelled);
  }
}

TEST_F(CompletionRules, ResetConnectionClosesOnRecvAndSend) {
  connect_pair();
  std::string error;
  auto buffers = BufferRing::create(ring_->get(), 8, 4, 256, error);
  ASSERT_TRUE(buffers) << error;
  const linger abortive{.l_onoff = 1, .l_linger = 0};
  setsockopt(client_, SOL_SOCKET, SO_LINGER, &abortive, sizeof abortive);
  close(client_);  // RST
  client_ = -1;
  arm_recv(server_, 8);
  const auto recv = next();
  EXPECT_EQ(recv_rule(recv.res, recv.flags).action, RecvAction::close) << recv.res;
  auto* sqe = ring_->sqe();
  io_uring_prep_send(sqe, server_, "x\r\n", 3, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, UserData{Op::send, 1, 7}.pack());
  const auto send = next();
  EXPECT_EQ(send_rule(send.res), SendAction::close) << send.res;
}

// The pitfall the close sequence exists for: a plain close with a multishot recv armed sends
// no FIN; cancelling it first (hard-linked to the close) does. The cancel names the request,
// so another connection's armed recv goes on receiving.
TEST_F(CompletionRules, CancelThenCloseSendsFinWhileRecvIsArmed) {
  connect_pair();
  std::string error;
  auto buffers = BufferRing::create(ring_->get(), 7, 4, 256, error);
  ASSERT_TRUE(buffers) << error;
  const int other_client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_EQ(connect(other_client, reinterpret_cast<sockaddr*>(&address_), sizeof address_), 0);
  const int other_server = accept(listener_, nullptr, nullptr);
  ASSERT_GE(other_server, 0);
  const UserData reading{Op::recv, 1, 7}, other_reading{Op::recv, 1, 8};
  arm_recv(server_, 7, reading);
  arm_recv(other_server, 7, other_reading);
  io_uring_submit(ring_->get());
  const std::uint64_t in_flight[] = {reading.pack()};
  cancel_then_close(*ring_, server_, in_flight, UserData{Op::cancel, 0, 0}.pack(),
                    UserData{Op::close, 1, 7}.pack());
  server_ = -1;
  std::vector<io_uring_cqe> seen;
  EXPECT_EQ(next_of(Op::close, seen).res, 0);
  pollfd p{.fd = client_, .events = POLLIN, .revents = 0};
  ASSERT_EQ(poll(&p, 1, 5000), 1) << "no FIN reached the peer";
  char byte;
  EXPECT_EQ(recv(client_, &byte, 1, 0), 0);
  for (const auto& cqe : seen) EXPECT_NE(cqe.user_data, other_reading.pack()) << cqe.res;
  ASSERT_EQ(send(other_client, "NOOP\r\n", 6, 0), 6);
  const auto delivered = next();
  EXPECT_EQ(delivered.user_data, other_reading.pack());
  EXPECT_EQ(delivered.res, 6);
  close(other_client);
  close(other_server);
}

// A close's chain of cancels goes to the kernel in one submission: with fewer free SQEs than
// it needs, what is queued is submitted first (and completes), and the chain starts in an SQ
// with room for all of it.
TEST_F(CompletionRules, ReserveSubmitsWhatIsQueuedWhenTheChainWouldNotFit) {
  const unsigned size = ring_->get()->sq.ring_entries;
  for (unsigned i = 0; i + 1 < size; ++i) {
    auto* nop = ring_->sqe();
    io_uring_prep_nop(nop);
    io_uring_sqe_set_data64(nop, UserData{Op::wake, 0, i}.pack());
  }
  ASSERT_EQ(io_uring_sq_space_left(ring_->get()), 1u);
  ring_->reserve(1);  // room enough: nothing submitted
  EXPECT_EQ(io_uring_sq_ready(ring_->get()), size - 1);
  ring_->reserve(3);
  EXPECT_GE(io_uring_sq_space_left(ring_->get()), 3u);
  EXPECT_EQ(io_uring_sq_ready(ring_->get()), 0u);
  for (unsigned i = 0; i + 1 < size; ++i) {
    const auto cqe = next();
    EXPECT_EQ(UserData::unpack(cqe.user_data).op, Op::wake);
  }
}

// A send the peer's full window holds back is cancelled too; the close completes and the peer,
// once it reads what was sent before, sees the FIN.
TEST_F(CompletionRules, CancelThenCloseCancelsASendHeldByAFullWindow) {
  connect_pair();
  std::string error;
  auto buffers = BufferRing::create(ring_->get(), 9, 4, 256, error);
  ASSERT_TRUE(buffers) << error;
  const int small = 4096;
  setsockopt(server_, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  setsockopt(client_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  const std::string chunk(64 << 10, 'x');
  std::size_t queued = 0;
  for (ssize_t n; (n = send(server_, chunk.data(), chunk.size(), MSG_DONTWAIT)) > 0;)
    queued += static_cast<std::size_t>(n);
  const UserData reading{Op::recv, 1, 7}, sending{Op::send, 1, 7};
  arm_recv(server_, 9, reading);
  auto* sqe = ring_->sqe();
  io_uring_prep_send(sqe, server_, chunk.data(), chunk.size(), MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, sending.pack());
  io_uring_submit(ring_->get());
  const std::uint64_t in_flight[] = {reading.pack(), sending.pack()};
  cancel_then_close(*ring_, server_, in_flight, UserData{Op::cancel, 0, 0}.pack(),
                    UserData{Op::close, 1, 7}.pack());
  server_ = -1;
  std::vector<io_uring_cqe> seen;
  EXPECT_EQ(next_of(Op::close, seen).res, 0);
  bool send_cancelled = false;
  for (const auto& cqe : seen) {
    EXPECT_NE(UserData::unpack(cqe.user_data).op, Op::cancel) << "a cancel failed: " << cqe.res;
    if (cqe.user_data == sending.pack()) send_cancelled = cqe.res == -ECANCELED;
  }
  EXPECT_TRUE(send_cancelled);
  std::size_t read = 0;
  char buffer[65536];
  for (ssize_t n; (n = ::recv(client_, buffer, sizeof buffer, 0)) > 0;)
    read += static_cast<std::size_t>(n);
  EXPECT_EQ(read, queued);  // then end of stream: the FIN came after what was queued
}

}  // namespace
}  // namespace mxring::engine
