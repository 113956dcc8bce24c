#include "passwd_command.h"

#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <iostream>
#include <string>

#include "mxring/engine/credential_store.h"

namespace mxring::tools {
namespace {

// One line from stdin; without echo when stdin is a terminal.
std::string read_password() {
  termios saved{};
  const bool terminal = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
  if (terminal) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    std::cerr << "Password: " << std::flush;
  }
  std::string password;
  std::getline(std::cin, password);
  if (terminal) {
    tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    std::cerr << "\n";
  }
  if (!password.empty() && password.back() == '\r') password.pop_back();
  return password;
}

}  // namespace

void add_passwd_command(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand(
      "passwd", "Hash a password read from stdin for mxringd --auth-users (SHA-512-crypt)");
  auto argon2id = std::make_shared<bool>(false);
  auto user = std::make_shared<std::string>();
  command->add_flag("--argon2id", *argon2id, "argon2id (libsodium) instead of $6$");
  command->add_option("user", *user, "Print `user:hash` rather than the hash alone");
  command->callback([argon2id, user, &exit_code] {
    if (user->find(':') != std::string::npos) {
      std::cerr << "mxring passwd: a user name cannot contain ':'\n";
      exit_code = 2;
      return;
    }
    auto password = read_password();
    if (password.empty()) {
      std::cerr << "mxring passwd: empty password\n";
      exit_code = 2;
      return;
    }
    const auto hash = *argon2id ? engine::CredentialStore::hash_argon2id(password)
                                : engine::CredentialStore::hash_sha512(password);
    explicit_bzero(password.data(), password.size());
    if (hash.empty()) {
      std::cerr << "mxring passwd: hashing failed\n";
      exit_code = 1;
      return;
    }
    std::cout << (user->empty() ? "" : *user + ":") << hash << "\n";
  });
}

}  // namespace mxring::tools
