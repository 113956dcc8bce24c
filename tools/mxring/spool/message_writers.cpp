// The export formats.
#include "message_writers.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <vector>

#include "envelope_json.h"
#include "json_text.h"
#include "mxring/engine/maildir_name.h"
#include "output_buffer.h"

namespace mxring::tools::spool {
namespace {

using engine::StreamedRecord;

std::string system_error(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

bool write_file(const std::string& path, std::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return false;
  std::size_t done = 0;
  while (done < bytes.size()) {
    const auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  return close(fd) == 0 && done == bytes.size();
}

// Every file written into `directory` is durable once its file system is synced; one
// syncfs for a whole batch instead of an fsync per file.
bool sync_directory_files(const std::string& directory) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = syncfs(fd) == 0 && fsync(fd) == 0;
  close(fd);
  return ok;
}

// A stream of records into one file or standard output.
class StreamWriter : public MessageWriter {
 public:
  StreamWriter(int fd, bool owned) : fd_(fd), owned_(owned), out_(fd) {}
  ~StreamWriter() override {
    out_.flush();
    if (owned_) close(fd_);
  }

  bool write(const StreamedRecord& record) override {
    append(record);
    if (!out_.maybe_flush()) error_ = system_error("write");
    return error_.empty();
  }

  bool commit() override {
    if (!out_.flush()) error_ = system_error("write");
    // A regular file is made durable; a pipe or terminal has nothing to sync.
    struct stat info {};
    if (error_.empty() && fstat(fd_, &info) == 0 && S_ISREG(info.st_mode) && fdatasync(fd_) != 0)
      error_ = system_error("fdatasync");
    return error_.empty();
  }

 protected:
  virtual void append(const StreamedRecord& record) = 0;
  OutputBuffer& out() { return out_; }

 private:
  int fd_;
  bool owned_;
  OutputBuffer out_;
};

// Schema "mxring.message.v1": {"schema", envelope members as `spool show` prints them,
// "spool": {"writer","segment","offset"}, then "message" (UTF-8) or "message_base64"}.
class JsonlWriter final : public StreamWriter {
  using StreamWriter::StreamWriter;
  void append(const StreamedRecord& record) override {
    auto& out = this->out();
    out.append(R"({"schema":"mxring.message.v1",)");
    append_envelope_members(out, record.view);
    char spool[96];
    const int n =
        std::snprintf(spool, sizeof spool, R"(,"spool":{"writer":%u,"segment":%llu,"offset":%llu})",
                      record.writer, static_cast<unsigned long long>(record.at.sequence),
                      static_cast<unsigned long long>(record.at.offset));
    out.append(std::string_view(spool, static_cast<std::size_t>(n)));
    const auto before_message = out.size();
    out.append(R"(,"message":)");
    if (!append_json_string_if_utf8(out, record.view.message)) {
      out.truncate(before_message);
      out.append(R"(,"message_base64":)");
      append_base64_string(out, record.view.message);
    }
    out.append("}\n");
  }
};

// mboxrd (as in mutt and Python's mailbox with unquoting): "From <sender> <asctime>" then the
// message with every line matching ^>*From  given one more '>', then an empty line.
class MboxWriter final : public StreamWriter {
  using StreamWriter::StreamWriter;
  void append(const StreamedRecord& record) override {
    auto& out = this->out();
    const auto envelope = engine::spool::decode_envelope(record.view);
    const auto sender = envelope && !envelope->mail_from.empty() ? envelope->mail_from
                                                                 : std::string("MAILER-DAEMON");
    const auto seconds = static_cast<std::time_t>(record.view.header.received_at_us / 1'000'000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char date[40];
    std::strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &utc);
    out.append("From ");
    // A space in a quoted local part would split the From_ line's fields.
    for (char c : sender) out.append(c == ' ' || c == '\n' || c == '\r' ? '_' : c);
    out.append(' ');
    out.append(date);
    out.append('\n');
    std::string_view message = record.view.message;
    while (!message.empty()) {
      const auto end = message.find('\n');
      const auto line = message.substr(0, end == std::string_view::npos ? message.size() : end + 1);
      const auto quotes = line.find_first_not_of('>');
      if (quotes != std::string_view::npos && line.substr(quotes).starts_with("From "))
        out.append('>');
      out.append(line);
      message.remove_prefix(line.size());
    }
    if (!record.view.message.ends_with('\n')) out.append('\n');
    out.append('\n');
  }
};

// Files in a directory: eml (<queue id>.eml) or maildir (tmp/ → new/).
class DirectoryWriter final : public MessageWriter {
 public:
  DirectoryWriter(std::string directory, bool maildir)
      : directory_(std::move(directory)), maildir_(maildir), host_(engine::maildir_host_name()) {}

  bool write(const StreamedRecord& record) override {
    const auto id = std::string(record.view.header.queue_id.view());
    if (!maildir_) {
      if (!write_file(directory_ + "/" + id + ".eml", record.view.message))
        error_ = system_error("writing " + id + ".eml");
      return error_.empty();
    }
    // Unique per the maildir specification: time, then what makes it unique (the queue id
    // is unique across restarts and nodes), then the host.
    const auto us = record.view.header.received_at_us;
    const auto name = std::to_string(us / 1'000'000) + ".M" + std::to_string(us % 1'000'000) + "Q" +
                      id + "." + host_;
    if (!write_file(directory_ + "/tmp/" + name, record.view.message))
      error_ = system_error("writing tmp/" + name);
    else
      pending_.push_back(name);
    return error_.empty();
  }

  bool commit() override {
    if (!error_.empty()) return false;
    const auto written = maildir_ ? directory_ + "/tmp" : directory_;
    if (!sync_directory_files(written)) {
      error_ = system_error("syncing " + written);
      return false;
    }
    if (!maildir_ || pending_.empty()) return true;
    for (const auto& name : pending_) {
      if (std::rename((directory_ + "/tmp/" + name).c_str(),
                      (directory_ + "/new/" + name).c_str()) != 0) {
        error_ = system_error("moving " + name + " to new/");
        return false;
      }
    }
    pending_.clear();
    if (!sync_directory_files(directory_ + "/new")) error_ = system_error("syncing new/");
    return error_.empty();
  }

 private:
  std::string directory_;
  bool maildir_;
  std::string host_;
  std::vector<std::string> pending_;
};

}  // namespace

std::optional<Format> parse_format(const std::string& name) {
  if (name == "jsonl") return Format::jsonl;
  if (name == "mbox") return Format::mbox;
  if (name == "eml") return Format::eml;
  if (name == "maildir") return Format::maildir;
  return std::nullopt;
}

std::unique_ptr<MessageWriter> make_message_writer(Format format, const std::string& target,
                                                   bool append, std::string& error) {
  if (format == Format::eml || format == Format::maildir) {
    if (target == "-") {
      error = "eml and maildir need --out DIRECTORY";
      return nullptr;
    }
    std::error_code failure;
    std::filesystem::create_directories(target, failure);
    if (format == Format::maildir)
      for (const char* sub : {"/tmp", "/new", "/cur"})
        std::filesystem::create_directories(target + sub, failure);
    if (failure) {
      error = "cannot create " + target + ": " + failure.message();
      return nullptr;
    }
    return std::make_unique<DirectoryWriter>(target, format == Format::maildir);
  }
  int fd = STDOUT_FILENO;
  const bool owned = target != "-";
  if (owned) {
    fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC),
                0640);
    if (fd < 0) {
      error = system_error("cannot open " + target);
      return nullptr;
    }
  }
  if (format == Format::jsonl) return std::make_unique<JsonlWriter>(fd, owned);
  return std::make_unique<MboxWriter>(fd, owned);
}

}  // namespace mxring::tools::spool
