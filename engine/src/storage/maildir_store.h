// The maildir sink (one file per message, for tools that expect maildir): each batch is
// written into tmp/, made durable with one syncfs, renamed into new/, and the rename made
// durable with one fsync of new/ — group commit, like the spool. File names follow the
// maildir convention: <seconds>.M<microseconds>P<pid>Q<writer>_<counter>.<host>.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage_channel.h"

namespace mxring::engine {

class MaildirStore {
 public:
  MaildirStore(std::string directory, unsigned writer);

  // Creates tmp/, new/ and cur/ when missing. Returns an error message, or empty.
  std::string open();

  // Stores every message of the batch or reports why not, one result per message. Each file
  // is the Return-Path: field (RFC 5321 §4.4, as a delivering MTA adds it) then the content.
  void write(std::vector<StoreRequest>& batch, std::vector<StorageResult>& results);

 private:
  std::string unique_name();

  std::string directory_;
  unsigned writer_;
  std::string host_;
  std::uint64_t counter_ = 0;
};

}  // namespace mxring::engine
