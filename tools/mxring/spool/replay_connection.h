// The SMTP client connection of `mxring spool replay`: connects and says EHLO, learns what the
// server offers, and can be opened again when the server ends it (MAILMAX reached, 421).
// Blocking: replay sends one message after another.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "../bench/reply_reader.h"
#include "common/ehlo_offer.h"
#include "common/host_port.h"

namespace mxring::tools::spool {

class ReplayConnection {
 public:
  ReplayConnection(HostPort target, std::string helo)
      : target_(std::move(target)), helo_(std::move(helo)) {}
  ~ReplayConnection() { drop(); }
  ReplayConnection(const ReplayConnection&) = delete;
  ReplayConnection& operator=(const ReplayConnection&) = delete;

  // Connects (saying QUIT on the connection before, if open), reads the greeting and says
  // EHLO; empty, or why that failed.
  std::string open();
  bool is_open() const { return fd_ >= 0; }
  // QUIT and close, when open.
  void quit();

  const EhloOffer& offer() const { return offer_; }
  // Transactions begun since open(): what MAILMAX counts.
  std::uint64_t transactions() const { return transactions_; }
  void begin_transaction() { ++transactions_; }

  bool send(std::string_view bytes);
  // The next reply; code 0 when the connection ended or timed out (it is closed then).
  bench::Reply reply();

 private:
  void drop();

  HostPort target_;
  std::string helo_;
  int fd_ = -1;
  EhloOffer offer_;
  std::uint64_t transactions_ = 0;
  bench::ReplyReader reader_;
  std::deque<bench::Reply> replies_;
};

}  // namespace mxring::tools::spool
