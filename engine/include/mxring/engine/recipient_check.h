// The question the session asks at RCPT time, as an interface: the file-backed
// RecipientPolicy is the default answer; other sources (a database, a milter) may plug in.
#pragma once

#include <cstdint>
#include <string_view>

namespace mxring::engine {

enum class RcptVerdict : std::uint8_t {
  accept,
  unknown_user,  // 550 5.1.1: an accepted domain, but nobody of that name
  relay_denied,  // 550 5.7.1: not a domain we accept mail for, or a local part that routes
                 // elsewhere (user%elsewhere, elsewhere!user); no open relay
};

class RecipientCheck {
 public:
  virtual ~RecipientCheck() = default;

  // `local_part` and `domain` as the client sent them (a quoted local part keeps its quotes);
  // `domain` empty for RCPT TO:<postmaster>. `may_relay`: the session is authenticated on a
  // submission listener. Must not block: the reactor thread calls it.
  virtual RcptVerdict check(std::string_view local_part, std::string_view domain,
                            bool may_relay) const = 0;
};

}  // namespace mxring::engine
