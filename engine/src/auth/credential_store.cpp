#include "mxring/engine/credential_store.h"

#include <crypt.h>
#include <sodium.h>

#include <cstring>
#include <mutex>

#include "mxring/engine/file_text.h"

namespace mxring::engine {
namespace {

bool sodium_ready() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

bool known_form(std::string_view hash) {
  for (std::string_view prefix : {"$6$", "$5$", "$y$", "$2b$", "$2y$", "$argon2id$"})
    if (hash.starts_with(prefix)) return true;
  return false;
}

bool crypt_matches(const std::string& hash, std::string_view password) {
  const std::string secret(password);  // crypt wants a terminated string
  crypt_data data{};
  const char* result = crypt_r(secret.c_str(), hash.c_str(), &data);
  const bool match = result != nullptr && result[0] != '*' && std::strlen(result) == hash.size() &&
                     sodium_memcmp(result, hash.data(), hash.size()) == 0;
  explicit_bzero(&data, sizeof data);
  return match;
}

bool matches(const std::string& hash, std::string_view password) {
  if (hash.starts_with("$argon2id$"))
    return sodium_ready() &&
           crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
  return crypt_matches(hash, password);
}

// Checked for users that do not exist, so they take as long as users that do.
const std::string& dummy_hash() {
  static const std::string hash = CredentialStore::hash_sha512("no such user");
  return hash;
}

}  // namespace

std::shared_ptr<const CredentialStore> CredentialStore::load(const std::string& path,
                                                             std::string& error) {
  const auto text = read_file_text(path);
  if (!text) {
    error = "cannot read " + path;
    return nullptr;
  }
  auto store = parse(*text, error);
  if (!store) error = path + ":" + error;
  return store;
}

std::shared_ptr<const CredentialStore> CredentialStore::parse(std::string_view text,
                                                              std::string& error) {
  auto store = std::make_shared<CredentialStore>();
  std::size_t line_number = 0;
  while (!text.empty()) {
    const auto end = text.find('\n');
    auto line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    ++line_number;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    const auto colon = line.find(':');
    const auto where = std::to_string(line_number) + ": ";
    if (colon == std::string_view::npos || colon == 0) {
      error = where + "expected user:hash";
      return nullptr;
    }
    const auto hash = line.substr(colon + 1);
    if (!known_form(hash)) {
      error = where + "unsupported hash (use $6$, $y$ or $argon2id$; `mxring passwd` makes one)";
      return nullptr;
    }
    if (!store->hashes_.emplace(std::string(line.substr(0, colon)), std::string(hash)).second) {
      error = where + "user listed twice";
      return nullptr;
    }
  }
  return store;
}

bool CredentialStore::verify(std::string_view user, std::string_view password) const {
  const auto found = hashes_.find(std::string(user));
  if (found == hashes_.end()) {
    matches(dummy_hash(), password);
    return false;
  }
  return matches(found->second, password);
}

std::string CredentialStore::hash_sha512(std::string_view password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$6$", 0, nullptr, 0, salt, sizeof salt) == nullptr) return {};
  const std::string secret(password);
  crypt_data data{};
  const char* result = crypt_r(secret.c_str(), salt, &data);
  std::string hash = result != nullptr && result[0] != '*' ? result : "";
  explicit_bzero(&data, sizeof data);
  return hash;
}

std::string CredentialStore::hash_argon2id(std::string_view password) {
  if (!sodium_ready()) return {};
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0)
    return {};
  return out;
}

}  // namespace mxring::engine
