// What the reactor does with each completion: one table, in one place, each rule tested
// against a real ring (tests/unit/completion_rules_test.cpp).
//
// | op     | completion                          | action                                    |
// |--------|-------------------------------------|-------------------------------------------|
// | any    | stale generation (slot was reused)  | recycle its buffer if it carries one; drop|
// | accept | res >= 0                            | new connection; re-arm if !F_MORE         |
// | accept | -EMFILE -ENFILE -ENOBUFS -ENOMEM    | out of resources: re-arm on the next tick |
// | accept | -ECANCELED                          | the listener is closing: drop             |
// | accept | other error                         | log, re-arm on the next tick              |
// | recv   | res > 0 (F_BUFFER)                  | feed the session, recycle the buffer;     |
// |        |                                     | re-arm if !F_MORE                          |
// | recv   | res == 0                            | peer closed (EOF): close                  |
// | recv   | -ENOBUFS (no F_MORE)                | every buffer is in use: publish recycled  |
// |        |                                     | buffers, then re-arm; no data is lost     |
// | recv   | -ECANCELED                          | we cancelled it (pause or close): drop    |
// | recv   | other error (-ECONNRESET, ...)      | close                                     |
// | send   | res > 0, short                      | send the rest (one send in flight)        |
// | send   | res > 0, complete                   | send what the session queued since        |
// | send   | res <= 0                            | close (-EPIPE/-ECONNRESET: peer is gone)  |
// | cancel | any                                 | nothing (IOSQE_CQE_SKIP_SUCCESS)          |
// | close  | any                                 | the slot may be reused                    |
// | wake   | any                                 | read the mailbox; re-arm the eventfd read |
//
// A multishot request that ends (no F_MORE) for any reason other than the ones above is
// re-armed: liburing's proxy example and test/recv-multishot.c pin that contract.
#pragma once

#include <liburing.h>

#include <cerrno>
#include <cstdint>

namespace mxring::engine {

enum class RecvAction : std::uint8_t {
  deliver,              // res octets in the buffer
  end_of_stream,        // the peer closed its side
  replenish_and_rearm,  // -ENOBUFS
  cancelled,            // -ECANCELED
  close,                // a real error
};

struct RecvRule {
  RecvAction action;
  bool rearm;  // the multishot request ended and must be armed again
};

constexpr RecvRule recv_rule(int res, std::uint32_t flags) {
  const bool more = flags & IORING_CQE_F_MORE;
  if (res > 0) return {RecvAction::deliver, !more};
  if (res == 0) return {RecvAction::end_of_stream, false};
  if (res == -ENOBUFS) return {RecvAction::replenish_and_rearm, true};
  if (res == -ECANCELED) return {RecvAction::cancelled, false};
  return {RecvAction::close, false};
}

enum class AcceptAction : std::uint8_t { connection, retry_later, listener_closed };

struct AcceptRule {
  AcceptAction action;
  bool rearm;  // now (connection) or on the next tick (retry_later)
};

constexpr AcceptRule accept_rule(int res, std::uint32_t flags) {
  const bool more = flags & IORING_CQE_F_MORE;
  if (res >= 0) return {AcceptAction::connection, !more};
  if (res == -ECANCELED) return {AcceptAction::listener_closed, false};
  return {AcceptAction::retry_later, !more};
}

enum class SendAction : std::uint8_t { progress, close };

constexpr SendAction send_rule(int res) {
  return res > 0 ? SendAction::progress : SendAction::close;
}

// Whether the completion carries a provided buffer that must go back to the ring, whatever
// else happens to it (a stale recv completion still owns its buffer).
constexpr bool carries_buffer(std::uint32_t flags) {
  return flags & IORING_CQE_F_BUFFER;
}
constexpr std::uint16_t buffer_id(std::uint32_t flags) {
  return static_cast<std::uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
}

}  // namespace mxring::engine
