// Spool records written straight into a segment file, for readers' tests that need no writer
// thread: a minimal envelope (one sender, one recipient) and the content given.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "mxring/engine/spool_format.h"

namespace mxring::test {

// Appends a record with queue id `id` and content `body` to the segment file at `path`
// (created if absent); returns the offset the record starts at.
inline std::uint64_t append_record(const std::string& path, const std::string& id,
                                   const std::string& body) {
  engine::Message m;
  m.envelope.queue_id = engine::QueueId(id);
  m.envelope.mail_from = "a@b.test";
  m.envelope.recipients.push_back({"c@d.test", 0, ""});
  m.content.append(body);
  const auto offset = std::filesystem::exists(path) ? std::filesystem::file_size(path) : 0;
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << engine::spool::encode_record_prefix(m, 1) << body;
  return offset;
}

}  // namespace mxring::test
