#include "mxring/engine/file_text.h"

#include <fstream>
#include <sstream>

namespace mxring::engine {

std::optional<std::string> read_file_text(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return std::nullopt;
  std::ostringstream text;
  text << file.rdbuf();
  return std::move(text).str();
}

}  // namespace mxring::engine
