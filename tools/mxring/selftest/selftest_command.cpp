#include "selftest_command.h"

#include <iostream>

#include "checks.h"
#include "common/host_port.h"
#include "mxring/engine/json_text.h"

namespace mxring::tools {

void add_selftest_command(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand(
      "selftest",
      "Probe an SMTP server for smuggling, STARTTLS injection, early talking, over-long "
      "lines, content pipelined behind DATA and relaying; a verdict per check. Sends a few "
      "messages to postmaster: use it on "
      "your own servers");
  auto target = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto recipient = std::make_shared<std::string>("postmaster");
  command->add_option("target", *target, "ADDR:PORT (numeric; IPv6 as [::1]:25)")->required();
  command->add_option("--rcpt", *recipient,
                      "Recipient the probes' messages go to (default postmaster, which RFC 5321 "
                      "§4.5.1 makes every server accept). At a domain (postmaster@example.com), "
                      "the relay probes also try routing through that domain (user%elsewhere@, "
                      "elsewhere!user@, \"user@elsewhere\"@)");
  command->add_flag("--json", *json, "One JSON object a check instead of the table");
  command->callback([&exit_code, target, json, recipient] {
    selftest::Target t;
    try {
      const auto address = parse_host_port(*target, "target");
      t.host = address.address;
      t.port = address.port;
    } catch (const std::exception& e) {
      std::cerr << "mxring selftest: " << e.what() << "\n";
      exit_code = 2;
      return;
    }
    t.recipient = *recipient;
    const auto results = selftest::run_checks(t);
    bool failed = false, broken = false;
    for (const auto& r : results) {
      failed = failed || r.verdict == selftest::Verdict::fail;
      broken = broken || r.verdict == selftest::Verdict::error;
      if (*json) {
        std::string line = "{\"check\":";
        engine::append_json_text(line, r.name);
        line += ",\"verdict\":\"";
        line += selftest::verdict_name(r.verdict);
        line += "\",\"detail\":";
        engine::append_json_text(line, r.detail);
        std::cout << line << "}\n";
      } else {
        std::cout << "  " << selftest::verdict_name(r.verdict) << "\t" << r.name << "\t" << r.detail
                  << "\n";
      }
    }
    // 1: the server fell into a trap; 2: a check could not run to a verdict.
    exit_code = failed ? 1 : broken ? 2 : 0;
  });
}

}  // namespace mxring::tools
