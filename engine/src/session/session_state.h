// The session's per-transaction and per-AUTH state, private to the session's sources.
#pragma once

#include <string>

#include "mxring/engine/session.h"

namespace mxring::engine {

struct Session::Transaction {
  Envelope envelope;
  ByteBuffer content;             // Received: header, then the body
  std::size_t header_length = 0;  // octets of content that are the trace header
  // What `content` should come to by MAIL's SIZE (0: not declared); ByteBuffer::prepare.
  std::size_t expected_size = 0;
  bool content_started = false;  // DATA accepted or a first BDAT chunk taken
  bool overflowed = false;       // content drained, not kept: past max_message_size ...
  bool out_of_room = false;      // ... or the reactor's ContentBudget had no room for it
  ContentCharge charge;          // what `content` holds of that budget

  std::uint64_t body_size() const { return content.size() - header_length; }
  // Octets content may still take without growing past expected_size (0: no such bound).
  std::size_t room_before_expected() const {
    return expected_size > content.size() ? expected_size - content.size() : 0;
  }
};

// A SASL exchange in progress: which mechanism, and what LOGIN has collected so far.
struct Session::SaslExchange {
  bool login = false;
  bool have_user = false;
  std::string user;
};

}  // namespace mxring::engine
