// Where exported or tailed messages go, one class per format (README.md here documents each):
//   jsonl    one JSON object a line: the envelope, then the message as a UTF-8 string or base64
//   mbox     mboxrd: a "From " line per message, ">From " quoting reversible by any reader
//   eml      a directory with one <queue id>.eml file per message
//   maildir  a maildir (tmp/ → new/), for mail readers and Python's mailbox module
// Each writes the stored message octets unchanged (CRLF line ends included).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "mxring/engine/spool_stream.h"

namespace mxring::tools::spool {

enum class Format { jsonl, mbox, eml, maildir };

std::optional<Format> parse_format(const std::string& name);

class MessageWriter {
 public:
  virtual ~MessageWriter() = default;
  // False on a write error (see error()).
  virtual bool write(const engine::StreamedRecord& record) = 0;
  // Hands everything written so far over: flushed to the output and, for files and
  // directories, made durable. A cursor may advance only past what `commit` covered.
  virtual bool commit() = 0;
  const std::string& error() const { return error_; }

 protected:
  std::string error_;
};

// `target`: "-" for standard output (jsonl and mbox only), else a file (jsonl, mbox; created,
// or appended to when `append`) or a directory (eml, maildir; created when missing).
std::unique_ptr<MessageWriter> make_message_writer(Format format, const std::string& target,
                                                   bool append, std::string& error);

}  // namespace mxring::tools::spool
