// Spool directory traversal and record scanning.
#include "mxring/engine/spool_reader.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace mxring::engine {

std::vector<std::string> SpoolReader::segments() const {
  namespace fs = std::filesystem;
  std::vector<std::pair<std::pair<unsigned long, std::string>, std::string>> found;
  std::error_code error;
  for (const auto& writer : fs::directory_iterator(directory_, error)) {
    const auto writer_name = writer.path().filename().string();
    if (!writer.is_directory() || writer_name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    for (const auto& segment : fs::directory_iterator(writer.path(), error)) {
      const auto name = segment.path().filename().string();
      if (name.size() == 20 && name.ends_with(".seg"))
        found.push_back({{std::stoul(writer_name), name}, segment.path().string()});
    }
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> paths;
  for (auto& f : found) paths.push_back(std::move(f.second));
  return paths;
}

std::vector<SpoolProblem> SpoolReader::scan(
    const std::function<void(const SpoolRecord&)>& visit) const {
  std::vector<SpoolProblem> problems;
  const auto paths = segments();
  for (std::size_t i = 0; i < paths.size(); ++i) {
    std::ifstream file(paths[i], std::ios::binary);
    std::stringstream buffer;
    buffer << file.rdbuf();
    const auto data = buffer.str();
    std::size_t offset = 0;
    for (;;) {
      const auto parsed = spool::parse_record(data, offset);
      if (parsed.status == spool::ParseStatus::end) break;
      if (parsed.status != spool::ParseStatus::ok) {
        const bool last =
            i + 1 == paths.size() || std::filesystem::path(paths[i + 1]).parent_path() !=
                                         std::filesystem::path(paths[i]).parent_path();
        problems.push_back({paths[i], offset, parsed.status, last});
        break;
      }
      visit({paths[i], parsed.start, parsed.record});
      offset = parsed.next;
    }
  }
  return problems;
}

}  // namespace mxring::engine
