// Which clients may send mail here (--client-access): a table of address ranges, each
// permitted or refused. It is read in order, as Postfix reads a cidr: table
// (check_client_access): the first range that holds the client decides, and a client no range
// holds is permitted. So "permit 192.0.2.7" before "reject 192.0.2.0/24" lets one host of a
// refused network in.
//
// A refused client is greeted with 554 5.7.1 and served nothing but QUIT (RFC 5321 §3.1).
// An immutable snapshot: SIGHUP builds a new one and new sessions take it.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "mxring/engine/address_range.h"
#include "mxring/engine/policy_error.h"

namespace mxring::engine {

class ClientAccess {
 public:
  // `table`: one rule a line, `RANGE ACTION [TEXT]`: RANGE an address or CIDR range (IPv4 or
  // IPv6), ACTION `permit` (or `ok`) or `reject`, TEXT what a refused client is told (printable
  // ASCII; default "Access denied"). `#` starts a comment. A range given twice, or with bits
  // set past its prefix, is an error: the table would not mean what it says.
  static std::variant<ClientAccess, PolicyError> build(std::string_view table);

  // The reply a refused client is greeted with ("554 5.7.1 ...\r\n"), or null when it may send
  // mail. `client`: its address, IPv4 mapped. Costs one hash probe per distinct prefix length
  // in the table, however many rules it holds.
  const std::string* refusal(const MappedOctets& client) const;

  std::size_t rules() const { return rules_.size(); }

 private:
  struct Rule {
    bool permit = true;
    std::string reply;  // refused: the greeting's text, with its code and CRLF
  };
  struct NetworkHash {
    std::size_t operator()(const MappedOctets& network) const {
      std::uint64_t high, low;
      std::memcpy(&high, network.data(), 8);
      std::memcpy(&low, network.data() + 8, 8);
      return static_cast<std::size_t>((high * 0x9e3779b97f4a7c15ull) ^ low);
    }
  };
  // The rules of one prefix length, by network (masked()): the index of the first rule for it.
  struct PrefixLength {
    unsigned bits = 0;
    std::unordered_map<MappedOctets, std::size_t, NetworkHash> rules;
  };

  std::vector<Rule> rules_;
  std::vector<PrefixLength> lengths_;
};

}  // namespace mxring::engine
