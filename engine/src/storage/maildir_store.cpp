// Maildir delivery with one syncfs and one directory fsync per batch.
#include "maildir_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "iovec_cursor.h"
#include "mxring/engine/log.h"
#include "mxring/engine/maildir_name.h"
#include "sync_directory.h"

namespace mxring::engine {
namespace {

bool write_all(int fd, std::string_view head, std::string_view body) {
  iovec iov[2] = {{const_cast<char*>(head.data()), head.size()},
                  {const_cast<char*>(body.data()), body.size()}};
  std::size_t index = 0;
  while (index < 2) {
    const auto n = ::writev(fd, iov + index, static_cast<int>(2 - index));
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    advance_iovecs(iov, 2, index, static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

MaildirStore::MaildirStore(std::string directory, unsigned writer)
    : directory_(std::move(directory)), writer_(writer), host_(maildir_host_name()) {}

std::string MaildirStore::open() {
  std::error_code error;
  std::filesystem::create_directories(directory_, error);
  for (const char* sub : {"/tmp", "/new", "/cur"}) {
    const auto path = directory_ + sub;
    if (mkdir(path.c_str(), 0750) != 0 && errno != EEXIST)
      return "cannot create " + path + ": " + std::strerror(errno);
  }
  return {};
}

std::string MaildirStore::unique_name() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  char name[320];
  std::snprintf(name, sizeof name, "%lld.M%ldP%dQ%u_%llu.%s", static_cast<long long>(now.tv_sec),
                now.tv_nsec / 1000, static_cast<int>(getpid()), writer_,
                static_cast<unsigned long long>(counter_++), host_.c_str());
  return name;
}

void MaildirStore::write(std::vector<StoreRequest>& batch, std::vector<StorageResult>& results) {
  results.assign(batch.size(), StorageResult::stored);
  std::vector<std::string> names(batch.size());
  bool sync = false;
  int tmp_fd = -1;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto& message = *batch[i].message;
    names[i] = unique_name();
    const auto path = directory_ + "/tmp/" + names[i];
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    const std::string head = "Return-Path: <" + message.envelope.mail_from + ">\r\n";
    if (fd < 0 || !write_all(fd, head, message.content.view())) {
      results[i] = storage_failure(errno);
      if (fd >= 0) close(fd);
      unlink(path.c_str());
      continue;
    }
    if (tmp_fd < 0) tmp_fd = dup(fd);  // any file of the file system serves syncfs
    close(fd);
    sync = sync || batch[i].sync;
  }
  // One flush for every file of the batch, instead of an fsync each.
  if (sync && tmp_fd >= 0 && syncfs(tmp_fd) != 0) {
    const int error = errno;
    for (std::size_t i = 0; i < batch.size(); ++i)
      if (results[i] == StorageResult::stored) {
        results[i] = storage_failure(error);
        unlink((directory_ + "/tmp/" + names[i]).c_str());
      }
  }
  if (tmp_fd >= 0) close(tmp_fd);
  bool renamed = false;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (results[i] != StorageResult::stored) continue;
    const auto from = directory_ + "/tmp/" + names[i];
    const auto to = directory_ + "/new/" + names[i];
    if (rename(from.c_str(), to.c_str()) != 0) {
      results[i] = storage_failure(errno);
      unlink(from.c_str());
      continue;
    }
    renamed = true;
  }
  if (sync && renamed) {  // the renames themselves must survive a crash
    const auto path = directory_ + "/new";
    if (!sync_directory(path)) {
      log(Level::error, "maildir: cannot sync " + path + ": " + std::strerror(errno));
      for (auto& r : results)  // in new/ but not known durable: never acknowledged
        if (r == StorageResult::stored) r = StorageResult::temporary_failure;
    }
  }
}

}  // namespace mxring::engine
