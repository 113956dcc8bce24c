// Submission credentials (RFC 4954): a file of `user:hash` lines, the hash in crypt(3) form
// (`$6$` SHA-512-crypt, `$y$` yescrypt, `$5$`, `$2b$`) or libsodium's `$argon2id$`. Loaded
// once into an immutable snapshot that SIGHUP replaces. Checking a password is deliberately
// slow, so it never runs on a reactor thread (see AuthVerifier).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mxring::engine {

class CredentialStore {
 public:
  // Null with `error` naming the file and line at fault. Blank lines and `#` comments are
  // skipped; a user may appear once.
  static std::shared_ptr<const CredentialStore> load(const std::string& path, std::string& error);
  static std::shared_ptr<const CredentialStore> parse(std::string_view text, std::string& error);

  // True when `password` matches `user`'s hash. An unknown user costs as much as a known one
  // (a dummy hash is checked), so timing does not reveal which users exist.
  bool verify(std::string_view user, std::string_view password) const;

  std::size_t size() const { return hashes_.size(); }

  // A new SHA-512-crypt (`$6$`, 16 random salt characters) or argon2id (libsodium's
  // interactive limits) hash of `password`, for `mxring passwd`. Empty on failure.
  static std::string hash_sha512(std::string_view password);
  static std::string hash_argon2id(std::string_view password);

 private:
  std::unordered_map<std::string, std::string> hashes_;
};

}  // namespace mxring::engine
